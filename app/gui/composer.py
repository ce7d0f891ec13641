"""Where the user writes: a text box that grows with its text and sends on the configured key."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QTextEdit, QWidget

MIN_LINES = 2
MAX_LINES = 10


class Composer(QTextEdit):
    """Plain-text editor. `send_key` is "enter" (Shift+Enter breaks the line) or "ctrl+enter" (Enter breaks it).

    Ctrl+Enter sends in both modes. `submitted` is emitted on the GUI thread; the window decides whether to send.
    """

    submitted = Signal()

    def __init__(self, *, send_key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName(self.tr("Message"))
        self.setAccessibleDescription(self.tr("Type your message; Enter sends it (see Settings)"))
        self.setAcceptRichText(False)
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.send_key = send_key
        self.setPlaceholderText(self.tr("Ask anything…"))
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers()
            ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
            shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            if ctrl or (self.send_key == "enter" and not shift):
                self.submitted.emit()
            else:
                self.textCursor().insertText("\n")
            event.accept()
            return
        super().keyPressEvent(event)

    def send_hint(self) -> str:
        if self.send_key == "ctrl+enter":
            return self.tr("Ctrl+Enter to send · Enter for a new line")
        return self.tr("Enter to send · Shift+Enter for a new line")

    def _fit_height(self, *_args) -> None:
        """Grow with the text from MIN_LINES up to MAX_LINES, then scroll."""
        line = self.fontMetrics().lineSpacing()
        chrome = 2 * self.frameWidth() + math.ceil(2 * self.document().documentMargin()) + 14  # style sheet padding
        content = math.ceil(self.document().size().height())
        self.setFixedHeight(max(MIN_LINES * line, min(content, MAX_LINES * line)) + chrome)
