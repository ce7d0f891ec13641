"""The details column on real widgets: the open thread's tags and metadata (edited through its Edit… buttons) and its
attachments with their summaries; Ctrl+I hides it, and the window remembers that."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLabel

from tests.gui.conftest import close_window


def details_text(window) -> list[str]:
    return [label.text() for label in window.details.widget().findChildren(QLabel) if label.isVisibleTo(window.details)]


def test_the_details_show_and_edit_the_open_threads_tags_and_metadata(qtbot, session, show_window, monkeypatch):
    thread = session.chat.new_thread("Trip")
    session.store.add_tags(thread.id, ["travel"])
    other = session.chat.new_thread("Other")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: "#travel" in details_text(window) and "No metadata" in details_text(window))
    assert window.details.isVisible() and window.details_button.isChecked()

    # The user edits through the panel's buttons (the dialogs answered as the user would).
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("travel, lisbon", True))
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *args, **kwargs: ("budget=1200\ndone=false", True))
    qtbot.mouseClick(window.details.tags_edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "#lisbon #travel" in details_text(window))
    qtbot.mouseClick(window.details.metadata_edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "<b>budget</b> = 1200" in details_text(window))
    assert "<b>done</b> = false" in details_text(window)
    assert session.store.get_thread(thread.id).metadata == {"budget": 1200, "done": False}

    window.open_thread(other.id)  # another thread: its own (empty) details
    qtbot.waitUntil(lambda: "No tags" in details_text(window) and "No metadata" in details_text(window))
    window.new_thread()
    assert not window.details.tags_edit.isEnabled()  # a draft has nothing to tag yet


def test_ctrl_i_hides_the_details_and_a_reopened_window_remembers(qtbot, data_dir, models_dir, open_sessions, show_window):
    window = show_window(open_sessions(data_dir, models_dir))
    assert window.details.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert not window.details.isVisible() and not window.details_button.isChecked()
    close_window(qtbot, window)

    reopened = show_window(open_sessions(data_dir, models_dir))
    assert not reopened.details.isVisible() and not reopened.details_button.isChecked()
    qtbot.mouseClick(reopened.details_button, Qt.MouseButton.LeftButton)
    assert reopened.details.isVisible()
