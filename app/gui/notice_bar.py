"""A transient, in-place notice with one action: "Deleted “X”. Undo", "Editing your message. Cancel"."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class NoticeBar(QFrame):
    """Hidden until `show_notice`; hides itself after `timeout_ms` (if given), on its action, or on ✕.

    Signals (GUI thread): `action_triggered` when the user presses the action, `dismissed` when the notice goes
    away any other way (✕ or timeout). `hide_notice()` from code emits neither.
    """

    action_triggered = Signal()
    dismissed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAccessibleName(name)
        self.label = QLabel()
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.action_button = QPushButton()
        self.action_button.setObjectName("noticeAction")
        self.action_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.action_button.clicked.connect(self._act)
        close = QToolButton()
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setAccessibleName(self.tr("Dismiss"))
        close.setAccessibleDescription(self.tr("Hide this notice"))
        close.setToolTip(self.tr("Dismiss"))
        close.setAutoRaise(True)
        close.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._dismiss)
        self.hide()

    def show_notice(self, text: str, action: str, *, timeout_ms: int | None = None) -> None:
        self.label.setText(text)
        self.action_button.setText(action)
        self.action_button.setAccessibleName(action)
        self.action_button.setAccessibleDescription(text)
        self.show()
        if timeout_ms is None:
            self._timer.stop()
        else:
            self._timer.start(timeout_ms)

    def hide_notice(self) -> None:
        self._timer.stop()
        self.hide()

    def _act(self) -> None:
        self.hide_notice()
        self.action_triggered.emit()

    def _dismiss(self) -> None:
        if not self.isHidden():
            self.hide_notice()
            self.dismissed.emit()
