"""Memories… (Ctrl+Shift+Y): the inbox of proposed memories (approve, edit, reject; a contradiction offers to keep
the new one) and the manager of approved ones (search, edit, forget), each with a link to the message it came from.

Every service call runs on the window's read or write lane (embedding a memory or forgetting one takes a moment).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.memory import Memory, MemoryStatus
from app.gui.tasks import TaskRunner
from app.services.memory import MemoryService

INBOX, ALL = "inbox", "all"


class MemoryDialog(QDialog):
    """Signals (GUI thread): `source_requested(thread_id, message_id)` — open that message on its branch."""

    source_requested = Signal(int, int)

    def __init__(self, memory: MemoryService, *, reads: TaskRunner, writes: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("memoryDialog")
        self.setWindowTitle(self.tr("Memories"))
        self._memory = memory
        self._reads = reads
        self._writes = writes
        self._shown: list[Memory] = []
        self.view_box = QComboBox()
        self.view_box.addItem(self.tr("Inbox: waiting for your approval"), INBOX)
        self.view_box.addItem(self.tr("All memories"), ALL)
        self.view_box.setAccessibleName(self.tr("Which memories"))
        self.view_box.setAccessibleDescription(self.tr("The inbox of proposed memories, or every memory"))
        self.view_box.currentIndexChanged.connect(self.reload)
        self.search_field = _line(self.tr("Search memories"), self.tr("Approved memories matching these words"))
        self.search_field.setPlaceholderText(self.tr("Search approved memories…"))
        self.search_field.returnPressed.connect(self.reload)
        self.list = QListWidget()
        self.list.setObjectName("memoryList")
        self.list.setAccessibleName(self.tr("Memories"))
        self.list.setAccessibleDescription(self.tr("Each memory with its status; select one to act on it"))
        self.list.currentRowChanged.connect(self._select)
        self.conflict_note = QLabel()
        self.conflict_note.setObjectName("memoryConflict")
        self.conflict_note.setWordWrap(True)
        self.editor = _line(self.tr("Memory text"), self.tr("Edit the selected memory's text, then Save"))
        self.source_button = self._button(self.tr("Open source message"), self.tr("Open the message it came from"),
                                          self._open_source)  # fmt: skip
        self.approve_button = self._button(self.tr("Approve"), self.tr("Use this memory in new threads"),
                                           lambda: self._act(lambda m: self._memory.approve(m.id)))  # fmt: skip
        self.replace_button = self._button(
            self.tr("Keep this, forget the other"), self.tr("Approve it and forget the memory it contradicts"),
            lambda: self._act(lambda m: self._memory.approve(m.id, replace=True)),
        )  # fmt: skip
        self.save_button = self._button(self.tr("Save edit"), self.tr("Save the edited text"), self._save_edit)
        self.reject_button = self._button(self.tr("Reject"), self.tr("Reject it: it is not proposed again"),
                                          lambda: self._act(lambda m: self._memory.reject(m.id)))  # fmt: skip
        self.forget_button = self._button(self.tr("Forget"), self.tr("Remove it for good, leaving no copy"),
                                          lambda: self._act(lambda m: self._memory.forget(m.id)))  # fmt: skip
        top = QHBoxLayout()
        top.addWidget(self.view_box)
        top.addWidget(self.search_field, 1)
        actions = QHBoxLayout()
        for button in (self.approve_button, self.replace_button, self.reject_button, self.forget_button):
            actions.addWidget(button)
        editing = QHBoxLayout()
        editing.addWidget(self.editor, 1)
        editing.addWidget(self.save_button)
        editing.addWidget(self.source_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.conflict_note)
        layout.addLayout(editing)
        layout.addLayout(actions)
        self.resize(640, 440)
        self._select(-1)
        self.reload()

    @property
    def selected(self) -> Memory | None:
        row = self.list.currentRow()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def reload(self) -> None:
        inbox, query, memory = self.view_box.currentData() == INBOX, self.search_field.text().strip(), self._memory

        def read() -> list[Memory]:
            if query:
                return memory.search(query, limit=50)
            return memory.inbox() if inbox else memory.list_memories()

        self._reads.run(read, on_result=self._show)

    def _show(self, memories: list[Memory]) -> None:
        self._shown = memories
        self.list.clear()
        for memory in memories:
            mark = "•" if memory.status == MemoryStatus.INBOX else "✓"
            item = QListWidgetItem(f"{mark} {memory.text}")
            item.setToolTip(self.tr("waiting for approval") if memory.status == MemoryStatus.INBOX else self.tr("approved"))
            self.list.addItem(item)
        if not memories:
            self.list.addItem(QListWidgetItem(self.tr("Nothing here")))
        self._select(-1)

    def _select(self, row: int) -> None:
        memory = self.selected
        inbox = memory is not None and memory.status == MemoryStatus.INBOX
        self.editor.setText(memory.text if memory else "")
        self.editor.setEnabled(memory is not None)
        for button in (self.save_button, self.forget_button):
            button.setEnabled(memory is not None)
        self.source_button.setEnabled(memory is not None and bool(memory.sources))
        self.approve_button.setEnabled(inbox)
        self.reject_button.setEnabled(inbox)
        conflict = memory.conflicts_with if memory is not None else None
        self.replace_button.setEnabled(inbox and conflict is not None)
        self.conflict_note.setText(
            self.tr("This contradicts memory %1: keep both (Approve), keep this one, or reject it.").replace(
                "%1", str(conflict)
            )
            if conflict is not None
            else ""
        )

    def _act(self, action) -> None:
        memory = self.selected
        if memory is not None:
            self._writes.run(lambda: action(memory), on_result=lambda _done: self.reload())

    def _save_edit(self) -> None:
        text = self.editor.text()
        self._act(lambda m: self._memory.edit(m.id, text))

    def _open_source(self) -> None:
        memory = self.selected
        if memory is not None and memory.sources:
            source = memory.sources[0]
            self.source_requested.emit(source.thread_id, source.message_id)

    def _button(self, text: str, description: str, handler) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text)
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.clicked.connect(handler)
        return button


def _line(name: str, description: str) -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(name)
    field.setAccessibleDescription(description)
    return field

