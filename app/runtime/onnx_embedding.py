"""all-MiniLM-L6-v2 as int8 ONNX through onnxruntime: the embedding worker's fast path (issue 17).

Measured on this project's 2-core machine on SciFact abstracts: ~2x the texts/s of the F16 GGUF through llama.cpp on
one thread, ~3x on two, at cosine >= 0.99 with its vectors (tests/e2e/test_embedding_model.py). Mean pooling over the
attention mask and unit length, as the model card says; tokens are the model's own WordPiece (tokenizer.json).

Texts are run one at a time (on each lane: see `embed`): with mixed lengths a padded batch was measured slower (4-7
texts/s against 8-9 on one thread), and length-sorted groups of similar size gained nothing over single texts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

MAX_TOKENS = 512  # the model's position embeddings; longer texts are cut at the end, like llama.cpp's `truncate`


class OnnxEmbeddingModel:
    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        from tokenizers import Tokenizer

        self._model_path = str(model_path)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._sessions: dict[int, object] = {}  # one onnxruntime session per thread count asked for
        self._sessions_lock = threading.Lock()
        self.dimensions = self._session(1).get_outputs()[0].shape[-1]
        self._batch: _Batch | None = None  # the embed in hand, which `interrupt` stops

    def _session(self, threads: int):
        """onnxruntime fixes a session's thread pool when it is made; 23 MB of weights per session is cheap. One
        session serves every lane at once (onnxruntime runs are thread-safe)."""
        with self._sessions_lock:
            return self._session_of(threads)

    def _session_of(self, threads: int):
        if threads not in self._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Spinning threads wait for work by burning their core: on a 2-core machine shared with a reply (or
            # another program) two spinning threads embedded at half the speed of one, and a search's query took
            # twice as long as on one thread; yielding ones held up. With nothing beside them spinning was ~4%
            # faster (tests/benchmarks/retrieval.py): not worth it.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            self._sessions[threads] = onnxruntime.InferenceSession(
                self._model_path, options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[threads]

    def embed(
        self,
        texts: list[str],
        *,
        threads: Callable[[], int] = lambda: 1,
        make_way: Callable[[], bool] = lambda: False,
    ) -> tuple[list[list[float]], int]:
        """Unit-length vectors in the order of `texts`, and the tokens they took; `threads()` is asked before each
        text (a reply starting elsewhere takes cores back mid-batch). When `make_way()` turns true (and `interrupt`
        is called) the texts not done yet are left: the vectors cover a first part of `texts`, never none (the first
        text is never stopped), so a search waits for about one text of an ingest's batch, not for all of it.

        With several cores and texts, each core runs texts of its own on one thread (lanes), rather than each text
        on every core: a text's many small operations then never wait for each other's threads (measured faster
        than two threads a text, spinning or not); a lane stops when `threads()` falls below its number."""
        encodings = self._tokenizer.encode_batch(texts)
        lanes = max(1, min(threads(), len(encodings)))
        batch = self._batch = _Batch(lanes)
        helpers = [threading.Thread(target=batch.guard, args=(self._lane, number, encodings, threads, make_way))
                   for number in range(1, lanes)]  # fmt: skip
        for helper in helpers:
            helper.start()
        batch.guard(self._lane, 0, encodings, threads, make_way)
        for helper in helpers:
            helper.join()
        if batch.failure is not None:
            raise batch.failure
        vectors = batch.first_part()
        return vectors, sum(len(encoding.ids) for encoding in encodings[: len(vectors)])

    def _lane(
        self, batch: _Batch, number: int, encodings: list, threads: Callable[[], int], make_way: Callable[[], bool]
    ) -> None:
        """Run the batch's next text, and the next, until none is left, the batch stops (`make_way`, `interrupt`)
        or `threads()` no longer leaves room for this lane. A lane left alone runs each text on every core."""
        while True:
            with batch.lock:
                cores = max(1, threads())
                done = batch.stopped or batch.claimed == len(encodings) or (batch.claimed > 0 and make_way())
                if done or number >= cores:
                    batch.live -= 1
                    return
                index = batch.claimed
                batch.claimed += 1
                session_threads = cores if batch.live == 1 else 1
            ids = np.array([encodings[index].ids], dtype=np.int64)
            inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            hidden = self._run(self._session(session_threads), inputs, batch, number, interruptible=index > 0)
            with batch.lock:
                if hidden is None:
                    batch.stopped = True
                else:
                    pooled = hidden[0][0].mean(axis=0)
                    batch.vectors[index] = (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).tolist()

    def interrupt(self) -> None:
        """Stop the texts being run now, from another thread, except a batch's first (the embed in hand then has
        vectors to answer with)."""
        if self._batch is not None:
            self._batch.interrupt()

    def _run(self, session, inputs: dict, batch: _Batch, lane: int, *, interruptible: bool):
        """The model's outputs for one text, or None when `interrupt` stopped it. A stop that came too late for
        the text it meant (the flag still set) does not cut a first text: that one runs again."""
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail

        run_options = batch.options[lane]
        while True:
            batch.stoppable[lane] = interruptible
            try:
                return session.run(None, inputs, run_options)
            except Fail:
                if not run_options.terminate:
                    raise
                run_options.terminate = False
                if interruptible:
                    return None
            finally:
                batch.stoppable[lane] = False


class _Batch:
    """One embed's state shared by its lanes: texts claimed (in order) and done, whether it stopped, and each lane's
    run options, whose terminate flag `interrupt` sets while the lane runs a text that may be stopped."""

    def __init__(self, lanes: int) -> None:
        import onnxruntime

        self.lock = threading.RLock()  # `interrupt` may come from a `make_way` the lanes ask
        self.claimed = 0
        self.live = lanes  # lanes not yet returned: one left alone takes every core for its texts
        self.stopped = False
        self.vectors: dict[int, list[float]] = {}
        self.failure: BaseException | None = None
        self.options = [onnxruntime.RunOptions() for _ in range(lanes)]
        self.stoppable = [False] * lanes

    def guard(self, lane_body: Callable, number: int, *args) -> None:
        """Run lane `number`; a failure stops the batch and `embed` raises it."""
        try:
            lane_body(self, number, *args)
        except BaseException as failure:  # noqa: BLE001 - handed to the embedding thread, which raises it
            with self.lock:
                self.failure = self.failure or failure
                self.stopped = True
                self.live -= 1

    def interrupt(self) -> None:
        with self.lock:
            for options, stoppable in zip(self.options, self.stoppable, strict=True):
                if stoppable:
                    options.terminate = True

    def first_part(self) -> list[list[float]]:
        """The vectors of the texts done in a row from the first."""
        done: list[list[float]] = []
        while len(done) in self.vectors:
            done.append(self.vectors[len(done)])
        return done
