"""Read a GGUF file's header in plain Python, to judge a model before llama.cpp ever opens it.

llama.cpp only lives in the worker process; the model manager still has to tell a user, before a copy and a load,
that a file is not a GGUF, is cut short, is not a chat model or will not fit in memory. The header holds all of it:
metadata key/value pairs, then one record per tensor with its type, shape and offset into the data section, so the
size the file must have can be computed exactly.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.errors import ModelUnavailable

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Metadata value types (gguf_type).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# ggml tensor types: (bytes per block, values per block).
_TENSOR_BLOCKS = {
    0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32), 9: (36, 32),
    10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256), 15: (292, 256),
    16: (66, 256), 17: (74, 256), 18: (98, 256), 19: (50, 256), 20: (18, 32), 21: (110, 256), 22: (82, 256),
    23: (136, 256), 24: (1, 1), 25: (2, 1), 26: (4, 1), 27: (8, 1), 28: (8, 1), 29: (56, 256), 30: (2, 1),
    34: (54, 256), 35: (66, 256), 39: (17, 32),
}  # fmt: skip

# general.file_type (llama_ftype) → the name people use for the quantization.
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
    20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip

# Text-generation architectures llama.cpp (as bundled) runs with a chat template. Embedding-only ones are left out:
# they load, but cannot answer.
CHAT_ARCHITECTURES = frozenset(
    """llama llama4 deci mistral3 qwen qwen2 qwen2moe qwen3 qwen3moe gemma gemma2 gemma3 gemma3n phi2 phi3 phimoe
    starcoder starcoder2 falcon falcon-h1 gpt2 gptj gptneox mpt baichuan stablelm internlm2 minicpm minicpm3
    deepseek deepseek2 command-r cohere2 olmo olmo2 olmoe granite granitemoe granitehybrid exaone exaone4 nemotron
    chatglm glm4 glm4moe bloom mamba mamba2 rwkv6 rwkv7 jais bitnet smollm3 ernie4_5 ernie4_5-moe hunyuan-moe
    hunyuan-dense arcee dots1 gpt-oss lfm2 seed_oss apertus plamo plamo2 orion xverse refact codeshell openelm
    arctic dbrx jamba chameleon granite smallthinker""".split()
)
EMBEDDING_ARCHITECTURES = frozenset("bert nomic-bert nomic-bert-moe jina-bert-v2 neo-bert modern-bert t5encoder".split())


@dataclass(frozen=True, slots=True)
class GgufInfo:
    path: Path
    version: int
    architecture: str
    name: str | None
    context_length: int | None
    quantization: str
    license: str | None
    has_chat_template: bool
    file_size: int
    required_size: int  # where the last tensor's data ends: a shorter file is truncated


MAX_DIMS = 4  # GGML_MAX_DIMS: llama.cpp refuses a tensor with more
MAX_STRING = 64 << 20  # no key, name or chat template comes near this; a larger one is a crafted header
# The fewest bytes a header record can take: a metadata pair (key length, type, a one-byte value), a tensor record
# (name length, n_dims, type, offset), an array item of each kind. Counts are checked against the bytes left with
# these, so an absurd count is refused at once instead of looped over.
_MIN_PAIR, _MIN_TENSOR, _MIN_STRING = 8 + 4 + 1, 8 + 4 + 4 + 8, 8


@dataclass(frozen=True, slots=True)
class ArrayValue:
    """A metadata array, skipped: only its length is kept, since no check needs its items."""

    length: int


class _Reader:
    """Reads a header that may have been crafted: every length is checked against the bytes left before use."""

    def __init__(self, handle: BinaryIO, size: int, path: Path) -> None:
        self.handle, self.size, self.path = handle, size, path

    def truncated(self) -> ModelUnavailable:
        return ModelUnavailable(
            f"model file {self.path} is cut short in its header (truncated or damaged): download or copy it again"
        )

    def damaged(self, what: str) -> ModelUnavailable:
        return ModelUnavailable(f"model file {self.path} has {what} in its header: it is damaged or not a real model")

    def left(self) -> int:
        return self.size - self.handle.tell()

    def read(self, count: int) -> bytes:
        if count < 0 or count > self.left():
            raise self.truncated()
        data = self.handle.read(count)
        if len(data) != count:
            raise self.truncated()
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def count(self, least_bytes_each: int) -> int:
        """A record count, refused when that many records could not fit in the rest of the file."""
        count = self.unpack("<Q")
        if count * least_bytes_each > self.left():
            raise self.truncated()
        return count

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > MAX_STRING:
            raise self.damaged(f"a string of {length:,} bytes")
        return self.read(length).decode("utf-8", errors="replace")

    def skip(self, count: int) -> None:
        if count > self.left():
            raise self.truncated()
        self.handle.seek(count, os.SEEK_CUR)

    def value(self, kind: int):
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:  # of scalars or strings: llama.cpp reads no arrays of arrays either
            item_kind = self.unpack("<I")
            if item_kind == _STRING:
                count = self.count(_MIN_STRING)
                for _ in range(count):
                    self.skip(self.unpack("<Q"))
            elif item_kind in _SCALARS:
                item_size = struct.calcsize(_SCALARS[item_kind])
                count = self.count(item_size)
                self.skip(item_size * count)
            else:
                raise self.damaged(f"an array of type {item_kind}")
            return ArrayValue(count)
        raise self.damaged(f"a metadata value of unknown type {kind}")


def read_gguf(path: Path) -> GgufInfo:
    """Parse the header of `path`. Raises ModelUnavailable naming the file when it is not a whole GGUF.

    Time is linear in the header's size and memory bounded by MAX_STRING, whatever the header claims."""
    path = Path(path)
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} does not exist: check the path")
    try:
        with open(path, "rb") as handle:
            return _read_header(_Reader(handle, path.stat().st_size, path))
    except OSError as exc:
        raise ModelUnavailable(f"cannot read model file {path} ({exc.strerror}): check its permissions") from exc


def _read_header(reader: _Reader) -> GgufInfo:
    handle, path, size = reader.handle, reader.path, reader.size
    if handle.read(4) != MAGIC:
        raise ModelUnavailable(f"model file {path} is not a GGUF file: choose a .gguf model made for llama.cpp")
    version = reader.unpack("<I")
    if version not in (2, 3):
        raise ModelUnavailable(f"model file {path} is GGUF version {version}; this version reads 2 and 3")
    tensor_count, kv_count = reader.unpack("<Q"), reader.count(_MIN_PAIR)
    if tensor_count * _MIN_TENSOR > reader.left():
        raise reader.truncated()
    metadata = {}
    for _ in range(kv_count):
        key = reader.string()
        metadata[key] = reader.value(reader.unpack("<I"))
    data_end = 0
    for _ in range(tensor_count):
        reader.string()  # the tensor's name
        n_dims = reader.unpack("<I")
        if not 1 <= n_dims <= MAX_DIMS:
            raise reader.damaged(f"a tensor of {n_dims:,} dimensions (at most {MAX_DIMS})")
        values = math.prod(reader.unpack("<Q") for _ in range(n_dims))
        tensor_type, offset = reader.unpack("<I"), reader.unpack("<Q")
        block_bytes, block_values = _TENSOR_BLOCKS.get(tensor_type, (0, 1))
        data_end = max(data_end, offset + values // block_values * block_bytes)
    alignment = _integer(metadata, "general.alignment", reader) or DEFAULT_ALIGNMENT
    if alignment & (alignment - 1):
        raise reader.damaged(f"general.alignment {alignment}, not a power of two")
    data_start = -(-handle.tell() // alignment) * alignment
    architecture = _text(metadata, "general.architecture") or ""
    file_type = metadata.get("general.file_type")
    return GgufInfo(
        path=path,
        version=version,
        architecture=architecture,
        name=_text(metadata, "general.name"),
        context_length=_integer(metadata, f"{architecture}.context_length", reader),
        quantization=_FILE_TYPES.get(file_type, "unknown") if isinstance(file_type, int) else "unknown",
        license=_text(metadata, "general.license"),
        has_chat_template=bool(_text(metadata, "tokenizer.chat_template")),
        file_size=size,
        required_size=data_start + data_end,
    )


def _integer(metadata: dict, key: str, reader: _Reader) -> int | None:
    """A metadata value the reader relies on as a positive integer: any other type or value is a damaged header."""
    value = metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise reader.damaged(f"{key} = {str(value)[:40]!r}, not a positive whole number")
    return value


def _text(metadata: dict, key: str) -> str | None:
    value = metadata.get(key)
    return value if isinstance(value, str) else None


def available_memory() -> int | None:
    """Bytes of memory the system can give a new process without swapping, when the platform says."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def validate_chat_model(path: Path, *, free_memory: int | None = None) -> GgufInfo:
    """Everything the manager checks before it accepts a file: whole, a chat model llama.cpp runs, fits in memory."""
    info = read_gguf(path)
    if info.file_size < info.required_size:
        raise ModelUnavailable(
            f"model file {path} is {info.file_size:,} bytes but its header needs {info.required_size:,} "
            f"(truncated or damaged): download or copy it again"
        )
    if info.architecture in EMBEDDING_ARCHITECTURES:
        raise ModelUnavailable(
            f"model file {path} is an embedding model ({info.architecture}), not a chat model: choose an instruct model"
        )
    if info.architecture not in CHAT_ARCHITECTURES:
        shown = info.architecture or "none given"
        raise ModelUnavailable(
            f"model file {path} has architecture {shown!r}, which this build of llama.cpp cannot chat with: "
            f"choose a model of a supported family (llama, qwen, gemma, phi, mistral, …)"
        )
    if not info.has_chat_template:
        raise ModelUnavailable(
            f"model file {path} has no chat template (it is probably a base model, not an instruct one): "
            f"choose an instruct/chat version of the model"
        )
    free = available_memory() if free_memory is None else free_memory
    if free is not None and info.file_size > free:
        raise ModelUnavailable(
            f"model file {path} needs about {info.file_size / 2**30:.1f} GiB of memory and only "
            f"{free / 2**30:.1f} GiB is free: close other programs or choose a smaller quantization"
        )
    return info
