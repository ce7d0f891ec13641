"""‹ k / n ›: where a message sits among its alternatives (edits, regenerations), and the arrows to move between them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.services.threads import BranchPosition


class BranchSwitcher(QWidget):
    """‹ 2 / 3 ›. Emits `branch_chosen(message_id)` (GUI thread) with the sibling to show; never touches the store."""

    branch_chosen = Signal(int)

    def __init__(self, position: BranchPosition, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("branchSwitcher")
        self.position = position
        self.previous_button = self._arrow("‹", self.tr("Previous version"), -1)
        self.next_button = self._arrow("›", self.tr("Next version"), +1)
        self.label = QLabel(f"{position.index + 1} / {position.count}")
        self.label.setObjectName("branchLabel")
        self.label.setAccessibleName(self.tr("Version {0} of {1}").format(position.index + 1, position.count))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        self.previous_button.setEnabled(position.index > 0)
        self.next_button.setEnabled(position.index < position.count - 1)
        self.setAccessibleName(self.tr("Versions of this message"))

    def text(self) -> str:
        return f"‹ {self.label.text()} ›"

    def _arrow(self, glyph: str, name: str, step: int) -> QToolButton:
        button = QToolButton()
        button.setObjectName("branchArrow")
        button.setText(glyph)
        button.setAccessibleName(name)
        button.setAccessibleDescription(self.tr("Show another version of this message and the replies after it"))
        button.setToolTip(name)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self._step(step))
        return button

    def _step(self, step: int) -> None:
        target = self.position.index + step
        if 0 <= target < self.position.count:
            self.branch_chosen.emit(self.position.sibling_ids[target])
