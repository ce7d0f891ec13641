"""The reply being written: start it (a send, an edit, a regeneration), stream its text into the conversation, stop
it, and end it — stored, stopped or failed.

The stream runs on the controller's own TaskRunner thread and reports coalesced text (every TEXT_INTERVAL_S), so the
view lays out a few times a second rather than once a token. ChatService publishes what each step stored
(app.services.changes) and the views refresh from that; the controller itself only draws the live reply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.core.domain import (
    ChatEvent,
    Message,
    MessageStatus,
    ReplyFinished,
    ReplyStarted,
    ThreadCompacted,
    TokenEvent,
)
from app.core.errors import ConfirmationNeeded, ConsentRequired, OfflineMode
from app.core.routing import ModelRef
from app.gui.conversation import ConversationView
from app.gui.hosted_consent import hosted_refusal
from app.gui.status import StatusBridge
from app.gui.tasks import Report, TaskRunner
from app.services.chat import ChatService
from app.services.session import Session

TEXT_INTERVAL_S = 0.04  # streamed text reaches the view at most this often: smooth, yet cheap to lay out

Begin = Callable[[ChatService, int, bool], Iterator[ChatEvent]]  # (chat, thread id, the user's yes to hosted use)


@dataclass
class LiveReply:
    """The one reply being written. Fields other than `stop_requested` are only touched on the GUI thread."""

    sent_from_thread_id: int | None  # the thread open when the user pressed Send (None: a new thread)
    text_sent: str = ""  # what the user sent, to give back if nothing was stored
    new_branch: bool = False  # an edit or a regeneration: the view reloads the thread's new branch when it starts
    edit_of: int | None = None  # the user message being edited, to offer the edit again if nothing was stored
    hosted_model: str | None = None  # PROVIDER/MODEL asked for this reply (an upgrade), if hosted
    allow_hosted: bool = False  # the user said yes to a hosted model for this turn
    incognito: bool = False  # a new thread it starts neither reads nor writes memory
    begin: Begin | None = None  # how the reply was started, to start it again once the user says yes
    started: ReplyStarted | None = None
    text: str = ""
    compacted: bool = False  # older turns were summarised first: the note saying so outlives the reply
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def thread_id(self) -> int | None:
        return self.started.reply.thread_id if self.started else self.sent_from_thread_id


class ReplyController(QObject):
    """`shown_thread()` says which thread the conversation shows (None: a draft).

    Signals (all emitted on the GUI thread):
        streaming_changed(bool): a reply began (True) or ended (False); Send is Stop in between.
        thread_created(int): a draft's first message made this thread; the conversation now shows it.
        reload_requested(int): show what the store holds for this thread (a new branch began; a reply failed).
        finished(Message): the reply is stored, complete or not; the thread may still be being named.
        unsent(str, object): nothing was stored: the text the user sent and the message it edited (or None).
    """

    streaming_changed = Signal(bool)
    thread_created = Signal(int)
    reload_requested = Signal(int)
    finished = Signal(object)
    unsent = Signal(str, object)

    def __init__(
        self,
        session: Session,
        conversation: ConversationView,
        *,
        shown_thread: Callable[[], int | None],
        status: StatusBridge,
        confirm_hosted: Callable[[str], bool],
        parent: QObject | None = None,
    ) -> None:
        """`confirm_hosted(model)` asks the user whether this turn may go to hosted `model` (a thread that asks)."""
        super().__init__(parent)
        self._confirm_hosted = confirm_hosted
        self._session = session
        self._conversation = conversation
        self._shown_thread = shown_thread
        self._status = status
        self._runner = TaskRunner(self, name="replies", status=status)
        self._live: LiveReply | None = None
        self.draft_incognito: Callable[[], bool] = lambda: False  # the window's incognito toggle, for a draft

    # State

    @property
    def is_streaming(self) -> bool:
        return self._live is not None

    @property
    def busy(self) -> bool:
        """A reply, or the naming of its thread afterwards, is still running."""
        return self._runner.busy

    def is_live_in(self, thread_id: int | None) -> bool:
        return self._live is not None and self._live.thread_id == thread_id

    def live_messages(self, thread_id: int) -> tuple[list[Message], dict[int, str]]:
        """The live exchange in `thread_id`, if any, and the text its reply has so far (for a page read meanwhile)."""
        live = self._live
        if live is None or live.started is None or live.thread_id != thread_id:
            return [], {}
        return [live.started.user_message, live.started.reply], {live.started.reply.id: live.text}

    # Starting and stopping

    def send(self, text: str) -> None:
        self._start(lambda chat, thread_id, yes: chat.send(thread_id, text, allow_hosted=yes), text=text)

    def send_edit(self, message_id: int, text: str) -> None:
        self._start(
            lambda chat, _thread_id, yes: chat.edit(message_id, text, allow_hosted=yes),
            text=text, new_branch=True, edit_of=message_id,
        )  # fmt: skip

    def regenerate(self, message_id: int, *, model: str | None = None, allow_hosted: bool = False) -> None:
        self._start(
            lambda chat, _thread_id, yes: chat.regenerate(message_id, model=model, allow_hosted=yes),
            new_branch=True,
            hosted_model=model if model and ModelRef.parse(model).hosted else None,
            allow_hosted=allow_hosted,
        )

    def answer_tool_call(self, call_id: int, run: bool, always: bool) -> None:
        """The user's Run / Always for this thread / Don't on a waiting call: the paused reply goes on."""
        self._start(lambda _chat, _thread_id, _yes: self._session.tools.answer(call_id, run=run, always=always))

    def preload(self) -> None:
        """Load the model before the first send (a send meanwhile waits its turn on the same lane)."""
        self._runner.run(self._session.chat.preload)

    def stop(self) -> None:
        """Stop the streaming reply; what was written so far is kept and marked interrupted."""
        live = self._live
        if live is None:
            return
        live.stop_requested.set()
        self._session.chat.stop()
        self._status.show_info(self.tr("Stopping…"))

    def shutdown(self) -> None:
        self.stop()
        self._runner.shutdown()

    def wait(self, timeout_s: float) -> bool:
        return self._runner.wait(timeout_s)

    def _start(
        self,
        begin: Begin,
        *,
        text: str = "",
        new_branch: bool = False,
        edit_of: int | None = None,
        hosted_model: str | None = None,
        allow_hosted: bool = False,
    ) -> None:
        live = LiveReply(
            sent_from_thread_id=self._shown_thread(), text_sent=text, new_branch=new_branch, edit_of=edit_of,
            hosted_model=hosted_model, allow_hosted=allow_hosted, begin=begin, incognito=self.draft_incognito(),
        )  # fmt: skip
        self._live = live
        self.streaming_changed.emit(True)
        self._status.show_info("")
        self._runner.run_reporting(
            lambda report: self._stream(live, begin, report),
            on_progress=lambda event: self._on_event(live, event),
            on_error=lambda error: self._on_failed(live, error),
        )

    def _stream(self, live: LiveReply, begin: Begin, report: Report) -> None:
        """Runs on the replies thread; reports ReplyStarted, coalesced TokenEvents, ReplyFinished, ThreadRetitled.
        (ChatService publishes what each stores; the views refresh from that.)"""
        chat = self._session.chat
        thread_id = live.sent_from_thread_id or chat.new_thread(incognito=live.incognito).id
        pending: list[str] = []
        last_report = time.monotonic()
        stop_repeated = False
        for event in begin(chat, thread_id, live.allow_hosted):
            if isinstance(event, TokenEvent):
                if live.stop_requested.is_set() and not stop_repeated:
                    chat.stop()  # a stop sent before the worker began this reply is not seen by it: say it again
                    stop_repeated = True
                pending.append(event.text)
                if time.monotonic() - last_report >= TEXT_INTERVAL_S:
                    report(TokenEvent("".join(pending)))
                    pending.clear()
                    last_report = time.monotonic()
                continue
            if pending:
                report(TokenEvent("".join(pending)))
                pending.clear()
            report(event)

    # Events, on the GUI thread

    def _on_event(self, live: LiveReply, event: ChatEvent) -> None:
        if isinstance(event, ReplyStarted):
            self._on_started(live, event)
        elif isinstance(event, TokenEvent):
            if not live.text and not live.stop_requested.is_set():
                self._status.show_info("")  # the model has started: "Starting the model…" is over
            live.text += event.text
            if live.started is not None and self._shown_thread() == live.thread_id:
                self._conversation.update_live_text(live.started.reply, live.text)
        elif isinstance(event, ReplyFinished):
            self._on_finished(live, event)
        elif isinstance(event, ThreadCompacted):
            live.compacted = True
            self._status.show_info(
                self.tr("This thread outgrew the model's window: older turns were summarised for it (all are kept).")
            )

    def _on_started(self, live: LiveReply, event: ReplyStarted) -> None:
        live.started = event
        shown = self._shown_thread()
        if live.new_branch and shown == live.thread_id:
            self.reload_requested.emit(live.thread_id)  # the new branch replaces the one shown, arrows and all
        elif shown == live.sent_from_thread_id:  # still looking where the message was sent from
            if shown is None:  # the draft became a thread; its title arrives with the listing
                self.thread_created.emit(event.reply.thread_id)
            self._conversation.add_message(event.user_message)
            self._conversation.add_message(event.reply, live_text="")
            self._conversation.scroll_to_bottom()
        model = event.reply.model or ""
        loading = live.hosted_model is None and not ModelRef.parse(model).hosted and not self._session.chat.model_in_memory(model)
        self._status.show_info(self.tr("Loading {0}…").format(model) if loading else "")

    def _on_finished(self, live: LiveReply, finished: ReplyFinished) -> None:
        """The reply is stored. The service may still be naming the thread; a next message queues behind that."""
        self._end(live)
        reply = finished.reply
        if self._shown_thread() == reply.thread_id:
            self._conversation.update_message(reply)
        self.finished.emit(reply)
        if finished.confirm_model is not None:  # the local model failed; the fallback waits for the user's yes
            if self._confirm_hosted(finished.confirm_model):
                self.regenerate(reply.id, allow_hosted=True)
                return
            self._status.show_info(self.tr("Nothing was sent to {0}: {1}").format(finished.confirm_model, reply.error))
            return
        if reply.status == MessageStatus.COMPLETE:
            if not live.compacted:
                self._status.show_info("")
        elif reply.error == "stopped":
            self._status.show_info(self.tr("Stopped. The reply so far is kept."))
        else:
            self._status.show_error(self.tr("The reply did not finish: {0}").format(reply.error))

    def _on_failed(self, live: LiveReply, error: BaseException) -> None:
        self._end(live)
        if isinstance(error, ConfirmationNeeded) and live.started is None and live.begin is not None:
            if self._confirm_hosted(error.model):  # nothing was stored: the same turn again, with the user's yes
                self._start(
                    live.begin, text=live.text_sent, new_branch=live.new_branch, edit_of=live.edit_of,
                    hosted_model=error.model, allow_hosted=True,
                )  # fmt: skip
                return
            self._status.show_info(
                self.tr("Nothing was sent to {0}: this thread stayed on this device.").format(error.model)
            )
        elif isinstance(error, (ConsentRequired, OfflineMode)):
            self._status.show_error(hosted_refusal(error, live.hosted_model or "a hosted model"))
        else:
            self._status.report(error, doing="Could not send")
        if live.started is None:
            self.unsent.emit(live.text_sent, live.edit_of)  # nothing was stored: give the user their words back
        elif live.thread_id is not None and self._shown_thread() == live.thread_id:
            self.reload_requested.emit(live.thread_id)  # show what the store holds now

    def _end(self, live: LiveReply) -> None:
        if self._live is live:  # not a newer reply the user has sent since
            self._live = None
            self.streaming_changed.emit(False)
