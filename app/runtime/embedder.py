"""On-device embeddings through a second model worker process that holds the embedding GGUF.

A worker of its own (rather than the chat worker) so ingest can embed while a reply streams, and so a crash in
either never takes the other's model with it. Implements `app.core.ports.Embedder`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.runtime.client import WorkerClient

# Texts per round trip: small enough (~1-2 s of work) that a reply starting mid-ingest gets its core back soon (the
# thread count is chosen per round trip) and progress and cancel stay lively; onnxruntime runs texts one by one anyway.
BATCH_TEXTS = 16


class WorkerEmbedder:
    def __init__(
        self,
        worker: WorkerClient,
        *,
        model_id: str,
        dimensions: int,
        on_batch: Callable[[int, float], None] | None = None,
        threads: Callable[[], int] | None = None,
    ) -> None:
        """`on_batch(tokens, seconds)` runs after each round trip: the usage meter; `threads()` before each one
        gives the cores it may use (None: the worker's configured count)."""
        if not worker.config.embedding:
            raise ValueError("WorkerEmbedder needs a worker configured with embedding=True")
        self.worker = worker
        self.model_id = model_id
        self.dimensions = dimensions
        self._on_batch = on_batch
        self._threads = threads

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors, one per text; texts longer than the model's window are cut at its end."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_TEXTS):
            started = time.perf_counter()
            threads = self._threads() if self._threads is not None else None
            batch, tokens = self.worker.embed(texts[start : start + BATCH_TEXTS], threads=threads)
            vectors.extend(batch)
            if self._on_batch is not None:
                self._on_batch(tokens, time.perf_counter() - started)
        return vectors

    def retarget(self) -> None:
        """Ask `threads()` again now and tell the worker, for the batch in hand (a reply started or ended)."""
        if self._threads is not None:
            self.worker.set_embed_threads(self._threads())

    def shutdown(self) -> None:
        self.worker.shutdown()
