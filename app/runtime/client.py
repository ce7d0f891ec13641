"""The parent side of the model worker: starts the process, loads the model, streams replies, notices deaths.

`WorkerClient` is the client of one worker process and implements `app.core.ports.ChatBackend`. `generate` runs on one thread at a time (a background
thread in the GUI); `cancel` may be called from any other thread while it streams.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any
from uuid import uuid4

from app.core.domain import (
    BackendCapabilities,
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    StreamEvent,
    TokenEvent,
    ToolCallEvent,
)
from app.core.errors import (
    GenerationFailed,
    ModelUnavailable,
    PromptTooLong,
    WorkerDied,
)
from app.core.tools import ToolCallRequest, ToolSpec
from app.runtime.kvcache import DEFAULT_BUDGET_BYTES, StateFiles
from app.runtime.protocol import (
    ERROR_PROMPT_TOO_LONG,
    decode,
    encode,
    sampling_to_wire,
    timings_from_wire,
    tools_to_wire,
    turns_to_wire,
    usage_from_wire,
)


@dataclass(frozen=True)
class WorkerConfig:
    model_path: Path
    model_name: str
    n_ctx: int = 4096
    n_threads: int = 1        # generation: 2 threads stall badly on 2-core machines (see ARCHITECTURE.md)
    n_threads_batch: int = 2  # prompt processing does gain from more
    log_path: Path | None = None
    embedding: bool = False   # load an embedding model and serve `embed` instead of `generate`
    kv_cache_dir: Path | None = None  # where model states are saved per cache key; None: reuse in memory only
    kv_cache_budget_bytes: int = DEFAULT_BUDGET_BYTES


class WorkerClient:
    name = "local"

    def __init__(self, config: WorkerConfig, *, preflight: Callable[[], None] | None = None) -> None:
        """`preflight` runs before each start and raises ModelUnavailable for a file not worth handing to llama.cpp."""
        self.config = config
        self._preflight = preflight
        self._process: subprocess.Popen[str] | None = None
        self._generate_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = count(1)
        self._current_id: int | None = None  # the generation in progress, for cancel from other threads
        self._cancelled_id: int | None = None
        self._loaded_n_ctx: int | None = None  # the window llama.cpp actually gave, once loaded

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> None:
        """Start the worker and load the model, if not running already. Raises ModelUnavailable."""
        with self._generate_lock:
            self._ensure_started()

    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        with self._generate_lock:
            request_id = self._current_id = next(self._ids)
            self._ensure_started()
            message = {
                "op": "generate",
                "id": request_id,
                "messages": turns_to_wire(request.turns),
                "sampling": sampling_to_wire(request.sampling),
                "cache_key": request.cache_key,
            }
            if request.tools:
                message["tools"] = tools_to_wire(request.tools)
                message["tool_choice"] = request.tool_choice
            self._send(message)
            if self._cancelled_id == request_id:  # stopped while the worker was starting
                self._send({"op": "cancel", "id": request_id})
            finished = False
            try:
                while True:
                    event = self._read_event()
                    kind = event["event"]
                    if kind == "token":
                        yield TokenEvent(event["text"])
                    elif kind == "tool_call":
                        yield ToolCallEvent(ToolCallRequest(f"call_{uuid4().hex[:12]}", event["name"], event["arguments"]))
                    elif kind == "done":
                        finished = True
                        yield DoneEvent(
                            usage=usage_from_wire(event["usage"]),
                            timings=timings_from_wire(event["timings"]),
                            finish_reason=event["finish_reason"],
                        )
                        return
                    elif kind == "error":
                        finished = True
                        if event.get("kind") == ERROR_PROMPT_TOO_LONG:
                            raise PromptTooLong(event["message"])
                        raise GenerationFailed(event["message"])
            finally:
                self._current_id = None
                if not finished:  # the consumer walked away: stop the worker and read up to the end of this reply
                    self._drain_after_cancel()

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Unit-length vectors for `texts`, one per text, in one round trip (the worker batches them), and the
        tokens they took."""
        with self._generate_lock:
            self._ensure_started()
            request_id = next(self._ids)
            self._send({"op": "embed", "id": request_id, "texts": texts})
            event = self._read_event()
            if event["event"] == "error":
                raise GenerationFailed(event["message"])
            return event["vectors"], event["tokens"]

    def capabilities(self) -> BackendCapabilities:
        """The window is the configured one until the model is loaded, then the one llama.cpp gave."""
        return BackendCapabilities(context_window=self._loaded_n_ctx or self.config.n_ctx, json_grammar=True)

    def count_tokens(self, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int:
        """The prompt's length: `turns` rendered with the model's chat template and tokenizer, with `tools` offered
        as a generate request offers them (starts the worker)."""
        with self._generate_lock:
            self._ensure_started()
            request_id = next(self._ids)
            message = {"op": "count", "id": request_id, "messages": turns_to_wire(turns)}
            if tools:
                message["tools"] = tools_to_wire(tools)
            self._send(message)
            event = self._read_event()
            if event["event"] == "error":
                raise GenerationFailed(event["message"])
            self._loaded_n_ctx = event["n_ctx"]
            return event["tokens"]

    def cancel(self) -> None:
        """Stop the reply in progress, even one whose worker is still starting; safe from any thread."""
        request_id = self._current_id
        if request_id is None:
            return
        self._cancelled_id = request_id
        if self.pid is not None:
            try:
                self._send({"op": "cancel", "id": request_id})
            except WorkerDied:
                pass

    def forget_cached(self, cache_key: str) -> None:
        """Delete the saved model states of `cache_key` (a deleted thread's). Safe from any thread.

        The running worker is told too, so a state it is about to save for that key is deleted after it.
        """
        if self.config.kv_cache_dir is None:
            return
        StateFiles(self.config.kv_cache_dir).forget(cache_key)
        if self.pid is not None:
            try:
                self._send({"op": "forget", "cache_key": cache_key})
            except WorkerDied:
                pass

    def shutdown(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            with self._write_lock:
                process.stdin.write(encode({"op": "shutdown"}))
                process.stdin.flush()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    # Internals

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        path = self.config.model_path
        if self._preflight is not None:
            self._preflight()
        if not path.is_file():
            raise ModelUnavailable(
                f"model file {path} is missing: run `threadloom models pull {self.config.model_name}`"
            )
        log = open(self.config.log_path, "a") if self.config.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-m", "app.runtime.worker"],  # -I: no code from the cwd or PYTHON* vars
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        self._expect("ready")
        request_id = next(self._ids)
        self._send(
            {
                "op": "load",
                "id": request_id,
                "path": str(path),
                "n_ctx": self.config.n_ctx,
                "n_threads": self.config.n_threads,
                "n_threads_batch": self.config.n_threads_batch,
                "embedding": self.config.embedding,
                "kv_cache": (
                    {"dir": str(self.config.kv_cache_dir), "budget_bytes": self.config.kv_cache_budget_bytes}
                    if self.config.kv_cache_dir is not None
                    else None
                ),
            }
        )
        try:
            event = self._read_event()
        except WorkerDied as exc:
            raise ModelUnavailable(
                f"model file {path} crashed the model worker while loading; it may be corrupt or not a model "
                f"llama.cpp supports: fetch it again or choose another model"
            ) from exc
        if event["event"] == "error":
            self.shutdown()
            raise ModelUnavailable(
                f"cannot load model file {path}: {event['message']}; it may be corrupt or truncated: "
                f"fetch it again with `threadloom models pull {self.config.model_name}`"
            )
        self._loaded_n_ctx = event.get("n_ctx")

    def _expect(self, kind: str) -> dict[str, Any]:
        event = self._read_event()
        if event["event"] != kind:
            raise WorkerDied(f"the model worker said {event!r} where {kind!r} was expected")
        return event

    def _send(self, message: dict[str, Any]) -> None:
        process = self._process
        if process is None:
            raise WorkerDied("the model worker is not running")
        try:
            with self._write_lock:
                process.stdin.write(encode(message))
                process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise self._died() from exc

    def _read_event(self) -> dict[str, Any]:
        process = self._process
        if process is None:
            raise WorkerDied("the model worker is not running")
        line = process.stdout.readline()
        if not line:
            raise self._died()
        return decode(line)

    def _died(self) -> WorkerDied:
        process, self._process = self._process, None
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        return WorkerDied(
            f"the model worker stopped unexpectedly (exit code {code}); the next message starts a new one"
        )

    def _drain_after_cancel(self) -> None:
        try:
            self._send({"op": "cancel"})
            while self._read_event()["event"] not in ("done", "error"):
                pass
        except WorkerDied:
            pass
