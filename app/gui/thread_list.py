"""The sidebar's thread list: threads grouped by when they were last active, with rename, pin, archive, tags and
delete in its context menu."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QMenu, QWidget

from app.core.domain import Thread

THREAD_ID_ROLE = Qt.ItemDataRole.UserRole


def group_threads(threads: Sequence[Thread], *, now: datetime) -> list[tuple[str, list[Thread]]]:
    """Pinned first, then Today / Yesterday / Previous 7 days / one group per older month, keeping the order given.

    `now` is local time; thread times are converted to it, so "Today" means the user's day.
    """
    today = now.date()
    groups: dict[str, list[Thread]] = {}
    for thread in threads:
        if thread.pinned:
            label = "Pinned"
        else:
            day = thread.updated_at.astimezone(now.tzinfo).date()  # tzinfo None: the machine's local zone
            if day >= today:
                label = "Today"
            elif day == today - timedelta(days=1):
                label = "Yesterday"
            elif day > today - timedelta(days=7):
                label = "Previous 7 days"
            elif day.year == today.year:
                label = day.strftime("%B")
            else:
                label = day.strftime("%B %Y")
        groups.setdefault(label, []).append(thread)
    return list(groups.items())


class ThreadList(QListWidget):
    """Shows threads; says what the user asked for through signals and never touches the store itself.

    All signals are emitted on the GUI thread.
    """

    thread_chosen = Signal(int)  # the user selected a thread
    rename_requested = Signal(int, str)  # thread id, new title (already stripped, never empty)
    delete_requested = Signal(int)  # the user asked to delete (the window offers Undo)
    pin_requested = Signal(int, bool)  # thread id, pinned
    archive_requested = Signal(int, bool)  # thread id, archived
    tags_requested = Signal(int)  # the user wants to edit the thread's tags
    metadata_requested = Signal(int)  # … or its typed key=value metadata
    export_requested = Signal(int, str)  # thread id, "md" or "json"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadList")
        self.setAccessibleName("Threads")
        self.setAccessibleDescription(
            "Your conversations, most recently active first. Right-click (or the menu key) to rename, pin, tag, "
            "archive or delete."
        )
        self.setUniformItemSizes(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)  # F2 renames in place
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.currentItemChanged.connect(self._on_current_changed)
        self.itemChanged.connect(self._on_item_edited)
        self._titles: dict[int, str] = {}
        self._threads: dict[int, Thread] = {}

    def show_threads(self, threads: Sequence[Thread], *, selected_id: int | None, now: datetime) -> None:
        """Replace the list, keeping `selected_id` selected without announcing it as a new choice."""
        self.blockSignals(True)
        try:
            self.clear()
            self._titles = {thread.id: thread.title for thread in threads}
            self._threads = {thread.id: thread for thread in threads}
            for label, members in group_threads(threads, now=now):
                self.addItem(self._heading(label, first=self.count() == 0))
                for thread in members:
                    item = QListWidgetItem(thread.title)
                    item.setData(THREAD_ID_ROLE, thread.id)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                    tags = f"\nTags: {', '.join(thread.tags)}" if thread.tags else ""
                    item.setToolTip(
                        f"{thread.title}\nLast active {thread.updated_at.astimezone():%d %b %Y, %H:%M}{tags}"
                    )
                    item.setSizeHint(QSize(0, 30))
                    self.addItem(item)
                    if thread.id == selected_id:
                        self.setCurrentItem(item)
            if selected_id is None or selected_id not in self._titles:
                self.setCurrentItem(None)
        finally:
            self.blockSignals(False)

    def select_thread(self, thread_id: int | None) -> None:
        """Mark the open thread without emitting `thread_chosen`."""
        self.blockSignals(True)
        try:
            self.setCurrentItem(self._item_for(thread_id) if thread_id is not None else None)
        finally:
            self.blockSignals(False)

    def thread_ids(self) -> list[int]:
        ids = (self.item(row).data(THREAD_ID_ROLE) for row in range(self.count()))
        return [thread_id for thread_id in ids if thread_id is not None]

    def title_of(self, thread_id: int) -> str | None:
        return self._titles.get(thread_id)

    def start_rename(self, thread_id: int) -> None:
        item = self._item_for(thread_id)
        if item is not None:
            self.editItem(item)

    def _heading(self, label: str, *, first: bool) -> QListWidgetItem:
        item = QListWidgetItem(label.upper())
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.8)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
        item.setFont(font)
        item.setForeground(self.palette().placeholderText())
        item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        item.setSizeHint(QSize(0, 26 if first else 36))  # air above each group, so headings never crowd the rows
        return item

    def _item_for(self, thread_id: int) -> QListWidgetItem | None:
        for row in range(self.count()):
            if self.item(row).data(THREAD_ID_ROLE) == thread_id:
                return self.item(row)
        return None

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None and current.data(THREAD_ID_ROLE) is not None:
            self.thread_chosen.emit(current.data(THREAD_ID_ROLE))

    def _on_item_edited(self, item: QListWidgetItem) -> None:
        thread_id = item.data(THREAD_ID_ROLE)
        if thread_id is None:
            return
        title = " ".join(item.text().split())
        if not title or title == self._titles.get(thread_id):
            self.blockSignals(True)
            item.setText(self._titles.get(thread_id, item.text()))
            self.blockSignals(False)
            return
        self._titles[thread_id] = title
        self.rename_requested.emit(thread_id, title)

    def _show_menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        if item is None or item.data(THREAD_ID_ROLE) is None:
            return
        thread_id = item.data(THREAD_ID_ROLE)
        self.menu_for(thread_id).exec(self.viewport().mapToGlobal(position))

    def menu_for(self, thread_id: int) -> QMenu:
        """The thread's actions; each emits a signal for the window, none touches the store."""
        thread = self._threads[thread_id]
        menu = QMenu(self)
        menu.setAccessibleName("Thread actions")
        menu.addAction("Rename", lambda: self.start_rename(thread_id))
        menu.addAction("Unpin" if thread.pinned else "Pin", lambda: self.pin_requested.emit(thread_id, not thread.pinned))
        menu.addAction("Tags…", lambda: self.tags_requested.emit(thread_id))
        menu.addAction("Metadata…", lambda: self.metadata_requested.emit(thread_id))
        menu.addAction(
            "Unarchive" if thread.archived else "Archive",
            lambda: self.archive_requested.emit(thread_id, not thread.archived),
        )
        menu.addAction("Export as Markdown…", lambda: self.export_requested.emit(thread_id, "md"))
        menu.addAction("Export as JSON…", lambda: self.export_requested.emit(thread_id, "json"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(thread_id))
        return menu

    def thread(self, thread_id: int) -> Thread | None:
        return self._threads.get(thread_id)
