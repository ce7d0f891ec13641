"""Tools in the turn loop: the registry of providers, the step handler that runs what the model calls, and the
user's answers to a call that waits for their yes.

After each model call the handler stores every tool call the model made (`ToolCall`, part of the thread) and:
- a read-only (or already allowed) call runs at once; its result (or its one-line error) goes back to the model in
  the next step of the same reply;
- arguments that do not match the tool's schema go back to the model once with the validation error; a second
  invalid call in the same reply ends the chain and the card shows the error to the user;
- a side-effect call the thread has not allowed ("Always for this thread") pauses the reply (`Pause`). Only the
  user's answer (`ToolService.answer`, from the window's card or `threadloom approve|deny`) resumes it: nothing a
  document, a web page or a tool result says can approve a call. A refusal goes back as "the user declined".
A tool never crashes the turn: whatever it raises becomes the call's error (the traceback goes to the log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from app.core.domain import ChatEvent, ChatTurn, Message, MessageStatus, Role, Thread
from app.core.errors import InvalidInput
from app.core.tools import (
    DECLINED,
    ToolCall,
    ToolCallRequest,
    ToolCallStatus,
    ToolEffect,
    ToolOutcome,
    ToolProvider,
    ToolSpec,
)
from app.services.turns import FollowUp, Pause, StepResult
from app.store import Store

log = logging.getLogger(__name__)

INVALID_ARGUMENTS = "invalid arguments"  # how a failed validation's error starts (counted per reply)
ALWAYS_FOR_THREAD = "user, always for this thread"
STOP_POLL_S = 0.05


class ToolRegistry:
    """Every provider's tools, and which of them a thread is offered: its own choice if it made one (`chat --tools`,
    the window), else every tool (MCP servers offer theirs only once enabled)."""

    def __init__(self, store: Store, providers: list[ToolProvider]) -> None:
        self._store = store
        self.providers = providers

    def available(self, thread: Thread) -> list[tuple[ToolSpec, ToolProvider]]:
        seen: set[str] = set()
        found = []
        for provider in self.providers:
            try:
                specs = provider.tools(thread)
            except Exception:
                log.exception("a tool provider failed to list its tools")
                continue
            for spec in specs:
                if spec.name not in seen:
                    seen.add(spec.name)
                    found.append((spec, provider))
        return found

    def offered(self, thread: Thread) -> list[ToolSpec]:
        chosen = self._store.thread_tools(thread.id)
        specs = [spec for spec, _ in self.available(thread)]
        return specs if chosen is None else [spec for spec in specs if spec.name in chosen]

    def find(self, thread: Thread, name: str) -> tuple[ToolSpec, ToolProvider] | None:
        offered = {spec.name for spec in self.offered(thread)}
        return next(((s, p) for s, p in self.available(thread) if s.name == name and name in offered), None)

    def names(self, thread: Thread) -> set[str]:
        return {spec.name for spec, _ in self.available(thread)}


def validation_error(spec: ToolSpec, arguments: dict | str) -> str | None:
    """One line saying why `arguments` do not fit the tool's schema, or None when they do."""
    if not isinstance(arguments, dict):
        return f"{INVALID_ARGUMENTS}: expected a JSON object, got {str(arguments)[:200]!r}"
    import jsonschema  # here, not at the top: its import is ~0.1 s of the window's cold start (-X importtime)

    error = next(iter(jsonschema.Draft202012Validator(spec.parameters).iter_errors(arguments)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{INVALID_ARGUMENTS}{f' at {where}' if where else ''}: {error.message}"[:300]


def transcript(calls: list[ToolCall]) -> tuple[ChatTurn, ...]:
    """A reply's finished calls as the model sees them next: each call, then its result."""
    turns: list[ChatTurn] = []
    for call in calls:
        if call.status in (ToolCallStatus.PENDING, ToolCallStatus.RUNNING):
            continue
        turns.append(ChatTurn(Role.ASSISTANT, "", tool_calls=(ToolCallRequest(call.call_key, call.name, call.arguments),)))
        turns.append(ChatTurn(Role.TOOL, _result_text(call), tool_call_id=call.call_key))
    return tuple(turns)


def _result_text(call: ToolCall) -> str:
    if call.status == ToolCallStatus.REFUSED:
        return DECLINED
    if call.status == ToolCallStatus.FAILED:
        return f"Error: {call.error}"
    return call.result or ""


class ToolStepHandler:
    """The turn loop's StepHandler for tool calls. `stopping` is the turn loop's stop: a call in progress is left
    behind (its result ignored) as soon as it is set."""

    def __init__(
        self,
        store: Store,
        registry: ToolRegistry,
        *,
        stopping: threading.Event,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._registry = registry
        self._stopping = stopping
        self._monotonic = monotonic

    def after_step(self, thread: Thread, result: StepResult) -> FollowUp | Pause | None:
        if not result.tool_calls:
            return None
        offset = len(result.reply.content)
        for request in result.tool_calls:
            self._record(thread, result.reply, request, offset)
        return self._advance(thread, result.reply)

    def resume(self, thread: Thread, reply: Message, *, approved: bool) -> FollowUp | None:
        pending = next((c for c in self._store.tool_calls(reply.id) if c.status == ToolCallStatus.PENDING), None)
        if pending is not None:
            if approved:
                granted = self._store.tool_granted(thread.id, pending.server, pending.name)
                self._store.update_tool_call(
                    pending.id, status=ToolCallStatus.RUNNING, approved_by=ALWAYS_FOR_THREAD if granted else "user"
                )
            else:
                self._store.update_tool_call(pending.id, status=ToolCallStatus.REFUSED, result=DECLINED)
        decision = self._advance(thread, reply)
        return decision if isinstance(decision, FollowUp) else None

    def _record(self, thread: Thread, reply: Message, request: ToolCallRequest, offset: int) -> None:
        found = self._registry.find(thread, request.name)
        spec = found[0] if found else None
        effect = spec.effect if spec else ToolEffect.READ_ONLY
        server = spec.server if spec else "unknown"
        if spec is not None:
            error = validation_error(spec, request.arguments)
        elif request.name:
            error = f"no tool named {request.name!r} in this thread"
        else:
            error = f"{INVALID_ARGUMENTS}: not a call in the tool format: {str(request.arguments)[:200]!r}"
        if error is not None:
            status = ToolCallStatus.FAILED
        elif effect == ToolEffect.SIDE_EFFECT and not self._store.tool_granted(thread.id, server, request.name):
            status = ToolCallStatus.PENDING
        else:
            status = ToolCallStatus.RUNNING
        call = self._store.add_tool_call(
            thread_id=thread.id, message_id=reply.id, call_key=request.call_key, name=request.name or "?",
            server=server, arguments=request.arguments, status=status, effect=effect, offset=offset,
        )  # fmt: skip
        if error is not None:
            self._store.update_tool_call(call.id, status=status, error=error)
        elif status == ToolCallStatus.RUNNING and effect == ToolEffect.SIDE_EFFECT:
            self._store.update_tool_call(call.id, status=status, approved_by=ALWAYS_FOR_THREAD)

    def _advance(self, thread: Thread, reply: Message) -> FollowUp | Pause | None:
        """Run the calls that may run, in order, up to the first that waits for the user."""
        for call in self._store.tool_calls(reply.id):
            if call.status == ToolCallStatus.PENDING:
                return Pause(f"waiting for your answer: run {call.name}?")
            if call.status == ToolCallStatus.RUNNING:
                self._run(thread, call)
                if self._stopping.is_set():
                    return None
        calls = self._store.tool_calls(reply.id)
        if sum(1 for c in calls if (c.error or "").startswith(INVALID_ARGUMENTS)) >= 2:
            return None  # told the model once; the second miss goes to the user (the card shows it)
        return FollowUp(transcript(calls))

    def _run(self, thread: Thread, call: ToolCall) -> None:
        found = self._registry.find(thread, call.name)
        started = self._monotonic()
        if found is None:
            outcome = ToolOutcome("", error=f"{call.name} is no longer offered in this thread")
        else:
            outcome = self._call_until_stopped(thread, found[1], call)
        elapsed = int((self._monotonic() - started) * 1000)
        if outcome is None:
            self._store.update_tool_call(call.id, status=ToolCallStatus.FAILED, error="stopped", duration_ms=elapsed)
            return
        status = ToolCallStatus.FAILED if outcome.error else ToolCallStatus.DONE
        self._store.update_tool_call(
            call.id, status=status, result=outcome.content, error=outcome.error, duration_ms=elapsed
        )
        log.info("tool %s (%s) in thread %s: %s in %d ms", call.name, call.server, thread.id, status, elapsed)

    def _call_until_stopped(self, thread: Thread, provider: ToolProvider, call: ToolCall) -> ToolOutcome | None:
        """The provider's outcome, or None if the user stopped the chain first (the call is left to finish alone)."""
        box: list[ToolOutcome] = []

        def work() -> None:
            try:
                box.append(provider.call(thread, call.name, call.arguments))
            except Exception as exc:
                log.exception("tool %s failed", call.name)
                box.append(ToolOutcome("", error=f"{call.name} failed: {type(exc).__name__}: {exc}".splitlines()[0]))

        worker = threading.Thread(target=work, name=f"tool-{call.name}", daemon=True)
        worker.start()
        while worker.is_alive():
            if self._stopping.wait(STOP_POLL_S):
                return None
            worker.join(STOP_POLL_S)
        return box[0]


class ToolService:
    """What the window and the CLI do with tools: list them, choose a thread's, answer a waiting call."""

    def __init__(self, store: Store, registry: ToolRegistry, resume: Callable[..., Iterator[ChatEvent]]) -> None:
        """`resume(reply_id, approved=…)` is ChatService.resume."""
        self._store = store
        self.registry = registry
        self._resume = resume

    def tools(self, thread: Thread) -> list[tuple[ToolSpec, bool]]:
        """Every tool with whether the thread is offered it."""
        offered = {spec.name for spec in self.registry.offered(thread)}
        return [(spec, spec.name in offered) for spec, _ in self.registry.available(thread)]

    def choose(self, thread_id: int, names: list[str] | None) -> None:
        """The tools a thread may use from now on ([]: none; None: the default, all of them)."""
        if names:
            thread = self._store.get_thread(thread_id)
            unknown = sorted(set(names) - self.registry.names(thread))
            if unknown:
                known = ", ".join(sorted(self.registry.names(thread)))
                raise InvalidInput(f"no tool named {', '.join(unknown)} (the tools: {known})")
        self._store.set_thread_tools(thread_id, names)

    def calls(self, message_id: int) -> list[ToolCall]:
        return self._store.tool_calls(message_id)

    def pending(self, call_id: int) -> ToolCall:
        """The call, if it waits for an answer now (the first waiting call of a paused reply)."""
        call = self._store.get_tool_call(call_id)
        reply = self._store.get_message(call.message_id)
        first = next((c for c in self._store.tool_calls(reply.id) if c.status == ToolCallStatus.PENDING), None)
        if reply.status != MessageStatus.PAUSED or first is None or first.id != call.id:
            raise InvalidInput(f"tool call {call_id} is not waiting for an answer (it is {call.status})")
        return call

    def answer(self, call_id: int, *, run: bool, always: bool = False) -> Iterator[ChatEvent]:
        """The user's Run / Always for this thread / Don't: resumes the paused reply (a generator, like chat)."""
        call = self.pending(call_id)
        if run and always:
            self._store.grant_tool(call.thread_id, call.server, call.name)
        return self._resume(call.message_id, approved=run)
