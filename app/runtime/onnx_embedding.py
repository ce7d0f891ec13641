"""all-MiniLM-L6-v2 as int8 ONNX through onnxruntime: the embedding worker's fast path (issue 17).

Measured on this project's 2-core machine on SciFact abstracts: ~2x the texts/s of the F16 GGUF through llama.cpp on
one thread, ~3x on two, at cosine >= 0.99 with its vectors (tests/e2e/test_embedding_model.py). Mean pooling over the
attention mask and unit length, as the model card says; tokens are the model's own WordPiece (tokenizer.json).

Texts are run one at a time: with mixed lengths a padded batch was measured slower (4-7 texts/s against 8-9 on one
thread), and length-sorted groups of similar size gained nothing over single texts.
"""

from __future__ import annotations

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
        self.dimensions = self._session(1).get_outputs()[0].shape[-1]
        import onnxruntime

        self._run_options = onnxruntime.RunOptions()  # `interrupt` sets its terminate flag from another thread
        self._interruptible = False  # a text is being run, and the embed in hand has vectors to answer with

    def _session(self, threads: int):
        """onnxruntime fixes a session's thread pool when it is made; 23 MB of weights per session is cheap."""
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
        is called) the texts from the current one on are left: the vectors cover a first part of `texts`, never
        none, so a search waits for the first text of an ingest's batch at most, not for all of it."""
        vectors, tokens = [], 0
        for encoding in self._tokenizer.encode_batch(texts):
            if vectors and make_way():
                break
            session = self._session(max(1, threads()))
            ids = np.array([encoding.ids], dtype=np.int64)
            inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            hidden = self._run(session, inputs, interruptible=bool(vectors))
            if hidden is None:
                break
            pooled = hidden[0][0].mean(axis=0)
            vectors.append((pooled / max(float(np.linalg.norm(pooled)), 1e-12)).tolist())
            tokens += len(encoding.ids)
        return vectors, tokens

    def interrupt(self) -> None:
        """Stop the text being run now, from another thread, if the embed in hand has vectors to answer with."""
        if self._interruptible:
            self._run_options.terminate = True

    def _run(self, session, inputs: dict, *, interruptible: bool):
        """The model's outputs for one text, or None when `interrupt` stopped it. A stop that came too late for
        the text it meant (the flag still set) does not cut the next embed's first text: that one runs again."""
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail

        while True:
            self._interruptible = interruptible
            try:
                return session.run(None, inputs, self._run_options)
            except Fail:
                if not self._run_options.terminate:
                    raise
                self._run_options.terminate = False
                if interruptible:
                    return None
            finally:
                self._interruptible = False
