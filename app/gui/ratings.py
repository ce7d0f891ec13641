"""👍 / 👎 (and a note) on each reply's header: a `RatingBar` per assistant card, kept by one `RatingController`.

The controller hears each card shown (`ConversationView.card_shown`), puts a bar on it, reads the ratings of the cards
shown in one batched call on the read lane, and writes a new rating on the write lane; nothing touches the database
on the GUI thread.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.domain import Role
from app.core.insights import MAX_NOTE_LENGTH, Rating, RatingValue
from app.gui.conversation import ConversationView, MessageCard
from app.gui.tasks import TaskRunner
from app.services.insights import InsightsService


@cache
def _thumbs() -> tuple[str, str]:
    """👍 / 👎 where the desktop has an emoji font to draw them, else ▲ / ▼ (in every text font): without one,
    Qt draws the thumbs as empty boxes (seen under Xvfb on a plain Debian)."""
    if any("emoji" in family.lower() for family in QFontDatabase.families()):
        return "👍", "👎"
    return "▲", "▼"


def _rating_button(text: str, name: str, description: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("ratingButton")
    button.setText(text)
    button.setCheckable(True)
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    return button


class RatingBar(QWidget):
    """A reply's rating. Signals (GUI thread): `chosen(value)` — "up", "down", or None to clear (pressing the
    lit thumb again) — and `note_requested()` (the ✎ shown once the reply is rated)."""

    chosen = Signal(object)
    note_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratingBar")
        self.rating: Rating | None = None
        up, down = _thumbs()
        self.up_button = _rating_button(up, self.tr("Good reply"), self.tr("Rate this reply up (press again to clear)"))
        self.down_button = _rating_button(
            down, self.tr("Bad reply"), self.tr("Rate this reply down (press again to clear)")
        )
        self.note_button = QToolButton()
        self.note_button.setObjectName("messageAction")
        self.note_button.setText("✎")
        self.note_button.setAutoRaise(True)
        self.note_button.setAccessibleName(self.tr("Note on this rating"))
        self.note_button.setAccessibleDescription(self.tr("Say why you rated this reply so"))
        self.up_button.clicked.connect(lambda: self._choose(RatingValue.UP))
        self.down_button.clicked.connect(lambda: self._choose(RatingValue.DOWN))
        self.note_button.clicked.connect(self.note_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for button in (self.up_button, self.down_button, self.note_button):
            row.addWidget(button)
        self.show_rating(None)

    def show_rating(self, rating: Rating | None) -> None:
        self.rating = rating
        value = rating.value if rating is not None else None
        self.up_button.setChecked(value == RatingValue.UP)
        self.down_button.setChecked(value == RatingValue.DOWN)
        self.note_button.setVisible(rating is not None)
        note = rating.note if rating is not None and rating.note else ""
        self.note_button.setToolTip(self.tr("Note: {0}").format(note) if note else self.tr("Add a note"))

    def _choose(self, value: RatingValue) -> None:
        current = self.rating.value if self.rating is not None else None
        self.show_rating(self.rating)  # the buttons show what is stored until the write lands
        self.chosen.emit(None if current == value else value)


class RatingNoteDialog(QDialog):
    """The note that goes with a rating; OK keeps the rating and stores the note (empty: no note)."""

    def __init__(self, rating: Rating, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratingNoteDialog")
        self.setWindowTitle(self.tr("Note on this rating"))
        self.rating = rating
        label = QLabel(
            self.tr("Why is this reply good?") if rating.value == RatingValue.UP else self.tr("What was wrong?")
        )
        self.editor = QPlainTextEdit(rating.note or "")
        self.editor.setAccessibleName(self.tr("Note"))
        self.editor.setAccessibleDescription(self.tr("Kept with the rating and exported with it"))
        self.editor.textChanged.connect(self._check_length)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.editor)
        layout.addWidget(self.buttons)

    def note(self) -> str:
        return self.editor.toPlainText().strip()

    def _check_length(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        too_long = len(self.note()) > MAX_NOTE_LENGTH
        ok.setEnabled(not too_long)
        ok.setToolTip(self.tr("At most {0} characters").format(MAX_NOTE_LENGTH) if too_long else "")


class RatingController(QObject):
    def __init__(
        self,
        insights: InsightsService,
        conversation: ConversationView,
        *,
        reads: TaskRunner,
        writes: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._insights = insights
        self._reads, self._writes = reads, writes  # a failed call is told through the runner's status bridge
        self._bars: dict[int, RatingBar] = {}  # by message id, the bars on screen
        self._known: dict[int, Rating | None] = {}  # as last read or written, shown at once on a card made again
        self._unread: set[int] = set()
        self._read_soon = QTimer(self, singleShot=True, interval=0)  # one read for all the cards of a page
        self._read_soon.timeout.connect(self._read_ratings)
        conversation.card_shown.connect(self._decorate)

    def bar_for(self, message_id: int) -> RatingBar | None:
        return self._bars.get(message_id)

    def rate(self, message_id: int, value: RatingValue | None, *, note: str | None = None) -> None:
        self._writes.run(
            lambda: self._insights.rate(message_id, value, note=note),
            on_result=lambda rating: self._show(message_id, rating),
        )

    def edit_note(self, message_id: int) -> RatingNoteDialog | None:
        bar = self._bars.get(message_id)
        if bar is None or bar.rating is None:
            return None
        dialog = RatingNoteDialog(bar.rating, bar.window())
        dialog.accepted.connect(lambda: self.rate(message_id, dialog.rating.value, note=dialog.note()))
        dialog.open()
        return dialog

    def _decorate(self, card: MessageCard) -> None:
        if card.message.role != Role.ASSISTANT or card.findChild(RatingBar) is not None:  # made, or heard again
            return
        message_id = card.message.id
        bar = RatingBar(card)
        card.add_header_widget(bar)
        bar.chosen.connect(lambda value: self.rate(message_id, value, note=bar.rating.note if bar.rating else None))
        bar.note_requested.connect(lambda: self.edit_note(message_id))
        bar.destroyed.connect(lambda: self._forget(message_id, bar))
        self._bars[message_id] = bar
        bar.show_rating(self._known.get(message_id))
        self._unread.add(message_id)
        self._read_soon.start()

    def _forget(self, message_id: int, bar: RatingBar) -> None:
        if self._bars.get(message_id) is bar:
            del self._bars[message_id]

    def _read_ratings(self) -> None:
        wanted = sorted(self._unread)
        self._unread.clear()
        self._reads.run(
            lambda: self._insights.ratings(wanted),
            on_result=lambda ratings: [self._show(message_id, ratings.get(message_id)) for message_id in wanted],
        )

    def _show(self, message_id: int, rating: Rating | None) -> None:
        self._known[message_id] = rating
        bar = self._bars.get(message_id)
        if bar is not None:
            bar.show_rating(rating)
