"""The quiet text buttons of message cards (Edit, Regenerate, ⋯, a summary's Undo, Thinking)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton


def action_button(text: str, tip: str, handler) -> QToolButton:
    """A quiet text button in a card's header."""
    button = QToolButton()
    button.setObjectName("messageAction")
    button.setText(text)
    button.setAccessibleName(text)
    button.setAccessibleDescription(tip)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    if handler is not None:
        button.clicked.connect(handler)
    return button
