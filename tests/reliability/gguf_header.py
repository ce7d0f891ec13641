"""Writes GGUF headers field by field, so a test can craft exactly the lie it wants a reader to meet."""

from __future__ import annotations

import struct

U8, U32, I32, F32, BOOL, STRING, ARRAY, U64 = 0, 4, 5, 6, 7, 8, 9, 10
_FORMATS = {U8: "<B", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q"}
F32_TENSOR = 0


def string(text: str | bytes, *, length: int | None = None) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data) if length is None else length) + data


def value(kind: int, item) -> bytes:
    if kind == STRING:
        return string(item)
    return struct.pack(_FORMATS[kind], item)


def pair(key: str, kind: int, item) -> bytes:
    """One metadata pair; for ARRAY, `item` is (item_kind, items) or (item_kind, items, claimed_length)."""
    if kind == ARRAY:
        item_kind, items, *claimed = item
        length = claimed[0] if claimed else len(items)
        body = struct.pack("<IQ", item_kind, length) + b"".join(value(item_kind, i) for i in items)
        return string(key) + struct.pack("<I", kind) + body
    return string(key) + struct.pack("<I", kind) + value(kind, item)


def tensor(name: str, dims: list[int], *, n_dims: int | None = None, kind: int = F32_TENSOR, offset: int = 0) -> bytes:
    return (string(name) + struct.pack("<I", len(dims) if n_dims is None else n_dims)
            + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, offset))  # fmt: skip


CHAT_PAIRS = [
    ("general.architecture", STRING, "llama"),
    ("general.name", STRING, "Crafted"),
    ("llama.context_length", U32, 2048),
    ("tokenizer.chat_template", STRING, "{{ messages }}"),
]


def header(pairs=None, tensors=None, *, tensor_count: int | None = None, kv_count: int | None = None) -> bytes:
    """A GGUF v3 header: the chat pairs above unless `pairs` (a list of encoded pairs or (key, kind, value)),
    and one 4x4 F32 tensor unless `tensors` (encoded records)."""
    pairs = [pair(*p) if isinstance(p, tuple) else p for p in (CHAT_PAIRS if pairs is None else pairs)]
    tensors = [tensor("weight", [4, 4])] if tensors is None else tensors
    counts = struct.pack("<QQ", len(tensors) if tensor_count is None else tensor_count,
                         len(pairs) if kv_count is None else kv_count)  # fmt: skip
    return b"GGUF" + struct.pack("<I", 3) + counts + b"".join(pairs) + b"".join(tensors)


def whole_file(head: bytes, data_bytes: int = 64, alignment: int = 32) -> bytes:
    """The header padded to the alignment, then the tensor data: a file of exactly the size its header asks."""
    padded = head + b"\0" * (-len(head) % alignment)
    return padded + b"\0" * data_bytes
