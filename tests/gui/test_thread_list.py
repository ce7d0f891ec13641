"""The sidebar: time groups, rename in place, delete after confirmation. Real store, no model needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.models import Thread
from app.gui.thread_list import group_threads


def thread(thread_id: int, updated: datetime, *, pinned: bool = False) -> Thread:
    return Thread(id=thread_id, title=f"t{thread_id}", created_at=updated, updated_at=updated, pinned=pinned)


def test_threads_are_grouped_by_last_activity_in_local_time():
    now = datetime(2025, 11, 25, 15, 0, tzinfo=UTC)
    threads = [
        thread(1, now - timedelta(days=40), pinned=True),
        thread(2, now - timedelta(hours=1)),
        thread(3, now - timedelta(days=1)),
        thread(4, now - timedelta(days=3)),
        thread(5, now - timedelta(days=30)),
        thread(6, now - timedelta(days=400)),
    ]
    groups = group_threads(threads, now=now)
    assert [(label, [t.id for t in members]) for label, members in groups] == [
        ("Pinned", [1]),
        ("Today", [2]),
        ("Yesterday", [3]),
        ("Previous 7 days", [4]),
        ("October", [5]),
        ("October 2024", [6]),
    ]


def test_rename_in_place_and_delete_after_confirming(qtbot, session, show_window):
    first = session.store.create_thread("First")
    second = session.store.create_thread("Second")
    window = show_window(session)
    listing = window.thread_list
    assert listing.thread_ids() == [second.id, first.id]
    assert listing.item(0).text() == "TODAY" and not listing.item(0).flags() & Qt.ItemFlag.ItemIsSelectable

    listing.setFocus()
    listing.start_rename(first.id)
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "Renamed thread")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.store.get_thread(first.id).title == "Renamed thread" and not window.is_loading)
    assert listing.title_of(first.id) == "Renamed thread"

    qtbot.mouseClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.visualItemRect(listing.item(1)).center())
    qtbot.waitUntil(lambda: window.title_label.text() == "Second" and not window.is_loading)
    questions = []

    def answer(button_text: str) -> None:
        box = QApplication.activeModalWidget()
        questions.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(100, lambda: answer("Cancel"))
    qtbot.keyClick(listing, Qt.Key.Key_Delete)  # exec() returns once the dialog is answered
    assert listing.thread_ids() == [second.id, first.id]
    window.activateWindow()  # the dialog took activation and focus; the Delete shortcut belongs to the list
    listing.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window and listing.hasFocus())
    QTimer.singleShot(100, lambda: answer("Delete"))
    qtbot.keyClick(listing, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: listing.thread_ids() == [first.id] and not window.is_loading)
    assert questions == ["Delete “Second”?"] * 2
    assert [t.id for t in session.store.list_threads()] == [first.id]
    assert window.title_label.text() == "New thread"  # the open thread went away with it
