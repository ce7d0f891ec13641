"""The embedder's cores (issue 17): all of them while no local reply streams, one while one does, so chat never
waits on an ingest. The router counts every local model call while it generates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.domain import CallPurpose, ChatTurn, GenerationRequest, Role
from app.core.routing import RouteReason
from app.services.embedding import embedding_threads
from app.services.routing import Route
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
