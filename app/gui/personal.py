"""What makes a thread personal, in the window: the thread's system prompt (edited from the details column), the
incognito toggle of a new thread, "New thread with…" an assistant, the memories a reply used, and Memories…"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.domain import Message, MessageStatus, Thread
from app.core.memory import Assistant, ExtractionReport, Memory
from app.gui.memory_dialog import MemoryDialog
from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.services.session import Session

IDLE_CHECK_MS = 60_000


class SystemPromptDialog(QDialog):
    """Edits a thread's system prompt; the note says when it applies (its next branch)."""

    def __init__(self, prompt: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("systemPromptDialog")
        self.setWindowTitle(self.tr("System prompt"))
        self.editor = QPlainTextEdit(prompt or "")
        self.editor.setAccessibleName(self.tr("System prompt"))
        self.editor.setAccessibleDescription(self.tr("Instructions the model gets at the start of this thread"))
        note = QLabel(
            self.tr(
                "Applies from the thread's next branch (an edited message or a regenerated reply); the branches "
                "there are keep theirs, so their saved model state stays valid. Empty: none."
            )
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def text(self) -> str | None:
        return self.editor.toPlainText().strip() or None


class IncognitoToggle(QCheckBox):
    """For a new thread: neither read nor write memory. An existing thread shows what it is, unchangeable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Incognito"), parent)
        self.setObjectName("incognitoToggle")
        self.setAccessibleName(self.tr("Incognito"))
        self.setAccessibleDescription(self.tr("A new thread that neither reads nor writes long-term memory"))
        self.setToolTip(self.accessibleDescription())

    def show_for(self, thread: Thread | None) -> None:
        """A draft (None) may be made incognito; a thread's own state is shown and cannot change."""
        self.setEnabled(thread is None)
        self.setChecked(bool(thread and thread.incognito))


class NewThreadWith(QToolButton):
    """"New thread with…": a menu of the saved assistants. Signals: `chosen(str)`, the assistant's name."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newThreadWith")
        self.setText(self.tr("New thread with…"))
        self.setAccessibleName(self.tr("New thread with an assistant"))
        self.setAccessibleDescription(self.tr("Start a thread from a saved set-up"))
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))

    def show_assistants(self, assistants: list[Assistant]) -> None:
        menu = self.menu()
        menu.clear()
        for assistant in assistants:
            action = menu.addAction(assistant.name)
            action.triggered.connect(lambda _checked=False, name=assistant.name: self.chosen.emit(name))
        if not assistants:
            menu.addAction(self.tr("No assistants yet (threadloom assistants add)")).setEnabled(False)


class MemoriesUsed(QWidget):
    """Under the conversation: the memories the latest reply's prompt held, each a link to the message it came from.
    Signals: `source_chosen(thread_id, message_id)`."""

    source_chosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoriesUsed")
        self.setAccessibleName(self.tr("Memories used"))
        self.setAccessibleDescription(self.tr("What the latest reply was told about you; each opens its source"))
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.buttons: list[QPushButton] = []
        self.show_memories([])

    def show_memories(self, memories: list[Memory]) -> None:
        for button in self.buttons:
            button.hide()
            button.deleteLater()
        self.buttons = []
        for memory in memories:
            button = QPushButton(f"🧠 {memory.text}")
            button.setFlat(True)
            button.setObjectName("memoryUsed")
            button.setAccessibleName(self.tr("Memory: %1").replace("%1", memory.text))
            button.setAccessibleDescription(self.tr("Open the message this memory came from"))
            button.setEnabled(bool(memory.sources))
            if memory.sources:
                source = memory.sources[0]
                button.clicked.connect(lambda _=False, s=source: self.source_chosen.emit(s.thread_id, s.message_id))
            self._row.addWidget(button)
            self.buttons.append(button)
        self.setVisible(bool(memories))


class PersonalControls(QObject):
    """The window's personal parts, wired to the services on its read and write lanes.

    Signals (GUI thread): `open_requested(thread_id, message_id)` — show that message on its branch (a memory's
    source; message_id 0: the thread as it is, a thread just started from an assistant)."""

    open_requested = Signal(int, int)

    def __init__(
        self,
        session: Session,
        *,
        reads: TaskRunner,
        writes: TaskRunner,
        models: TaskRunner,
        status: StatusBridge,
        window: QWidget,
    ) -> None:
        """`models`: the lane for model work in the background (memory extraction runs the local model)."""
        super().__init__(window)
        self._session = session
        self._reads = reads
        self._writes = writes
        self._models = models
        self._status = status
        self._window = window
        self.idle_timer = QTimer(self)  # reads threads left idle for `memory_idle_minutes`
        self.idle_timer.setInterval(IDLE_CHECK_MS)
        self.idle_timer.timeout.connect(self.remember_from_idle_threads)
        self.idle_timer.start()
        self.incognito = IncognitoToggle(window)
        self.new_thread_with = NewThreadWith(window)
        self.new_thread_with.menu().aboutToShow.connect(self._list_assistants)
        self.new_thread_with.chosen.connect(self.start_with)
        self.memories_used = MemoriesUsed(window)
        self.memories_used.source_chosen.connect(self.open_requested)
        self.memory_dialog: MemoryDialog | None = None
        self.system_prompt_dialog: SystemPromptDialog | None = None

    def remember_from(self, thread_id: int | None) -> None:
        """"Remember from this thread": propose memories from its new messages now; the inbox has them."""
        if thread_id is None:
            self._status.show_info(self.tr("Open a thread to remember from it"))
            return
        memory = self._session.memory
        self._status.show_info(self.tr("Reading the thread for things to remember…"))
        self._models.run(lambda: memory.extract(thread_id), on_result=self._say_proposed)

    def remember_from_idle_threads(self) -> None:
        memory = self._session.memory
        self._models.run(memory.extract_idle, on_result=lambda idle: idle.threads and self._say_proposed(idle.report))

    def _say_proposed(self, report: ExtractionReport) -> None:
        waiting = len(report.added) + len(report.conflicts)
        self._status.show_info(
            self.tr("%1 new memories to review in Memories… (Ctrl+Shift+Y)").replace("%1", str(waiting))
            if waiting
            else self.tr("Nothing new to remember")
        )
        if self.memory_dialog is not None and self.memory_dialog.isVisible():
            self.memory_dialog.reload()

    def show_memories_used(self, reply: Message | None) -> None:
        """The memories the open thread's latest reply was given (none while it streams)."""
        if reply is None or reply.status == MessageStatus.STREAMING:
            self.memories_used.show_memories([])
            return
        start = self._session.thread_start
        self._reads.run(lambda: start.used_by(reply), on_result=self.memories_used.show_memories)

    def open_memories(self) -> MemoryDialog:
        if self.memory_dialog is None:
            self.memory_dialog = MemoryDialog(
                self._session.memory, reads=self._reads, writes=self._writes, parent=self._window
            )
            self.memory_dialog.source_requested.connect(self.open_requested)
        else:
            self.memory_dialog.reload()
        self.memory_dialog.show()
        self.memory_dialog.raise_()
        return self.memory_dialog

    def edit_system_prompt(self, thread_id: int) -> None:
        """Read the thread's prompt, then open the editor on it (`system_prompt_dialog`)."""
        threads = self._session.threads
        self._reads.run(lambda: threads.thread(thread_id), on_result=self._open_system_prompt)

    def _open_system_prompt(self, thread: Thread) -> None:
        threads = self._session.threads
        dialog = self.system_prompt_dialog = SystemPromptDialog(thread.system_prompt, self._window)
        dialog.accepted.connect(
            lambda: self._writes.run(
                lambda: threads.set_system_prompt(thread.id, dialog.text()),
                on_result=lambda saved: self.open_requested.emit(saved.id, 0),
            )
        )
        dialog.open()

    def start_with(self, name: str) -> None:
        assistants = self._session.assistants
        self._writes.run(
            lambda: assistants.start_thread(name, incognito=self.incognito.isChecked()),
            on_result=lambda thread: self.open_requested.emit(thread.id, 0),
        )

    def _list_assistants(self) -> None:
        self._reads.run(self._session.assistants.list, on_result=self.new_thread_with.show_assistants)
