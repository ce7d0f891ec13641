"""Corrections and branches in the window: edit a message, regenerate a reply, switch ‹ k / n ›, fork.

Real widgets, real store, the real small model for replies; offscreen.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.domain import MessageStatus, Role
from tests.gui.conftest import close_window, limit_reply
from tests.gui.test_main_window import type_and_send, wait_until_idle

pytestmark = pytest.mark.slow


def shown(window) -> list[tuple[Role, str]]:
    return [(card.message.role, card.message.content) for card in window.conversation.cards()]


def test_editing_a_message_makes_a_branch_and_the_arrows_switch_between_them(qtbot, session, show_window):
    limit_reply(session, max_tokens=12)
    window = show_window(session)
    type_and_send(qtbot, window, "Name a colour.")
    wait_until_idle(qtbot, window)
    [thread] = session.store.list_threads()
    original_user, original_reply = session.store.current_path(thread.id)

    qtbot.keyClicks(window.composer, "a draft I was writing")
    qtbot.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)  # Ctrl+↑: edit the last message
    assert window.editing_message_id == original_user.id
    assert window.composer.toPlainText() == "Name a colour."
    assert window.editing_bar.isVisible()
    window.composer.selectAll()
    type_and_send(qtbot, window, "Name a fruit.")
    assert window.composer.toPlainText() == "a draft I was writing"  # the draft came back
    assert not window.editing_bar.isVisible()
    wait_until_idle(qtbot, window)

    new_user, new_reply = session.store.current_path(thread.id)
    assert new_user.content == "Name a fruit." and new_user.parent_id == original_user.parent_id
    assert new_reply.status == MessageStatus.COMPLETE and new_reply.parent_id == new_user.id
    assert [m.id for m in session.store.siblings(new_user.id)] == [original_user.id, new_user.id]
    qtbot.waitUntil(lambda: [c.message.id for c in window.conversation.cards()] == [new_user.id, new_reply.id])
    switcher = window.conversation.card_for(new_user.id).branch_switcher
    assert switcher is not None and switcher.text() == "‹ 2 / 2 ›"
    assert window.conversation.card_for(new_reply.id).branch_switcher is None  # one reply under each version

    qtbot.mouseClick(switcher.previous_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.conversation.card_for(original_user.id) is not None and not window.is_loading)
    assert shown(window) == [(Role.USER, "Name a colour."), (Role.ASSISTANT, original_reply.content)]
    assert window.conversation.card_for(original_user.id).branch_switcher.text() == "‹ 1 / 2 ›"
    assert session.store.get_thread(thread.id).current_leaf_id == original_reply.id  # remembered by the thread

    close_window(qtbot, window)  # the branch shown last comes back with the thread


def test_regenerate_adds_a_sibling_reply_and_fork_copies_the_branch(qtbot, session, show_window):
    limit_reply(session, max_tokens=12)
    window = show_window(session)
    type_and_send(qtbot, window, "Say hi.")
    wait_until_idle(qtbot, window)
    [thread] = session.store.list_threads()
    user, first_reply = session.store.current_path(thread.id)

    limit_reply(session, max_tokens=12, seed=7)
    qtbot.mouseClick(window.conversation.card_for(first_reply.id).action_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, window)
    _user, second_reply = session.store.current_path(thread.id)
    assert second_reply.id != first_reply.id and second_reply.parent_id == user.id
    qtbot.waitUntil(lambda: window.conversation.card_for(second_reply.id) is not None and not window.is_loading)
    assert window.conversation.card_for(second_reply.id).branch_switcher.text() == "‹ 2 / 2 ›"

    window.fork_from(user.id)
    qtbot.waitUntil(lambda: len(session.store.list_threads()) == 2 and not window.is_loading)
    fork = next(t for t in session.store.list_threads() if t.id != thread.id)
    qtbot.waitUntil(lambda: window.title_label.full_text() == fork.title and not window.is_loading)
    assert shown(window) == [(Role.USER, "Say hi.")]
    assert fork.id in window.thread_list.thread_ids()
