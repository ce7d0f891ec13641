"""Long-term memory on the real store (SQLite, FTS5, sqlite-vec) with extraction answered by the scripted backend:
sources, dedupe, contradictions, the inbox, tombstones, forgetting without a trace, and the memory tools."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import scripted_services

from app.core.domain import CallPurpose, Role
from app.core.errors import InvalidInput, NotFound
from app.core.memory import Likeness, MemorySource, MemoryStatus, compare
from app.core.routing import PrivacyRule
from app.core.tools import ToolEffect
from app.platform.settings import load_settings, save_settings
from app.services.memory import FACTS_SCHEMA, grounded
from app.services.memory_tools import MemoryTools


@pytest.fixture
def services(tmp_path: Path):
    services = scripted_services(tmp_path / "data")
    yield services
    services.store.close()


def said(services, thread_id: int, *texts: str) -> list[int]:
    """User messages added to a thread, one after another; their ids."""
    ids, parent = [], None
    for text in texts:
        parent = services.store.add_message(thread_id, parent_id=parent, role=Role.USER, content=text).id
        ids.append(parent)
    return ids


def facts(*texts: str) -> list[str]:
    return [json.dumps({"facts": list(texts)})]


def test_extraction_proposes_grounded_facts_sourced_from_their_messages(services):
    thread = services.chat.new_thread()
    peanuts, capital, manager = said(
        services, thread.id, "I'm allergic to peanuts.", "What is the capital of France?", "My manager is Dana."
    )
    services.backend().enqueue(
        facts("The user is allergic to peanuts", "The user owns a yacht in Monaco"),  # the second is made up
        facts("The user's manager is Dana"),
    )
    report = services.memory.extract(thread.id)
    assert report.messages == 2  # the question says nothing about its writer: the model is not asked
    inbox = services.memory.inbox()
    assert [(m.text, m.sources) for m in reversed(inbox)] == [
        ("The user is allergic to peanuts", (MemorySource(thread.id, peanuts),)),
        ("The user's manager is Dana", (MemorySource(thread.id, manager),)),
    ]
    assert all(m.privacy == PrivacyRule.LOCAL_ONLY for m in inbox)
    requests = services.backend().requests
    assert all(r.json_schema == FACTS_SCHEMA for r in requests) and requests[0].cache_key is None
    purposes = [row[0] for row in services.store.db.execute_sql("SELECT purpose FROM usage_event")]
    assert purposes == [str(CallPurpose.MEMORY)] * 2
    # Read once: a second run asks the model nothing.
    assert services.memory.extract(thread.id).messages == 0 and len(services.backend().requests) == 2
    assert capital not in [s.message_id for m in inbox for s in m.sources]


def test_a_fact_told_over_several_messages_keeps_them_all_as_sources(services):
    thread = services.chat.new_thread()
    told, again, other = said(
        services, thread.id, "I'm allergic to peanuts.", "So no peanuts for me: the allergy is bad.", "I work at Acme."
    )
    services.backend().enqueue(facts("The user is allergic to peanuts"), facts(), facts())
    services.memory.extract(thread.id)
    (memory,) = services.memory.inbox()
    assert [s.message_id for s in memory.sources] == [told, again]  # not the one about work


def test_a_message_the_model_proposes_nothing_from_is_kept_in_its_own_words(services):
    thread = services.chat.new_thread()
    moved, _, _ = said(
        services,
        thread.id,
        "We finally moved the bakery to Rua Augusta last spring, at 1.5 times the rent. Do you know it?",
        "Thanks, that's so sweet!",  # tells nothing
        "How do sourdough starters work, and why does mine keep dying?",  # asks, tells nothing
    )
    services.backend().enqueue(facts(), facts())  # the small model often keeps nothing
    report = services.memory.extract(thread.id)
    assert report.messages == 2 and len(report.added) == 1
    (memory,) = services.memory.inbox()
    assert memory.text == "We finally moved the bakery to Rua Augusta last spring, at 1.5 times the rent"  # no question
    assert memory.sources == (MemorySource(thread.id, moved),)


def test_a_reply_that_is_not_json_proposes_nothing(services):
    thread = services.chat.new_thread()
    said(services, thread.id, "I live in Porto.")
    services.backend().enqueue(['{"facts": ["The user lives'])  # cut off at the token limit
    assert services.memory.extract(thread.id).added == [] and services.memory.inbox() == []


def test_an_incognito_thread_is_never_read(services):
    thread = services.chat.new_thread(incognito=True)
    said(services, thread.id, "I'm allergic to peanuts.")
    assert services.memory.extract(thread.id).messages == 0
    assert services.backend().requests == [] and services.memory.list_memories() == []


def test_a_duplicate_merges_its_sources_and_the_stricter_privacy(services):
    first, second = services.chat.new_thread(), services.chat.new_thread()
    services.routing.set_privacy_rule(first.id, PrivacyRule.ALLOWED)
    (one,) = said(services, first.id, "I am allergic to peanuts")
    (two,) = said(services, second.id, "Remember: I am allergic to peanuts!")
    added = services.memory.add("The user is allergic to peanuts.", sources=[MemorySource(first.id, one)]).memory
    assert added.privacy == PrivacyRule.ALLOWED and added.text == "The user is allergic to peanuts"
    outcome = services.memory.add("user is allergic to peanuts", sources=[MemorySource(second.id, two)])
    assert outcome.likeness == Likeness.DUPLICATE and outcome.memory.id == added.id
    assert outcome.memory.sources == (MemorySource(first.id, one), MemorySource(second.id, two))
    assert outcome.memory.privacy == PrivacyRule.LOCAL_ONLY  # the second source never leaves the machine
    assert len(services.memory.list_memories()) == 1


def test_a_contradiction_waits_for_the_users_choice(services):
    old = services.memory.add("The user's manager is Dana", status=MemoryStatus.APPROVED).memory
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(memory_auto_approve=True))
    outcome = services.memory.add("The user's manager is Sam")
    assert outcome.likeness == Likeness.CONTRADICTION
    new = outcome.memory
    assert new.status == MemoryStatus.INBOX and new.conflicts_with == old.id  # even under auto-approve: it asks
    assert services.memory.get(old.id).text == "The user's manager is Dana"  # never overwritten silently
    services.memory.approve(new.id, replace=True)
    assert [m.text for m in services.memory.list_memories()] == ["The user's manager is Sam"]
    assert services.memory.get(new.id).conflicts_with is None


def test_keeping_both_sides_of_a_contradiction(services):
    old = services.memory.add("The user has 2 cats", status=MemoryStatus.APPROVED).memory
    new = services.memory.add("The user has 3 cats").memory
    assert new.conflicts_with == old.id
    services.memory.approve(new.id)
    assert {m.status for m in services.memory.list_memories()} == {MemoryStatus.APPROVED}


def test_compare_tells_duplicates_contradictions_and_different_facts_apart():
    assert compare("The user is allergic to peanuts", "User is allergic to peanuts", 0.0) == Likeness.DUPLICATE
    assert compare("The user's manager is Dana", "The user's manager is Sam", 0.8) == Likeness.CONTRADICTION
    assert compare("The user likes tea", "The user does not like tea", 0.9) == Likeness.CONTRADICTION
    assert compare("The user lives in Porto", "The user has a dog", 0.3) == Likeness.DIFFERENT
    assert compare("The user lives in Porto", "The user works in Porto", 0.5) == Likeness.DIFFERENT
    # Only adding a name to a shorter fact contradicts nothing: each side must name a value the other lacks.
    assert compare("The user has a shop", "The user's friend Gina has a shop", 0.5) == Likeness.DIFFERENT
    assert compare("Gina: Wow, it looks great!", "Jon: Hey Gina! Your store looks great, congrats!", 0.6) == (
        Likeness.DIFFERENT
    )
    assert compare("I saw a little girl with no family, so I sat with her", "The user has a little doll", 0.4) == (
        Likeness.DIFFERENT  # a "no" in a longer story is no negation of a fact it shares one word with
    )
    assert compare("", "The user has a dog", 1.0) == Likeness.DIFFERENT
    assert grounded("The user is allergic to peanut", "I'm allergic to peanuts") is True
    assert grounded("The user owns a yacht", "I'm allergic to peanuts") is False


def test_auto_approve_skips_the_inbox(services):
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(memory_auto_approve=True))
    assert services.memory.add("The user rides a bike").memory.status == MemoryStatus.APPROVED


def test_bad_input_is_refused_in_one_line(services):
    with pytest.raises(InvalidInput, match="cannot be empty"):
        services.memory.add("   ")
    memory = services.memory.add("The user rides a bike").memory
    with pytest.raises(InvalidInput, match="forget it instead"):
        services.memory.edit(memory.id, "  ")
    with pytest.raises(NotFound, match="no memory with id 999"):
        services.memory.approve(999)
    with pytest.raises(NotFound):
        services.memory.forget(999)


def test_search_and_edit(services):
    bike = services.memory.add("The user rides a bike to work", status=MemoryStatus.APPROVED).memory
    services.memory.add("The user plays the cello", status=MemoryStatus.APPROVED)
    services.memory.add("The user rides horses", status=MemoryStatus.INBOX)  # not approved: not searched
    assert [m.text for m in services.memory.search("bike commute")] == ["The user rides a bike to work"]
    edited = services.memory.edit(bike.id, "The user rides an e-bike to work", privacy=PrivacyRule.ALLOWED)
    assert edited.privacy == PrivacyRule.ALLOWED
    assert [m.id for m in services.memory.search("e-bike")] == [bike.id]
    assert services.memory.search("bike", for_hosted=True) == [edited]


def test_a_memory_is_found_by_the_words_of_the_message_it_came_from(services):
    thread = services.chat.new_thread()
    (message,) = said(services, thread.id, "I volunteer at the Harbourview animal shelter on Saturdays.")
    kept = services.memory.add(
        "The user volunteers with animals", sources=[MemorySource(thread.id, message)], status=MemoryStatus.APPROVED
    ).memory
    services.memory.add("The user plays the cello", status=MemoryStatus.APPROVED)
    # "Harbourview" is only in the source message, not in the memory's words.
    assert [m.id for m in services.memory.search("Harbourview")] == [kept.id]
    services.memory.edit(kept.id, privacy=PrivacyRule.LOCAL_ONLY)
    proposed = services.memory.add("The user likes Saturdays", sources=[MemorySource(thread.id, message)]).memory
    assert proposed.status == MemoryStatus.INBOX  # a proposal is not recalled by its source either
    assert [m.id for m in services.memory.search("Harbourview")] == [kept.id]
    services.memory.forget(kept.id)
    assert services.memory.search("Harbourview") == []


def test_recall_spreads_its_first_places_over_the_messages_memories_came_from(services):
    thread = services.chat.new_thread()
    hiking, climbing = said(services, thread.id, "I hike in the Alps and my boots are red.", "I climb at the gym.")
    for text, message in (("The user hikes in the Alps", hiking), ("The user has red hiking boots", hiking),
                          ("The user climbs at the gym", climbing)):  # fmt: skip
        services.memory.add(text, sources=[MemorySource(thread.id, message)], status=MemoryStatus.APPROVED)
    found = [m.text for m in services.memory.search("hiking boots, the Alps, climbing")]
    assert len(found) == 3 and found[1] == "The user climbs at the gym"  # before the hiking message's second memory


def test_forget_leaves_no_trace_in_the_database_or_its_log(services):
    text = "The user keeps a zebrafinch named Quillonius"
    thread = services.chat.new_thread()
    (message,) = said(services, thread.id, "My bird is a zebra finch!")
    memory = services.memory.add(text, sources=[MemorySource(thread.id, message)], status=MemoryStatus.APPROVED).memory
    recalling = services.chat.new_thread()
    list(services.chat.send(recalling.id, "What is my zebrafinch called?"))
    assert services.store.thread_recall(recalling.id) == [(memory.id, text)]
    services.memory.forget(memory.id)
    assert services.memory.list_memories() == [] and services.store.thread_recall(recalling.id) == []
    assert services.backend().forgotten == [f"thread-{recalling.id}"]  # the saved model state held it too
    services.store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in services.data_dir.glob("threadloom.sqlite3*"):
        content = path.read_bytes()
        assert b"Quillonius" not in content and b"quillonius" not in content, path.name
    # The tombstone keeps it from being proposed again from the same message, not from a new one.
    assert services.memory.add(text, sources=[MemorySource(thread.id, message)]).memory is None
    (again,) = said(services, thread.id, "Quillonius sang today")
    assert services.memory.add(text, sources=[MemorySource(thread.id, again)]).memory is not None


def test_rejecting_a_proposal_forgets_it_and_it_is_not_proposed_again(services):
    thread = services.chat.new_thread()
    said(services, thread.id, "I think I live in Porto now, near the old harbour.")
    services.backend().enqueue(facts("The user lives in Porto"))
    (proposed,) = services.memory.extract(thread.id).added
    services.memory.reject(proposed)
    services.store.set_memory_scan_position(thread.id, 0)  # read the thread again
    services.backend().enqueue(facts("The user lives in Porto"))
    report = services.memory.extract(thread.id)
    # Nor is the message then kept in its own words: the user said no to what it told.
    assert report.skipped_forgotten == 1 and services.memory.list_memories() == []


def test_idle_threads_are_read_and_busy_ones_wait(services, tmp_path: Path):
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(memory_idle_minutes=0))
    thread = services.chat.new_thread()
    said(services, thread.id, "I play the cello.")
    assert services.memory.extract_idle().threads == []  # 0: never
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(memory_idle_minutes=10))
    assert services.memory.extract_idle().threads == []  # just written to: not idle yet
    services.store.db.execute_sql("UPDATE thread SET updated_at = '2020-01-01T00:00:00+00:00'")
    assert services.memory.extract_idle().threads == []  # long before the lookback: not read on its own
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    services.store.db.execute_sql("UPDATE thread SET updated_at = ?", (hour_ago,))
    services.backend().enqueue(facts("The user plays the cello"))
    idle = services.memory.extract_idle()
    assert idle.threads == [thread.id] and len(idle.report.added) == 1
    assert services.memory.extract_idle().threads == []  # read: nothing new


def test_the_memory_tools_remember_and_recall(services):
    tools = MemoryTools(services.store, services.routing, services.memory, lambda: load_settings(services.data_dir))
    thread = services.chat.new_thread()
    (message,) = said(services, thread.id, "Please remember that I am vegetarian.")
    thread = services.store.get_thread(thread.id)
    specs = {spec.name: spec for spec in tools.tools(thread)}
    assert specs["remember"].effect == ToolEffect.READ_ONLY and specs["recall"].effect == ToolEffect.READ_ONLY
    assert {spec.server for spec in specs.values()} == {"memory"}
    outcome = tools.call(thread, "remember", {"text": "The user is vegetarian"})
    assert outcome.error is None and "inbox" in outcome.content
    (memory,) = services.memory.inbox()
    assert memory.sources == (MemorySource(thread.id, message),)
    assert tools.call(thread, "recall", {"query": "vegetarian"}).content == "Nothing remembered matches."
    services.memory.approve(memory.id)
    assert tools.call(thread, "recall", {"query": "vegetarian food"}).content == "- The user is vegetarian"
    assert services.memory.get(memory.id).uses == 1
    assert "Already remembered" in tools.call(thread, "remember", {"text": "the user is vegetarian"}).content
    # A thread whose content may go to a hosted model finds only what may go there too.
    services.routing.set_privacy_rule(thread.id, PrivacyRule.ALLOWED)
    assert tools.call(thread, "recall", {"query": "vegetarian"}).content == "Nothing remembered matches."
    # Bad calls fail in one line and the turn goes on.
    assert tools.call(thread, "remember", {"text": ""}).error == "`text` must be a non-empty string"
    assert tools.call(thread, "recall", {"query": "x", "limit": 0}).error.startswith("limit must be")
    assert tools.call(thread, "recall", {"query": "x", "limit": True}).error.startswith("limit must be")
    assert tools.call(thread, "forget_all", {}).error == "the memory tools have no tool named 'forget_all'"
    save_settings(services.data_dir, load_settings(services.data_dir).with_changes(memory_auto_approve=True))
    assert {s.name: s.effect for s in tools.tools(thread)}["remember"] == ToolEffect.SIDE_EFFECT


def test_the_memory_tools_are_not_offered_in_an_incognito_thread(services):
    tools = MemoryTools(services.store, services.routing, services.memory, lambda: load_settings(services.data_dir))
    thread = services.chat.new_thread(incognito=True)
    assert tools.tools(thread) == []
    assert "incognito" in tools.call(thread, "remember", {"text": "The user is vegetarian"}).error
    assert services.memory.list_memories() == []
