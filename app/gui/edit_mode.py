"""Editing a message the user wrote: the composer holds its text and a bar says so; sending it makes a new branch
(the original is kept). Cancelling gives back whatever the composer held before."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QTextCursor

from app.gui.composer import Composer
from app.gui.notice_bar import NoticeBar


class EditMode(QObject):
    """The editing state of one composer; its bar's Cancel (and ✕) leave editing. Touched on the GUI thread only."""

    def __init__(self, composer: Composer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._composer = composer
        self._message_id: int | None = None  # the user message the composer is editing
        self._draft_before = ""
        self.bar = NoticeBar("Editing a message")
        self.bar.setObjectName("editingBar")
        self.bar.action_triggered.connect(self.cancel)
        self.bar.dismissed.connect(self.cancel)

    @property
    def message_id(self) -> int | None:
        return self._message_id

    def begin(self, message_id: int, text: str) -> None:
        """Put `text` (the message's, or what the user had typed for it) into the composer."""
        if self._message_id is None:
            self._draft_before = self._composer.toPlainText()
        self._message_id = message_id
        self._composer.setPlainText(text)
        self._composer.moveCursor(QTextCursor.MoveOperation.End)
        self._composer.setFocus()
        self.bar.show_notice(
            self.tr("Editing your message. Sending it starts a new version; the original is kept."),
            self.tr("Cancel  Esc"),
        )

    def cancel(self) -> None:
        """Leave editing and give back what the composer held before."""
        if self._message_id is None:
            return
        self._message_id = None
        self.bar.hide_notice()
        self._composer.setPlainText(self._draft_before)
        self._draft_before = ""
