"""The chunks' binary-quantised vectors held in memory, so a vector search's candidate scan is a few numpy passes
over 48 bytes a chunk instead of sqlite-vec's KNN over a vec0 table (15-16 ms at 100k chunks).

The plain table `chunk_bits` stays the stored truth; this is a read cache of it for one embedding model, loaded
again whenever the chunk generation has moved. Migration 0022's triggers move it on every chunk added or deleted
and every chunk vector written, by any connection of any process, so a search never ranks with vectors that are gone
or misses new ones."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Rows = Callable[[str, tuple], list[tuple]]
_FAR = 2**31 - 1  # the distance given to chunks outside a search's scope (int32's largest)


@dataclass(frozen=True)
class _Loaded:
    generation: int
    model: str
    width: int  # bytes per vector
    chunk_ids: np.ndarray  # int64, ascending
    document_ids: np.ndarray  # int64, the document of each chunk
    bits: np.ndarray  # one row of packed words per chunk


class ChunkBitIndex:
    """Hamming-nearest chunks by their stored bit vectors, within a set of documents. Safe to share across threads:
    a reload replaces the whole snapshot at once."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows
        self._loaded: _Loaded | None = None
        self._reloading = threading.Lock()

    def nearest(
        self, query_bits: bytes, *, generation: int, model: str, document_ids: tuple[int, ...] | None, k: int
    ) -> list[int]:
        """The ids of the (at most) k chunks of `model` whose bits are nearest to `query_bits`, nearest first; only
        chunks of `document_ids` unless it is None. `generation` is the chunk generation read before this call."""
        import numpy as np  # here, not at import: numpy takes ~0.2 s of a cold start that may never search

        loaded = self._current(generation, model, len(query_bits))
        if not len(loaded.chunk_ids):
            return []
        query = np.frombuffer(query_bits, dtype=loaded.bits.dtype)
        distances = np.bitwise_count(loaded.bits ^ query).sum(axis=1, dtype=np.int32)
        if document_ids is not None:
            listed = np.asarray(document_ids, dtype=np.int64)
            allowed = np.zeros(int(max(loaded.document_ids.max(), listed.max(initial=0))) + 1, dtype=bool)
            allowed[listed] = True
            distances[~allowed[loaded.document_ids]] = _FAR
        k = min(k, len(distances))
        nearest = np.argpartition(distances, k - 1)[:k] if k < len(distances) else np.arange(k)
        nearest = nearest[np.lexsort((nearest, distances[nearest]))]
        return [int(loaded.chunk_ids[i]) for i in nearest if distances[i] != _FAR]

    def _current(self, generation: int, model: str, width: int) -> _Loaded:
        key = (generation, model, width)
        loaded = self._loaded
        if loaded is not None and (loaded.generation, loaded.model, loaded.width) == key:
            return loaded
        with self._reloading:
            loaded = self._loaded
            if loaded is None or (loaded.generation, loaded.model, loaded.width) != key:
                loaded = self._loaded = self._load(*key)
            return loaded

    def _load(self, generation: int, model: str, width: int) -> _Loaded:
        """The vectors `width` bytes wide (a damaged row of another width is left out, not fatal). Read after the
        generation was, never before: a write in between is then loaded early and only costs one more reload, where
        the other order would label old vectors with the new generation."""
        import numpy as np

        rows = self._rows(
            """SELECT chunk_id, document_id, embedding FROM chunk_bits
               WHERE model = ? AND length(embedding) = ? ORDER BY chunk_id""",
            (model, width),
        )
        word = np.uint64 if width % 8 == 0 else np.uint8
        return _Loaded(
            generation,
            model,
            width,
            np.array([row[0] for row in rows], dtype=np.int64),
            np.array([row[1] for row in rows], dtype=np.int64),
            np.frombuffer(b"".join(row[2] for row in rows), dtype=word).reshape(len(rows), width // word().itemsize),
        )
