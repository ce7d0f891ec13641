"""The turn loop: one reply as a chain of model calls, streamed into the store.

A step is one model call: the context builder makes its prompt for the route, the router's metered backend streams
it, and the text is appended to the stored reply in small batches (a crash loses at most `flush_interval_s` of it).
After each step the step handlers (tools plug in here) may ask for another call in the same reply (`FollowUp`:
turns that go after what the reply said so far), or pause the chain until the user answers (`Pause`; the reply is
stored as paused and `ChatService.resume` continues it from the store). Plain chat is a one-step chain. A chain
stops at the step limit, and `stop` ends the whole chain, not only the call in progress.

A local model that cannot serve before its first token (missing, fails to load, its worker died twice, the prompt
outgrows its window) hands the call to the fallback the router allows; the prompt is built again for that route.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from app.core.domain import (
    CallPurpose,
    ChatEvent,
    ChatTurn,
    ContextBuilt,
    DoneEvent,
    GenerationRequest,
    Message,
    MessageStatus,
    ReplyFinished,
    Role,
    SamplingParams,
    Thread,
    ThreadCompacted,
    TokenEvent,
)
from app.core.errors import (
    ConfirmationNeeded,
    ConsentRequired,
    GenerationFailed,
    HostedError,
    ModelUnavailable,
    OfflineMode,
    PromptTooLong,
    WorkerDied,
)
from app.core.ports import ChatBackend
from app.core.reasoning import ReasoningTimer, split_reasoning
from app.services.context import ContextBuilder
from app.services.routing import Route, Router
from app.store import Store

log = logging.getLogger(__name__)

# What ends a reply with an error status instead of an exception for the caller.
TURN_FAILURES = (WorkerDied, GenerationFailed, ModelUnavailable, HostedError, ConsentRequired, OfflineMode)


@dataclass(frozen=True, slots=True)
class StepResult:
    reply: Message        # as stored after the step: all the text of the reply so far
    text: str             # what this step said
    finish_reason: str    # "stop" or "length" (a cancelled or failed step ends the chain before handlers see it)
    step: int             # 1 for the first call of the reply


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Call the model again in the same reply; `turns` go after what the reply said so far (a tool's result)."""

    turns: tuple[ChatTurn, ...]


@dataclass(frozen=True, slots=True)
class Pause:
    """Stop the chain until the user answers (a call that needs their yes); `reason` says what is waited for."""

    reason: str


class StepHandler(Protocol):
    def after_step(self, thread: Thread, result: StepResult) -> FollowUp | Pause | None: ...
    def resume(self, thread: Thread, reply: Message, *, approved: bool) -> FollowUp | None: ...


class TurnRunner:
    """Runs reply chains; `run` is a generator meant for a background thread, `stop` may be called from any other."""

    def __init__(
        self,
        store: Store,
        router: Router,
        builder: ContextBuilder,
        *,
        max_steps: Callable[[], int] = lambda: 8,
        flush_interval_s: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._router = router
        self._builder = builder
        self.handlers: list[StepHandler] = []
        self._max_steps = max_steps
        self._flush_interval_s = flush_interval_s
        self._monotonic = monotonic
        self._active: ChatBackend | None = None  # the backend streaming now, for `stop`
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        active = self._active
        if active is not None:
            active.cancel()

    def run(
        self,
        thread: Thread,
        reply: Message,
        route: Route,
        sampling: SamplingParams,
        follow_up: FollowUp | None = None,
    ) -> Iterator[ChatEvent]:
        """Stream the chain for `reply` (stored, status STREAMING) and end with its ReplyFinished. With
        `follow_up`, the chain resumes after what the reply already says."""
        self._stopped.clear()
        writer = _ReplyWriter(self._store, reply, self._flush_interval_s, self._monotonic)
        thinking = ReasoningTimer(self._monotonic)
        finished: ReplyFinished | None = None
        extra: list[ChatTurn] = list(follow_up.turns) if follow_up else []
        try:
            limit = max(1, self._max_steps())  # read once: a setting changed mid-chain applies to the next one
            for step in range(1, limit + 1):
                said_before = split_reasoning(writer.text_so_far()).answer  # thinking is not said back to the model
                done: DoneEvent | None = None
                step_text: list[str] = []
                for event in self._call(thread, reply, route, sampling, said_before, extra):
                    if isinstance(event, TokenEvent):
                        writer.add(event.text)
                        thinking.feed(event.text)
                        step_text.append(event.text)
                    if isinstance(event, DoneEvent):
                        done = event
                    else:
                        yield event
                writer.flush()
                self._keep_reasoning_apart(reply.id, writer.text_so_far(), thinking)
                assert done is not None
                if done.finish_reason == "cancelled" or self._stopped.is_set():
                    finished = self._finish(reply.id, MessageStatus.INTERRUPTED, "stopped", "cancelled")
                    break
                said = split_reasoning("".join(step_text)).answer
                result = StepResult(self._store.get_message(reply.id), said, done.finish_reason, step)
                decision = self._next(thread, result)
                if isinstance(decision, Pause):
                    finished = self._finish(reply.id, MessageStatus.PAUSED, decision.reason, "paused")
                    break
                if decision is None or step == limit:
                    finished = self._finish(reply.id, MessageStatus.COMPLETE, None, done.finish_reason)
                    break
                extra = list(decision.turns)
        except TURN_FAILURES as exc:
            writer.flush()
            self._keep_reasoning_apart(reply.id, writer.text_so_far(), thinking)
            died = isinstance(exc, WorkerDied)
            status = MessageStatus.INTERRUPTED if died else MessageStatus.ERROR
            finished = self._finish(reply.id, status, str(exc), "error")
            if isinstance(exc, ConfirmationNeeded):
                finished = replace(finished, confirm_model=exc.model)
        finally:
            active, self._active = self._active, None
            if finished is None:  # the consumer stopped iterating (or a store write failed): keep what we have
                if active is not None:
                    active.cancel()
                try:
                    writer.flush()
                    self._keep_reasoning_apart(reply.id, writer.text_so_far(), thinking)
                    self._store.finish_message(reply.id, status=MessageStatus.INTERRUPTED, error="stopped")
                except Exception:  # noqa: BLE001 - the store is failing too; the next open marks it interrupted
                    pass
        yield finished

    def _keep_reasoning_apart(self, reply_id: int, text: str, thinking: ReasoningTimer) -> None:
        """Once a step has streamed, the stored text is the answer alone and the thinking has its own column."""
        reasoned = split_reasoning(text)
        if reasoned.reasoning is not None:
            self._store.keep_reasoning_apart(
                reply_id, answer=reasoned.answer, reasoning=reasoned.reasoning, seconds=thinking.seconds()
            )

    def _next(self, thread: Thread, result: StepResult) -> FollowUp | Pause | None:
        for handler in self.handlers:
            decision = handler.after_step(thread, result)
            if decision is not None:
                return decision
        return None

    def _finish(self, reply_id: int, status: MessageStatus, error: str | None, reason: str) -> ReplyFinished:
        reply = self._store.finish_message(reply_id, status=status, error=error)
        usage = reply.usage
        log.info(
            "reply %s in thread %s by %s: %s (%s), %s prompt tokens (%s cached), %s generated%s",
            reply.id, reply.thread_id, reply.model, status, reason, usage.prompt_tokens if usage else 0,
            usage.cached_tokens if usage else 0, usage.completion_tokens if usage else 0,
            f"; {error}" if error and status != MessageStatus.COMPLETE else "",
        )  # fmt: skip
        return ReplyFinished(reply, reason)

    def _call(
        self,
        thread: Thread,
        reply: Message,
        route: Route,
        sampling: SamplingParams,
        said_before: str,
        extra: list[ChatTurn],
    ) -> Iterator[ChatEvent | DoneEvent]:
        """One model call of the chain, on `route` or on the fallback the router picks when it cannot serve."""
        tried: list[Route] = []
        while True:
            tried.append(route)
            started = False
            try:
                built = self._builder.build(thread, reply, route, sampling)
                if built.new_summary is not None:
                    yield ThreadCompacted(built.new_summary)
                yield ContextBuilt(built.report)
                request = built.request
                if said_before or extra:
                    turns = request.turns + ((ChatTurn(Role.ASSISTANT, said_before),) if said_before else ())
                    request = GenerationRequest(turns + tuple(extra), request.sampling, request.cache_key)
                self._active = self._router.backend(
                    route, purpose=CallPurpose.TURN, thread_id=thread.id, message_id=reply.id
                )
                if self._stopped.is_set():
                    self._active.cancel()
                for event in self._active.generate(request):
                    started = True
                    yield event
                self._router.note_served(route)
                return
            except (ModelUnavailable, PromptTooLong, WorkerDied) as exc:
                self._router.note_failure(route, exc)
                if started or route.hosted:
                    raise
                route = self._router.recover(thread, route, exc)
                if route.model != tried[-1].model:
                    self._router.record_model(reply.id, route.model)


class _ReplyWriter:
    """Appends streamed text to the stored reply every `interval_s`, not per token."""

    def __init__(self, store: Store, reply: Message, interval_s: float, monotonic: Callable[[], float]) -> None:
        self._store = store
        self._reply_id = reply.id
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._pending: list[str] = []
        self._written = [reply.content]  # a resumed reply already says something
        self._last_flush = monotonic()

    def add(self, text: str) -> None:
        self._pending.append(text)
        if self._monotonic() - self._last_flush >= self._interval_s:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._store.append_to_message(self._reply_id, text)
            self._written.append(text)
            self._pending.clear()
        self._last_flush = self._monotonic()

    def text_so_far(self) -> str:
        return "".join(self._written)
