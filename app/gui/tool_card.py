"""Tool calls in the conversation: a collapsible card per call between the reply's text parts, where the call
happened, and for a call that waits for the user the exact call with Run / Always for this thread / Don't.

`ToolCards.decorate(card)` hears the conversation's `card_shown`: it reads the reply's calls from `ToolService` on
the read lane and (re)builds the card's call cards whenever they changed. An answer is handed to `answer(call_id,
run, always)` (the window runs the resumed reply like any other).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.domain import Role
from app.core.tools import ToolCall, ToolCallStatus
from app.gui.conversation import MessageBody, MessageCard, action_button
from app.gui.tasks import TaskRunner
from app.services.tools import ToolService


def _status_text(call: ToolCall) -> str:
    return {
        ToolCallStatus.PENDING: QCoreApplication.translate("ToolCard", "waiting for your answer"),
        ToolCallStatus.RUNNING: QCoreApplication.translate("ToolCard", "running…"),
        ToolCallStatus.DONE: QCoreApplication.translate("ToolCard", "done"),
        ToolCallStatus.FAILED: QCoreApplication.translate("ToolCard", "failed"),
        ToolCallStatus.REFUSED: QCoreApplication.translate("ToolCard", "you declined"),
    }[call.status]


def _arguments_text(call: ToolCall) -> str:
    if isinstance(call.arguments, dict):
        return json.dumps(call.arguments, ensure_ascii=False, indent=2)
    return call.arguments


class ToolCallCard(QFrame):
    """One call: a one-line header that opens the details (arguments, result or error, server, time, who approved).
    Signal `answered(call_id, run, always)` from the buttons of a waiting call."""

    answered = Signal(int, bool, bool)

    def __init__(self, call: ToolCall, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCallCard")
        self.call = call
        waiting = call.status == ToolCallStatus.PENDING
        self.toggle = action_button("", self.tr("Show or hide the call's arguments and result"), None)
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName(self.tr("Tool call {name}").format(name=call.name))
        self.toggle.toggled.connect(self._expand)
        self.details = MessageBody()
        self.details.setAccessibleName(self.tr("Tool call details"))
        self.details.show_plain(self._details())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.toggle)
        layout.addWidget(self.details)
        self.run_button = self.always_button = self.deny_button = None
        if waiting:
            question = QLabel(
                self.tr(
                    "{server} wants to run {name} with these arguments. Nothing in the conversation can answer this "
                    "for you."
                ).format(server=call.server, name=call.name)
            )
            question.setWordWrap(True)
            layout.addWidget(question)
            row = QHBoxLayout()
            self.run_button = self._button(self.tr("Run"), self.tr("Run this call once"), run=True, always=False)
            self.always_button = self._button(
                self.tr("Always for this thread"), self.tr("Run it, and run this tool without asking in this thread"),
                run=True, always=True,
            )  # fmt: skip
            self.deny_button = self._button(
                self.tr("Don't"), self.tr("Do not run it; the model hears that you declined"), run=False, always=False
            )
            for button in (self.run_button, self.always_button, self.deny_button):
                row.addWidget(button)
            row.addStretch(1)
            layout.addLayout(row)
        self.toggle.setChecked(waiting)  # a waiting call shows exactly what would run
        self._expand(waiting)

    def _button(self, text: str, description: str, *, run: bool, always: bool) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text)
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.clicked.connect(lambda: self._answer(run, always))
        return button

    def _answer(self, run: bool, always: bool) -> None:
        for button in (self.run_button, self.always_button, self.deny_button):
            button.setEnabled(False)  # one answer per call
        self.answered.emit(self.call.id, run, always)

    def _details(self) -> str:
        call = self.call
        lines = [self.tr("Arguments:"), _arguments_text(call)]
        if call.result:
            lines += ["", self.tr("Result:"), call.result]
        if call.error:
            lines += ["", self.tr("Error: {error}").format(error=call.error)]
        facts = [self.tr("server: {server}").format(server=call.server), str(call.effect)]
        if call.duration_ms is not None:
            facts.append(self.tr("{ms} ms").format(ms=call.duration_ms))
        if call.approved_by:
            facts.append(self.tr("approved by {who}").format(who=call.approved_by))
        lines += ["", " · ".join(facts)]
        return "\n".join(lines)

    def _expand(self, expanded: bool) -> None:
        arrow = "▾" if expanded else "▸"
        self.toggle.setText(f"{arrow} 🔧 {self.call.name} · {_status_text(self.call)}")
        self.details.setVisible(expanded)


class ToolCards:
    """Keeps each reply card's call cards in step with the stored calls, each where it happened in the text. The
    calls are read on the read lane, never on the GUI thread (a card is shown on every refresh of the thread)."""

    def __init__(self, tools: ToolService, answer: Callable[[int, bool, bool], None], *, reads: TaskRunner) -> None:
        self._tools = tools
        self._answer = answer
        self._reads = reads

    def decorate(self, card: MessageCard) -> None:
        if card.message.role != Role.ASSISTANT:
            return
        message_id = card.message.id
        self._reads.run(
            lambda: self._tools.calls(message_id), on_result=lambda calls: self._show(card, message_id, calls)
        )

    def _show(self, card: MessageCard, message_id: int, calls: list[ToolCall]) -> None:
        if not shiboken6.isValid(card) or card.message.id != message_id:  # the card went while its calls were read
            return
        if [getattr(widget, "call", None) for _offset, widget in card.inline_widgets()] == calls:
            return
        call_cards = []
        for call in calls:
            call_card = ToolCallCard(call, card)
            call_card.answered.connect(self._answer)
            call_cards.append((call.offset, call_card))
        card.set_inline_widgets(call_cards)
