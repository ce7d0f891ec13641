"""Window fixtures on top of tests/conftest.py (models_dir, data_dir, session): offscreen Qt and real sessions."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.services.session import Session, open_session  # noqa: E402

REPLY_TIMEOUT_MS = 120_000  # generous for slow 2-core machines; tests never assert wall times


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def limit_reply(session: Session, *, max_tokens: int, seed: int = 1) -> None:
    """A fixed seed keeps the small model's replies repeatable; max_tokens bounds how long a test waits."""
    session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=max_tokens, seed=seed)


@pytest.fixture
def open_sessions():
    """Opens extra sessions (a reopened data folder, an empty models folder) and closes them all at teardown."""
    sessions: list[Session] = []

    def opener(data_dir: Path, models_dir: Path) -> Session:
        session = open_session(data_dir, models_dir)
        sessions.append(session)
        return session

    yield opener
    for session in sessions:
        session.close()  # the window closed it already in most tests; closing again is harmless


@pytest.fixture
def show_window(qtbot):
    """Shows a MainWindow over a session, focused on its composer, once its first thread listing has landed.

    The window has the usual first-run size, wider than the offscreen screen (800 px) it would otherwise be fitted
    to: the tests were written for three columns with Details open."""
    from app.gui.main_window import FIRST_RUN_SIZE, MainWindow

    def shower(session: Session) -> MainWindow:
        window = MainWindow(session)
        window.resize(FIRST_RUN_SIZE)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        window.composer.setFocus()
        qtbot.waitUntil(lambda: not window.is_loading)
        return window

    return shower


def close_window(qtbot, window) -> None:
    """Close the window and wait until its session is shut down (closing returns at once; `closed` follows)."""
    with qtbot.waitSignal(window.closed, timeout=REPLY_TIMEOUT_MS):
        window.close()
