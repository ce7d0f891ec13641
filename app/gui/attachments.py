"""Attachments in the window: drop files (or folders) on the thread view or the composer, see them as chips with
their status and summary, follow the ingest (files, pages, chunks, ETA) and cancel it, and open a reply's citations.

A folder (dropped or picked with "Watch a folder…") becomes a knowledge folder of the thread: a file watcher notices
files added, removed or edited in it and re-indexes what changed, a moment after the changes stop.

The panel sits above the composer. Ingest runs on its own background runner, so the window stays responsive and the
user can chat while it runs; results come back on the GUI thread (see app.gui.tasks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.documents import Attachment, Citation, DocumentStatus, IngestProgress
from app.core.domain import Message, MessageStatus
from app.gui.page_viewer import CitedPage, PageViewer, render_citation
from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.services.session import Session

FOLDER_POLL_MS = 60_000  # a safety net: the watcher misses changes on some network and FUSE file systems
FOLDER_SETTLE_MS = 1_500  # wait for a burst of changes (a copy, a checkout) to end before re-indexing
CITED_NAME_WIDTH = 200  # pixels of a file's name in the sources row; longer names are shortened in the middle
STATUS_MARKS = {
    DocumentStatus.READY: "✓",
    DocumentStatus.PENDING: "…",
    DocumentStatus.EMBEDDING: "…",
    DocumentStatus.NEEDS_PASSWORD: "🔒",
    DocumentStatus.ERROR: "⚠",
}


def dropped_paths(mime) -> list[str]:
    """Local files and folders in a drag's data (URLs from other places are not files to attach)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


class AttachmentChip(QPushButton):
    """One attachment: its name and a status mark; the tooltip holds the summary or the error. Its context menu
    removes it from the thread (a knowledge folder's file: stops watching that folder)."""

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachment = attachment
        if attachment.folder_id is None:
            removal = self.tr("Remove from this thread")
        elif attachment.thread_id is None:
            removal = self.tr("Stop watching its folder (in every thread)")
        else:
            removal = self.tr("Stop watching its folder")
        self.remove_action = QAction(removal, self)
        self.addAction(self.remove_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        document = attachment.document
        self.setObjectName("attachmentChip")
        self.setText(f"{STATUS_MARKS.get(document.status, '')} {attachment.file_name}")
        counts = self.tr("{0} pages, {1} chunks").format(document.pages, document.chunk_count)
        self.setToolTip(document.error or document.summary or counts)
        self.setAccessibleName(self.tr("Attachment {0}, {1}").format(attachment.file_name, document.status))
        self.setFlat(True)


class AttachmentPanel(QWidget):
    """Chips, the ingest progress row, the summary of the newest attachment, and the last reply's citations.

    Signals (GUI thread): `attach_requested` (the Attach button), `watch_requested(bool)` (Watch a folder: for
    all threads?), `cancel_requested`, `citation_chosen(Citation)`, `remove_requested(Attachment)` (a chip's menu).
    """

    attach_requested = Signal()
    watch_requested = Signal(bool)
    remove_requested = Signal(object)
    cancel_requested = Signal()
    citation_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentPanel")
        self.chips_row = QHBoxLayout()
        self.chips_row.setSpacing(6)
        self.add_button = QPushButton(self.tr("+ Attach files…"))
        self.add_button.setObjectName("attachButton")
        self.add_button.setAccessibleName(self.tr("Attach files"))
        self.add_button.setAccessibleDescription(self.tr("Pick files to ask about in this thread"))
        self.add_button.setFlat(True)
        self.add_button.clicked.connect(self.attach_requested)
        self.chips_row.addWidget(self.add_button)
        self.watch_button = QPushButton(self.tr("+ Watch a folder…"))
        self.watch_button.setObjectName("watchFolderButton")
        self.watch_button.setAccessibleName(self.tr("Watch a folder"))
        self.watch_button.setAccessibleDescription(self.tr("A folder whose files are indexed and kept up to date"))
        self.watch_button.setToolTip(self.tr("Its files are indexed and kept up to date as they change"))
        self.watch_button.setFlat(True)
        watch_menu = QMenu(self.watch_button)
        watch_menu.addAction(self.tr("For this thread…"), lambda: self.watch_requested.emit(False))
        watch_menu.addAction(self.tr("For all threads…"), lambda: self.watch_requested.emit(True))
        self.watch_button.setMenu(watch_menu)
        self.chips_row.addWidget(self.watch_button)
        self.chips_row.addStretch(1)

        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("ingestProgress")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(6)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("ingestProgressLabel")
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancelIngest")
        self.cancel_button.setAccessibleName(self.tr("Cancel reading"))
        self.cancel_button.setAccessibleDescription(self.tr("Stop reading the attached files; what is read stays"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_label, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        box_layout = QVBoxLayout(self.progress_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.addLayout(progress_row)
        box_layout.addWidget(self.progress_bar)
        self.progress_box.hide()

        self.summary_label = QLabel()
        self.summary_label.setObjectName("attachmentSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.hide()
        self.summary_shown = True  # False while the details panel shows every attachment's summary
        self.citations_row = QHBoxLayout()
        self.citations_row.setContentsMargins(0, 0, 0, 0)
        self.citations_row.setSpacing(6)
        strip = QWidget()
        strip.setLayout(self.citations_row)
        # A strip that scrolls sideways: more sources than fit the row would otherwise widen the panel and squeeze
        # the chips and the attach buttons under it.
        self.citations_box = QScrollArea()
        self.citations_box.setObjectName("citationsStrip")
        self.citations_box.setWidget(strip)
        self.citations_box.setWidgetResizable(True)
        self.citations_box.setFrameShape(QFrame.Shape.NoFrame)
        self.citations_box.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.citations_box.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.citations_box)
        layout.addLayout(self.chips_row)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.progress_box)

    def chips(self) -> list[AttachmentChip]:
        widgets = (self.chips_row.itemAt(i).widget() for i in range(self.chips_row.count()))
        return [widget for widget in widgets if isinstance(widget, AttachmentChip)]

    def citation_buttons(self) -> list[QPushButton]:
        widgets = (self.citations_row.itemAt(i).widget() for i in range(self.citations_row.count()))
        return [widget for widget in widgets if isinstance(widget, QPushButton)]

    def citations_caption(self) -> str:
        """The sources row's label ("Sources in report.pdf"), "" while there are none."""
        first = self.citations_row.itemAt(0)
        return first.widget().text() if first is not None and isinstance(first.widget(), QLabel) else ""

    def show_attachments(self, attachments: list[Attachment]) -> None:
        for chip in self.chips():
            self.chips_row.removeWidget(chip)
            chip.deleteLater()
        for index, attachment in enumerate(attachments):
            chip = AttachmentChip(attachment)
            chip.remove_action.triggered.connect(lambda _=False, a=attachment: self.remove_requested.emit(a))
            self.chips_row.insertWidget(index, chip)
        newest = attachments[-1].document if attachments else None
        text = (newest.error or newest.summary) if newest else None
        self.summary_label.setText(f"{attachments[-1].file_name}: {text}" if text else "")
        self.summary_label.setVisible(bool(text) and self.summary_shown)

    def show_summary(self, shown: bool) -> None:
        self.summary_shown = shown
        self.summary_label.setVisible(shown and bool(self.summary_label.text()))

    def show_progress(self, progress: IngestProgress) -> None:
        if progress.phase == "done":
            self.progress_box.hide()
            return
        self.progress_box.show()
        eta = self.tr(" · about {0:.0f} s left").format(progress.eta_s) if progress.eta_s is not None else ""
        file_number = min(progress.files_done + 1, progress.files_total)
        self.progress_label.setText(
            self.tr("{0} {1} · file {2} of {3} · {4} pages · {5}/{6} chunks{7}").format(
                progress.phase.capitalize(), progress.file_name, file_number, progress.files_total,
                progress.pages_done, progress.chunks_done, progress.chunks_total, eta,
            )  # fmt: skip
        )
        self.progress_bar.setRange(0, max(1, progress.chunks_total))
        self.progress_bar.setValue(progress.chunks_done)

    def show_citations(self, citations: list[Citation]) -> None:
        """The latest reply's sources, left-aligned after a "Sources" label; ✓ marks text found in the file. Sources
        from one file name it once, in the label, so seven pages of a 10-K fit the row as "[1] p.38 ✓" each (with
        the name on every button, they were cut to "N_2017_10K." and could not be told apart); names of several
        files are shortened in the middle."""
        while self.citations_row.count():
            widget = self.citations_row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        one_file = len({citation.file_name for citation in citations}) == 1

        def short(name: str) -> str:
            return self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, CITED_NAME_WIDTH)

        if citations:
            first_name = citations[0].file_name
            label = QLabel(self.tr("Sources in {0}").format(short(first_name)) if one_file else self.tr("Sources"))
            label.setToolTip(first_name if one_file else "")
            label.setObjectName("citationsLabel")
            self.citations_row.addWidget(label)
        for citation in citations:
            mark = "✓" if citation.verified else "?"
            if one_file:
                text = self.tr("[{0}] p.{1} {2}").format(citation.number, citation.page, mark)
            else:
                name = short(citation.file_name)
                text = self.tr("[{0}] {1} p.{2} {3}").format(citation.number, name, citation.page, mark)
            button = QPushButton(text)
            button.setAccessibleName(
                self.tr("Source {0}: {1}, page {2}").format(citation.number, citation.file_name, citation.page)
            )
            button.setObjectName("citationButton")
            button.setFlat(True)
            button.setToolTip(
                self.tr("{0}, p.{1}\n{2}").format(citation.file_name, citation.page, citation.text[:400])
            )
            button.clicked.connect(lambda _=False, c=citation: self.citation_chosen.emit(c))
            self.citations_row.addWidget(button)
        self.citations_row.addStretch(1)
        scroll_bar = self.citations_box.horizontalScrollBar().sizeHint().height()
        self.citations_box.setFixedHeight(self.citations_box.widget().sizeHint().height() + scroll_bar)
        self.citations_box.setVisible(bool(citations))


class AttachmentController(QObject):
    """Wires the panel to the attachment service. `thread_id()` gives the open thread; files dropped on a draft go
    into a thread made for them (in the background), which the window then opens.

    Signals (GUI thread):
        attachments_shown(list[Attachment]): each new listing of the open thread's attachments (the details panel).
        thread_created(int): a thread was made to hold files dropped on a draft.
        folders_synced(dict): what a sync of the knowledge folders changed (`sync_folders`' changes).
    """

    attachments_shown = Signal(object)
    thread_created = Signal(int)
    folders_synced = Signal(object)

    def __init__(
        self,
        session: Session,
        *,
        thread_id: Callable[[], int | None],
        status: StatusBridge,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._thread_id = thread_id
        self._status = status
        self._window = parent
        self.panel = AttachmentPanel()
        self.panel.attach_requested.connect(self.pick_files)
        self.panel.watch_requested.connect(self.pick_folder)
        self.panel.remove_requested.connect(self.remove)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.citation_chosen.connect(self.open_citation)
        self._ingest = TaskRunner(self, name="ingest", status=status)
        self._quick = TaskRunner(self, name="attachment-quick", status=status)  # listings, removals, a new thread
        self._cancel = threading.Event()
        self.viewer: PageViewer | None = None
        # Knowledge folders are watched (and polled, rarely; cheap: only changed content is re-read), and what an
        # earlier run left unfinished (quit, crash, a new embedding model) resumes in the background as the window
        # opens.
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._folder_changed)
        self._watcher.fileChanged.connect(self._folder_changed)
        self._settle_timer = QTimer(self, singleShot=True, interval=FOLDER_SETTLE_MS)
        self._settle_timer.timeout.connect(self.sync_folders)
        self._folder_timer = QTimer(self, interval=FOLDER_POLL_MS)
        self._folder_timer.timeout.connect(self.sync_folders)
        self._folder_timer.start()
        self.resume()
        self.watch_folders()

    def accept_drops_on(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and dropped_paths(event.mimeData()):
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.Drop and (paths := dropped_paths(event.mimeData())):
            event.acceptProposedAction()
            self.attach(paths)
            return True
        return super().eventFilter(watched, event)

    def pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self._window, "Attach files")
        if paths:
            self.attach(paths)

    @property
    def busy(self) -> bool:
        return self._ingest.busy

    def pick_folder(self, for_all_threads: bool) -> None:
        path = QFileDialog.getExistingDirectory(
            self._window, "Watch a folder for all threads" if for_all_threads else "Watch a folder for this thread"
        )
        if path:
            self.attach([path], folders_for_all_threads=for_all_threads)

    def attach(self, paths: list[str], *, folders_for_all_threads: bool = False) -> None:
        """Copy, read, embed and summarise `paths` in the background, into the open thread (a new one for a draft).
        Folders become knowledge folders of the thread (or of every thread), watched from then on."""
        thread_id = self._thread_id()
        only_shared_folders = folders_for_all_threads and all(Path(path).is_dir() for path in paths)
        if thread_id is None and not only_shared_folders:
            self._quick.run(
                self._session.threads.create,
                on_result=lambda thread: self._attach_to_new_thread(thread.id, paths, folders_for_all_threads),
            )
            return
        self._attach(thread_id, paths, folders_for_all_threads)

    def _attach_to_new_thread(self, thread_id: int, paths: list[str], folders_for_all_threads: bool) -> None:
        self.thread_created.emit(thread_id)
        self._attach(thread_id, paths, folders_for_all_threads)

    def _attach(self, thread_id: int | None, paths: list[str], folders_for_all_threads: bool) -> None:
        folder_thread_id = None if folders_for_all_threads else thread_id
        service = self._session.attachments
        folders = [path for path in paths if Path(path).is_dir()]
        files = [path for path in paths if path not in folders]
        self._cancel.clear()
        cancel = self._cancel

        def work(report):
            for folder in folders:
                service.add_folder(folder, thread_id=folder_thread_id)
            results = service.attach(thread_id, files, progress=report, cancel=cancel) if files else []
            changes = service.sync_folders(progress=report, cancel=cancel) if folders else {}
            return results, changes

        def attached(outcome) -> None:
            results, changes = outcome
            self.folders_synced.emit(changes)
            self._on_attached(thread_id, results)

        self._ingest.run_reporting(
            work,
            on_progress=self._on_progress,
            on_result=attached,
            on_error=lambda error: self._status.report(error, doing="Could not attach"),
        )

    def remove(self, attachment: Attachment) -> None:
        """Take an attachment off the thread, or stop watching the folder it came from. Replies already given keep
        the passages they were shown (their prompts are stored)."""
        service = self._session.attachments

        def work() -> None:
            if attachment.folder_id is not None:
                service.remove_folder(attachment.folder_id)
            else:
                service.detach(attachment.id)

        self._quick.run(
            work,
            on_result=self._on_synced,
            on_error=lambda error: self._status.report(error, doing=f"Could not remove {attachment.file_name}"),
        )

    def resume(self) -> None:
        service = self._session.attachments
        cancel = self._cancel
        self._ingest.run_reporting(
            lambda report: service.ingest_pending(progress=report, cancel=cancel),
            on_progress=self._on_progress,
            on_result=lambda _documents: self.show_thread(self._thread_id()),
            on_error=lambda error: self._status.report(error, doing="Could not finish indexing attachments"),
        )

    def sync_folders(self) -> None:
        if self._ingest.busy:
            self._settle_timer.start()  # try again once this ingest is likely done
            return
        service = self._session.attachments
        cancel = self._cancel
        self._ingest.run_reporting(
            lambda report: service.sync_folders(progress=report, cancel=cancel),
            on_progress=self._on_progress,
            on_result=self._on_synced,
            on_error=lambda error: self._status.report(error, doing="Could not index a knowledge folder"),
        )

    def _on_synced(self, changes=None) -> None:
        """After the knowledge folders changed (synced, one added or removed): chips and watched paths anew."""
        if changes:
            self.folders_synced.emit(changes)
        self.show_thread(self._thread_id())
        self.watch_folders()

    def watch_folders(self) -> None:
        """Point the file watcher at the knowledge folders as they are now (listed in the background)."""
        self._quick.run(
            self._session.attachments.watched_paths,
            on_result=self._watch,
            on_error=lambda error: self._status.report(error, doing="Could not watch the knowledge folders"),
        )

    def _watch(self, paths: list[str]) -> None:
        wanted = set(paths)
        stale = [p for p in self._watcher.directories() + self._watcher.files() if p not in wanted]
        if stale:
            self._watcher.removePaths(stale)
        watched = set(self._watcher.directories() + self._watcher.files())
        fresh = [p for p in paths if p not in watched]
        if fresh:
            self._watcher.addPaths(fresh)

    def _folder_changed(self, _path: str) -> None:
        self._settle_timer.start()  # (re)starts: re-index once the changes have stopped for a moment

    def cancel(self) -> None:
        """Stop after the current batch; what is done stays, and the rest resumes with the next ingest."""
        self._cancel.set()

    def _on_progress(self, progress: IngestProgress) -> None:
        self.panel.show_progress(progress)
        if progress.phase in ("summarising", "done"):
            self.show_thread(self._thread_id())

    def _on_attached(self, thread_id: int, results) -> None:
        self.watch_folders()  # a dropped folder is watched from now on
        self.panel.progress_box.hide()
        problems = [r.error or r.attachment.document.error for r in results if r.error or r.attachment.document.error]
        if problems:
            self._status.show_warning("; ".join(problems))
        else:
            self._status.show_info("")
        if self._thread_id() == thread_id:
            self.show_thread(thread_id)
        for result in results:
            document = result.attachment.document if result.attachment else None
            if document is not None and document.status == DocumentStatus.NEEDS_PASSWORD:
                self.ask_password(thread_id, result.attachment)

    def ask_password(self, thread_id: int, attachment: Attachment) -> None:
        """Encrypted PDF: ask for its password (saying so when the last one was wrong) and read it again."""
        password, given = QInputDialog.getText(
            self._window, "Password needed", f"{attachment.document.error}\nPassword:", QLineEdit.EchoMode.Password
        )
        if given and attachment.source_path:
            service = self._session.attachments
            self._ingest.run_reporting(
                lambda report: service.attach(thread_id, [attachment.source_path], password=password, progress=report),
                on_progress=self._on_progress,
                on_result=lambda results: self._on_attached(thread_id, results),
                on_error=lambda error: self._status.report(error, doing="Could not attach"),
            )

    def show_thread(self, thread_id: int | None) -> None:
        """Show the chips of the thread now open (none for a draft)."""
        if thread_id is None:
            self.panel.show_attachments([])
            self.attachments_shown.emit([])
            return
        service = self._session.attachments
        self._quick.run(
            lambda: service.attachments(thread_id),
            on_result=lambda attachments: self._show_if_open(thread_id, attachments),
        )

    def _show_if_open(self, thread_id: int, attachments: list[Attachment]) -> None:
        if self._thread_id() == thread_id:
            self.panel.show_attachments(attachments)
            self.attachments_shown.emit(attachments)

    def show_citations_of(self, reply: Message | None) -> None:
        """Show the citations of the open thread's latest reply (looked up, and checked the first time, in the
        background); none while there is no finished reply."""
        if reply is None or reply.status == MessageStatus.STREAMING:
            self.panel.show_citations([])
            return
        service = self._session.attachments
        self._quick.run(
            lambda: service.citations(reply),
            on_result=lambda citations: self.panel.show_citations(citations)
            if self._thread_id() == reply.thread_id else None,
        )

    def open_citation(self, citation: Citation) -> None:
        """Read and render the cited page in the background, then show it (as `viewer`)."""
        self._quick.run(lambda: render_citation(citation), on_result=lambda page: self._show_page(citation, page))

    def _show_page(self, citation: Citation, page: CitedPage) -> None:
        self.viewer = PageViewer(citation, page, self._window)
        self.viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.viewer.show()

    def shutdown(self) -> None:
        self._folder_timer.stop()
        self._settle_timer.stop()
        self._cancel.set()
        self._ingest.shutdown()
        self._quick.shutdown()

    def wait(self, timeout_s: float) -> bool:
        """Any thread, after `shutdown`: wait for the running ingest and lookup to end; False if one outlived it."""
        return self._ingest.wait(timeout_s) and self._quick.wait(timeout_s)
