"""The parent side of the model worker: starts the process, loads the model, streams replies, notices deaths.

`WorkerClient` is the client of one worker process and implements `app.core.ports.ChatBackend`. `generate` runs on one thread at a time (a background
thread in the GUI); `cancel` may be called from any other thread while it streams.

A worker is trusted with nothing it says: every read has a deadline (a worker silent that long with a request in
hand, or one that does not answer a ping before a request, is stopped as hung), and a line that is not one JSON
object with an `event` (garbage, or half a line cut by a crash) is the worker having failed. Either way the process
is killed, the request fails with one line, and the next request starts a new worker.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, TextIO
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
from app.core.errors import GenerationFailed, ModelUnavailable, PromptTooLong, WorkerDied, WorkerHung
from app.core.tools import ToolCallRequest, ToolSpec
from app.platform.environment import child_environment
from app.runtime.kvcache import DEFAULT_BUDGET_BYTES, StateFiles
from app.runtime.protocol import (
    ERROR_OUT_OF_MEMORY,
    ERROR_PROMPT_TOO_LONG,
    decode,
    encode,
    sampling_to_wire,
    timings_from_wire,
    tools_to_wire,
    turns_to_wire,
    usage_from_wire,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    model_path: Path
    model_name: str
    n_ctx: int = 4096
    n_threads: int = 1        # generation: 2 threads stall badly on 2-core machines (see ARCHITECTURE.md)
    n_threads_batch: int = 2  # prompt processing does gain from more
    log_path: Path | None = None
    embedding: bool = False   # load an embedding model and serve `embed` instead of `generate`
    tokenizer_path: Path | None = None  # an ONNX embedding model's tokenizer.json (a GGUF holds its own)
    kv_cache_dir: Path | None = None  # where model states are saved per cache key; None: reuse in memory only
    kv_cache_budget_bytes: int = DEFAULT_BUDGET_BYTES
    memory_limit_bytes: int | None = None  # the worker's address-space cap; None: none
    reply_timeout_s: float = 120.0  # the longest a worker with a request in hand may be silent (prefill reports count)
    load_timeout_s: float = 600.0   # start and model load, hashing a large file for saved states included
    command: tuple[str, ...] | None = None  # the worker's argv; None: this Python, isolated, running app.runtime.worker


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
        self._events: _EventLines | None = None  # the running worker's output

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
                "json_schema": request.json_schema,
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
                    event = self._read_event(self.config.reply_timeout_s)
                    kind = event["event"]
                    if kind == "prefill":  # the prompt is being processed: a sign of life, nothing to show
                        continue
                    if kind == "token":
                        yield TokenEvent(self._field(event, "text", str))
                    elif kind == "tool_call":
                        yield ToolCallEvent(ToolCallRequest(f"call_{uuid4().hex[:12]}", event["name"], event["arguments"]))
                    elif kind == "done":
                        finished = True
                        try:
                            done = DoneEvent(
                                usage=usage_from_wire(event["usage"]),
                                timings=timings_from_wire(event["timings"]),
                                finish_reason=event["finish_reason"],
                            )
                        except (KeyError, TypeError) as exc:
                            raise self._broken(event) from exc
                        yield done
                        return
                    elif kind == "error":
                        finished = True
                        raise self._request_failed(event)
                    else:
                        raise self._broken(event)
            finally:
                self._current_id = None
                if not finished:  # the consumer walked away: stop the worker and read up to the end of this reply
                    self._drain_after_cancel()

    def embed(self, texts: list[str], *, threads: int | None = None) -> tuple[list[list[float]], int]:
        """Unit-length vectors for `texts`, one per text (for a first part of them after `make_way`), in one round
        trip (the worker batches them), and the tokens they took; `threads`: the cores this batch may use (None: the
        configured n_threads)."""
        with self._generate_lock:
            self._ensure_started()
            event = self._ask({"op": "embed", "texts": texts, "threads": threads}, "embeddings")
            return self._field(event, "vectors", list), self._field(event, "tokens", int)

    def set_embed_threads(self, threads: int) -> None:
        """The cores the embed in progress (and the next) may use from its next text on; safe from any thread. A
        worker not running is left alone: each embed request names its own count."""
        self._tell({"op": "threads", "threads": threads})

    def make_way(self) -> None:
        """Ask the embed in progress to stop the text it runs and answer with the vectors so far (another embed
        waits); safe from any thread."""
        self._tell({"op": "make_way"})

    def _tell(self, message: dict[str, Any]) -> None:
        """Send a message that has no reply to a running worker; one not running is left alone."""
        if self.pid is None:
            return
        try:
            self._send(message)
        except WorkerDied:
            pass

    def capabilities(self) -> BackendCapabilities:
        """The window is the configured one until the model is loaded, then the one llama.cpp gave."""
        return BackendCapabilities(context_window=self._loaded_n_ctx or self.config.n_ctx, json_grammar=True)

    def count_tokens(self, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int:
        """The prompt's length: `turns` rendered with the model's chat template and tokenizer, with `tools` offered
        as a generate request offers them (starts the worker)."""
        with self._generate_lock:
            self._ensure_started()
            message = {"op": "count", "messages": turns_to_wire(turns)}
            if tools:
                message["tools"] = tools_to_wire(tools)
            event = self._ask(message, "count")
            self._loaded_n_ctx = self._field(event, "n_ctx", int)
            return self._field(event, "tokens", int)

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
            if self._responsive():
                return
        path = self.config.model_path
        if self._preflight is not None:
            self._preflight()
        if not path.is_file():
            raise ModelUnavailable(
                f"model file {path} is missing: run `threadloom models pull {self.config.model_name}`"
            )
        log_file = open(self.config.log_path, "a") if self.config.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                # -I: no code from the current directory or PYTHON* variables; and no variable it has no use for
                list(self.config.command or (sys.executable, "-I", "-m", "app.runtime.worker")),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=child_environment(),
            )
        finally:
            if log_file is not subprocess.DEVNULL:
                log_file.close()
        self._events = _EventLines(self._process.stdout)
        loading = f"model file {path} did not load within {self.config.load_timeout_s:g} s and was stopped"
        try:
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
                    "tokenizer_path": str(self.config.tokenizer_path) if self.config.tokenizer_path else None,
                    "kv_cache": (
                        {"dir": str(self.config.kv_cache_dir), "budget_bytes": self.config.kv_cache_budget_bytes}
                        if self.config.kv_cache_dir is not None
                        else None
                    ),
                    "memory_limit_bytes": self.config.memory_limit_bytes,
                }
            )
            event = self._read_event(self.config.load_timeout_s)
        except WorkerHung as exc:
            raise ModelUnavailable(f"{loading}: the machine may be too busy or the file unreadable; try again") from exc
        except WorkerDied as exc:
            raise ModelUnavailable(
                f"model file {path} crashed the model worker while loading; it may be corrupt or not a model "
                f"llama.cpp supports: fetch it again or choose another model"
            ) from exc
        if event["event"] == "error":
            self.shutdown()
            if event.get("kind") == ERROR_OUT_OF_MEMORY:
                what = f"{self.config.model_name} with a {self.config.n_ctx}-token window"
                raise ModelUnavailable(self._over_memory_cap(what))
            raise ModelUnavailable(
                f"cannot load model file {path}: {event.get('message')}; it may be corrupt or truncated: "
                f"fetch it again with `threadloom models pull {self.config.model_name}`"
            )
        if event["event"] != "loaded":
            raise self._broken(event)
        self._loaded_n_ctx = event.get("n_ctx")

    def _responsive(self) -> bool:
        """The liveness check before a request: the worker answers a ping within the deadline, or it is stopped
        (and the caller starts a new one)."""
        try:
            self._ask({"op": "ping"}, "pong")
        except WorkerDied as exc:
            log.warning("the model worker of %s failed its liveness check; starting a new one: %s",
                        self.config.model_name, exc)  # fmt: skip
            return False
        return True

    def _ask(self, message: dict[str, Any], answer: str) -> dict[str, Any]:
        """Send a request that has one answer event, and read that answer (an error event raises)."""
        request_id = next(self._ids)
        self._send({**message, "id": request_id})
        event = self._read_event(self.config.reply_timeout_s)
        if event["event"] == "error":
            raise self._request_failed(event)
        if event["event"] != answer or event.get("id") != request_id:
            raise self._broken(event)
        return event

    def _request_failed(self, event: dict[str, Any]) -> GenerationFailed:
        """The error event of one request (the worker itself stays usable)."""
        kind = event.get("kind")
        if kind == ERROR_PROMPT_TOO_LONG:
            return PromptTooLong(str(event.get("message")))
        if kind == ERROR_OUT_OF_MEMORY:
            return GenerationFailed(self._over_memory_cap("this request"))
        return GenerationFailed(str(event.get("message")))

    def _over_memory_cap(self, what: str) -> str:
        limit_mb = (self.config.memory_limit_bytes or 0) // 2**20
        return (
            f"{what} needs more memory than the model worker may use ({limit_mb} MB): choose a smaller model or "
            "a smaller n_ctx, or raise worker_memory_mb in settings.json"
        )

    def _expect(self, kind: str) -> dict[str, Any]:
        event = self._read_event(self.config.load_timeout_s)
        if event["event"] != kind:
            raise self._broken(event)
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

    def _read_event(self, timeout_s: float) -> dict[str, Any]:
        """The worker's next event, within `timeout_s`. Raises WorkerHung (silent that long), or WorkerDied (it
        ended, or said something that is not the protocol); either way the process is gone."""
        if self._process is None:
            raise WorkerDied("the model worker is not running")
        line = self._events.next(timeout_s)
        if line is None:
            self._kill()
            raise WorkerHung(
                f"the model worker stopped answering (silent for {timeout_s:g} s) and was stopped; "
                "the next message starts a new one"
            )
        if not line:
            raise self._died()
        event = None
        if line.endswith("\n"):  # a line cut short is a worker that died writing it
            try:
                event = decode(line)
            except ValueError:
                pass
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise self._broken(line)
        return event

    def _field(self, event: dict[str, Any], key: str, kind: type) -> Any:
        value = event.get(key)
        if not isinstance(value, kind):
            raise self._broken(event)
        return value

    def _broken(self, what: object) -> WorkerDied:
        """The worker said something that is not the protocol: it cannot be trusted with the next request."""
        log.error("the model worker of %s broke the protocol with %.300r", self.config.model_name, what)
        self._kill()
        return WorkerDied(
            "the model process failed (it sent something that is not the worker protocol; see the log); "
            "the next message starts a new one"
        )

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

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
            while self._read_event(self.config.reply_timeout_s)["event"] not in ("done", "error"):
                pass
        except WorkerDied:
            pass


class _EventLines:
    """The worker's stdout, read on a thread of its own so that every read can have a deadline."""

    def __init__(self, stream: TextIO) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), name="worker-events", daemon=True).start()

    def _pump(self, stream: TextIO) -> None:
        try:
            for line in stream:
                self._lines.put(line)
        except UnicodeDecodeError as exc:  # no UTF-8: not the protocol (no line end, so never taken for an event)
            self._lines.put(f"bytes that are not UTF-8: {exc}")
        except (OSError, ValueError):  # closed under us: the process is gone
            pass
        self._lines.put("")  # the end of the worker's output

    def next(self, timeout_s: float) -> str | None:
        """The next line ("" once the output has ended), or None when none came within `timeout_s`."""
        try:
            return self._lines.get(timeout=timeout_s)
        except queue.Empty:
            return None
