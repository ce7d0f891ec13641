"""Routing on the real starter model and the hosted stand-in (llama_cpp.server on 127.0.0.1 behind a counting relay):
upgrade, fallback, consent, offline, the ledger."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import pytest

from app.core.domain import (
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    MessageStatus,
    ReplyFinished,
    Role,
    SamplingParams,
    TokenEvent,
)
from app.core.errors import ConsentRequired, HostedError, OfflineMode
from app.core.routing import PrivacyRule, RouteReason
from app.platform.settings import load_settings, save_settings
from app.runtime.hosted import HostedBackend
from app.services.session import Session
from tests.e2e.test_worker import STORY, local_pid

pytestmark = pytest.mark.slow

HOSTED = "stand-in/smollm2"


@pytest.fixture
def routed(session: Session, hosted, memory_keyring, api_key: str) -> Session:
    session.providers.add("stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=24, seed=1)
    return session


def _finish(events) -> ReplyFinished:
    return [event for event in events if isinstance(event, ReplyFinished)][-1]


def _thread(session: Session, rule: PrivacyRule) -> int:
    thread = session.chat.new_thread()
    session.routing.set_privacy_rule(thread.id, rule)
    return thread.id


def _backend_of(session: Session, message_id: int) -> str:
    return session.store.db.execute_sql("SELECT backend FROM usage_event WHERE message_id = ?", (message_id,)).fetchone()[0]


def _crash_a_turn(session: Session, thread_id: int) -> bool:
    """Send a long ask and SIGKILL the local worker once the reply streams; True if the reply was interrupted."""
    session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=300)
    finished = None
    for event in session.chat.send(thread_id, STORY):
        if isinstance(event, TokenEvent) and (pid := local_pid(session)) is not None:
            os.kill(pid, signal.SIGKILL)
        if isinstance(event, ReplyFinished):
            finished = event
    session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=24)
    return finished.reply.status == MessageStatus.INTERRUPTED


def test_the_hosted_backend_streams_tokens_with_usage_and_timings(hosted, api_key: str):
    backend = HostedBackend(provider="stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    request = GenerationRequest((ChatTurn(Role.USER, "Name three colours."),), SamplingParams(max_tokens=16, seed=3))
    events = list(backend.generate(request))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    done = events[-1]
    assert len(tokens) > 1 and isinstance(done, DoneEvent)
    assert done.usage.completion_tokens == len(tokens) and done.usage.prompt_tokens > 0
    assert done.timings.ttft_s > 0 and done.finish_reason in ("stop", "length")
    assert hosted.connections == 1


def test_a_refused_key_gives_a_clear_error_that_never_contains_the_key(hosted):
    wrong_key = "sk-wrong-" + "x" * 24
    backend = HostedBackend(provider="stand-in", base_url=hosted.url, model="smollm2", api_key=wrong_key)
    with pytest.raises(HostedError) as caught:
        list(backend.generate(GenerationRequest((ChatTurn(Role.USER, "hi"),))))
    assert "HTTP 401" in str(caught.value) and "providers add stand-in" in str(caught.value)
    assert wrong_key not in str(caught.value) and wrong_key not in repr(backend)
    assert caught.value.__cause__ is None


def test_cancel_stops_a_hosted_reply_early(hosted, api_key: str):
    backend = HostedBackend(provider="stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    request = GenerationRequest((ChatTurn(Role.USER, STORY),), SamplingParams(max_tokens=400, seed=3))
    tokens = 0
    for event in backend.generate(request):
        if isinstance(event, TokenEvent):
            tokens += 1
            if tokens == 3:
                backend.cancel()
        else:
            done = event
    assert done.finish_reason == "cancelled" and tokens < 400


def test_upgrade_creates_a_sibling_reply_from_the_hosted_model(routed: Session, hosted):
    thread_id = _thread(routed, PrivacyRule.ALLOWED)
    local = _finish(routed.chat.send(thread_id, "Name a fruit.")).reply
    assert local.model == "smollm2-135m-instruct" and _backend_of(routed, local.id) == "local"
    assert hosted.connections == 0

    upgraded = _finish(routed.chat.regenerate(local.id, model=HOSTED)).reply
    assert upgraded.status == MessageStatus.COMPLETE and upgraded.content
    assert upgraded.parent_id == local.parent_id and upgraded.id != local.id  # a sibling: a new branch
    assert upgraded.model == HOSTED and _backend_of(routed, upgraded.id) == "hosted"
    assert routed.store.get_thread(thread_id).current_leaf_id == upgraded.id
    [call] = routed.routing.ledger(thread_id)
    assert (call.message_id, call.provider, call.model, call.reason) == (upgraded.id, "stand-in", "smollm2", RouteReason.UPGRADE)
    assert call.completion_tokens > 0 and call.prompt_tokens > 0
    assert routed.routing.left_machine(thread_id)
    assert hosted.connections == 1


def test_a_local_only_thread_refuses_an_upgrade_without_any_network_call(routed: Session, hosted):
    thread_id = _thread(routed, PrivacyRule.LOCAL_ONLY)
    local = _finish(routed.chat.send(thread_id, "Name a fruit.")).reply
    before = routed.store.messages(thread_id)
    with pytest.raises(ConsentRequired, match=f"thread {thread_id} is local only"):
        list(routed.chat.regenerate(local.id, model=HOSTED))
    assert routed.store.messages(thread_id) == before  # nothing written
    assert hosted.connections == 0 and routed.routing.ledger() == []
    assert not routed.routing.left_machine(thread_id)


def test_ask_each_time_needs_the_users_yes_for_the_turn(routed: Session, hosted):
    thread_id = _thread(routed, PrivacyRule.ASK)
    with pytest.raises(ConsentRequired, match="asks before"):
        list(routed.chat.send(thread_id, "Hello", model=HOSTED))
    assert hosted.connections == 0
    reply = _finish(routed.chat.send(thread_id, "Hello", model=HOSTED, allow_hosted=True)).reply
    assert reply.model == HOSTED and reply.status == MessageStatus.COMPLETE
    assert hosted.connections == 1 and len(routed.routing.ledger(thread_id)) == 1


def test_the_worker_killed_twice_hands_the_next_turn_to_the_hosted_fallback(routed: Session, hosted):
    thread_id = _thread(routed, PrivacyRule.ALLOWED)
    assert sum(_crash_a_turn(routed, thread_id) for _ in range(2)) == 2
    assert hosted.connections == 0  # interrupted replies keep their partial text; no fallback mid-reply

    reply = _finish(routed.chat.send(thread_id, "Say hello.")).reply
    assert reply.status == MessageStatus.COMPLETE and reply.model == HOSTED
    assert _backend_of(routed, reply.id) == "hosted"
    assert [call.reason for call in routed.routing.ledger(thread_id)] == [RouteReason.FALLBACK]
    assert hosted.connections == 1


def test_without_consent_a_twice_killed_worker_stays_local_and_nothing_is_sent(routed: Session, hosted):
    thread_id = _thread(routed, PrivacyRule.LOCAL_ONLY)
    assert sum(_crash_a_turn(routed, thread_id) for _ in range(2)) == 2
    reply = _finish(routed.chat.send(thread_id, "Say hello.")).reply
    assert reply.model == "smollm2-135m-instruct" and _backend_of(routed, reply.id) == "local"
    assert hosted.connections == 0 and routed.routing.ledger() == []


def test_a_missing_local_model_falls_back_only_where_allowed(routed: Session, hosted):
    refused = _thread(routed, PrivacyRule.LOCAL_ONLY)
    routed.routing.set_thread_model(refused, "no-such-model")
    reply = _finish(routed.chat.send(refused, "Hello")).reply
    assert reply.status == MessageStatus.ERROR
    assert "no model named 'no-such-model'" in reply.error and "local only" in reply.error
    assert "no fallback was used" in reply.error
    assert hosted.connections == 0

    allowed = _thread(routed, PrivacyRule.ALLOWED)
    routed.routing.set_thread_model(allowed, "no-such-model")
    reply = _finish(routed.chat.send(allowed, "Hello")).reply
    assert reply.status == MessageStatus.COMPLETE and reply.model == HOSTED
    assert [call.reason for call in routed.routing.ledger(allowed)] == [RouteReason.FALLBACK]
    assert hosted.connections == 1


def test_offline_blocks_hosted_calls_and_downloads(routed: Session, hosted, data_dir: Path, tmp_path: Path):
    from servers import GgufServer

    from app.services.models import ModelService, load_catalog

    save_settings(data_dir, load_settings(data_dir).with_changes(offline=True))
    thread_id = _thread(routed, PrivacyRule.ALLOWED)
    with pytest.raises(OfflineMode, match="offline mode is on"):
        list(routed.chat.send(thread_id, "Hello", model=HOSTED))
    routed.routing.set_thread_model(thread_id, "no-such-model")  # would fall back, were it online
    reply = _finish(routed.chat.send(thread_id, "Hello")).reply
    assert reply.status == MessageStatus.ERROR and "offline mode is on" in reply.error

    starter = load_catalog()[0]
    server = GgufServer(routed.models_dir / starter.file)
    try:
        spec = dataclasses.replace(starter, name="served", source=server.url)
        offline_models = ModelService(tmp_path / "models", [spec], offline=lambda: load_settings(data_dir).offline)
        with pytest.raises(OfflineMode):
            offline_models.pull("served")
        assert server.requests == []
    finally:
        server.close()
    assert hosted.connections == 0 and routed.routing.ledger() == []


def test_a_prompt_larger_than_the_local_window_goes_to_the_fallback(
    data_dir: Path, models_dir: Path, hosted, memory_keyring, api_key: str
):
    from app.platform.settings import Settings
    from app.services.session import open_session

    data_dir.mkdir(parents=True)
    save_settings(data_dir, Settings(n_ctx=256))  # a tiny local window; the stand-in has 2048
    session = open_session(data_dir, models_dir)
    try:
        session.providers.add("stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
        session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=16, seed=1)
        thread_id = _thread(session, PrivacyRule.ALLOWED)
        reply = _finish(session.chat.send(thread_id, "Summarise this. " + "The sea is calm today. " * 60)).reply
        assert reply.status == MessageStatus.COMPLETE and reply.model == HOSTED
        assert [call.reason for call in session.routing.ledger(thread_id)] == [RouteReason.FALLBACK]
    finally:
        session.close()
