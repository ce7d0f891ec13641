"""The model worker process: owns one llama.cpp model and serves the protocol in `app.runtime.protocol`.

Run as `python -m app.runtime.worker`. One request runs at a time; a reader thread watches stdin so a cancel
arrives while tokens are being generated, and an end of stdin (the parent is gone) ends the process at once.
"""

from __future__ import annotations

import codecs
import os
import queue
import sys
import threading
import time
from typing import Any, TextIO

from app.runtime.protocol import decode, encode

# Tokens kept free at the end of the window so a reply always has room to start.
MIN_REPLY_TOKENS = 16


class Worker:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._out_lock = threading.Lock()
        self._cancel = threading.Event()
        self._llm = None
        self._formatter = None

    def send(self, message: dict[str, Any]) -> None:
        with self._out_lock:
            self._out.write(encode(message))
            self._out.flush()

    def request_cancel(self) -> None:
        self._cancel.set()

    def handle(self, request: dict[str, Any]) -> None:
        op = request.get("op")
        request_id = request.get("id")
        try:
            if op == "load":
                self._load(request)
            elif op == "generate":
                self._generate(request)
            elif op == "embed":
                self._embed(request)
            else:
                self.send({"event": "error", "id": request_id, "message": f"unknown op {op!r}"})
        except Exception as exc:  # report and stay usable: one bad request must not end the worker
            self.send({"event": "error", "id": request_id, "message": f"{type(exc).__name__}: {exc}"})

    def _load(self, request: dict[str, Any]) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llm = None
        if request.get("embedding"):
            self._load_embedding(request)
            return
        llm = Llama(
            model_path=request["path"],
            n_ctx=request["n_ctx"],
            n_threads=request["n_threads"],
            n_threads_batch=request["n_threads_batch"],
            verbose=False,
        )
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the model has no chat template")
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(llm.token_eos()),
            bos_token=llm._model.token_get_text(llm.token_bos()),
            add_generation_prompt=True,
        )
        self._llm = llm
        self.send({"event": "loaded", "id": request["id"], "n_ctx": llm.n_ctx(), "chat_template": True})

    def _load_embedding(self, request: dict[str, Any]) -> None:
        from llama_cpp import Llama

        llm = Llama(
            model_path=request["path"],
            embedding=True,
            n_ctx=request["n_ctx"],
            n_batch=request["n_ctx"],  # a text must fit one batch: embedding models attend both ways
            n_ubatch=request["n_ctx"],
            n_threads=request["n_threads"],
            n_threads_batch=request["n_threads_batch"],
            verbose=False,
        )
        self._llm = llm
        self.send({"event": "loaded", "id": request["id"], "n_ctx": llm.n_ctx(), "n_embd": llm.n_embd()})

    def _embed(self, request: dict[str, Any]) -> None:
        if self._llm is None:
            raise RuntimeError("no model loaded")
        started = time.perf_counter()
        vectors = self._llm.embed(request["texts"], normalize=True, truncate=True)
        self.send(
            {"event": "embeddings", "id": request["id"], "vectors": vectors, "seconds": time.perf_counter() - started}
        )

    def _tokenize(self, messages: list[dict[str, str]]) -> list[int]:
        rendered = self._formatter(messages=messages)
        return self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)

    def _fit_to_window(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[list[int], int]:
        """Drop the oldest turns (never the system prompt or the latest message) until prompt and reply fit."""
        n_ctx = self._llm.n_ctx()
        messages = list(messages)
        tokens = self._tokenize(messages)
        while len(tokens) + max_tokens > n_ctx:
            droppable = [i for i, m in enumerate(messages[:-1]) if m["role"] != "system"]
            if not droppable:
                break
            del messages[droppable[0]]
            tokens = self._tokenize(messages)
        room = n_ctx - len(tokens)
        if room < MIN_REPLY_TOKENS:
            raise ValueError(
                f"the message is too long for the model's window ({len(tokens)} tokens, window {n_ctx})"
            )
        return tokens, min(max_tokens, room)

    def _generate(self, request: dict[str, Any]) -> None:
        import llama_cpp

        if self._llm is None:
            raise RuntimeError("no model loaded")
        llm = self._llm
        request_id = request["id"]
        sampling = request["sampling"]
        started = time.perf_counter()
        self._cancel.clear()
        tokens, max_tokens = self._fit_to_window(request["messages"], sampling["max_tokens"])
        cached = min(llm.longest_token_prefix(llm._input_ids.tolist(), tokens), len(tokens) - 1)
        if sampling.get("seed") is not None:
            llm.set_seed(sampling["seed"])
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        generated: list[int] = []
        first_token_at = None
        finish_reason = "length"
        for token in llm.generate(
            tokens,
            temp=sampling["temperature"],
            top_p=sampling["top_p"],
            top_k=sampling["top_k"],
            min_p=sampling["min_p"],
            repeat_penalty=sampling["repeat_penalty"],
            reset=True,
        ):
            if self._cancel.is_set():
                finish_reason = "cancelled"
                break
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish_reason = "stop"
                break
            if first_token_at is None:
                first_token_at = time.perf_counter()
            piece = llm.detokenize([token], prev_tokens=tokens + generated)
            generated.append(token)
            text = decoder.decode(piece)
            if text:
                self.send({"event": "token", "id": request_id, "text": text})
            if len(generated) >= max_tokens:
                break
        tail = decoder.decode(b"", final=True)
        if tail:
            self.send({"event": "token", "id": request_id, "text": tail})
        finished = time.perf_counter()
        decode_time = finished - first_token_at if first_token_at else 0.0
        self.send(
            {
                "event": "done",
                "id": request_id,
                "finish_reason": finish_reason,
                "usage": {
                    "prompt_tokens": len(tokens),
                    "completion_tokens": len(generated),
                    "cached_tokens": cached,
                },
                "timings": {
                    "ttft_s": (first_token_at or finished) - started,
                    "tokens_per_s": (len(generated) - 1) / decode_time if len(generated) > 1 and decode_time else 0.0,
                },
            }
        )


def _protocol_stdout() -> TextIO:
    """Keep the real stdout for protocol lines and point fd 1 at stderr, so nothing llama.cpp prints corrupts it."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


def main() -> None:
    worker = Worker(_protocol_stdout())
    requests: queue.Queue[dict[str, Any]] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            message = decode(line)
            if message.get("op") == "cancel":
                worker.request_cancel()
            elif message.get("op") == "shutdown":
                os._exit(0)
            else:
                requests.put(message)
        os._exit(0)  # stdin closed: the parent is gone

    threading.Thread(target=read_stdin, name="stdin-reader", daemon=True).start()
    worker.send({"event": "ready", "pid": os.getpid()})
    while True:
        worker.handle(requests.get())


if __name__ == "__main__":
    main()
