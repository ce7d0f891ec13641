"""The thread's details, in a column at the window's right (Details in the status bar, or Ctrl+I, hides it): its tags and metadata,
each with an Edit… button, the tools the model may call in it (a check box each), and its attachments with their
status and summary or error.

It only shows what the window hands it; edits go through the sidebar's dialogs, which refresh the thread list,
which refreshes this.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.core import metadata
from app.core.documents import Attachment
from app.core.domain import Thread
from app.core.tools import ToolSpec
from app.gui.attachments import STATUS_MARKS


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("detailsMuted")
    label.setWordWrap(True)
    return label


class DetailsPanel(QScrollArea):
    """Signals (GUI thread): `tags_requested(int)`, `metadata_requested(int)`, `system_prompt_requested(int)` — the
    thread whose Edit… was pressed; `tools_chosen(int, list)` — the thread and the names of the tools now ticked."""

    tags_requested = Signal(int)
    metadata_requested = Signal(int)
    system_prompt_requested = Signal(int)
    tools_chosen = Signal(int, list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPanel")
        self.setAccessibleName(self.tr("Thread details"))
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.thread_id: int | None = None
        body = QWidget()
        body.setObjectName("detailsBody")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(6)
        self.tags_edit = self._section(layout, "Tags", "Edit the thread's tags", self.tags_requested)
        self.tags_label = _muted("")
        layout.addWidget(self.tags_label)
        layout.addSpacing(10)
        self.metadata_edit = self._section(layout, "Metadata", "Edit the thread's metadata", self.metadata_requested)
        self.metadata_box = QVBoxLayout()
        self.metadata_box.setSpacing(2)
        layout.addLayout(self.metadata_box)
        layout.addSpacing(10)
        self.system_prompt_edit = self._section(
            layout, "System prompt", "Edit the thread's system prompt", self.system_prompt_requested
        )
        self.system_prompt_label = _muted("")
        layout.addWidget(self.system_prompt_label)
        layout.addSpacing(10)
        self.tools_box = _listing(layout, "Tools", spacing=2)
        self.tool_boxes: dict[str, QCheckBox] = {}
        layout.addSpacing(10)
        self.attachments_box = _listing(layout, "Attachments", spacing=8)
        layout.addStretch(1)
        self.setWidget(body)
        self.show_thread(None)
        self.show_tools(None, [])
        self.show_attachments([])

    def _section(self, layout: QVBoxLayout, title: str, tooltip: str, signal) -> QPushButton:
        heading = QLabel(title)
        heading.setObjectName("detailsHeading")
        edit = QPushButton(self.tr("Edit…"))
        edit.setObjectName("detailsEdit")
        edit.setFlat(True)
        edit.setToolTip(tooltip)
        edit.setAccessibleName(tooltip)
        edit.setAccessibleDescription(tooltip)
        edit.clicked.connect(lambda: signal.emit(self.thread_id))  # enabled only while a thread is shown
        row = QHBoxLayout()
        row.addWidget(heading, 1)
        row.addWidget(edit)
        layout.addLayout(row)
        return edit

    def show_thread(self, thread: Thread | None) -> None:
        """Tags and metadata of the open thread (None: a draft, which has none yet)."""
        self.thread_id = thread.id if thread else None
        for button in (self.tags_edit, self.metadata_edit, self.system_prompt_edit):
            button.setEnabled(thread is not None)
        prompt = thread.system_prompt if thread else None
        self.system_prompt_label.setText(prompt or "None")
        tags = thread.tags if thread else ()
        self.tags_label.setText(" ".join(f"#{tag}" for tag in tags) if tags else self.tr("No tags"))
        _clear(self.metadata_box)
        pairs = thread.metadata if thread else {}
        for key, value in pairs.items():
            row = QLabel(f"<b>{html.escape(key)}</b> = {html.escape(metadata.encode(value)[1])}")
            row.setObjectName("detailsPair")
            row.setWordWrap(True)
            row.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.metadata_box.addWidget(row)
        if not pairs:
            self.metadata_box.addWidget(_muted(self.tr("No metadata")))

    def show_tools(self, thread_id: int | None, tools: list[tuple[ToolSpec, bool]]) -> None:
        """The tools `thread_id` may be offered, ticked when it is; unticking one keeps it from the next turn."""
        _clear(self.tools_box)
        self.tool_boxes = {}
        for spec, offered in tools:
            box = QCheckBox(spec.name)
            box.setChecked(offered)
            where = self.tr("built in") if spec.server == "builtin" else self.tr("from {0}").format(spec.server)
            box.setToolTip(f"{spec.description} ({spec.effect}, {where})")
            box.setAccessibleName(self.tr("Offer the tool {0} in this thread").format(spec.name))
            box.setAccessibleDescription(box.toolTip())
            box.toggled.connect(lambda _checked, thread_id=thread_id: self._choose_tools(thread_id))
            self.tools_box.addWidget(box)
            self.tool_boxes[spec.name] = box
        if not tools:
            self.tools_box.addWidget(_muted(self.tr("Open a thread to choose the tools its model may call")))

    def _choose_tools(self, thread_id: int | None) -> None:
        if thread_id is not None:
            self.tools_chosen.emit(thread_id, [name for name, box in self.tool_boxes.items() if box.isChecked()])

    def show_attachments(self, attachments: list[Attachment]) -> None:
        """Each attachment: name and status mark, then its summary, or what went wrong with it."""
        _clear(self.attachments_box)
        for attachment in attachments:
            document = attachment.document
            name = QLabel(f"{STATUS_MARKS.get(document.status, '')} {attachment.file_name}")
            name.setObjectName("detailsAttachment")
            name.setToolTip(attachment.source_path or attachment.file_name)
            self.attachments_box.addWidget(name)
            note = document.error or document.summary or f"{document.pages} pages, {document.chunk_count} chunks"
            self.attachments_box.addWidget(_muted(note))
        if not attachments:
            self.attachments_box.addWidget(_muted(self.tr("Drop files or a folder on the thread to ask about them")))


def _clear(layout: QVBoxLayout) -> None:
    while layout.count():
        widget = layout.takeAt(0).widget()
        if widget is not None:
            widget.hide()  # at once; it is deleted when control returns to the event loop
            widget.deleteLater()


def _listing(layout: QVBoxLayout, title: str, *, spacing: int) -> QVBoxLayout:
    """A headed section whose rows are filled in later (the thread's tools, its attachments)."""
    heading = QLabel(title)
    heading.setObjectName("detailsHeading")
    layout.addWidget(heading)
    rows = QVBoxLayout()
    rows.setSpacing(spacing)
    layout.addLayout(rows)
    return rows
