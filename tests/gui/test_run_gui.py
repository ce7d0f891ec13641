"""The entry point the CLI calls: qasync runs the loop, closing the window ends it and shuts the session down."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.gui.main import run_gui
from app.gui.main_window import MainWindow


def test_run_gui_returns_when_the_window_closes(qapp, session):
    seen = {}

    def close_the_window() -> None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not shown:  # a busy machine: the window is not up yet
            QTimer.singleShot(100, close_the_window)
            return
        seen["loop_running"] = asyncio.get_event_loop().is_running()
        shown[0].close()

    QTimer.singleShot(300, close_the_window)
    assert run_gui(lambda: session) == 0
    assert seen["loop_running"]  # the window ran under asyncio's loop (qasync)
    assert session.router.loaded_models() == [] and session.store.db.is_closed()
