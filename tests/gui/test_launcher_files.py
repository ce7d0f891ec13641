"""Files the app is started with — dropped on its launcher entry (Exec=threadloom %F) or `threadloom FILE…` — are
attached to a new thread that the window opens, instead of the thread it would have restored."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

import app.gui.main
from app.cli import main as threadloom
from app.core.documents import DocumentStatus
from app.gui.main import run_gui
from app.gui.main_window import MainWindow
from tests.conftest import SHARED_DATA
from tests.gui.conftest import REPLY_TIMEOUT_MS

pytestmark = pytest.mark.slow
PDF = SHARED_DATA / "pdf-corpus" / "files" / "sf-001-minimal-document.pdf"


def test_files_given_at_start_are_attached_to_a_new_thread_the_window_opens(qapp, session, monkeypatch):
    earlier = session.chat.new_thread("Yesterday's thread")
    new_thread = session.chat.new_thread

    def slow_new_thread(*args, **kwargs):
        time.sleep(0.3)  # as a first write to a new database may take: the window's first listing is read meanwhile
        return new_thread(*args, **kwargs)

    monkeypatch.setattr(session.chat, "new_thread", slow_new_thread)
    settings = QSettings(str(session.data_dir / "window.ini"), QSettings.Format.IniFormat)
    settings.setValue("session/lastThread", earlier.id)  # the window would reopen this one
    settings.sync()
    seen = {}
    deadline = time.monotonic() + REPLY_TIMEOUT_MS / 1000

    def look_then_close() -> None:
        """Once the window has read and embedded the file: note what it shows, then close it (ending run_gui)."""
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        thread_id = windows[0]._open_thread_id if windows else None
        attachments = session.attachments.attachments(thread_id) if thread_id else []
        ready = attachments and all(a.document.status == DocumentStatus.READY for a in attachments)
        if windows and (time.monotonic() > deadline or (ready and not windows[0].attachments.busy)):
            window = windows[0]
            seen.update(thread_id=thread_id, attachments=attachments, listed=window.thread_list.thread_ids(),
                        chips=[chip.attachment.file_name for chip in window.attachments.panel.chips()])  # fmt: skip
            poll.stop()
            window.close()

    poll = QTimer(interval=100)
    poll.timeout.connect(look_then_close)
    poll.start()
    try:
        assert run_gui(lambda: session, files=[str(PDF)]) == 0
    finally:
        poll.stop()

    assert seen["thread_id"] != earlier.id
    [attachment] = seen["attachments"]
    assert attachment.file_name == PDF.name and attachment.document.status == DocumentStatus.READY
    assert seen["chips"] == [PDF.name]
    assert sorted(seen["listed"]) == sorted([earlier.id, seen["thread_id"]])


def test_the_command_hands_file_arguments_to_the_window(tmp_path, models_dir, monkeypatch):
    given = {}

    def fake_run_gui(session, *, files=()):
        given["files"] = list(files)
        session.close()
        return 0

    monkeypatch.setattr(app.gui.main, "run_gui", fake_run_gui)
    (tmp_path / "notes.md").write_text("# Notes\n")
    monkeypatch.chdir(tmp_path)
    argv = ["--data-dir", str(tmp_path / "data"), "--models-dir", str(models_dir), str(PDF), "notes.md"]
    assert threadloom(argv) == 0
    assert given["files"] == [str(PDF), str(tmp_path / "notes.md")]  # absolute, as the window may not share the cwd
