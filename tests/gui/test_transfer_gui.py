"""Import and export from the window's File menu and the thread list, on the real window and store."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from tests.conftest import SHARED_DATA

CHATGPT = SHARED_DATA / "chat-exports" / "librechat-fixtures" / "chatgpt-tree.json"


def menu_action(menu, text: str):
    return next(action for action in menu.actions() if action.text() == text)


def pick_file(qtbot, window, path: Path) -> None:
    """Answer the file dialog the window opened, as the user would: type the path and accept."""
    qtbot.waitUntil(lambda: window.transfers.dialog is not None and window.transfers.dialog.isVisible())
    dialog = window.transfers.dialog
    assert isinstance(dialog, QFileDialog)
    dialog.selectFile(str(path))
    dialog.accept()


def test_import_from_the_file_menu_lands_the_chatgpt_threads_and_lists_what_was_skipped(
    qtbot, session, show_window, tmp_path
):
    window = show_window(session)
    menu_action(window.file_menu, "Import…").trigger()
    pick_file(qtbot, window, CHATGPT)
    qtbot.waitUntil(lambda: window.transfers.progress is not None and window.transfers.progress.progress.isHidden())
    progress = window.transfers.progress
    titles = {thread.title for thread in session.threads.listing().threads}
    expected = {entry["title"] for entry in json.loads(CHATGPT.read_text())}
    assert expected <= titles
    assert progress.summary.text().startswith(f"Imported {len(expected)} thread(s)")
    qtbot.waitUntil(lambda: window.title_label.full_text() in expected)  # the first one is opened
    qtbot.waitUntil(lambda: set(window.thread_list.thread_ids()) >= {t.id for t in session.threads.listing().threads})

    menu_action(window.file_menu, "Import…").trigger()  # again: each conversation is skipped, and says why
    pick_file(qtbot, window, CHATGPT)
    qtbot.waitUntil(lambda: window.transfers.progress is not progress and window.transfers.progress.progress.isHidden())
    again = window.transfers.progress
    assert again.summary.text() == f"Imported 0 thread(s); skipped {len(expected)}."
    reasons = [again.skipped.item(row).text() for row in range(again.skipped.count())]
    assert len(reasons) == len(expected) and all("already imported as thread" in reason for reason in reasons)


def test_a_file_that_is_no_export_changes_nothing_and_says_why(qtbot, session, show_window, tmp_path):
    junk = tmp_path / "notes.json"
    junk.write_text('{"hello": "world"}')
    window = show_window(session)
    before = len(session.threads.listing().threads)
    window.transfers.import_file(junk)
    qtbot.waitUntil(lambda: window.transfers.progress.progress.isHidden())
    assert window.transfers.progress.summary.text().startswith("Nothing was imported:")
    assert len(session.threads.listing().threads) == before


def test_export_the_open_thread_and_all_threads_as_markdown_and_json(qtbot, session, show_window, tmp_path):
    first = session.chat.new_thread("Soup recipes")
    session.chat.new_thread("Bike repair")
    window = show_window(session)
    window.open_thread(first.id)
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Soup recipes" and not window.is_loading)

    this_thread = next(a.menu() for a in window.file_menu.actions() if a.text() == "Export this thread")
    menu_action(this_thread, "Markdown…").trigger()
    assert window.transfers.dialog.selectedFiles()[0].endswith("Soup-recipes.md")  # a sensible default name
    pick_file(qtbot, window, tmp_path / "soup.md")
    qtbot.waitUntil(lambda: (tmp_path / "soup.md").exists())
    assert "Soup recipes" in (tmp_path / "soup.md").read_text()

    every_thread = next(a.menu() for a in window.file_menu.actions() if a.text() == "Export all threads")
    menu_action(every_thread, "JSON (lossless)…").trigger()
    pick_file(qtbot, window, tmp_path / "all.json")
    qtbot.waitUntil(lambda: (tmp_path / "all.json").exists())
    exported = json.loads((tmp_path / "all.json").read_text())
    assert {thread["title"] for thread in exported["threads"]} == {"Soup recipes", "Bike repair"}

    window.thread_list.menu_for(first.id)  # the thread list's context menu offers the same
    menu = window.thread_list.menu_for(first.id)
    menu_action(menu, "Export as JSON…").trigger()
    pick_file(qtbot, window, tmp_path / "missing-dir" / "x.json")  # a folder that does not exist
    qtbot.waitUntil(lambda: "cannot write" in window.status_note.full_text())
