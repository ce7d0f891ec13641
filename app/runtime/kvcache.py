"""Saved KV-cache states on disk, so a thread resumes in a fraction of a second after a switch or a restart.

Layout under the cache root (`<data dir>/kv-cache/`):

    <namespace>/<key>/<digest>.kv

- `namespace` names the model file's sha256, the context settings and the llama.cpp version (`namespace_for`):
  a state is only ever looked for under the namespace of the model that is loaded, so another model's or another
  window size's states are never used.
- `key` is the cache key of the generate request (one per thread, e.g. `thread-12`).
- `digest` hashes the exact token prefix the state holds; the file's header repeats the tokens, and a state is used
  only for the part of a prompt that equals its tokens (KV entries for positions below n depend only on tokens
  below n, so cutting a state back to a common prefix is exact).

A file is `MAGIC`, a little-endian u32 header length, a JSON header (`namespace`, `key`, `tokens`, `payload_size`,
`payload_crc32`) and the payload: what `llama_state_seq_get_data` gives for sequence 0. The checksum and sizes are
checked before anything reaches llama.cpp, so a corrupt or truncated file is discarded (deleted) instead of being
loaded. Files are written to a temporary name and renamed, so a reader never sees half a file; several processes
may share the root (a missing file is a miss).

Least-recently-used eviction (by mtime, refreshed on every use) keeps all states under the root within a byte
budget, and at most `MAX_STATES_PER_KEY` branches of one key. This module does no llama.cpp calls: the worker hands it payload bytes and takes them back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import time
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"TLKV\x01\n"
FORMAT = 1
SUFFIX = ".kv"
DEFAULT_BUDGET_BYTES = 2 * 1024**3
STALE_TEMPORARY_S = 3600  # a temporary file this old belongs to a writer that died
MAX_STATES_PER_KEY = 4  # branches of one thread kept at once (most recently used), so the budget serves many threads


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def tokens_digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(array("i", tokens).tobytes()).hexdigest()[:32]


def namespace_for(identity: dict[str, Any]) -> str:
    """A short stable name for everything a state's validity depends on (model hash, context settings, versions)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def key_dirname(key: str) -> str:
    """A cache key as a directory name: itself when plainly safe, else a hash."""
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", key):
        return key
    return "k-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SavedState:
    path: Path
    tokens: tuple[int, ...]
    payload_offset: int
    payload_size: int
    payload_crc32: int


class CorruptState(Exception):
    pass


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The header of a state file and where its payload starts. Raises CorruptState, or OSError if unreadable."""
    with open(path, "rb") as handle:
        head = handle.read(len(MAGIC) + 4)
        if len(head) < len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
            raise CorruptState("bad magic")
        (length,) = struct.unpack("<I", head[len(MAGIC) :])
        if length > 64 * 1024 * 1024:
            raise CorruptState("header too large")
        raw = handle.read(length)
    if len(raw) != length:
        raise CorruptState("truncated header")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise CorruptState("unreadable header") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptState("unknown format")
    return header, len(MAGIC) + 4 + length


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class StateFiles:
    """The saved states under one root. `namespace` is needed to find and write states, not to forget or evict."""

    def __init__(self, root: Path, *, namespace: str | None = None, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.root = Path(root)
        self.namespace = namespace
        self.budget_bytes = budget_bytes

    def _key_dir(self, key: str) -> Path:
        if self.namespace is None:
            raise ValueError("a namespace is needed to find or write states")
        return self.root / self.namespace / key_dirname(key)

    # Finding and reading

    def states(self, key: str) -> list[SavedState]:
        """The valid-looking states of `key` (header checked; payload checked only by `read`)."""
        directory = self._key_dir(key)
        try:
            paths = sorted(directory.glob("*" + SUFFIX))
        except OSError:
            return []
        found = []
        for path in paths:
            try:
                header, offset = _read_header(path)
                tokens = tuple(int(t) for t in header["tokens"])
                state = SavedState(path, tokens, offset, int(header["payload_size"]), int(header["payload_crc32"]))
                if (
                    header.get("namespace") != self.namespace
                    or header.get("key") != key
                    or path.stem != tokens_digest(tokens)
                ):
                    raise CorruptState("header does not match its place")
            except FileNotFoundError:
                continue  # evicted by another process meanwhile
            except (CorruptState, OSError, KeyError, TypeError, ValueError):
                self.discard(path)
                continue
            found.append(state)
        return found

    def best_match(self, key: str, tokens: Sequence[int]) -> tuple[SavedState, int] | None:
        """The state of `key` sharing the longest prefix with `tokens`, and that prefix's length."""
        best = None
        for state in self.states(key):
            shared = common_prefix(state.tokens, tokens)
            if shared and (best is None or shared > best[1]):
                best = (state, shared)
        return best

    def read(self, state: SavedState) -> memoryview | None:
        """The state's payload after checking size and checksum; None (and the file deleted) if it is damaged."""
        try:
            with open(state.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size != state.payload_offset + state.payload_size:
                    raise CorruptState("truncated or overlong file")
                handle.seek(state.payload_offset)
                payload = bytearray(state.payload_size)
                if handle.readinto(payload) != state.payload_size:
                    raise CorruptState("short read")
        except FileNotFoundError:
            return None
        except (CorruptState, OSError):
            self.discard(state.path)
            return None
        if zlib.crc32(payload) != state.payload_crc32:
            self.discard(state.path)
            return None
        self.touch(state.path)
        return memoryview(payload)

    # Writing

    def write(self, key: str, tokens: Sequence[int], payload: memoryview | bytes) -> Path | None:
        """Save a state holding exactly `tokens`; drop the key's states it makes redundant; evict over budget.

        Returns the file, or None when the state alone would not fit the budget.
        """
        payload = memoryview(payload).cast("B")
        header = json.dumps(
            {
                "format": FORMAT,
                "namespace": self.namespace,
                "key": key,
                "tokens": list(tokens),
                "payload_size": payload.nbytes,
                "payload_crc32": zlib.crc32(payload),
                "created_at": time.time(),
            }
        ).encode()
        if len(MAGIC) + 4 + len(header) + payload.nbytes > self.budget_bytes:
            return None
        directory = self._key_dir(key)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / (tokens_digest(tokens) + SUFFIX)
        handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC)
                out.write(struct.pack("<I", len(header)))
                out.write(header)
                out.write(payload)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        others = []
        for state in self.states(key):  # a state whose tokens are a prefix of the new one is of no more use
            if state.path == target:
                continue
            if common_prefix(state.tokens, tokens) == len(state.tokens):
                self.discard(state.path)
            else:
                others.append(state.path)
        for path in sorted(others, key=_mtime_ns)[: max(0, len(others) - (MAX_STATES_PER_KEY - 1))]:
            self.discard(path)  # other branches of the thread, least recently used first
        self.evict(keep=target)
        return target

    # Housekeeping

    def touch(self, path: Path) -> None:
        try:
            os.utime(path)
        except OSError:
            pass

    def discard(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass

    def files(self) -> list[tuple[Path, os.stat_result]]:
        """Every state file under the root, every namespace; stale temporary files are removed on the way."""
        found = []
        now = time.time()
        for path in self.root.glob("*/*/*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.suffix == SUFFIX:
                found.append((path, stat))
            elif path.name.endswith(".tmp") and now - stat.st_mtime > STALE_TEMPORARY_S:
                self.discard(path)
        return found

    def usage_bytes(self) -> int:
        return sum(stat.st_size for _, stat in self.files())

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Delete least-recently-used states until all of them fit the budget. `keep` goes last."""
        files = self.files()
        total = sum(stat.st_size for _, stat in files)
        files.sort(key=lambda item: (item[0] == keep, item[1].st_mtime_ns))
        evicted = []
        for path, stat in files:
            if total <= self.budget_bytes:
                break
            self.discard(path)
            total -= stat.st_size
            evicted.append(path)
        return evicted

    def keys(self) -> set[str]:
        """The directory names of every key with states, in any namespace."""
        try:
            return {path.name for path in self.root.glob("*/*") if path.is_dir()}
        except OSError:
            return set()

    def forget(self, key: str) -> None:
        """Delete every state of `key`, in every namespace (every model)."""
        name = key_dirname(key)
        for directory in self.root.glob(f"*/{name}"):
            shutil.rmtree(directory, ignore_errors=True)


def file_sha256(path: Path, memo: Path | None = None) -> str:
    """The sha256 of a (large) file, remembered in `memo` by path, size and mtime so it is computed once."""
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    known: dict[str, Any] = {}
    if memo is not None:
        try:
            known = json.loads(memo.read_text(encoding="utf-8"))
            entry = known.get(str(path))
            if isinstance(entry, dict) and all(entry.get(k) == v for k, v in stamp.items()):
                return str(entry["sha256"])
        except (OSError, ValueError, KeyError, AttributeError):
            known = {}
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    sha = digest.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            known = known if isinstance(known, dict) else {}
            known[str(path)] = {**stamp, "sha256": sha}
            temporary = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(known), encoding="utf-8")
            os.replace(temporary, memo)
        except OSError:
            pass
    return sha
