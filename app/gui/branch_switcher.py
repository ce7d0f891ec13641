"""‹ k / n ›: where a message sits among its alternatives (edits, regenerations), and the arrows to move between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.core.models import Message, Thread, ThreadSummary


@dataclass(frozen=True, slots=True)
class BranchPosition:
    """The message is alternative `index` (0-based) of `sibling_ids`, oldest first."""

    index: int
    sibling_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.sibling_ids)


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """What the conversation shows for a thread: its current branch and where each forked message sits."""

    thread_id: int
    messages: list[Message]
    positions: dict[int, BranchPosition]  # only messages that have alternatives
    summary: ThreadSummary | None = None  # older turns of this branch folded to fit the model's window
    thread: Thread | None = None  # as stored when the page was read: title, model, tags, metadata


def branch_positions(path: Sequence[Message], every_message: Sequence[Message]) -> dict[int, BranchPosition]:
    """For each message on `path` that has siblings in `every_message` (the whole tree), its position among them.

    One pass over the tree instead of a `store.siblings` query per message: a long thread opens as fast as a short one.
    """
    children: dict[int | None, list[int]] = {}
    for message in sorted(every_message, key=lambda each: each.id):
        children.setdefault(message.parent_id, []).append(message.id)
    positions = {}
    for message in path:
        siblings = children.get(message.parent_id, [message.id])
        if len(siblings) > 1:
            positions[message.id] = BranchPosition(siblings.index(message.id), tuple(siblings))
    return positions


class BranchSwitcher(QWidget):
    """‹ 2 / 3 ›. Emits `branch_chosen(message_id)` (GUI thread) with the sibling to show; never touches the store."""

    branch_chosen = Signal(int)

    def __init__(self, position: BranchPosition, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("branchSwitcher")
        self.position = position
        self.previous_button = self._arrow("‹", "Previous version", -1)
        self.next_button = self._arrow("›", "Next version", +1)
        self.label = QLabel(f"{position.index + 1} / {position.count}")
        self.label.setObjectName("branchLabel")
        self.label.setAccessibleName(f"Version {position.index + 1} of {position.count}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        self.previous_button.setEnabled(position.index > 0)
        self.next_button.setEnabled(position.index < position.count - 1)
        self.setAccessibleName("Versions of this message")

    def text(self) -> str:
        return f"‹ {self.label.text()} ›"

    def _arrow(self, glyph: str, name: str, step: int) -> QToolButton:
        button = QToolButton()
        button.setObjectName("branchArrow")
        button.setText(glyph)
        button.setAccessibleName(name)
        button.setToolTip(name)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self._step(step))
        return button

    def _step(self, step: int) -> None:
        target = self.position.index + step
        if 0 <= target < self.position.count:
            self.branch_chosen.emit(self.position.sibling_ids[target])


def load_page(store, thread_id: int, *, show_message_id: int | None = None) -> ThreadPage:
    """Background: the thread's current branch (first switched to the branch through `show_message_id`, if given)."""
    messages = store.show_branch(show_message_id) if show_message_id is not None else store.current_path(thread_id)
    every_message = store.messages(thread_id) if messages else []
    summary = store.summary_on_branch(thread_id, messages) if messages else None
    thread = store.get_thread(thread_id)
    return ThreadPage(thread_id, messages, branch_positions(messages, every_message), summary, thread)
