"""The change broadcast and the thread service that publishes on it: each write announces what it changed once it
has committed, subscribers hear it in order, and one that fails keeps neither the write nor the others from it."""

from __future__ import annotations

import logging

import pytest

from app.core.domain import Role, ThreadFilter
from app.core.routing import PrivacyRule
from app.services.changes import ChangeBroadcast, Changes


@pytest.fixture
def heard(session) -> list[Changes]:
    changes: list[Changes] = []
    session.changes.subscribe(changes.append)
    return changes


def test_subscribers_hear_each_change_in_order_until_they_leave_and_a_failing_one_is_logged(caplog):
    broadcast = ChangeBroadcast()
    first: list[Changes] = []
    leave = broadcast.subscribe(first.append)

    def broken(_changes: Changes) -> None:
        raise ValueError("a broken view")

    broadcast.subscribe(broken)
    after: list[Changes] = []
    broadcast.subscribe(after.append)
    listed, settings = Changes(thread_list=True), Changes(settings=True)
    with caplog.at_level(logging.ERROR):
        broadcast.publish(listed)
        broadcast.publish(Changes())  # nothing changed: nobody is told
        leave()
        broadcast.publish(settings)
    assert first == [listed] and after == [listed, settings]
    assert [record.exc_info[0] for record in caplog.records] == [ValueError, ValueError]


def test_thread_writes_publish_what_they_changed_after_the_write(session, heard):
    thread = session.threads.create()
    seen_when_told: list[str] = []
    session.changes.subscribe(lambda _changes: seen_when_told.append(session.store.get_thread(thread.id).title))

    session.threads.rename(thread.id, "Plans")
    session.threads.set_tags(thread.id, ["work", "q3"])
    session.threads.set_tags(thread.id, ["q3"])
    session.threads.set_metadata(thread.id, {"client": "acme", "year": 2026})
    session.threads.set_metadata(thread.id, {"year": 2027})
    state = session.threads.set_privacy_rule(thread.id, PrivacyRule.ASK)
    view = session.threads.save_view("Q3", ThreadFilter(tag="q3"))

    assert seen_when_told[0] == "Plans"  # subscribers read the store after the write, never before it
    stored = session.store.get_thread(thread.id)
    assert stored.tags == ("q3",) and dict(stored.metadata) == {"year": 2027}
    assert (state.rule, state.hosted_calls) == (PrivacyRule.ASK, 0)
    assert session.threads.listing().views == [view]
    assert heard[0] == Changes(thread_list=True)  # create
    assert all(change.thread_list for change in heard[1:6])
    assert heard[6] == Changes(privacy=frozenset({thread.id}))


def test_a_page_read_writes_nothing_and_a_branch_switch_is_a_write_of_its_own(session, heard):
    thread = session.threads.create()
    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Name a colour.")
    first = session.store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Blue.")
    second = session.store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Red.")
    before = session.store.get_thread(thread.id)

    page = session.threads.page(thread.id)
    assert [message.id for message in page.messages] == [user.id, second.id]
    assert page.positions[second.id].sibling_ids == (first.id, second.id)
    assert session.store.get_thread(thread.id) == before  # reading moved nothing

    assert session.threads.switch_branch(first.id) == thread.id
    assert [message.id for message in session.threads.page(thread.id).messages] == [user.id, first.id]


def test_deleting_and_restoring_threads_announce_the_list(session, heard):
    thread = session.threads.create()
    session.threads.delete(thread.id)
    assert session.threads.listing().threads == []
    [restored] = session.threads.restore([thread.id])
    assert restored.id == thread.id and [t.id for t in session.threads.listing().threads] == [thread.id]
    assert heard == [Changes(thread_list=True)] * 3
