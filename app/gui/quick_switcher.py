"""Ctrl+K: jump to any thread by typing a few letters of its title (fuzzy, most recently active first)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.core.domain import Thread

MAX_SHOWN = 50
THREAD_ID_ROLE = Qt.ItemDataRole.UserRole



def fuzzy_score(query: str, title: str) -> float | None:
    """How well `title` matches `query`: every character of the query must appear in the title in order (case and
    spaces ignored), else None. Letters that start a word and runs of consecutive letters score higher, so "lh"
    ranks "Lighthouse keeper" below "Lake house" and "house" ranks "house plans" first."""
    needle = "".join(query.lower().split())
    if not needle:
        return 0.0
    haystack = title.lower()
    score, position, previous = 0.0, 0, -2
    for char in needle:
        found = haystack.find(char, position)
        if found < 0:
            return None
        word_start = found == 0 or not haystack[found - 1].isalnum()
        score += 1 + (2 if word_start else 0) + (1.5 if found == previous + 1 else 0)
        previous, position = found, found + 1
    return score - 0.01 * len(haystack)  # of equal matches, the shorter title is nearer


def rank(query: str, threads: Sequence[Thread]) -> list[Thread]:
    """The threads matching `query`, best first; equal scores keep the most recently active first."""
    recent_first = sorted(threads, key=lambda thread: thread.updated_at, reverse=True)
    if not query.strip():
        return recent_first
    scored = [(fuzzy_score(query, thread.title), index, thread) for index, thread in enumerate(recent_first)]
    return [thread for score, _index, thread in sorted(
        ((score, index, thread) for score, index, thread in scored if score is not None),
        key=lambda entry: (-entry[0], entry[1]),
    )]  # fmt: skip


class QuickSwitcher(QDialog):
    """A search field over a list; ↑/↓ move, Enter opens, Esc closes. `thread_chosen(id)` (GUI thread)."""

    thread_chosen = Signal(int)

    def __init__(self, threads: Sequence[Thread], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quickSwitcher")
        self.setWindowTitle(self.tr("Go to thread"))
        self.setAccessibleName(self.tr("Go to thread"))
        self.setAccessibleDescription(self.tr("Type part of a thread's title; Enter opens it"))
        self._threads = list(threads)
        self.query = QLineEdit()
        self.query.setObjectName("quickSwitcherQuery")
        self.query.setPlaceholderText(self.tr("Go to thread…  (type part of its title)"))
        self.query.setAccessibleName(self.tr("Thread title to find"))
        self.query.setAccessibleDescription(self.tr("Fuzzy: a few letters of the title, in order"))
        self.query.textChanged.connect(self._fill)
        self.query.installEventFilter(self)
        self.results = QListWidget()
        self.results.setObjectName("quickSwitcherResults")
        self.results.setAccessibleName(self.tr("Matching threads"))
        self.results.setAccessibleDescription(self.tr("Most recently active first among equal matches"))
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the field; arrows move the list
        self.results.itemActivated.connect(self._open)
        self.results.itemClicked.connect(self._open)
        self.empty = QLabel(self.tr("No thread matches."))
        self.empty.setObjectName("emptyState")
        layout = QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.results)
        layout.addWidget(self.empty)
        self.resize(560, 420)
        self._fill("")

    def shown_titles(self) -> list[str]:
        return [self.results.item(row).text() for row in range(self.results.count())]

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.query and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                row = self.results.currentRow() + {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(key, 0) + {
                    Qt.Key.Key_PageDown: 10, Qt.Key.Key_PageUp: -10
                }.get(key, 0)  # fmt: skip
                self.results.setCurrentRow(max(0, min(row, self.results.count() - 1)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.results.currentItem()
                if item is not None:
                    self._open(item)
                return True
        return super().eventFilter(watched, event)

    def _fill(self, query: str) -> None:
        self.results.clear()
        for thread in rank(query, self._threads)[:MAX_SHOWN]:
            item = QListWidgetItem(thread.title)
            item.setData(THREAD_ID_ROLE, thread.id)
            item.setToolTip(thread.title)
            self.results.addItem(item)
        self.results.setCurrentRow(0)
        self.empty.setVisible(self.results.count() == 0)

    def _open(self, item: QListWidgetItem) -> None:
        self.thread_chosen.emit(item.data(THREAD_ID_ROLE))
        self.accept()
