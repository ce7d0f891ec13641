"""The left column: New thread, search, filter chips, the thread list (or search hits) and the Undo banner.

It organises threads itself (pin, archive, tags, views, delete and undo) through the thread service: reads on the
window's read lane, writes on its write lane, widgets only on the GUI thread. It lists again whenever the change
broadcast says the thread list changed, whoever changed it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app.core import metadata
from app.core.domain import SearchHit, ThreadFilter
from app.core.errors import InvalidInput
from app.gui.change_relay import ChangeRelay
from app.gui.notice_bar import NoticeBar
from app.gui.search_panel import SearchBox, SearchResults
from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.gui.thread_filters import FilterBar
from app.gui.thread_list import Row, ThreadList, listed_rows
from app.services.changes import Changes
from app.services.session import Session
from app.services.threads import ThreadListing

REFRESH_DELAY_MS = 200  # after a change: a burst of changes makes one listing
UNDO_MS = 10_000  # how long "Deleted … Undo" stays; the thread stays restorable (CLI) until purged


def parse_tags(text: str) -> list[str]:
    """"work, #q3 , acme" → ["work", "q3", "acme"]: commas separate, a leading # is decoration, no duplicates."""
    tags = [part.strip().lstrip("#").strip() for part in text.split(",")]
    return list(dict.fromkeys(tag for tag in tags if tag))


class Sidebar(QWidget):
    """Signals (GUI thread): `new_thread_requested`; `threads_loaded(list[Thread])` after each listing (the window
    shows them and keeps its selection); `hit_chosen(thread_id, message_id)`; `thread_restored(thread_id)` after an
    Undo."""

    new_thread_requested = Signal()
    threads_loaded = Signal(list)
    hit_chosen = Signal(int, int)
    thread_restored = Signal(int)

    def __init__(
        self,
        session: Session,
        *,
        reads: TaskRunner,
        writes: TaskRunner,
        status: StatusBridge,
        changes: ChangeRelay,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.listed_rows: list[Row] | None = None  # the last listing's rows (its threads_loaded carries the threads)
        self.setObjectName("sidebar")
        self._threads = session.threads
        self._search_service = session.search
        self._reads = reads
        self._writes = writes
        self._status = status
        changes.changed.connect(self._on_changes)
        self._refresh_soon = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_soon.timeout.connect(self.refresh)
        self._search_request = 0
        self._deleted: list[int] = []  # deleted since the Undo banner appeared, newest last

        new_button = QPushButton(self.tr("+  New thread"))
        new_button.setObjectName("newThreadButton")
        new_button.setAccessibleName(self.tr("New thread"))
        new_button.setAccessibleDescription(self.tr("Start a new conversation (Ctrl+N)"))
        new_button.setToolTip(self.tr("Start a new thread (Ctrl+N)"))
        new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        new_button.clicked.connect(self.new_thread_requested)
        self.search_box = SearchBox()
        self.filters = FilterBar()
        self.thread_list = ThreadList()
        self.results = SearchResults()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.thread_list)
        self.stack.addWidget(self.results)
        self.undo_bar = NoticeBar("Undo delete")
        self.undo_bar.setObjectName("undoBar")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        layout.setSpacing(8)
        layout.addWidget(new_button)
        layout.addWidget(self.search_box)
        layout.addWidget(self.filters)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.undo_bar)

        self.search_box.query_changed.connect(self.search)
        self.search_box.move_to_results.connect(self._focus_results)
        self.results.hit_chosen.connect(self.hit_chosen)
        self.filters.filter_changed.connect(self._filter_changed)
        self.filters.view_save_requested.connect(self.save_view)
        self.filters.view_delete_requested.connect(self._delete_view)
        self.thread_list.pin_requested.connect(self.set_pinned)
        self.thread_list.archive_requested.connect(self.set_archived)
        self.thread_list.tags_requested.connect(self.edit_tags)
        self.thread_list.metadata_requested.connect(self.edit_metadata)
        self.filters.pair_requested.connect(self.ask_for_pair)
        self.undo_bar.action_triggered.connect(self.undo_delete)
        self.undo_bar.dismissed.connect(self._deleted.clear)

    # Listing

    def refresh(self) -> None:
        """List the threads the filter lets through, with the tags and views for the chips."""
        threads, filter = self._threads, self.filters.current_filter()
        self._reads.run(lambda: listed_rows(threads.listing(filter)), on_result=self._show_listing)
        if self.search_box.text().strip():
            self.search(self.search_box.text().strip())  # a tag chip narrows the hits too

    def _on_changes(self, changes: Changes) -> None:
        """Changes come in bursts (a reply starts, ends, is titled): one listing a moment later serves them all,
        and it is not laid out in the same frame as the new reply's cards."""
        if changes.thread_list:
            self._refresh_soon.start()

    @property
    def refresh_pending(self) -> bool:
        """A change arrived and its listing is about to be read."""
        return self._refresh_soon.isActive()

    def _show_listing(self, listed: tuple[ThreadListing, list[Row]]) -> None:
        listing, self.listed_rows = listed  # the list's rows, grouped on the read lane: 10,000 cost the GUI nothing
        self.filters.show_choices(listing.tags, listing.views)
        self.threads_loaded.emit(listing.threads)

    @property
    def is_filtered(self) -> bool:
        """The list shows a subset (a tag, metadata pairs or the archive): a missing thread is not a deleted one."""
        return self.filters.current_filter() != ThreadFilter()

    def _filter_changed(self) -> None:
        self.refresh()

    # Search

    @property
    def is_searching(self) -> bool:
        return self.stack.currentWidget() is self.results

    def search(self, query: str) -> None:
        """Hits replace the list while the box holds a query; an empty box brings the list back."""
        self._search_request += 1
        if not query:
            self.stack.setCurrentWidget(self.thread_list)
            return
        request, search, tag = self._search_request, self._search_service, self.filters.current_filter().tag

        def find() -> tuple[list[SearchHit], str]:
            hits = search.search(query, tag=tag)
            reason = search.keyword_only_reason  # no embedding model: the keyword half works on its own
            return hits, f"Searching by keyword only: {reason}" if reason else ""

        self._reads.run(find, on_result=lambda found: self._show_hits(request, *found, query))

    def _show_hits(self, request: int, hits: list[SearchHit], note: str, query: str) -> None:
        if request != self._search_request:
            return  # the user kept typing
        self.results.show_hits(hits, query)
        self.stack.setCurrentWidget(self.results)
        if note:
            self._status.show_info(note)

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _focus_results(self) -> None:
        (self.results if self.is_searching else self.thread_list).setFocus()

    # Organising

    def set_pinned(self, thread_id: int, pinned: bool) -> None:
        self._change(lambda threads: threads.set_pinned(thread_id, pinned))

    def set_archived(self, thread_id: int, archived: bool) -> None:
        self._change(lambda threads: threads.set_archived(thread_id, archived))
        if archived:
            self._status.show_info(
                self.tr("Archived. It is still searchable; the Archived chip shows archived threads.")
            )

    def edit_tags(self, thread_id: int) -> None:
        thread = self.thread_list.thread(thread_id)
        if thread is None:
            return
        text, ok = QInputDialog.getText(
            self, "Tags", f"Tags for “{thread.title}”, separated by commas:", text=", ".join(thread.tags)
        )
        if ok:
            self.set_tags(thread_id, parse_tags(text))

    def set_tags(self, thread_id: int, tags: list[str]) -> None:
        """Make the thread's tags exactly `tags`."""
        self._change(lambda threads: threads.set_tags(thread_id, tags))

    def edit_metadata(self, thread_id: int) -> None:
        thread = self.thread_list.thread(thread_id)
        if thread is None:
            return
        current = "\n".join(f"{key}={metadata.encode(value)[1]}" for key, value in thread.metadata.items())
        text, ok = QInputDialog.getMultiLineText(
            self, "Metadata", f"Metadata for “{thread.title}”, one KEY=VALUE a line\n"
            "(true/false, numbers and YYYY-MM-DD dates keep their type):", current,
        )  # fmt: skip
        if ok:
            self.set_metadata(thread_id, text)

    def set_metadata(self, thread_id: int, text: str) -> None:
        """Make the thread's metadata exactly the KEY=VALUE lines of `text`; a bad line changes nothing."""
        try:
            pairs = dict(metadata.parse_pair(line) for line in text.splitlines() if line.strip())
        except InvalidInput as exc:
            self._status.report(exc)
            return
        self._change(lambda threads: threads.set_metadata(thread_id, pairs))

    def ask_for_pair(self) -> None:
        text, ok = QInputDialog.getText(self, "Filter by metadata", "Only threads where KEY=VALUE:")
        if ok and text.strip():
            try:
                self.filters.add_pair(*metadata.parse_pair(text))
            except InvalidInput as exc:
                self._status.report(exc)

    def save_view(self) -> None:
        name, ok = QInputDialog.getText(self, "Save view", "Name for this view (tag, metadata, archived):")
        if ok and name.strip():
            self.save_view_as(name.strip())

    def save_view_as(self, name: str) -> None:
        filter = self.filters.current_filter()
        self._change(lambda threads: threads.save_view(name, filter))
        self._status.show_info(self.tr("Saved the view “{0}”. Apply it from Views ▾.").format(name))

    def _delete_view(self, view_id: int) -> None:
        self._change(lambda threads: threads.delete_view(view_id))

    def delete_thread(self, thread_id: int) -> None:
        """Soft delete, with Undo in the banner; the window has already checked that no reply is being written."""
        title = self.thread_list.title_of(thread_id) or "the thread"
        self._change(lambda threads: threads.delete(thread_id), then=lambda _: self._deleted_one(thread_id, title))

    def _deleted_one(self, thread_id: int, title: str) -> None:
        self._deleted.append(thread_id)
        if len(self._deleted) == 1:
            text = self.tr("Deleted “{0}”.").format(title)
        else:
            text = self.tr("Deleted {0} threads.").format(len(self._deleted))
        self.undo_bar.show_notice(text, self.tr("Undo"), timeout_ms=UNDO_MS)

    def undo_delete(self) -> None:
        """Bring back every thread deleted since the banner appeared; the last one is opened again."""
        restoring, self._deleted[:] = list(self._deleted), []

        def restored(_threads) -> None:
            if restoring:
                self.thread_restored.emit(restoring[-1])

        self._change(lambda threads: threads.restore(restoring), then=restored)

    def _change(self, change: Callable, *, then: Callable | None = None) -> None:
        """Run `change(thread_service)` on the write lane; the list follows from the change it publishes."""
        threads = self._threads
        self._writes.run(lambda: change(threads), on_result=then)
