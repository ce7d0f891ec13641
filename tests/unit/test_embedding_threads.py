"""The embedder's cores (issue 17): all of them while no local reply streams, one while one does, none for other
threads (an ingest) until a turn's first token, so chat never waits on an ingest; an attachment's summary calls wait
for a running turn. The router counts every local model call while it generates."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from app.core.domain import (
    CallPurpose,
    ChatTurn,
    ContextBuilt,
    GenerationRequest,
    MessageStatus,
    ReplyFinished,
    Role,
    TokenEvent,
)
from app.core.tools import ToolCallRequest, ToolEffect, ToolOutcome, ToolSpec
from app.core.errors import GenerationFailed
from app.core.routing import RouteReason
from app.services.embedding import embedding_threads
from app.services.routing import FIRST_OUTPUT_HOLD_S, LocalActivity, Route
from tests.fakes import scripted_services

REQUEST = GenerationRequest(turns=(ChatTurn(Role.USER, "hello"),))


def test_embedding_takes_every_core_when_idle_and_one_while_a_reply_streams(tmp_path: Path):
    services = scripted_services(tmp_path)
    threads = embedding_threads(services.router.local_activity.busy)
    services.backend().enqueue(["one", " two", " three"])
    assert threads() == (os.cpu_count() or 1)
    seen = []
    route = Route(model=services.router.default_model, reason=RouteReason.THREAD)
    for _event in services.router.backend(route, purpose=CallPurpose.TURN).generate(REQUEST):
        seen.append(threads())
    assert seen and set(seen) == {1}
    assert threads() == (os.cpu_count() or 1)


def test_a_reply_that_fails_gives_the_cores_back(tmp_path: Path):
    services = scripted_services(tmp_path)
    services.backend().enqueue(RuntimeError("the worker died"))
    route = Route(model=services.router.default_model, reason=RouteReason.THREAD)
    with pytest.raises(RuntimeError):
        list(services.router.backend(route, purpose=CallPurpose.TURN).generate(REQUEST))
    assert not services.router.local_activity.busy()


def test_a_reply_abandoned_midway_gives_the_cores_back(tmp_path: Path):
    services = scripted_services(tmp_path)
    services.backend().enqueue(["one", " two", " three"])
    route = Route(model=services.router.default_model, reason=RouteReason.THREAD)
    stream = services.router.backend(route, purpose=CallPurpose.TURN).generate(REQUEST)
    next(stream)
    assert services.router.local_activity.busy()
    stream.close()  # a stopped reply
    assert not services.router.local_activity.busy()



def test_the_embedder_is_told_when_the_first_reply_starts_and_the_last_ends(tmp_path: Path):
    services = scripted_services(tmp_path)
    told = []
    services.router.local_activity.on_change(lambda: told.append(services.router.local_activity.busy()))
    services.backend().enqueue(["one", " two"])
    route = Route(model=services.router.default_model, reason=RouteReason.THREAD)
    list(services.router.backend(route, purpose=CallPurpose.TURN).generate(REQUEST))
    assert told == [True, False]


class BusyWhileBuilding:
    """A passages contributor that notes, while the turn's context is built, whether the embedder is held to one
    core."""

    def __init__(self, threads) -> None:
        self.threads = threads
        self.seen: list[int] = []

    def for_message(self, thread, message, *, budget_tokens):
        self.seen.append(self.threads())
        return None


def test_a_turn_holds_the_cores_from_its_start_not_from_its_first_model_call(tmp_path: Path):
    """Building a turn's context (its query vectors, token counts) and its prompt are what the first token waits
    for: the embedder is on one core from the turn's start, and gets every core back when it ends."""
    holder: list = []
    contributor = BusyWhileBuilding(lambda: holder[0]())
    services = scripted_services(tmp_path, contributors=[contributor])
    holder.append(embedding_threads(services.router.local_activity.busy))
    services.backend().enqueue(["fine"])
    list(services.chat.send(services.chat.new_thread().id, "hello"))
    assert contributor.seen and set(contributor.seen) == {1}
    assert not services.router.local_activity.busy()


class HoldSeen:
    """A passages contributor that notes, while the turn's context is built, whether an embed from another thread
    and one from the turn's own thread would wait."""

    def __init__(self, activity, other_thread: int) -> None:
        self.activity = activity
        self.other_thread = other_thread
        self.seen: list[tuple[bool, bool]] = []

    def for_message(self, thread, message, *, budget_tokens):
        own = threading.get_ident()
        self.seen.append((self.activity.holds_back(self.other_thread), self.activity.holds_back(own)))
        return None


def _other_thread_ident() -> int:
    other = threading.Thread(target=lambda: None)
    other.start()
    other.join()
    return other.ident


def test_a_turn_holds_other_threads_embeds_back_until_its_first_token(tmp_path: Path):
    """An ingest (another thread) waits from the turn's start to its first token; the turn's own embeds (its query
    vectors) never wait; the hold ends with the first token, not with the reply."""
    other = _other_thread_ident()
    contributor = HoldSeen(None, other)
    services = scripted_services(tmp_path, contributors=[contributor])
    contributor.activity = activity = services.router.local_activity
    services.backend().enqueue(["one", " two", " three"])
    held_at_tokens = []
    for event in services.chat.send(services.chat.new_thread().id, "hello"):
        if isinstance(event, TokenEvent):
            held_at_tokens.append(activity.holds_back(other))
    assert contributor.seen == [(True, False)]
    assert held_at_tokens and not any(held_at_tokens)
    assert not activity.holds_back(other)


def test_a_turn_that_fails_or_is_abandoned_before_its_first_token_holds_nothing_back(tmp_path: Path):
    services = scripted_services(tmp_path)
    activity = services.router.local_activity
    other = _other_thread_ident()
    services.backend().enqueue(GenerationFailed("the model failed"))
    (finished,) = [e for e in services.chat.send(services.chat.new_thread().id, "hello") if isinstance(e, ReplyFinished)]
    assert finished.reply.status == MessageStatus.ERROR
    assert not activity.holds_back(other)
    services.backend().enqueue(["one", " two"])
    stream = services.chat.send(services.chat.new_thread().id, "hello")
    for event in stream:
        if isinstance(event, ContextBuilt):
            break
    assert activity.holds_back(other)
    stream.close()  # a reply stopped before its first token
    assert not activity.holds_back(other) and not activity.busy()


def test_a_hold_lapses_when_the_first_token_is_long_in_coming():
    """A long prompt's processing lets the ingest go on (on one core) after FIRST_OUTPUT_HOLD_S."""
    now = [100.0]
    activity = LocalActivity(clock=lambda: now[0])
    other = _other_thread_ident()
    told = []
    activity.on_change(lambda: told.append(activity.holds_back(other)))
    with activity.turn():
        assert activity.holds_back(other)
        now[0] += FIRST_OUTPUT_HOLD_S + 0.1
        assert not activity.holds_back(other)
    assert told[-1] is False and True in told  # told when the hold began and when it ended


class HoldInTool:
    """A read-only tool (like a search over documents) that notes whether an embed from another thread would wait
    while it runs."""

    def __init__(self, activity, other_thread: int) -> None:
        self.activity = activity
        self.other_thread = other_thread
        self.seen: list[bool] = []

    def tools(self, thread):
        return [ToolSpec("look_up", "Look something up.", {"type": "object", "properties": {}}, ToolEffect.READ_ONLY, "notes")]

    def call(self, thread, name, arguments):
        self.seen.append(self.activity.holds_back(self.other_thread))
        return ToolOutcome("found it")


def test_a_first_step_that_calls_a_tool_ends_the_hold_before_the_tool_runs(tmp_path: Path):
    """A model whose first output is a tool call (no text): the tool runs on a thread of its own and may embed (a
    search); it must not wait for a first token that comes only after it."""
    other = _other_thread_ident()
    tool = HoldInTool(None, other)
    services = scripted_services(tmp_path, tool_providers=[tool])
    tool.activity = services.router.local_activity
    services.backend().enqueue([ToolCallRequest("c1", "look_up", {})], ["It is found."])
    list(services.chat.send(services.chat.new_thread().id, "look it up"))
    assert tool.seen == [False]


def test_a_summary_waits_for_a_running_turn_instead_of_taking_the_model_from_it(tmp_path: Path):
    """An ingest's summary calls come one after another; the model's lock is not fair, so without waiting a summary's
    next call took the model back from a reply sent meanwhile (the trial: five calls, ~32 s)."""
    services = scripted_services(tmp_path)
    services.backend().enqueue(["the reply"], ["the summary"])
    stream = services.chat.send(services.chat.new_thread().id, "hello")
    for event in stream:
        if isinstance(event, ContextBuilt):
            break  # the turn runs; its model call has not started yet
    route = Route(model=services.router.default_model, reason=RouteReason.THREAD)
    summary = []
    summarising = threading.Thread(
        target=lambda: summary.append(services.router.complete(REQUEST, purpose=CallPurpose.SUMMARY, route=route))
    )
    summarising.start()
    summarising.join(0.5)
    assert summarising.is_alive()  # waiting for the turn
    reply = "".join(event.text for event in stream if isinstance(event, TokenEvent))
    summarising.join(10)
    assert reply == "the reply" and summary == ["the summary"]


def test_a_background_call_from_the_turns_own_thread_does_not_wait_for_it():
    activity = LocalActivity()
    with activity.turn():
        started = time.monotonic()
        activity.yield_to_turns(timeout_s=5.0)
        waited = time.monotonic() - started
    assert waited < 2.5  # not the 5 s timeout: it would wait for itself
