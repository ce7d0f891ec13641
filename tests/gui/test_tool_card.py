"""Tool-call cards in the window: real widgets, the real starter model and a real MCP server (offscreen). The
side-effect call waits on its card; Run writes the file, Don't does not; a restart in between keeps it waiting."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt

from app.core.domain import MessageStatus, ReplyFinished, Role
from app.core.tools import ToolCallStatus, ToolEffect
from app.gui.reply_view import ReplyView
from app.gui.tool_card import ToolCallCard
from tests.gui.conftest import REPLY_TIMEOUT_MS, close_window, limit_reply
from tests.gui.test_main_window import wait_until_idle

pytestmark = pytest.mark.slow

SERVER = str(Path(__file__).parents[1] / "mcp" / "notes_server.py")


def pending_reply(session, notes: Path):
    """A reply paused on a write_note call (made by the real model, forced to call the tool)."""
    session.mcp.add("notes", sys.executable, [SERVER, str(notes)])
    thread = session.chat.new_thread()
    session.tools.choose(thread.id, ["write_note"])
    events = list(session.chat.send(thread.id, "Write a note saying hello.", require_tool=True))
    reply = next(e for e in events if isinstance(e, ReplyFinished)).reply
    assert reply.status == MessageStatus.PAUSED
    return thread, reply


def call_cards(window) -> list[ToolCallCard]:
    return window.findChildren(ToolCallCard)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    return folder


def test_run_on_the_card_runs_the_waiting_call_after_a_restart(qtbot, data_dir, models_dir, open_sessions, show_window, notes):
    first = open_sessions(data_dir, models_dir)
    limit_reply(first, max_tokens=48)
    thread, _ = pending_reply(first, notes)
    first.close()  # quit while the call waits

    session = open_sessions(data_dir, models_dir)
    limit_reply(session, max_tokens=24)
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: len(call_cards(window)) == 1, timeout=REPLY_TIMEOUT_MS)
    [card] = call_cards(window)
    assert card.call.status == ToolCallStatus.PENDING and not card.details.isHidden()  # the exact call, shown open
    assert '"name"' in card.details.toPlainText() and card.run_button.accessibleName() == "Run"
    assert list(notes.iterdir()) == []
    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.store.get_tool_call(card.call.id).status == ToolCallStatus.DONE, timeout=REPLY_TIMEOUT_MS)
    wait_until_idle(qtbot, window)
    assert len(list(notes.iterdir())) == 1
    done = session.store.get_tool_call(card.call.id)
    assert done.approved_by == "user"
    qtbot.waitUntil(lambda: any(c.call.status == ToolCallStatus.DONE for c in call_cards(window)), timeout=REPLY_TIMEOUT_MS)
    close_window(qtbot, window)


def test_dont_on_the_card_refuses_and_writes_nothing(qtbot, session, show_window, notes):
    limit_reply(session, max_tokens=48)
    thread, _ = pending_reply(session, notes)
    limit_reply(session, max_tokens=24)
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: len(call_cards(window)) == 1, timeout=REPLY_TIMEOUT_MS)
    [card] = call_cards(window)
    qtbot.mouseClick(card.deny_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.store.get_tool_call(card.call.id).status == ToolCallStatus.REFUSED, timeout=REPLY_TIMEOUT_MS)
    wait_until_idle(qtbot, window)
    assert list(notes.iterdir()) == []
    assert session.store.get_tool_call(card.call.id).result == "the user declined"
    close_window(qtbot, window)


def test_each_call_card_sits_where_the_call_happened_between_the_replys_text_parts(qtbot, session, show_window):
    before, after = "Let me work that out.", "So 17 times 23 is 391."
    thread = session.chat.new_thread()
    question = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="What is 17 times 23?")
    reply = session.store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content=before + after)
    call = session.store.add_tool_call(
        thread_id=thread.id, message_id=reply.id, call_key="c1", name="calculator", server="builtin",
        arguments={"expression": "17*23"}, status=ToolCallStatus.DONE, effect=ToolEffect.READ_ONLY, offset=len(before),
    )  # fmt: skip
    window = show_window(session)
    window.open_thread(thread.id)

    def shown_in_order() -> list[str]:  # (the calls are read on the read lane: they land a moment after the text)
        shown = window.conversation.card_for(reply.id)
        if shown is None:
            return []
        layout = shown.layout()
        widgets = [layout.itemAt(i).widget() for i in range(layout.count())]
        return [
            widget.plain_text() if isinstance(widget, ReplyView) else f"card {widget.call.name} {widget.call.status}"
            for widget in widgets
            if isinstance(widget, (ReplyView, ToolCallCard)) and not widget.isHidden()
        ]

    qtbot.waitUntil(lambda: shown_in_order() == [before, "card calculator done", after], timeout=REPLY_TIMEOUT_MS)
    card = window.conversation.card_for(reply.id)
    assert card.body_text() == f"{before}\n\n{after}"

    # a second call at the end of the text, and the first one's stored state changing: cards move and refresh in place
    session.store.add_tool_call(
        thread_id=thread.id, message_id=reply.id, call_key="c2", name="current_time", server="builtin", arguments={},
        status=ToolCallStatus.RUNNING, effect=ToolEffect.READ_ONLY, offset=len(before + after),
    )  # fmt: skip
    session.store.update_tool_call(call.id, status=ToolCallStatus.FAILED, error="stopped")
    window._refresh_open_thread()  # what a change broadcast does
    refreshed = [before, "card calculator failed", after, "card current_time running"]
    qtbot.waitUntil(lambda: shown_in_order() == refreshed, timeout=REPLY_TIMEOUT_MS)
    close_window(qtbot, window)


def test_a_replys_calls_are_read_off_the_gui_thread_and_a_card_gone_meanwhile_is_left_alone(
    qtbot, session, show_window, monkeypatch
):
    thread = session.chat.new_thread()
    question = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="What is 17 times 23?")
    reply = session.store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="391")
    call = session.store.add_tool_call(
        thread_id=thread.id, message_id=reply.id, call_key="c1", name="calculator", server="builtin",
        arguments={"expression": "17*23"}, status=ToolCallStatus.DONE, effect=ToolEffect.READ_ONLY, offset=0,
    )  # fmt: skip
    readers, read, gate = [], session.tools.calls, threading.Event()
    gate.set()

    def calls(message_id: int):
        readers.append(threading.current_thread())
        gate.wait(REPLY_TIMEOUT_MS / 1000)
        return read(message_id)

    monkeypatch.setattr(session.tools, "calls", calls)
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: len(call_cards(window)) == 1, timeout=REPLY_TIMEOUT_MS)
    assert readers and threading.main_thread() not in readers
    card = window.conversation.card_for(reply.id)
    gate.clear()
    window._tool_cards.decorate(card)  # a read under way, of a call that changed...
    session.store.update_tool_call(call.id, status=ToolCallStatus.FAILED, error="stopped")
    card.deleteLater()  # ...while its card goes (the view rebuilt)
    qtbot.waitUntil(lambda: not shiboken6.isValid(card), timeout=REPLY_TIMEOUT_MS)
    gate.set()
    qtbot.waitUntil(lambda: not window._reads.busy, timeout=REPLY_TIMEOUT_MS)  # its result landed: dropped, no error
    assert len(readers) >= 2
    close_window(qtbot, window)


def test_unticking_tools_in_the_details_column_keeps_them_from_the_next_turn(qtbot, session, show_window):
    limit_reply(session, max_tokens=48)
    thread = session.chat.new_thread()
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: {"calculator", "current_time"} <= set(window.details.tool_boxes), timeout=REPLY_TIMEOUT_MS)
    boxes = window.details.tool_boxes
    assert all(box.isChecked() for box in boxes.values())  # the default: every built-in
    for name, box in boxes.items():
        if name != "current_time":
            box.click()
    qtbot.waitUntil(lambda: session.store.thread_tools(thread.id) == ["current_time"], timeout=REPLY_TIMEOUT_MS)
    assert [spec.name for spec in session.tools.registry.offered(session.store.get_thread(thread.id))] == ["current_time"]
    events = list(session.chat.send(thread.id, "What is 17 times 23?", require_tool=True))
    reply = next(e for e in events if isinstance(e, ReplyFinished)).reply
    assert {call.name for call in session.tools.calls(reply.id)} == {"current_time"}  # the only tool it was offered
    wait_until_idle(qtbot, window)
    window.open_thread(None)
    assert window.details.tool_boxes == {}
    window.open_thread(thread.id)  # shown again, as stored: the choice stays
    qtbot.waitUntil(lambda: "calculator" in window.details.tool_boxes, timeout=REPLY_TIMEOUT_MS)
    ticked = [name for name, box in window.details.tool_boxes.items() if box.isChecked()]
    assert ticked == ["current_time"]
    close_window(qtbot, window)


def add_notes_server(qtbot, window, notes, monkeypatch):
    """The test MCP server added in the window's MCP servers page, as a user types it; the open page."""
    from PySide6.QtWidgets import QInputDialog

    answers = iter([("notes", True), (f"{sys.executable} {SERVER} {notes}", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: next(answers))
    dialog = window.open_mcp_servers()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.server_list.count() == 1, timeout=REPLY_TIMEOUT_MS)
    return dialog


def test_the_mcp_servers_page_adds_a_server_shows_its_tools_and_disables_it(qtbot, session, show_window, notes, monkeypatch):
    window = show_window(session)
    dialog = add_notes_server(qtbot, window, notes, monkeypatch)
    assert "notes — enabled, stopped" == dialog.server_list.item(0).text()
    qtbot.mouseClick(dialog.tools_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Tools: read_note, write_note" in dialog.details.text(), timeout=REPLY_TIMEOUT_MS)
    assert "notes server starting" in dialog.log.toPlainText()  # its stderr
    qtbot.mouseClick(dialog.toggle_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.server_list.item(0).text() == "notes — disabled, stopped", timeout=REPLY_TIMEOUT_MS)
    assert [c.enabled for c in session.mcp.configs()] == [False]
    dialog.close()
    close_window(qtbot, window)


def test_a_new_users_walk_through_approve_one_call_refuse_one_and_quit_while_a_third_waits(
    qtbot, data_dir, models_dir, open_sessions, show_window, notes, monkeypatch
):
    """The issue's walk-through: add the server in the window, let the thread use it, Run one call, refuse the next,
    quit while a third waits, reopen: its card waits with Run / Don't. (The starter model calls only when the reply
    must start with a call, so each question is asked with `require_tool`.)"""
    session = open_sessions(data_dir, models_dir)
    limit_reply(session, max_tokens=48)
    window = show_window(session)
    add_notes_server(qtbot, window, notes, monkeypatch).close()
    thread = session.chat.new_thread()
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: "write_note" in window.details.tool_boxes, timeout=REPLY_TIMEOUT_MS)
    for name, box in window.details.tool_boxes.items():
        if name != "write_note":
            box.click()
    qtbot.waitUntil(lambda: session.store.thread_tools(thread.id) == ["write_note"], timeout=REPLY_TIMEOUT_MS)

    def ask(text: str, shown) -> ToolCallCard:
        reply = next(e for e in session.chat.send(thread.id, text, require_tool=True) if isinstance(e, ReplyFinished))
        assert reply.reply.status == MessageStatus.PAUSED
        shown.open_thread(thread.id)
        qtbot.waitUntil(
            lambda: any(c.call.message_id == reply.reply.id for c in call_cards(shown)), timeout=REPLY_TIMEOUT_MS
        )
        [card] = [c for c in call_cards(shown) if c.call.message_id == reply.reply.id]
        assert card.call.status == ToolCallStatus.PENDING
        return card

    approved = ask("Write a note saying hello.", window)
    qtbot.mouseClick(approved.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.store.get_tool_call(approved.call.id).status == ToolCallStatus.DONE,
                    timeout=REPLY_TIMEOUT_MS)  # fmt: skip
    wait_until_idle(qtbot, window)
    assert len(list(notes.iterdir())) == 1
    refused = ask("Write another note saying goodbye.", window)
    qtbot.mouseClick(refused.deny_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.store.get_tool_call(refused.call.id).status == ToolCallStatus.REFUSED,
                    timeout=REPLY_TIMEOUT_MS)  # fmt: skip
    wait_until_idle(qtbot, window)
    waiting = ask("Write a third note saying thanks.", window)
    close_window(qtbot, window)  # quit with the call waiting
    session.close()
    assert len(list(notes.iterdir())) == 1

    reopened = open_sessions(data_dir, models_dir)
    window = show_window(reopened)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: any(c.call.id == waiting.call.id for c in call_cards(window)), timeout=REPLY_TIMEOUT_MS)
    [card] = [c for c in call_cards(window) if c.call.id == waiting.call.id]
    assert card.call.status == ToolCallStatus.PENDING
    assert card.run_button.isEnabled() and card.deny_button.isEnabled() and not card.details.isHidden()
    statuses = {c.call.id: c.call.status for c in call_cards(window)}
    assert statuses[approved.call.id] == ToolCallStatus.DONE and statuses[refused.call.id] == ToolCallStatus.REFUSED
    assert len(list(notes.iterdir())) == 1
    close_window(qtbot, window)
