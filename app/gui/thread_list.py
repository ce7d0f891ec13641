"""The sidebar's thread list: threads grouped by when they were last active, with rename, pin, archive, tags,
export and delete in its context menu.

A Qt model/view: the model hands the view its rows in batches as it scrolls (`canFetchMore` / `fetchMore`), so ten
thousand threads cost what the first screens cost; a new listing is compared with the one shown, and only what
changed is told to the view — the row a reply touched (`dataChanged`), or the one row that moved to the top — and
the whole list is laid out again only when its shape changed otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from typing import NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from app.core.domain import Thread

THREAD_ID_ROLE = Qt.ItemDataRole.UserRole
BATCH = 200  # rows handed to the view at a time: a few screens
ROW_HEIGHT = 30


def group_threads(threads: Sequence[Thread], *, now: datetime) -> list[tuple[str, list[Thread]]]:
    """Pinned first, then Today / Yesterday / Previous 7 days / one group per older month, keeping the order given.

    `now` is local time; thread times are converted to it, so "Today" means the user's day.
    """
    label_of = DayGroups(now)
    groups: dict[str, list[Thread]] = {}
    for thread in threads:
        label = "Pinned" if thread.pinned else label_of(thread.updated_at)
        groups.setdefault(label, []).append(thread)
    return list(groups.items())


class DayGroups:
    """The group label of a time. Remembers the span of the last label it worked out, so a listing sorted by time
    (the usual case) converts one time per group to the local zone rather than every thread's."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._today = now.date()
        self._span: tuple[datetime, datetime | None, str] | None = None  # [start, end) and its label

    def __call__(self, when: datetime) -> str:
        span = self._span
        if span is not None and span[0] <= when and (span[1] is None or when < span[1]):
            return span[2]
        day = when.astimezone(self._now.tzinfo).date()  # tzinfo None: the machine's local zone
        today = self._today
        if day >= today:
            label, first, last = QCoreApplication.translate("ThreadList", "Today"), today, None
        elif day == today - timedelta(days=1):
            label, first, last = QCoreApplication.translate("ThreadList", "Yesterday"), day, today
        elif day > today - timedelta(days=7):
            label = QCoreApplication.translate("ThreadList", "Previous 7 days")
            first, last = today - timedelta(days=6), today - timedelta(days=1)
        else:
            label = day.strftime("%B") if day.year == today.year else day.strftime("%B %Y")
            first = day.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            last = min(following, today - timedelta(days=6))
        self._span = (self._start_of(first), self._start_of(last) if last is not None else None, label)
        return label

    def _start_of(self, day) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self._now.tzinfo).astimezone() if self._now.tzinfo is None \
            else datetime.combine(day, time.min, tzinfo=self._now.tzinfo)


class Row(NamedTuple):
    """A group heading (`thread` None) or a thread; `key` says which, for comparing listings."""

    key: tuple[str, int | str]
    label: str
    thread: Thread | None = None
    first: bool = False  # the first heading has less air above it


def rows_for(threads: Sequence[Thread], *, now: datetime) -> list[Row]:
    rows: list[Row] = []
    for label, members in group_threads(threads, now=now):
        rows.append(Row(("heading", label), label, first=not rows))
        rows.extend([Row(("thread", thread.id), thread.title, thread) for thread in members])
    return rows


def listed_rows(listing):
    """`(listing, its rows)`: for the read lane, so the grouping of a long list happens off the GUI thread."""
    return listing, rows_for(listing.threads, now=datetime.now().astimezone())


def single_move(old: list, new: list) -> tuple[int, int] | None:
    """(from, to) when `new` is `old` with exactly one element moved, else None."""
    if len(old) != len(new) or old == new:
        return None
    first = next(index for index, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    last = next(index for index in range(len(old) - 1, -1, -1) if old[index] != new[index])
    if new[first : last + 1] == [old[last], *old[first:last]]:
        return last, first  # moved up
    if new[first : last + 1] == [*old[first + 1 : last + 1], old[first]]:
        return first, last  # moved down
    return None


class ThreadListModel(QAbstractListModel):
    """The rows of the list. `renamed(thread_id, title)` when the user edits a title in place."""

    renamed = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._loaded = 0  # rows the view has been given so far
        self._heading_font: QFont | None = None
        self._heading_colour = None

    # What the list holds

    def show_rows(self, rows: list[Row]) -> None:
        """Tell the view only what changed: changed rows, one moved row, or (any other change) everything."""
        old_keys, new_keys = [row.key for row in self._rows], [row.key for row in rows]
        if old_keys == new_keys:
            self._update_changed(rows)
            return
        move = single_move(old_keys, new_keys)
        if move is not None and max(move) < self._loaded:
            source, target = move
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target if target < source else target + 1)
            self._rows.insert(target, self._rows.pop(source))
            self.endMoveRows()
            self._update_changed(rows)
            return
        self.beginResetModel()
        self._rows = list(rows)
        self._loaded = min(len(rows), max(BATCH, self._loaded))
        self.endResetModel()

    def _update_changed(self, rows: list[Row]) -> None:
        for index, (old, new) in enumerate(zip(self._rows, rows, strict=True)):
            if old != new:
                self._rows[index] = new
                if index < self._loaded:
                    self.dataChanged.emit(self.index(index), self.index(index))

    def thread_ids(self) -> list[int]:
        return [row.thread.id for row in self._rows if row.thread is not None]

    def thread(self, thread_id: int) -> Thread | None:
        row = self.row_of(thread_id)
        return self._rows[row].thread if row is not None else None

    def row_of(self, thread_id: int) -> int | None:
        for index, row in enumerate(self._rows):
            if row.thread is not None and row.thread.id == thread_id:
                return index
        return None

    def load_through(self, row: int) -> None:
        """Hand the view every row up to `row` (to select or show one further down)."""
        while self._loaded <= row and self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())

    def set_heading_style(self, font: QFont, colour) -> None:
        self._heading_font, self._heading_colour = font, colour

    # Qt's model interface

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._loaded

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        return not parent.isValid() and self._loaded < len(self._rows)

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        more = min(BATCH, len(self._rows) - self._loaded)
        if more <= 0 or parent.isValid():
            return
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + more - 1)
        self._loaded += more
        self.endInsertRows()

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid() or self._rows[index.row()].thread is None:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        thread = row.thread
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.label if thread is not None else row.label.upper()
        if role == THREAD_ID_ROLE:
            return thread.id if thread is not None else None
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(0, ROW_HEIGHT if thread is not None else 26 if row.first else 36)  # air above each group
        if thread is None:
            if role == Qt.ItemDataRole.FontRole:
                return self._heading_font
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._heading_colour
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return row.label
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            tags = f"\nTags: {', '.join(thread.tags)}" if thread.tags else ""
            return f"{thread.title}\nLast active {thread.updated_at.astimezone():%d %b %Y, %H:%M}{tags}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return thread.title + (" (pinned)" if thread.pinned else "")
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        row = self._rows[index.row()] if index.isValid() else None
        if role != Qt.ItemDataRole.EditRole or row is None or row.thread is None:
            return False
        title = " ".join(str(value).split())
        if not title or title == row.label:
            return False
        self._rows[index.row()] = row._replace(label=title)
        self.dataChanged.emit(index, index)
        self.renamed.emit(row.thread.id, title)
        return True


class ThreadList(QListView):
    """Shows threads; says what the user asked for through signals and never touches the store itself.

    All signals are emitted on the GUI thread. `thread_chosen` fires whenever the selection moves to a thread
    (arrows included); `thread_activated` when the user clicks one or presses Enter on it (the window then moves
    the focus to the composer).
    """

    thread_chosen = Signal(int)  # the user selected a thread
    thread_activated = Signal(int)  # … by a click or Enter
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
        self.setAccessibleName(self.tr("Threads"))
        self.setAccessibleDescription(
            self.tr(
                "Your conversations, most recently active first. Right-click (or the menu key) to rename, pin, tag, "
                "export, archive or delete."
            )
        )
        self.list_model = ThreadListModel(self)
        self.list_model.renamed.connect(self.rename_requested)
        self.setModel(self.list_model)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)  # F2 renames in place
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.selectionModel().currentChanged.connect(self._on_current_changed)
        self.clicked.connect(self._on_activated)
        self.activated.connect(self._on_activated)
        self._announce = True
        self._style_headings()

    def show_threads(
        self, threads: Sequence[Thread], *, selected_id: int | None, now: datetime, rows: list[Row] | None = None
    ) -> None:
        """Show this listing (only what changed is drawn again), keeping `selected_id` selected without announcing
        it as a new choice. `rows`: the listing already grouped (`listed_rows`, on the read lane)."""
        self._announce = False
        try:
            self.list_model.show_rows(rows if rows is not None else rows_for(threads, now=now))
            self._select(selected_id)
        finally:
            self._announce = True

    def select_thread(self, thread_id: int | None) -> None:
        """Mark the open thread without emitting `thread_chosen`."""
        self._announce = False
        try:
            self._select(thread_id)
        finally:
            self._announce = True

    def thread_ids(self) -> list[int]:
        """Every listed thread, in order (those not scrolled to yet included)."""
        return self.list_model.thread_ids()

    def title_of(self, thread_id: int) -> str | None:
        thread = self.list_model.thread(thread_id)
        if thread is None:
            return None
        return self.list_model.data(self.list_model.index(self.list_model.row_of(thread_id)))

    def thread(self, thread_id: int) -> Thread | None:
        return self.list_model.thread(thread_id)

    def current_thread_id(self) -> int | None:
        index = self.currentIndex()
        return index.data(THREAD_ID_ROLE) if index.isValid() else None

    def heading_texts(self) -> list[str]:
        model = self.list_model
        indexes = (model.index(row) for row in range(model.rowCount()))
        return [index.data() for index in indexes if index.data(THREAD_ID_ROLE) is None]

    def rect_of(self, thread_id: int) -> QRect:
        """Where the thread's row is on screen (viewport coordinates), scrolled into view first."""
        index = self._index_of(thread_id)
        self.scrollTo(index)
        return self.visualRect(index)

    def start_rename(self, thread_id: int) -> None:
        index = self._index_of(thread_id)
        if index.isValid():
            self.setCurrentIndex(index)
            self.edit(index)

    def menu_for(self, thread_id: int) -> QMenu:
        """The thread's actions; each emits a signal for the window, none touches the store."""
        thread = self.list_model.thread(thread_id)
        menu = QMenu(self)
        menu.setAccessibleName(self.tr("Thread actions"))
        menu.addAction(self.tr("Rename"), lambda: self.start_rename(thread_id))
        menu.addAction(
            self.tr("Unpin") if thread.pinned else self.tr("Pin"),
            lambda: self.pin_requested.emit(thread_id, not thread.pinned),
        )
        menu.addAction(self.tr("Tags…"), lambda: self.tags_requested.emit(thread_id))
        menu.addAction(self.tr("Metadata…"), lambda: self.metadata_requested.emit(thread_id))
        menu.addAction(
            self.tr("Unarchive") if thread.archived else self.tr("Archive"),
            lambda: self.archive_requested.emit(thread_id, not thread.archived),
        )
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.export_requested.emit(thread_id, "md"))
        menu.addAction(self.tr("Export as JSON…"), lambda: self.export_requested.emit(thread_id, "json"))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.delete_requested.emit(thread_id))
        return menu

    def _style_headings(self) -> None:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.8)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
        self.list_model.set_heading_style(font, self.palette().brush(QPalette.ColorRole.PlaceholderText))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (event.Type.PaletteChange, event.Type.FontChange):
            self._style_headings()

    def _index_of(self, thread_id: int | None) -> QModelIndex:
        row = self.list_model.row_of(thread_id) if thread_id is not None else None
        if row is None:
            return QModelIndex()
        self.list_model.load_through(row)
        return self.list_model.index(row)

    def _select(self, thread_id: int | None) -> None:
        index = self._index_of(thread_id)
        if index.isValid():
            self.setCurrentIndex(index)
        else:
            self.selectionModel().clearCurrentIndex()
            self.clearSelection()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        thread_id = current.data(THREAD_ID_ROLE) if current.isValid() else None
        if self._announce and thread_id is not None:
            self.thread_chosen.emit(thread_id)

    def _on_activated(self, index: QModelIndex) -> None:
        thread_id = index.data(THREAD_ID_ROLE)
        if thread_id is not None:
            self.thread_activated.emit(thread_id)

    def _show_menu(self, position: QPoint) -> None:
        index = self.indexAt(position)
        thread_id = index.data(THREAD_ID_ROLE) if index.isValid() else None
        if thread_id is not None:
            self.menu_for(thread_id).exec(self.viewport().mapToGlobal(position))
