"""The one route for what the user is told, after qutebrowser's `message` module and its MessageBridge: every
widget and controller tells the shared `StatusBridge`, which logs the text and then emits it; the window's status
line and composer hint show it. Logic code never finds a status bar.

An exception is told through `report`/`explain`: a ThreadloomError (app.core.errors) is said as its own one-line
message; anything else is a bug, so its traceback goes to the log and the user is told, in one line, where it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.core.errors import ThreadloomError
from app.gui.elided_label import ElidedLabel
from app.platform.logs import log_path

log = logging.getLogger("app.gui")
HINT_RESET_MS = 4000


def explain(error: BaseException) -> str:
    """One line for the user. An unexpected error is logged here, with its traceback."""
    if isinstance(error, ThreadloomError):
        return str(error)
    log.error("unexpected error", exc_info=error)
    where = log_path()
    details = f"the details are in {where}" if where else "the app keeps working"
    return f"something unexpected went wrong ({type(error).__name__}); {details}"


class StatusBridge(QObject):
    """Shared by every widget of one window. Call its methods on the GUI thread (background work reaches it through
    its TaskRunner's callbacks, which run there); each logs the text, then emits it.

    Signals (emitted on the GUI thread):
        info(str): a note for the status line; "" clears the line.
        warning(str): something the user should know, though nothing failed.
        error(str): something failed; the text says what, and what to do.
        hint(str): a short-lived hint under the composer, e.g. why a key press did nothing.
    """

    info = Signal(str)
    warning = Signal(str)
    error = Signal(str)
    hint = Signal(str)

    def show_info(self, text: str) -> None:
        if text:
            log.info("told the user: %s", text)
        self.info.emit(text)

    def show_warning(self, text: str) -> None:
        log.warning("told the user: %s", text)
        self.warning.emit(text)

    def show_error(self, text: str) -> None:
        log.error("told the user: %s", text)
        self.error.emit(text)

    def show_hint(self, text: str) -> None:
        log.debug("hinted: %s", text)
        self.hint.emit(text)

    def report(self, error: BaseException, *, doing: str = "") -> None:
        """Say that `doing` (e.g. "Could not send") failed with `error`, per `explain`."""
        self.show_error(f"{doing}: {explain(error)}" if doing else explain(error))


class StatusLine(ElidedLabel):
    """The status bar's message: the bridge's last info, warning or error, styled by its kind."""

    def __init__(self, bridge: StatusBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusNote")
        self.setAccessibleName(self.tr("Status message"))
        bridge.info.connect(self._show_note)
        bridge.warning.connect(self._show_note)
        bridge.error.connect(self._show_error)

    def _show_note(self, text: str) -> None:
        self._show(text, "statusNote")

    def _show_error(self, text: str) -> None:
        self._show(text, "statusError")

    def _show(self, text: str, kind: str) -> None:
        self.set_full_text(text)
        self.setObjectName(kind)
        self.style().unpolish(self)
        self.style().polish(self)


class HintLabel(QLabel):
    """Under the composer: its usual text (`usual()`, e.g. how to send), or the bridge's hint for a few seconds."""

    def __init__(self, bridge: StatusBridge, usual: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(usual(), parent)
        self.setObjectName("composerHint")
        self.setAccessibleName(self.tr("Composer hint"))
        self._usual = usual
        self._reset = QTimer(self, singleShot=True, interval=HINT_RESET_MS)
        self._reset.timeout.connect(self.show_usual)
        bridge.hint.connect(self._show_hint)

    def show_usual(self) -> None:
        self.setText(self._usual())

    def _show_hint(self, text: str) -> None:
        self.setText(text)
        self._reset.start()
