"""On-device embeddings through a second model worker process that holds the embedding model.

A worker of its own (rather than the chat worker) so ingest can embed while a reply streams, and so a crash in
either never takes the other's model with it. Implements `app.core.ports.Embedder`.

Callers take turns by round trip, and one that arrives while another's round trip is in hand goes next: it asks the
worker to make way, the round trip in hand stops the text it runs and answers with the vectors it has, and the rest
of that batch waits. A search (a turn's passages, a new thread's recalled memories) so hardly waits for an ingest;
waiting for its batch was most of a reply's first-token time while a filing was ingested
(tests/benchmarks/retrieval.py). Until a reply's first output, callers on other threads with more than a few
texts (an ingest) wait altogether (`holds_back`): the round trip in hand stops as for a search, and the rest waits
for that output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.core.errors import GenerationFailed
from app.runtime.client import WorkerClient

# Texts per round trip: an ingest's whole batch (EMBED_BATCH). A reply takes cores back from the next text on
# ("threads" op) and a search or a reply's first token stops the round trip at its current text (make_way), so a
# round trip need not be short; with 16 texts each round trip ended with one lane idle while the other finished.
BATCH_TEXTS = 64
# A caller with at most this many texts (a search's query, a message's facts) is never held back for a reply's
# first token: it costs that token a few ms, and a search typed meanwhile would wait for the whole prompt's prefill.
FEW_TEXTS = 4
# How often a held-back caller looks whether its hold has lapsed (it is woken at once when a reply's output begins).
HOLD_POLL_S = 0.5


class WorkerEmbedder:
    def __init__(
        self,
        worker: WorkerClient,
        *,
        model_id: str,
        dimensions: int,
        on_batch: Callable[[int, float], None] | None = None,
        threads: Callable[[], int] | None = None,
        holds_back: Callable[[int], bool] | None = None,
    ) -> None:
        """`on_batch(tokens, seconds)` runs after each round trip: the usage meter; `threads()` before each one
        gives the cores it may use (None: the worker's configured count); `holds_back(thread_ident)` says whether
        a caller on that thread waits now (a reply elsewhere has not begun its output: `retarget` when it changes)."""
        if not worker.config.embedding:
            raise ValueError("WorkerEmbedder needs a worker configured with embedding=True")
        self.worker = worker
        self.model_id = model_id
        self.dimensions = dimensions
        self._on_batch = on_batch
        self._threads = threads
        self._holds_back = holds_back
        self._turns = threading.Condition()
        self._in_hand = False  # a round trip is under way
        self._in_hand_by: int | None = None  # the thread whose round trip it is, if it may be held back
        self._arrived = 0  # callers waiting for their first round trip: they go before anyone's next one

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors, one per text; texts longer than the model's window are cut at its end."""
        vectors: list[list[float]] = []
        first = True
        holdable = len(texts) > FEW_TEXTS
        while len(vectors) < len(texts):
            self._take_turn(arriving=first, holdable=holdable)
            first = False
            try:
                started = time.perf_counter()
                threads = self._threads() if self._threads is not None else None
                asked = texts[len(vectors) : len(vectors) + BATCH_TEXTS]
                batch, tokens = self.worker.embed(asked, threads=threads)
            finally:
                with self._turns:
                    self._in_hand = False
                    self._turns.notify_all()
            if not 0 < len(batch) <= len(asked):
                raise GenerationFailed(f"the embedding worker answered {len(batch)} vectors for {len(asked)} texts")
            vectors.extend(batch)
            if self._on_batch is not None:
                self._on_batch(tokens, time.perf_counter() - started)
        return vectors

    def _take_turn(self, *, arriving: bool, holdable: bool) -> None:
        """Wait for the next round trip: an arriving caller asks the one in hand to make way; a caller going on
        with its batch lets those that arrived meanwhile go first; a held-back caller waits (uncounted, so a
        reply's own embeds never wait for it)."""
        caller = threading.get_ident() if holdable else None
        with self._turns:
            if arriving:
                held = True
                while held:
                    self._until(lambda: not self._held(caller))
                    self._arrived += 1
                    if self._in_hand:
                        self.worker.make_way()
                    self._until(lambda: not self._in_hand)
                    self._arrived -= 1
                    held = self._held(caller)  # a reply began meanwhile: wait for its output first
            else:
                self._until(lambda: not self._in_hand and not self._arrived and not self._held(caller))
            self._in_hand, self._in_hand_by = True, caller

    def _held(self, caller: int | None) -> bool:
        return caller is not None and self._holds_back is not None and self._holds_back(caller)

    def _until(self, ready: Callable[[], bool]) -> None:
        """Wait (holding `_turns`) until `ready()`; a hold also ends by time, unannounced, hence the polling."""
        while not ready():
            self._turns.wait(HOLD_POLL_S)

    def retarget(self) -> None:
        """Ask `threads()` again now and tell the worker, for the batch in hand (a reply started or ended); a round
        trip in hand for a caller now held back stops at its current text (the rest waits for the reply)."""
        if self._threads is not None:
            self.worker.set_embed_threads(self._threads())
        with self._turns:
            if self._in_hand and self._held(self._in_hand_by):
                self.worker.make_way()
            self._turns.notify_all()

    def shutdown(self) -> None:
        self.worker.shutdown()
