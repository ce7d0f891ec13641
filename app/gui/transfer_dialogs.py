"""Import and export from the window: the File menu's (and the thread list's) way to app.services.transfer.

Files are picked with Qt's file dialogs (opened, never exec'd: the window keeps running); reading, writing and the
import itself run on the window's background lanes. An import shows its progress, then what arrived and each
skipped entry with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InvalidInput
from app.gui.status import StatusBridge, explain
from app.gui.tasks import TaskRunner
from app.services.threads import ThreadService
from app.services.transfer import ImportReport

IMPORT_FILTER = "Chat exports (*.json);;All files (*)"
FORMATS = {"md": ("Markdown", "Markdown (*.md)"), "json": ("JSON", "JSON, lossless (*.json)")}



def file_name_for(title: str | None, fmt: str) -> str:
    """A safe default file name: the thread's title, or "threadloom-export" for all threads."""
    stem = re.sub(r"[^\w\- ]+", "", title or "").strip().replace(" ", "-")[:60] or "threadloom-export"
    return f"{stem}.{fmt}"


class ImportProgress(QDialog):
    """Progress while an import runs, then what arrived and every skipped entry with its reason."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importProgress")
        self.setWindowTitle(self.tr("Import"))
        self.setAccessibleName(self.tr("Import"))
        self.setAccessibleDescription(self.tr("How the import of a chat export goes"))
        self.summary = QLabel(self.tr("Reading {name}…").format(name=path.name))
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy until the file is read and the entries counted
        self.progress.setAccessibleName(self.tr("Import progress"))
        self.progress.setAccessibleDescription(self.tr("Conversations read so far"))
        self.skipped = QListWidget()
        self.skipped.setObjectName("importSkipped")
        self.skipped.setAccessibleName(self.tr("Skipped conversations"))
        self.skipped.setAccessibleDescription(self.tr("Each conversation that was not imported, with the reason"))
        self.skipped.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName(self.tr("Close"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleDescription(
            self.tr("Close this window; an import in progress goes on")
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.skipped, 1)
        layout.addWidget(self.buttons)
        self.resize(520, 160)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        text = self.tr("Importing conversation {done} of {total}…")
        self.summary.setText(text.format(done=min(done + 1, total), total=total))

    def show_report(self, report: ImportReport) -> None:
        self.progress.hide()
        self.summary.setText(
            self.tr("Imported {imported} thread(s); skipped {skipped}.").format(
                imported=len(report.imported), skipped=len(report.skipped)
            )
        )
        for title, reason in report.skipped:
            self.skipped.addItem(f"{title or self.tr('(untitled)')}: {reason}")
        self.skipped.setVisible(bool(report.skipped))
        if report.skipped:
            self.resize(self.width(), 360)

    def show_failure(self, text: str) -> None:
        self.progress.hide()
        self.summary.setText(self.tr("Nothing was imported: {reason}").format(reason=text))


class Transfers(QObject):
    """Starts imports and exports for the window. `imported(first_thread_id)` (GUI thread) after an import that
    brought at least one thread."""

    imported = Signal(int)

    def __init__(
        self, threads: ThreadService, *, writes: TaskRunner, reads: TaskRunner, status: StatusBridge, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._threads = threads
        self._writes = writes
        self._reads = reads
        self._status = status
        self._window = parent
        self.dialog: QFileDialog | None = None  # the file dialog open now (tests drive it)
        self.progress: ImportProgress | None = None

    def choose_import(self) -> None:
        dialog = self._file_dialog(self.tr("Import a chat export"), QFileDialog.AcceptMode.AcceptOpen, IMPORT_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.import_file(Path(path)))
        dialog.open()

    def import_file(self, path: Path) -> None:
        progress = self.progress = ImportProgress(path, self._window)
        progress.show()
        threads = self._threads

        def done(report: ImportReport) -> None:
            progress.show_report(report)
            self._status.show_info(
                self.tr("Imported {imported} thread(s) from {name}.").format(
                    imported=len(report.imported), name=path.name
                )
            )
            if report.imported:
                self.imported.emit(report.imported[0].id)

        def failed(error: BaseException) -> None:
            progress.show_failure(explain(error))
            self._status.report(error, doing=self.tr("Could not import"))

        self._writes.run_reporting(
            lambda report: threads.import_file(path, progress=lambda done, total: report((done, total))),
            on_progress=lambda values: progress.show_progress(*values),
            on_result=done,
            on_error=failed,
        )

    def choose_export(self, thread_id: int | None, fmt: str, title: str | None = None) -> None:
        """Export one thread (None: all) as "md" or "json" to a file the user picks."""
        name, pattern = FORMATS[fmt]
        caption = (self.tr("Export as {name}") if thread_id else self.tr("Export all threads as {name}")).format(
            name=name
        )
        dialog = self._file_dialog(caption, QFileDialog.AcceptMode.AcceptSave, pattern)
        dialog.setDefaultSuffix(fmt)
        dialog.selectFile(file_name_for(title if thread_id else None, fmt))
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path), thread_id, fmt))
        dialog.open()

    def export_to(self, path: Path, thread_id: int | None, fmt: str) -> None:
        threads = self._threads

        def export() -> int:
            text, count = threads.export(thread_id, fmt)
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InvalidInput(f"cannot write {path}: {exc.strerror}") from exc
            return count

        self._reads.run(
            export,
            on_result=lambda count: self._status.show_info(
                self.tr("Exported {count} thread(s) to {path}.").format(count=count, path=path)
            ),
        )

    def _file_dialog(self, caption: str, mode: QFileDialog.AcceptMode, pattern: str) -> QFileDialog:
        dialog = self.dialog = QFileDialog(self._window, caption, str(Path.home()), pattern)
        dialog.setAcceptMode(mode)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setAccessibleName(caption)
        return dialog
