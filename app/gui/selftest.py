"""The window's part of `threadloom --self-test`: Qt starts, the main window opens over the session and lists its
threads, with the app icon. Without a display (a server, CI) Qt's offscreen platform stands in, so the check still
proves that Qt, its plugins and the window's code are all there."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import qInstallMessageHandler

from app.core.errors import SetupError
from app.services.session import Session

WINDOW_TIMEOUT_S = 60.0
# What Qt's offscreen platform says about every window it shows; not news about this installation.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"


def _without_offscreen_noise(_mode, _context, message: str) -> None:
    if message != OFFSCREEN_NOISE:
        print(message, file=sys.stderr)


def check_window(session: Session | None) -> str:
    """Opens and closes the window (which closes `session`); returns what it saw, raises SetupError if it failed."""
    if session is None:
        raise SetupError("no session to show")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when the QApplication is made, just below
    from app.gui.main import application
    from app.gui.main_window import MainWindow

    previous_handler = qInstallMessageHandler(_without_offscreen_noise)
    try:
        app = application()
        expected = len(session.threads.listing().threads)
        window = MainWindow(session)
        try:
            window.show()
            deadline = time.monotonic() + WINDOW_TIMEOUT_S
            while not (window.windowHandle() and window.windowHandle().isExposed() and not window.is_loading):
                if time.monotonic() > deadline:
                    raise SetupError(f"the window did not show its threads within {WINDOW_TIMEOUT_S:.0f} s")
                app.processEvents()
                time.sleep(0.01)
            listed = len(window.thread_list.thread_ids())
            sizes = sorted(size.width() for size in app.windowIcon().availableSizes())
        finally:
            window.close()  # shuts the session down too
            app.processEvents()
    finally:
        qInstallMessageHandler(previous_handler)
    if listed != expected:
        raise SetupError(f"the window listed {listed} threads, the database holds {expected}")
    if not sizes:
        raise SetupError("the app icon is missing (resources/icons/hicolor/*/apps/threadloom.png)")
    return f"{app.platformName()}: listed {listed} thread(s); icon in {len(sizes)} sizes {sizes[0]}-{sizes[-1]} px"
