"""The turn loop, the context builder and the router on a scripted backend: every path of a reply in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import SECOND_MODEL, scripted_services

from app.core.domain import (
    ChatTurn,
    ContextBuilt,
    MessageStatus,
    ReplyFinished,
    Role,
    ThreadCompacted,
    ThreadRetitled,
    TokenEvent,
)
from app.core.errors import InvalidInput, WorkerDied
from app.platform.settings import Settings
from app.services.context import SUMMARY_PREFIX, MessageContext
from app.services.turns import FollowUp, Pause


def run(events) -> list:
    return list(events)


def finished(events: list) -> ReplyFinished:
    return next(e for e in events if isinstance(e, ReplyFinished))


def usage_rows(services) -> list[tuple[str, int | None, int | None]]:
    return [
        tuple(row)
        for row in services.store.db.execute_sql(
            "SELECT purpose, thread_id, message_id FROM usage_event ORDER BY id"
        ).fetchall()
    ]


@pytest.fixture
def services(tmp_path: Path):
    services = scripted_services(tmp_path / "data")
    yield services
    services.store.close()


def test_a_reply_streams_into_the_store_and_every_call_is_metered(services):
    thread = services.chat.new_thread()
    events = run(services.chat.send(thread.id, "Plan a trip to Lisbon"))
    backend = services.backend()
    assert [e.text for e in events if isinstance(e, TokenEvent)] == ["ok"]
    reply = finished(events).reply
    assert reply.status == MessageStatus.COMPLETE and reply.content == "ok"
    assert reply.usage is not None and reply.usage.completion_tokens == 1
    report = next(e for e in events if isinstance(e, ContextBuilt)).report
    assert report.window == 4096 and report.tokens == backend.count_tokens(backend.requests[0].turns)
    assert report.folded == () and report.left_out == ()
    # the title is asked of the thread's own model, after the reply
    assert any(isinstance(e, ThreadRetitled) for e in events)
    assert usage_rows(services) == [("turn", thread.id, reply.id), ("title", thread.id, None)]


def test_stop_ends_the_whole_chain_and_keeps_the_partial_reply(services):
    class AlwaysMore:
        asked = 0

        def after_step(self, thread, result):
            self.asked += 1
            return FollowUp((ChatTurn(Role.USER, "go on"),))

        def resume(self, thread, reply, *, approved):
            return None

    handler = AlwaysMore()
    services.runner.handlers.append(handler)
    thread = services.chat.new_thread()
    events = []
    backend = services.backend()
    backend.enqueue(["one ", "two ", "three ", "four"])
    for event in services.chat.send(thread.id, "count"):
        events.append(event)
        if isinstance(event, TokenEvent) and event.text == "two ":
            services.chat.stop()
    reply = finished(events).reply
    assert reply.status == MessageStatus.INTERRUPTED and reply.error == "stopped"
    assert reply.content == "one two "
    assert handler.asked == 0 and len(backend.requests) == 1  # no follow-up call after a stop


def test_a_follow_up_is_a_second_call_in_the_same_reply(services):
    class OneFollowUp:
        def after_step(self, thread, result):
            return FollowUp((ChatTurn(Role.USER, "tool says 42"),)) if result.step == 1 else None

        def resume(self, thread, reply, *, approved):
            return None

    services.runner.handlers.append(OneFollowUp())
    thread = services.chat.new_thread()
    backend = services.backend()
    backend.enqueue(["Let me check. "], ["It is 42."])
    events = run(services.chat.send(thread.id, "What is six times seven?"))
    reply = finished(events).reply
    assert reply.status == MessageStatus.COMPLETE and reply.content == "Let me check. It is 42."
    second = backend.requests[1].turns
    assert second[-2:] == (ChatTurn(Role.ASSISTANT, "Let me check. "), ChatTurn(Role.USER, "tool says 42"))
    assert backend.requests[0].turns == second[:-2]  # the same prompt, extended: append-only
    assert [row for row in usage_rows(services) if row[0] == "turn"] == [("turn", thread.id, reply.id)] * 2


def test_a_chain_stops_at_the_step_limit(tmp_path: Path):
    services = scripted_services(tmp_path / "data", settings=Settings(max_steps=3))

    class Forever:
        def after_step(self, thread, result):
            return FollowUp((ChatTurn(Role.USER, "again"),))

        def resume(self, thread, reply, *, approved):
            return None

    services.runner.handlers.append(Forever())
    thread = services.chat.new_thread()
    reply = finished(run(services.chat.send(thread.id, "loop"))).reply
    assert reply.status == MessageStatus.COMPLETE
    assert len(services.backend().requests) - 1 == 3  # three steps, then the title
    services.store.close()


def test_a_paused_chain_resumes_from_the_store(services):
    class AskFirst:
        answered = False

        def after_step(self, thread, result):
            return None if self.answered else Pause("waiting for your yes to run a tool")

        def resume(self, thread, reply, *, approved):
            self.answered = True
            return FollowUp((ChatTurn(Role.USER, "approved" if approved else "refused"),))

    services.runner.handlers.append(AskFirst())
    thread = services.chat.new_thread()
    backend = services.backend()
    backend.enqueue(["I need a tool. "], ["Done."])
    first = finished(run(services.chat.send(thread.id, "do it")))
    assert first.finish_reason == "paused"
    paused = services.store.get_message(first.reply.id)
    assert paused.status == MessageStatus.PAUSED and paused.error == "waiting for your yes to run a tool"
    with pytest.raises(InvalidInput):
        run(services.chat.resume(paused.parent_id, approved=True))
    resumed = finished(run(services.chat.resume(paused.id, approved=True))).reply
    assert resumed.id == paused.id and resumed.status == MessageStatus.COMPLETE
    assert resumed.content == "I need a tool. Done."
    assert backend.requests[1].turns[-1] == ChatTurn(Role.USER, "approved")  # then the title


def test_a_worker_death_before_the_first_token_is_retried_once(services):
    thread = services.chat.new_thread()
    backend = services.backend()
    backend.enqueue(WorkerDied("the model worker stopped unexpectedly"), ["fine"])
    reply = finished(run(services.chat.send(thread.id, "hello"))).reply
    assert reply.status == MessageStatus.COMPLETE and reply.content == "fine"


def test_a_failed_title_keeps_the_provisional_one(services):
    thread = services.chat.new_thread()
    backend = services.backend()
    backend.enqueue(["sure"], WorkerDied("gone"))
    events = run(services.chat.send(thread.id, "Plan a trip to Lisbon"))
    assert finished(events).reply.status == MessageStatus.COMPLETE
    assert not any(isinstance(e, ThreadRetitled) for e in events)
    assert services.store.get_thread(thread.id).title == "Plan a trip to Lisbon"
    assert [row[0] for row in usage_rows(services)] == ["turn"]  # a call that failed records nothing


def test_the_embedding_model_cannot_answer_a_thread(services):
    thread = services.chat.new_thread()
    services.routing.set_thread_model(thread.id, "all-minilm-l6-v2")
    reply = finished(run(services.chat.send(thread.id, "hello"))).reply
    assert reply.status == MessageStatus.ERROR and "embedding model" in reply.error


def test_one_local_model_in_memory_and_titles_use_the_threads_own(services):
    first, second = services.chat.new_thread(), services.chat.new_thread()
    services.routing.set_thread_model(second.id, SECOND_MODEL)
    run(services.chat.send(first.id, "hello"))
    run(services.chat.send(second.id, "hello again"))
    loaded = services.router.loaded_models()
    assert [m.name for m in loaded] == [SECOND_MODEL]
    assert services.backends[services.router.default_model].shut_down
    second_backend = services.backends[SECOND_MODEL]
    assert len(second_backend.requests) == 2  # its turn and its title: the default model was not loaded again
    assert "title" in second_backend.requests[1].turns[0].content


def test_two_models_stay_loaded_when_the_setting_allows(tmp_path: Path):
    services = scripted_services(tmp_path / "data", settings=Settings(max_local_models=2))
    first, second = services.chat.new_thread(), services.chat.new_thread()
    services.routing.set_thread_model(second.id, SECOND_MODEL)
    run(services.chat.send(first.id, "hello"))
    run(services.chat.send(second.id, "hello"))
    assert sorted(m.name for m in services.router.loaded_models()) == sorted([services.router.default_model, SECOND_MODEL])
    services.store.close()


def test_a_hosted_thread_titles_with_a_local_model_unless_allowed(services):
    thread = services.chat.new_thread()
    services.routing.set_thread_model(thread.id, "acme/big-model")
    route = services.router.utility_route(services.store.get_thread(thread.id))
    assert not route.hosted and route.model == services.router.default_model


def long_turns(services, thread_id: int, count: int, words: int) -> None:
    parent = None
    for index in range(count):
        role = Role.USER if index % 2 == 0 else Role.ASSISTANT
        parent = services.store.add_message(thread_id, parent_id=parent, role=role, content=" ".join(["w"] * words)).id


def test_a_thread_that_outgrows_the_window_is_folded_and_says_so(tmp_path: Path):
    services = scripted_services(tmp_path / "data", window=400)
    thread = services.chat.new_thread()
    long_turns(services, thread.id, 10, 40)  # ~440 scripted tokens before the new message
    backend = services.backend()
    backend.enqueue(["A short summary of the earlier turns."], ["answer"])
    events = run(services.chat.send(thread.id, "and now?"))
    compacted = next(e for e in events if isinstance(e, ThreadCompacted))
    report = next(e for e in events if isinstance(e, ContextBuilt)).report
    assert report.folded and report.folded[-1] == compacted.summary.up_to_message_id
    assert report.tokens + 1 <= report.window
    prompt = backend.requests[1].turns
    assert prompt[0].content.startswith(SUMMARY_PREFIX)
    assert finished(events).reply.content == "answer"
    purposes = [row[0] for row in usage_rows(services)]
    assert purposes[:2] == ["compaction", "turn"]
    services.store.close()


class HugePassages:
    """A contributor that gives every user message far more text than the window holds."""

    def for_message(self, thread, message, *, budget_tokens):
        return MessageContext(prefix=" ".join(["passage"] * 500) + "\n", tokens_hint=500)


def test_passages_that_do_not_fit_are_left_out_and_reported(tmp_path: Path):
    services = scripted_services(tmp_path / "data", window=400, contributors=[HugePassages()])
    thread = services.chat.new_thread()
    events = run(services.chat.send(thread.id, "what do the files say?"))
    reply = finished(events).reply
    report = next(e for e in events if isinstance(e, ContextBuilt)).report
    assert reply.status == MessageStatus.COMPLETE
    assert [(o.what, o.message_id) for o in report.left_out] == [("passages", reply.parent_id)]
    assert "passage" not in services.backend().requests[0].turns[-1].content
    services.store.close()


def test_a_message_larger_than_the_window_fails_in_one_line(tmp_path: Path):
    services = scripted_services(tmp_path / "data", window=100)
    thread = services.chat.new_thread()
    reply = finished(run(services.chat.send(thread.id, " ".join(["word"] * 200)))).reply
    assert reply.status == MessageStatus.ERROR
    assert "do not fit the model's window" in reply.error and "\n" not in reply.error
    services.store.close()


def test_the_reply_is_shortened_to_the_room_left(tmp_path: Path):
    services = scripted_services(tmp_path / "data", window=100)
    thread = services.chat.new_thread()
    run(services.chat.send(thread.id, " ".join(["word"] * 60)))
    request = services.backend().requests[0]
    tokens = services.backend().count_tokens(request.turns)
    assert request.sampling.max_tokens == 100 - tokens < 64
    services.store.close()
