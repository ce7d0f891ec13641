"""Memory and personalization in the window, on real widgets over a real session: the inbox (approve, edit, reject),
the manager's source link opening the message, custom instructions in Settings and the thread system prompt in the
details column (edited, then used), and the incognito toggle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.core.domain import ReplyFinished, Role
from app.core.memory import MemorySource, MemoryStatus
from app.gui.settings_dialog import SettingsDialog
from tests.gui.conftest import REPLY_TIMEOUT_MS, limit_reply
from tests.gui.test_main_window import type_and_send


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def open_memories(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.personal.memory_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    return dialog


def rows(dialog) -> list[str]:
    return [dialog.list.item(i).text() for i in range(dialog.list.count())]


def test_the_inbox_approves_edits_and_rejects(qtbot, session, show_window):
    memory = session.memory
    bees = memory.add("The user keeps bees").memory
    cello = memory.add("The user plays the cello").memory
    window = show_window(session)
    dialog = open_memories(qtbot, window)
    qtbot.waitUntil(lambda: len(rows(dialog)) == 2)
    assert rows(dialog) == ["• The user plays the cello", "• The user keeps bees"]
    assert not dialog.approve_button.isEnabled()  # nothing selected yet

    dialog.list.setCurrentRow(1)
    click(qtbot, dialog.approve_button)
    qtbot.waitUntil(lambda: rows(dialog) == ["• The user plays the cello"])
    assert memory.get(bees.id).status == MemoryStatus.APPROVED

    dialog.list.setCurrentRow(0)
    dialog.editor.setText("The user plays the viola")
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: rows(dialog) == ["• The user plays the viola"])
    assert memory.get(cello.id).text == "The user plays the viola"
    dialog.list.setCurrentRow(0)
    click(qtbot, dialog.reject_button)
    qtbot.waitUntil(lambda: rows(dialog) == ["Nothing here"])
    assert [m.id for m in memory.list_memories()] == [bees.id]


def test_a_contradiction_offers_to_keep_the_new_memory(qtbot, session, show_window):
    old = session.memory.add("The user's manager is Dana", status=MemoryStatus.APPROVED).memory
    new = session.memory.add("The user's manager is Sam").memory
    window = show_window(session)
    dialog = open_memories(qtbot, window)
    qtbot.waitUntil(lambda: len(rows(dialog)) == 1)
    dialog.list.setCurrentRow(0)
    assert dialog.replace_button.isEnabled() and f"contradicts memory {old.id}" in dialog.conflict_note.text()
    click(qtbot, dialog.replace_button)
    qtbot.waitUntil(lambda: rows(dialog) == ["Nothing here"])
    assert [m.id for m in session.memory.list_memories()] == [new.id]


def test_the_managers_source_link_opens_the_message_on_its_branch(qtbot, session, show_window):
    store = session.store
    thread = session.chat.new_thread("Snacks")
    first = store.add_message(thread.id, parent_id=None, role=Role.USER, content="I'm allergic to peanuts.")
    store.add_message(thread.id, parent_id=first.id, role=Role.ASSISTANT, content="Noted.")
    other = session.chat.new_thread("Elsewhere")
    session.memory.add("The user is allergic to peanuts", sources=[MemorySource(thread.id, first.id)],
                       status=MemoryStatus.APPROVED)  # fmt: skip
    window = show_window(session)
    window.open_thread(other.id)
    dialog = open_memories(qtbot, window)
    dialog.view_box.setCurrentIndex(dialog.view_box.findData("all"))
    qtbot.waitUntil(lambda: rows(dialog) == ["✓ The user is allergic to peanuts"])
    dialog.list.setCurrentRow(0)
    click(qtbot, dialog.source_button)
    qtbot.waitUntil(lambda: window._open_thread_id == thread.id)
    qtbot.waitUntil(lambda: first.id in [card.message.id for card in window.conversation.cards()])
    # Search finds approved memories by their words.
    dialog.search_field.setText("peanuts")
    qtbot.keyClick(dialog.search_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(dialog) == ["✓ The user is allergic to peanuts"])


def test_custom_instructions_from_settings_go_to_a_new_thread(qtbot, session, show_window):
    limit_reply(session, max_tokens=4)
    window = show_window(session)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog))
    dialog = QApplication.activeModalWidget()
    dialog.about_field.setText("I am a nurse in Porto.")
    dialog.style_field.setText("Answer in one sentence.")
    click(qtbot, dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))
    qtbot.waitUntil(lambda: window.is_settled)
    assert session.settings_service.stored().about_me == "I am a nurse in Porto."
    with qtbot.waitSignal(window.replies.finished, timeout=REPLY_TIMEOUT_MS) as finished:
        type_and_send(qtbot, window, "Plan my week")
    reply = finished.args[0].reply if isinstance(finished.args[0], ReplyFinished) else finished.args[0]
    thread = session.store.get_thread(reply.thread_id)
    system = session.context.assemble(thread, session.store.get_message(reply.id))[0]
    assert system.role == Role.SYSTEM and "nurse in Porto" in system.content and "one sentence" in system.content


def test_the_thread_system_prompt_is_edited_in_the_details_and_used_by_the_next_branch(qtbot, session, show_window):
    limit_reply(session, max_tokens=4)
    store = session.store
    thread = session.chat.new_thread("Pirates")
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="Hello")
    store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Hi.")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.details.system_prompt_edit.isEnabled())
    assert window.details.system_prompt_label.text() == "None"
    click(qtbot, window.details.system_prompt_edit)
    qtbot.waitUntil(lambda: window.personal.system_prompt_dialog is not None)
    dialog = window.personal.system_prompt_dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.editor.setPlainText("Answer like a pirate.")
    click(qtbot, dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))
    qtbot.waitUntil(lambda: window.details.system_prompt_label.text() == "Answer like a pirate.")
    assert store.get_thread(thread.id).system_prompt == "Answer like a pirate."
    finished = [e for e in session.chat.edit(user.id, "Hello there") if isinstance(e, ReplyFinished)][-1]
    system = session.context.assemble(store.get_thread(thread.id), finished.reply)[0]
    assert system.content == "Answer like a pirate."


def test_the_incognito_toggle_makes_the_new_thread_incognito(qtbot, session, show_window):
    limit_reply(session, max_tokens=4)
    window = show_window(session)
    toggle = window.personal.incognito
    assert toggle.isEnabled() and not toggle.isChecked() and toggle.accessibleName() == "Incognito"
    click(qtbot, toggle)
    window.composer.setFocus()
    with qtbot.waitSignal(window.replies.finished, timeout=REPLY_TIMEOUT_MS):
        type_and_send(qtbot, window, "I'm allergic to peanuts.")
    qtbot.waitUntil(lambda: window._open_thread_id is not None)
    assert session.store.get_thread(window._open_thread_id).incognito
    qtbot.waitUntil(lambda: not toggle.isEnabled())  # an existing thread shows what it is
    assert toggle.isChecked()
    window.new_thread()
    assert toggle.isEnabled() and not toggle.isChecked()


def test_new_thread_with_an_assistant_starts_from_its_set_up(qtbot, session, show_window):
    from app.core.memory import Assistant
    from app.core.routing import PrivacyRule

    session.assistants.add(Assistant(0, "Coach", system_prompt="You are a running coach.", tools=("calculator",),
                                     privacy_rule=PrivacyRule.ASK))  # fmt: skip
    window = show_window(session)
    button = window.personal.new_thread_with
    button.menu().aboutToShow.emit()  # as when the user opens the menu
    qtbot.waitUntil(lambda: [a.text() for a in button.menu().actions()] == ["Coach"])
    button.menu().actions()[0].trigger()
    qtbot.waitUntil(lambda: window._open_thread_id is not None)
    thread = session.store.get_thread(window._open_thread_id)
    assert thread.system_prompt == "You are a running coach."
    assert session.routing.privacy_rule(thread.id) == PrivacyRule.ASK
    assert [spec.name for spec in session.tools.registry.offered(thread)] == ["calculator"]
    qtbot.waitUntil(lambda: window.details.system_prompt_label.text() == "You are a running coach.")


def test_a_reply_lists_the_memories_it_used_and_each_opens_its_source(qtbot, session, show_window):
    limit_reply(session, max_tokens=4)
    store = session.store
    source_thread = session.chat.new_thread("Allergies")
    said = store.add_message(source_thread.id, parent_id=None, role=Role.USER, content="I'm allergic to peanuts.")
    session.memory.add("The user is allergic to peanuts", sources=[MemorySource(source_thread.id, said.id)],
                       status=MemoryStatus.APPROVED)  # fmt: skip
    window = show_window(session)
    used = window.personal.memories_used
    assert not used.isVisibleTo(window)
    with qtbot.waitSignal(window.replies.finished, timeout=REPLY_TIMEOUT_MS):
        type_and_send(qtbot, window, "Suggest a snack with peanuts")
    qtbot.waitUntil(lambda: [b.text() for b in used.buttons] == ["🧠 The user is allergic to peanuts"])
    assert used.isVisibleTo(window)
    click(qtbot, used.buttons[0])
    qtbot.waitUntil(lambda: window._open_thread_id == source_thread.id)
    qtbot.waitUntil(lambda: used.buttons == [])  # the source thread's own reply used none


def test_remember_from_this_thread_fills_the_inbox(qtbot, session, show_window):
    store = session.store
    thread = session.chat.new_thread("About me")
    said = store.add_message(thread.id, parent_id=None, role=Role.USER, content="I'm allergic to peanuts.")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: said.id in [card.message.id for card in window.conversation.cards()])
    remember = next(action for action in window.actions() if action.text() == "Remember from this thread")
    remember.trigger()
    qtbot.waitUntil(lambda: session.memory.inbox() != [], timeout=REPLY_TIMEOUT_MS)
    assert all(m.sources == (MemorySource(thread.id, said.id),) for m in session.memory.inbox())
    qtbot.waitUntil(lambda: "to review in Memories" in window.status_note.text())
