"""Custom instructions, a thread's system prompt per branch, assistants, and recalled memories in a thread's system
turn: the real store, router, context builder and turn loop on the scripted backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import scripted_services

from app.core.domain import ReplyFinished, Role
from app.core.errors import InvalidInput, NotFound
from app.core.memory import Assistant, MemorySource, MemoryStatus
from app.core.routing import PrivacyRule, Provider, RouteReason
from app.platform.settings import Settings, load_settings, save_settings
from app.services.routing import Route


@pytest.fixture
def services(tmp_path: Path):
    services = scripted_services(tmp_path / "data")
    yield services
    services.store.close()


def reply_of(events) -> int:
    return next(e for e in events if isinstance(e, ReplyFinished)).reply.id


def system_turns(services) -> list[str]:
    """The system turn of every reply the backend was asked for (titles have no cache key), in order."""
    turns = []
    for request in services.backend().requests:
        if request.cache_key is not None:
            first = request.turns[0]
            turns.append(first.content if first.role == Role.SYSTEM else "")
    return turns


def set_instructions(services, **values) -> None:
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(**values))


def test_custom_instructions_go_to_new_threads_and_a_change_applies_from_the_next_thread(services):
    set_instructions(services, about_me="I am a nurse in Porto.", answer_style="Answer in two sentences.")
    first = services.chat.new_thread()
    list(services.chat.send(first.id, "Plan my week"))
    set_instructions(services, about_me="I am a teacher in Braga.")
    list(services.chat.send(first.id, "And the weekend?"))
    second = services.chat.new_thread()
    list(services.chat.send(second.id, "Plan my week"))
    old, old_again, new = system_turns(services)
    assert "nurse in Porto" in old and "two sentences" in old
    assert old_again == old  # the thread's prompt is append-only: it kept what it started with
    assert "teacher in Braga" in new and "nurse" not in new


def test_a_thread_system_prompt_applies_from_the_next_branch(services):
    thread = services.chat.new_thread()
    first_reply = reply_of(services.chat.send(thread.id, "Hello"))
    services.store.set_thread_system_prompt(thread.id, "You are a pirate.")
    list(services.chat.send(thread.id, "Go on"))  # the same branch: keeps the prompt it began with
    user = services.store.get_message(first_reply).parent_id
    list(services.chat.edit(user, "Hello again"))  # a new branch: the new prompt
    list(services.chat.regenerate(first_reply))  # so is a regenerated reply
    before, same_branch, edited, regenerated = system_turns(services)
    assert before == same_branch == ""
    assert edited == regenerated == "You are a pirate."
    services.store.set_thread_system_prompt(thread.id, None)
    list(services.chat.regenerate(first_reply))
    assert system_turns(services)[-1] == ""
    assert services.store.get_thread(thread.id).system_prompt is None


def test_a_fork_goes_on_under_the_prompt_its_branch_was_written_under(services):
    set_instructions(services, about_me="I am a nurse in Porto.")
    services.memory.add("The user is allergic to peanuts", status=MemoryStatus.APPROVED)
    thread = services.chat.new_thread()
    services.store.set_thread_system_prompt(thread.id, "You are a pirate.")
    first_reply = reply_of(services.chat.send(thread.id, "Suggest a peanut snack"))
    services.store.set_thread_system_prompt(thread.id, "You are a judge.")  # for branches begun from now on
    set_instructions(services, about_me="I am a teacher.")
    fork = services.store.fork(first_reply)
    assert fork.system_prompt == "You are a pirate."
    list(services.chat.send(fork.id, "Another one"))
    original, forked = system_turns(services)
    assert forked == original and "pirate" in forked and "nurse in Porto" in forked and "peanuts" in forked
    assert [text for _, text in services.store.thread_recall(fork.id)] == ["The user is allergic to peanuts"]


def test_a_new_thread_system_prompt_applies_to_its_first_reply(services):
    thread = services.chat.new_thread()
    services.store.set_thread_system_prompt(thread.id, "  Reply in French.  ")
    list(services.chat.send(thread.id, "Hello"))
    assert system_turns(services) == ["Reply in French."]
    with pytest.raises(NotFound):
        services.store.set_thread_system_prompt(999, "x")


def test_a_thread_that_had_replies_before_keeps_its_prompt_when_instructions_appear(services):
    thread = services.chat.new_thread()
    list(services.chat.send(thread.id, "Hello"))
    services.store.db.execute_sql("DELETE FROM thread_start")  # as a thread written before this feature
    set_instructions(services, about_me="I am a nurse.")
    list(services.chat.send(thread.id, "Again"))
    assert system_turns(services) == ["", ""]


def test_approved_memories_are_recalled_at_a_new_threads_start_within_the_budget(services):
    memory = services.memory
    kept = memory.add("The user is allergic to peanuts", status=MemoryStatus.APPROVED).memory
    memory.add("The user keeps bees on the roof", status=MemoryStatus.INBOX)  # not approved: never recalled
    thread = services.chat.new_thread()
    reply = services.store.get_message(reply_of(services.chat.send(thread.id, "Suggest a snack with peanuts")))
    prompt = system_turns(services)[0]
    assert "allergic to peanuts" in prompt and "bees" not in prompt
    assert [m.id for m in services.thread_start.used_by(reply)] == [kept.id]
    assert memory.get(kept.id).uses == 1 and memory.get(kept.id).last_used_at is not None
    # A budget too small for any memory recalls none.
    set_instructions(services, memory_budget_tokens=5)
    other = services.chat.new_thread()
    list(services.chat.send(other.id, "Suggest a snack with peanuts"))
    assert "peanuts" not in system_turns(services)[-1]


def test_an_incognito_thread_recalls_nothing(services):
    services.memory.add("The user is allergic to peanuts", status=MemoryStatus.APPROVED)
    thread = services.chat.new_thread(incognito=True)
    list(services.chat.send(thread.id, "Suggest a snack with peanuts"))
    assert "peanuts" not in system_turns(services)[0]
    assert services.store.thread_recall(thread.id) == []


def test_a_hosted_route_gets_only_memories_that_may_leave_the_machine(services):
    local = services.chat.new_thread()
    allowed = services.chat.new_thread()
    services.routing.set_privacy_rule(allowed.id, PrivacyRule.ALLOWED)
    for thread, text in ((local, "I am allergic to peanuts"), (allowed, "I like peanut butter")):
        message = services.store.add_message(thread.id, parent_id=None, role=Role.USER, content=text)
        services.memory.add(text, sources=[MemorySource(thread.id, message.id)], status=MemoryStatus.APPROVED)
    thread = services.chat.new_thread()
    reply = services.store.get_message(reply_of(services.chat.send(thread.id, "peanut snacks")))
    local_prompt = services.thread_start.for_reply(thread, reply, Route("starter", RouteReason.THREAD))
    provider = Provider("p", "http://127.0.0.1:1/v1", "m", datetime.now(UTC))
    hosted_prompt = services.thread_start.for_reply(thread, reply, Route("p/m", RouteReason.UPGRADE, provider=provider))
    assert "allergic" in local_prompt and "peanut butter" in local_prompt
    assert "allergic" not in hosted_prompt and "peanut butter" in hosted_prompt


def test_assistants_are_saved_listed_edited_and_removed(services):
    store = services.store
    coach = store.add_assistant(Assistant(0, "Coach", system_prompt="Be brief.", tools=("recall",), folders=("/x",)))
    assert store.get_assistant("coach") == coach and store.get_assistant(str(coach.id)) == coach
    with pytest.raises(InvalidInput, match="already an assistant named"):
        store.add_assistant(Assistant(0, "COACH"))
    with pytest.raises(InvalidInput, match="needs a name"):
        store.add_assistant(Assistant(0, "   "))
    edited = store.update_assistant(Assistant(coach.id, "Coach", system_prompt="Be kind.", privacy_rule=PrivacyRule.ASK))
    assert edited.system_prompt == "Be kind." and edited.privacy_rule == PrivacyRule.ASK and edited.tools == ()
    store.remove_assistant(coach.id)
    assert store.assistants() == []
    with pytest.raises(NotFound, match="no assistant named 'Coach'"):
        store.get_assistant("Coach")


def test_settings_hold_the_memory_defaults():
    assert Settings().memory_budget_tokens == 600 and Settings().memory_auto_approve is False
