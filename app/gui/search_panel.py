"""Search over all threads from the sidebar: a debounced box and the hits (thread, the message in context)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QWidget

from app.core.domain import Role, SearchHit
from app.gui import theme

DEBOUNCE_MS = 200  # typing pauses this long before a search runs: one search per word, not per key
HIT_ROLE = Qt.ItemDataRole.UserRole
MATCH = re.compile(r"\[([^\[\]]+)\]")


def highlight_snippet(snippet: str) -> str:
    """The service marks matches as [word]; show them bold, everything else as escaped text."""
    return MATCH.sub(r"<b>\1</b>", html.escape(snippet, quote=False))


class SearchBox(QLineEdit):
    """Emits (GUI thread) `query_changed(text)` once typing pauses and `move_to_results` on ↓ (the sidebar hands focus
    to the results); Esc clears."""

    query_changed = Signal(str)
    move_to_results = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBox")
        self.setAccessibleName(self.tr("Search threads"))
        self.setAccessibleDescription(
            self.tr("Search every message of every thread (Ctrl+F); Down moves to the results")
        )
        self.setPlaceholderText(self.tr("Search threads   Ctrl+F"))
        self.setClearButtonEnabled(True)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.query_changed.emit(self.text().strip()))
        self.textChanged.connect(lambda _text: self._timer.start())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.move_to_results.emit()
        elif event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
        else:
            super().keyPressEvent(event)


class SearchResults(QListWidget):
    """The hits of one search. Emits `hit_chosen(thread_id, message_id)` (GUI thread) on click or Enter."""

    hit_chosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setAccessibleName(self.tr("Search results"))
        self.setAccessibleDescription(self.tr("Enter opens the thread at the matching message"))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(1)
        self.itemActivated.connect(self._choose)
        self.itemClicked.connect(self._choose)

    def show_hits(self, hits: Sequence[SearchHit], query: str) -> None:
        self.clear()
        if not hits:
            item = QListWidgetItem(self.tr("No messages match “{0}”.").format(query))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            item.setSizeHint(QSize(0, 40))
            self.addItem(item)
            return
        colours = theme.current()
        for hit in hits:
            who = self.tr("You") if hit.role == Role.USER else self.tr("Assistant")
            archived = self.tr(" · archived") if hit.archived else ""
            label = QLabel(
                f"<div style='color:{colours.text}; font-weight:600'>{html.escape(hit.thread_title)}</div>"
                f"<div style='color:{colours.muted}'>{who}{archived} · {hit.created_at.astimezone():%d %b %Y}</div>"
                f"<div style='color:{colours.text}'>{highlight_snippet(hit.snippet)}</div>"
            )
            label.setObjectName("searchHit")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(8, 6, 8, 6)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            item = QListWidgetItem()
            item.setData(HIT_ROLE, (hit.thread_id, hit.message_id))
            plain = MATCH.sub(r"\1", hit.snippet)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{hit.thread_title}: {plain}")
            self.addItem(item)
            self.setItemWidget(item, label)
        self._fit_hits()
        self.setCurrentRow(0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_hits()

    def _fit_hits(self) -> None:
        """Each hit wraps to the list's width and its row is as tall as its text."""
        width = max(120, self.viewport().width() - 4)
        for row in range(self.count()):
            label = self.itemWidget(self.item(row))
            if label is not None:
                label.setFixedWidth(width)
                self.item(row).setSizeHint(QSize(0, label.heightForWidth(width) + 2))

    def hits(self) -> list[tuple[int, int]]:
        """(thread_id, message_id) of each hit shown, in order."""
        values = (self.item(row).data(HIT_ROLE) for row in range(self.count()))
        return [value for value in values if value is not None]

    def _choose(self, item: QListWidgetItem) -> None:
        if item.data(HIT_ROLE) is not None:
            self.hit_chosen.emit(*item.data(HIT_ROLE))
