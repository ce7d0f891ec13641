"""The chips above the thread list: one tag at a time, a saved view's metadata pairs, Archived, and saved views."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QLayout, QLayoutItem, QMenu, QPushButton, QSizePolicy, QToolButton, QWidget

from app.core import metadata
from app.core.domain import MetaValue, SavedView, ThreadFilter


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps them onto the next line, like words: chips never scroll sideways."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        x, y, line_height = rect.x(), rect.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:
                x, y, line_height = rect.x(), y + line_height + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y()


class FilterBar(QWidget):
    """Chips that narrow the thread list. Emits (GUI thread) `filter_changed` when the user changes the filter,
    `view_save_requested` for "Save view…" and `view_delete_requested(view_id)`; never touches the store."""

    filter_changed = Signal()
    view_save_requested = Signal()
    view_delete_requested = Signal(int)
    pair_requested = Signal()  # "Filter by metadata…": the sidebar asks for KEY=VALUE

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.setAccessibleName(self.tr("Filter threads"))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._layout = FlowLayout(self)
        self._tag: str | None = None
        self._where: tuple[tuple[str, MetaValue], ...] = ()
        self._tags: list[str] = []
        self._views: list[SavedView] = []
        self._chips: list[QPushButton] = []
        self.archived_chip = self._chip("Archived", "Show archived threads instead", self._toggle_archived)
        self.views_button = QToolButton()
        self.views_button.setObjectName("viewsButton")
        self.views_button.setText(self.tr("Views ▾"))
        self.views_button.setAccessibleName(self.tr("Saved views"))
        self.views_button.setAccessibleDescription(self.tr("Save the current filter as a view, or apply a saved one"))
        self.views_button.setToolTip(self.tr("Saved views: apply one, or save the current filter"))
        self.views_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.views_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.views_button.setMenu(QMenu(self.views_button))
        self.views_button.menu().aboutToShow.connect(self._fill_views_menu)
        self._rebuild()

    def current_filter(self) -> ThreadFilter:
        return ThreadFilter(tag=self._tag, where=self._where, archived_only=self.archived_chip.isChecked())

    def show_choices(self, tags: Sequence[str], views: Sequence[SavedView]) -> None:
        """The tags in use and the saved views; a chosen tag that is no longer in use stays until cleared."""
        self._tags = list(tags)
        self._views = list(views)
        self._rebuild()

    def set_tag(self, tag: str | None) -> None:
        self._tag = tag
        self._rebuild()
        self.filter_changed.emit()

    def apply_view(self, view: SavedView) -> None:
        self._tag, self._where = view.filter.tag, view.filter.where
        self.archived_chip.setChecked(view.filter.archived_only)
        self._rebuild()
        self.filter_changed.emit()

    def add_pair(self, key: str, value: MetaValue) -> None:
        """Only threads whose metadata has `key` equal to `value` (replacing an earlier condition on `key`)."""
        self._where = (*(pair for pair in self._where if pair[0] != key), (key, value))
        self._rebuild()
        self.filter_changed.emit()

    def tag_chip(self, tag: str) -> QPushButton | None:
        return next((chip for chip in self._chips if chip.property("tag") == tag), None)

    def _rebuild(self) -> None:
        for chip in self._chips:
            self._layout.removeWidget(chip)
            chip.deleteLater()
        self._chips = []
        for widget in (self.archived_chip, self.views_button):
            self._layout.removeWidget(widget)
        tags = self._tags if self._tag is None or self._tag in self._tags else [*self._tags, self._tag]
        for tag in tags:
            chip = self._chip(f"#{tag}", f"Only threads tagged {tag}", lambda _checked=False, t=tag: self._toggle_tag(t))
            chip.setProperty("tag", tag)
            chip.setChecked(tag == self._tag)
            self._chips.append(chip)
        for key, value in self._where:
            pair = f"{key}={metadata.encode(value)[1]}"
            chip = self._chip(pair, f"Only threads where {pair}; click to clear", lambda _c=False, k=key: self._drop_pair(k))
            chip.setChecked(True)
            self._chips.append(chip)
        for widget in (*self._chips, self.archived_chip, self.views_button):
            self._layout.addWidget(widget)
        self.updateGeometry()

    def _chip(self, text: str, tip: str, handler) -> QPushButton:
        chip = QPushButton(text, self)
        chip.setObjectName("filterChip")
        chip.setCheckable(True)
        chip.setAccessibleName(self.tr("Filter: {0}").format(text))
        chip.setAccessibleDescription(tip)
        chip.setToolTip(tip)
        chip.setCursor(Qt.CursorShape.PointingHandCursor)
        chip.clicked.connect(handler)
        return chip

    def _toggle_tag(self, tag: str) -> None:
        self.set_tag(None if self._tag == tag else tag)

    def _drop_pair(self, key: str) -> None:
        self._where = tuple(pair for pair in self._where if pair[0] != key)
        self._rebuild()
        self.filter_changed.emit()

    def _toggle_archived(self) -> None:
        self.filter_changed.emit()

    def _fill_views_menu(self) -> None:
        menu = self.views_button.menu()
        menu.clear()
        for view in self._views:
            menu.addAction(view.name, lambda v=view: self.apply_view(v))
        if self._views:
            remove = menu.addMenu(self.tr("Delete view"))
            for view in self._views:
                remove.addAction(view.name, lambda v=view: self.view_delete_requested.emit(v.id))
            menu.addSeparator()
        menu.addAction(self.tr("Filter by metadata (KEY=VALUE)…"), self.pair_requested.emit)
        save = menu.addAction(self.tr("Save current filter as a view…"), self.view_save_requested.emit)
        save.setEnabled(self.current_filter() != ThreadFilter())
