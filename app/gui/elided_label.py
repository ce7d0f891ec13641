"""A one-line label for text of any length (a thread's title, the status line)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget


class ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit; the whole text is in the tooltip."""

    def __init__(self, parent: QWidget | None = None, *, prefer_full_width: bool = False) -> None:
        """`prefer_full_width`: ask the layout for room for the whole text (it still shrinks to 40 px when the row
        is short), rather than for the width of what is shown now."""
        super().__init__(parent)
        self._full_text = ""
        self._prefer_full_width = prefer_full_width
        self.setMinimumWidth(40)

    def set_full_text(self, text: str) -> None:
        self._full_text = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def full_text(self) -> str:
        return self._full_text

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        hint = super().sizeHint()
        if self._prefer_full_width:
            hint.setWidth(self.fontMetrics().horizontalAdvance(self._full_text) + 14)
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width() - 12  # the style sheet's padding
        self.setText(self.fontMetrics().elidedText(self._full_text, Qt.TextElideMode.ElideRight, max(width, 0)))
