"""Accessibility and translation on the real window: every interactive widget has an accessible name and
description; Tab reaches every control in a sensible order; the translation source file is current."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.core.domain import Message, MessageStatus, Role
from app.gui.conversation import ConversationView

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "resources" / "translations" / "threadloom.ts"
INTERACTIVE = (QAbstractButton, QLineEdit, QTextEdit, QPlainTextEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)


def a_thread_with_everything(session) -> int:
    """A reply with prose, a link, code and thinking; a second version of the question (‹ 1 / 2 ›)."""
    thread = session.chat.new_thread("Everything")
    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Show me")
    session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Show me again")
    reply = session.store.add_message(
        thread.id, parent_id=user.id, role=Role.ASSISTANT, status=MessageStatus.COMPLETE,
        content="See [docs](https://example.org).\n\n```python\nprint(1)\n```",
    )  # fmt: skip
    session.store.keep_reasoning_apart(reply.id, answer=reply.content, reasoning="Think.", seconds=1.0)
    session.store.show_branch(reply.id)
    return thread.id


def open_window(qtbot, session, show_window):
    thread_id = a_thread_with_everything(session)
    window = show_window(session)
    window.open_thread(thread_id)
    def shown() -> bool:
        cards = window.conversation.cards()
        return len(cards) == 2 and all(card.isVisible() for card in cards) and bool(cards[-1].code_blocks())

    qtbot.waitUntil(lambda: shown() and not window.is_loading)
    qtbot.wait(50)  # the listing that follows the window's start may draw the page once more
    qtbot.waitUntil(shown)
    return window


def test_every_interactive_widget_has_an_accessible_name_and_description(qtbot, session, show_window):
    window = open_window(qtbot, session, show_window)
    window.conversation.cards()[-1].thinking.toggle.click()  # the opened thinking text too
    checked, missing = 0, []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisibleTo(window):
            continue
        checked += 1
        if not widget.accessibleName().strip() or not widget.accessibleDescription().strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} name={widget.accessibleName()!r}")
    assert checked > 25  # the walk saw the window's controls, the cards' buttons and the code block
    assert not missing, "\n".join(missing)


def test_tab_reaches_every_control_in_reading_order(qtbot, session, show_window):
    window = open_window(qtbot, session, show_window)
    start = window.sidebar.findChild(QAbstractButton, "newThreadButton")
    start.setFocus()
    chain = [start]
    for _ in range(300):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        if focused is start:
            break
        chain.append(focused)
    else:
        raise AssertionError("Tab never came back to where it started")
    reachable = [
        widget for widget in window.findChildren(QWidget)
        if isinstance(widget, INTERACTIVE) and widget.isVisibleTo(window) and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]  # fmt: skip
    assert [widget for widget in reachable if widget not in chain] == []
    names = [widget.objectName() for widget in chain]
    landmarks = ["newThreadButton", "searchBox", "threadList", "threadTitle", "modelChip", "privacyRule",
                 "codeCopy", "composer", "sendButton"]  # fmt: skip
    positions = [names.index(name) for name in landmarks]
    assert positions == sorted(positions), names


def test_a_reply_that_finishes_joins_the_tab_order_after_the_cards_before_it(qtbot):
    """Only the finished card's controls are put in place: right after the earlier card's, its code block included."""
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    now = datetime.now(UTC)
    earlier = Message(
        id=1, thread_id=1, parent_id=None, role=Role.ASSISTANT, content="```py\nx = 1\n```", created_at=now,
        status=MessageStatus.COMPLETE,
    )  # fmt: skip
    live = replace(earlier, id=2, parent_id=1, content="", status=MessageStatus.STREAMING)
    view.show_messages([earlier, live], live_texts={2: ""})
    text = "Run:\n\n```sh\necho hi\n```\n\nDone."
    view.update_live_text(live, text)
    view.update_message(replace(live, content=text, status=MessageStatus.COMPLETE))
    first, second = view.cards()
    chain, widget = [], view.nextInFocusChain()
    while widget is not view and len(chain) < 500:
        chain.append(widget)
        widget = widget.nextInFocusChain()
    tab_stops = [widget for widget in chain if widget.focusPolicy() & Qt.FocusPolicy.TabFocus]
    in_first = [widget for widget in tab_stops if first.isAncestorOf(widget) and widget.isVisibleTo(first)]
    in_second = [widget for widget in tab_stops if second.isAncestorOf(widget) and widget.isVisibleTo(second)]
    assert second.code_blocks()[0].copy_button in in_second
    assert tab_stops[: len(in_first) + len(in_second)] == in_first + in_second


def test_the_translation_source_holds_every_string_the_window_translates(tmp_path):
    lupdate = shutil.which("pyside6-lupdate", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin"))
    lupdate = lupdate or shutil.which("pyside6-lupdate")
    assert lupdate, "pyside6-lupdate (PySide6's tools) is needed to check the translation file"
    fresh = tmp_path / "fresh.ts"
    sources = sorted(str(path) for path in (REPO / "app" / "gui").glob("*.py"))
    subprocess.run([lupdate, "-locations", "none", *sources, "-ts", str(fresh)], check=True, capture_output=True)
    assert messages(fresh) == messages(TRANSLATIONS), (
        "resources/translations/threadloom.ts is stale: run "
        "`.venv/bin/pyside6-lupdate -locations none -no-obsolete app/gui/*.py -ts resources/translations/threadloom.ts`"
    )
    assert len(messages(fresh)) > 60


def messages(path: Path) -> set[tuple[str, str]]:
    root = ET.parse(path).getroot()
    return {
        (context.findtext("name") or "", message.findtext("source") or "")
        for context in root.iter("context")
        for message in context.iter("message")
        if (message.find("translation") is None or message.find("translation").get("type") not in ("obsolete", "vanished"))
    }
