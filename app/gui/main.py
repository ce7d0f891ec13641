"""Start the desktop app: the log, one QApplication, the main window, and qasync's loop as the event loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox, QStyleFactory

from app.core.errors import ThreadloomError
from app.gui import theme
from app.gui.main_window import MainWindow
from app.gui.resources import DESKTOP_FILE_NAME, app_icon, install_translations
from app.platform.logs import setup_logging
from app.services.session import Session


def application() -> QApplication:
    made_before = QApplication.instance()
    app = made_before or QApplication(sys.argv)
    app.setOrganizationName("Threadloom")
    app.setApplicationName("Threadloom")
    app.setApplicationDisplayName("Threadloom")
    app.setDesktopFileName(DESKTOP_FILE_NAME)  # Wayland and taskbars match the window to its launcher entry
    app.setWindowIcon(app_icon())
    if made_before is None:
        install_translations(app)  # once: a second translator for the same file would only be searched in vain
    app.setStyle(QStyleFactory.create("Fusion"))  # the same, palette-driven look on every platform
    app.setPalette(theme.palette_for(theme.current()))  # until the window applies the user's theme setting
    return app


async def _until_closed(window: MainWindow) -> None:
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: closed.done() or closed.set_result(None))
    window.show()
    await closed


def attach_to_new_thread(window: MainWindow, files: Sequence[str]) -> None:
    """Files the app was started with (dropped on its launcher, or `threadloom FILE…`) go to a new thread, opened
    in place of the last one; they are read and embedded in the background as if dropped on the window.

    That starts once the window's first thread listing has landed: a listing read before the new thread existed
    would otherwise land after it and close it as deleted."""

    def attach(_threads=None) -> None:
        window.sidebar.threads_loaded.disconnect(attach)
        window.open_thread(None)
        window.attachments.attach(list(files))

    window.sidebar.threads_loaded.connect(attach)


def run_gui(session: Session | Callable[[], Session], *, files: Sequence[str] = ()) -> int:
    """Show the window until it is closed; return the process exit code. `files` are attached to a new thread.

    Accepts an open Session or a factory for one, so a setup error (unwritable data folder, ...) is shown in a
    dialog rather than lost on a terminal the user never sees.
    """
    app = application()
    if callable(session):
        try:
            session = session()
        except ThreadloomError as exc:
            QMessageBox.critical(None, "Threadloom cannot start", str(exc))
            return 1
    setup_logging(session.data_dir, level=session.settings.log_level)  # once per process: the CLI may have already
    window = MainWindow(session)
    if files:
        attach_to_new_thread(window, files)
    app.setQuitOnLastWindowClosed(False)  # the loop ends when the window's session is shut down, not before
    previous_hook, sys.excepthook = sys.excepthook, _told_through(window)
    try:
        qasync.run(_until_closed(window))
    finally:
        sys.excepthook = previous_hook
    return 0


def _told_through(window: MainWindow):
    """An exception no slot caught (Qt hands it to sys.excepthook): logged with its traceback, told in one line."""

    def hook(kind, error, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, traceback)
        else:
            window.status.report(error.with_traceback(traceback))

    return hook
