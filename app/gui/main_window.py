"""The main window: thread list, conversation, composer and status bar over one Session.

Every store or model call runs on a TaskRunner's background thread; results come back on the GUI thread and only then touch widgets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QInputDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import ConsentRequired, ModelUnavailable, OfflineMode, ThreadloomError
from app.core.models import (
    ChatEvent,
    Message,
    MessageStatus,
    ReplyFinished,
    ReplyStarted,
    Role,
    Thread,
    ThreadCompacted,
    ThreadRetitled,
    TokenEvent,
)
from app.core.routing import ModelRef, PrivacyRule
from app.gui import theme
from app.gui.attachments import AttachmentController
from app.gui.branch_switcher import ThreadPage, load_page
from app.gui.composer import Composer
from app.gui.conversation import READABLE_WIDTH_PX, ConversationView
from app.gui.details_panel import DetailsPanel
from app.gui.notice_bar import NoticeBar
from app.gui.privacy import RULE_LABELS, PrivacyControl, PrivacyState, load_privacy, stronger_models
from app.gui.settings_dialog import SettingsDialog
from app.gui.starter_card import StarterModelCard
from app.gui.model_manager import ModelManagerDialog
from app.gui.tasks import Report, TaskRunner
from app.gui.sidebar import Sidebar
from app.services.chat import ChatService
from app.platform.settings import Settings, load_settings, save_settings
from app.services.session import Session

TEXT_INTERVAL_S = 0.04  # streamed text reaches the view at most this often: smooth, yet cheap to lay out
PROGRESS_INTERVAL_S = 0.1
HINT_RESET_MS = 4000
NEW_THREAD_LABEL = "New thread"
DETAILS_WIDTH_PX = 280


@dataclass
class LiveReply:
    """The one reply being written. Fields other than `stop_requested` are only touched on the GUI thread."""

    sent_from_thread_id: int | None  # the thread open when the user pressed Send (None: a new thread)
    new_branch: bool = False  # an edit or a regeneration: the view reloads the thread's new branch when it starts
    edit_of: int | None = None  # the user message being edited, to offer the edit again if nothing was stored
    hosted_model: str | None = None  # PROVIDER/MODEL asked for this reply (an upgrade), if hosted
    started: ReplyStarted | None = None
    text: str = ""
    compacted: bool = False  # older turns were summarised first: the view reloads to show the fold
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def thread_id(self) -> int | None:
        return self.started.reply.thread_id if self.started else self.sent_from_thread_id


class ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit; the whole text is in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_text = ""
        self.setMinimumWidth(40)

    def set_full_text(self, text: str) -> None:
        self._full_text = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full_text

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width() - 12  # the style sheet's padding
        self.setText(self.fontMetrics().elidedText(self._full_text, Qt.TextElideMode.ElideRight, max(width, 0)))


def describe(error: BaseException) -> str:
    if isinstance(error, ThreadloomError):
        return str(error)
    return f"something went wrong ({type(error).__name__}: {error}); the app keeps working"


def hosted_refusal(error: ConsentRequired | OfflineMode, model: str) -> str:
    """Why a hosted model was not asked and what to do, in the window's words (not the service's CLI advice)."""
    if isinstance(error, OfflineMode):
        return f"Offline mode is on, so nothing was sent to {model}: turn it off in Models… (Ctrl+Shift+M)."
    return (
        f"This thread's privacy rule keeps it on this device, so nothing was sent to {model}: change the thread's "
        "privacy (top right) to “Ask each time” or “Allowed” to use hosted models."
    )


def reply_status_line(model: str, reply: Message) -> str:
    """For the status bar, e.g. "smollm2-135m-instruct · 46.2 tok/s · TTFT 0.13 s"."""
    parts = [model]
    if reply.timings is not None and reply.timings.tokens_per_s > 0:
        parts += [f"{reply.timings.tokens_per_s:.1f} tok/s", f"TTFT {reply.timings.ttft_s:.2f} s"]
    return " · ".join(parts)


class MainWindow(QMainWindow):
    """`settings` holds window state (geometry, splitter, last thread); by default an INI file in the data dir.

    The window owns the session from here on: closing it stops any reply and closes the session.
    """

    closed = Signal()  # GUI thread: the window has closed and the session is shut down

    def __init__(self, session: Session, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self._session = session
        self._settings = settings or QSettings(
            str(session.data_dir / "window.ini"), QSettings.Format.IniFormat
        )
        self._queries = TaskRunner(self, name="queries")  # in order: a stale listing never lands after a fresh one
        self._replies = TaskRunner(self, name="replies")
        self._downloads = TaskRunner(self, name="downloads")
        self._indexing = TaskRunner(self, name="indexing")  # embeds new messages for search; never delays a listing
        self._open_thread_id: int | None = None
        self._editing_message_id: int | None = None  # the user message the composer is editing
        self._draft_before_edit = ""
        self._view_request = 0
        self._live: LiveReply | None = None
        self._thread_to_restore = int(self._settings.value("session/lastThread", 0) or 0) or None
        self._is_closed = False
        self._splitter_restored = False

        self.setWindowTitle("Threadloom")
        self.setObjectName("mainWindow")
        self._build()
        self._add_actions()
        self.apply_theme()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.apply_theme)
        self._restore_layout()
        self._show_model_state()
        self._load_stronger_models()
        self.refresh_threads()

    # Layout

    def _build(self) -> None:
        sidebar = self.sidebar = Sidebar(self._session, runner=self._queries, report=self._report)
        sidebar.new_thread_requested.connect(self.new_thread)
        sidebar.threads_loaded.connect(self._show_threads)
        sidebar.hit_chosen.connect(self.open_search_hit)
        sidebar.thread_restored.connect(self.open_thread)
        sidebar.note.connect(self._say)
        self.thread_list = sidebar.thread_list
        self.thread_list.thread_chosen.connect(self.open_thread)
        self.thread_list.rename_requested.connect(self.rename_thread)
        self.thread_list.delete_requested.connect(self.delete_thread)

        centre = QWidget()
        centre.setObjectName("centre")
        self.title_label = ElidedLabel()  # a long title ends in "…" rather than widening the column
        self.title_label.set_full_text(NEW_THREAD_LABEL)
        self.title_label.setObjectName("threadTitle")
        self.title_label.setAccessibleName("Thread title")
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_chip = QLabel()
        self.model_chip.setObjectName("modelChip")
        self.model_chip.setAccessibleName("Model")
        self._show_model(None)
        header = QHBoxLayout()
        header.setContentsMargins(24, 12, 24, 10)
        header.setSpacing(12)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.model_chip)
        self.privacy = PrivacyControl()
        self.privacy.rule_chosen.connect(self.set_privacy_rule)
        header.addWidget(self.privacy)
        rule = QFrame()
        rule.setObjectName("headerRule")
        rule.setFixedHeight(1)

        spec = self._session.models.spec(self._session.settings.default_model)
        self.starter_card = StarterModelCard(spec)
        self.starter_card.download_requested.connect(self.download_starter_model)
        self.conversation = ConversationView()
        self.conversation.edit_requested.connect(self.start_editing)
        self.conversation.regenerate_requested.connect(self.regenerate)
        self.conversation.upgrade_requested.connect(self.ask_stronger_model)
        self.conversation.branch_chosen.connect(self.show_branch)
        self.conversation.fork_requested.connect(self.fork_from)
        self.conversation.summary_edit_requested.connect(self.edit_summary)
        self.conversation.summary_undo_requested.connect(self.undo_summary)
        self.editing_bar = NoticeBar("Editing a message")
        self.editing_bar.setObjectName("editingBar")
        self.editing_bar.action_triggered.connect(self.cancel_editing)
        self.editing_bar.dismissed.connect(self.cancel_editing)

        self.composer = Composer(send_key=self._session.settings.send_key)
        self.composer.submitted.connect(self.send_message)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._send_or_stop)
        self.send_button.setMinimumWidth(110)  # as wide as "Stop  Esc", so the composer does not jump
        self.composer_hint = QLabel(self.composer.send_hint())
        self.composer_hint.setObjectName("composerHint")
        self.composer_hint.setAccessibleName("Composer hint")
        self._hint_timer = QTimer(self, singleShot=True, interval=HINT_RESET_MS)
        self._hint_timer.timeout.connect(lambda: self.composer_hint.setText(self.composer.send_hint()))
        entry = QHBoxLayout()
        entry.setSpacing(8)
        entry.addWidget(self.composer, 1)
        entry.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(self.starter_card)
        column.addWidget(self.conversation, 1)
        column.addWidget(self.editing_bar)
        self.attachments = AttachmentController(
            self._session, thread_id=lambda: self._open_thread_id, create_thread=self._thread_for_attachments,
            say=self._say, parent=self,
        )  # fmt: skip
        self.attachments.accept_drops_on(self.conversation.viewport(), self.composer.viewport())
        column.addWidget(self.attachments.panel)
        column.addLayout(entry)
        column.addWidget(self.composer_hint)
        column_box = QWidget()
        column_box.setObjectName("composerArea")
        column_box.setLayout(column)
        column_box.setMaximumWidth(READABLE_WIDTH_PX + 48)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 12)
        body.addStretch(0)
        body.addWidget(column_box, 1)
        body.addStretch(0)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        centre_layout.addLayout(header)
        centre_layout.addWidget(rule)
        centre_layout.addLayout(body, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.details = DetailsPanel()
        self.details_button = QPushButton("Details")
        self.details_button.setObjectName("detailsButton")
        self.details_button.setFlat(True)
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Show or hide the thread's tags, metadata and attachments (Ctrl+I)")
        self.details.tags_requested.connect(sidebar.edit_tags)
        self.details.metadata_requested.connect(sidebar.edit_metadata)
        self.attachments.attachments_shown.connect(self.details.show_attachments)
        self.details_button.toggled.connect(self.details.setVisible)
        self.details_button.toggled.connect(lambda shown: self.attachments.panel.show_summary(not shown))
        self.splitter.addWidget(sidebar)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.setCentralWidget(self.splitter)

        self.status_model = QLabel()
        self.status_model.setObjectName("statusModel")
        self.status_model.setAccessibleName("Model status")
        self.status_note = ElidedLabel()
        self.status_note.setObjectName("statusNote")
        self.status_note.setAccessibleName("Status message")
        self.statusBar().addWidget(self.status_model)
        self.statusBar().addWidget(self.status_note, 1)
        self.statusBar().setSizeGripEnabled(False)

    def _add_actions(self) -> None:
        for text, keys, handler in (
            ("New thread", QKeySequence.StandardKey.New, self.new_thread),
            ("Stop reply or cancel editing", QKeySequence(Qt.Key.Key_Escape), self._escape),
            ("Edit last message", QKeySequence("Ctrl+Up"), self.edit_last_message),
            ("Copy last reply", QKeySequence("Ctrl+Shift+C"), self.copy_last_reply),
            ("Focus composer", QKeySequence("Ctrl+L"), self.composer.setFocus),
            ("Models and providers", QKeySequence("Ctrl+Shift+M"), self.open_model_manager),
            ("Settings", QKeySequence("Ctrl+,"), self.open_settings),
            ("Thread details", QKeySequence("Ctrl+I"), self.details_button.toggle),
            ("Search threads", QKeySequence.StandardKey.Find, self.sidebar.focus_search),
            ("Quit", QKeySequence("Ctrl+Q"), self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handler)
            self.addAction(action)
        delete = QAction("Delete thread", self.thread_list)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current_thread)
        self.thread_list.addAction(delete)
        models = QPushButton("Models…", self)
        models.setFlat(True)
        models.setToolTip("Local models, hosted providers and the offline switch (Ctrl+Shift+M)")
        models.clicked.connect(self.open_model_manager)
        self.statusBar().addPermanentWidget(models)
        settings_button = QPushButton("Settings…", self)
        settings_button.setFlat(True)
        settings_button.setToolTip("Theme, send key, attachment size limit, saved model states (Ctrl+,)")
        settings_button.clicked.connect(self.open_settings)
        self.statusBar().addPermanentWidget(settings_button)
        self.statusBar().addPermanentWidget(self.details_button)

    def apply_theme(self) -> None:
        """Palette and style sheet for the theme setting (called again when the desktop's scheme changes)."""
        colours = theme.current(self._session.settings.theme)
        QApplication.instance().setPalette(theme.palette_for(colours))
        self.setStyleSheet(theme.style_sheet(colours))
        if self._open_thread_id is not None and self._live is None:
            self.open_thread(self._open_thread_id)  # headers carry colours: draw them again

    def _restore_layout(self) -> None:
        geometry = self._settings.value("window/geometry")
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            self.resize(1180, 760)

    def showEvent(self, event) -> None:
        """Splitter sizes are restored once the window has its real size; earlier, Qt rescales them."""
        super().showEvent(event)
        if self._splitter_restored:
            return
        self._splitter_restored = True
        shown = self._settings.value("window/details", True, type=bool)
        self.details_button.setChecked(shown)
        self.details.setVisible(shown)  # toggled() does not fire when the button was already in that state
        self.attachments.panel.show_summary(not shown)
        state = self._settings.value("window/splitter")
        if not (isinstance(state, QByteArray) and self.splitter.restoreState(state)):
            self.splitter.setSizes([270, max(400, self.splitter.width() - 270 - DETAILS_WIDTH_PX), DETAILS_WIDTH_PX])

    # Threads

    def refresh_threads(self) -> None:
        self.sidebar.refresh()  # through the filter chips; lands in _show_threads

    def _show_threads(self, threads: list[Thread]) -> None:
        self.thread_list.show_threads(threads, selected_id=self._open_thread_id, now=datetime.now().astimezone())
        by_id = {thread.id: thread for thread in threads}
        if self._thread_to_restore is not None:
            restore, self._thread_to_restore = self._thread_to_restore, None
            if restore in by_id and self._open_thread_id is None:
                self.open_thread(restore)
                return
        if self._open_thread_id in by_id:
            self._show_title(by_id[self._open_thread_id].title)
            self.details.show_thread(by_id[self._open_thread_id])  # tags or metadata may have just changed
        elif self._open_thread_id is not None and not self._live_in(self._open_thread_id) and not self.sidebar.is_filtered:
            self.open_thread(None)  # deleted, here or by another process (a filter only hides it from the list)

    def _thread_for_attachments(self) -> int:
        """Files dropped on a draft: the thread is made now, to hold them."""
        thread = self._session.chat.new_thread()
        self.refresh_threads()
        self.open_thread(thread.id)
        return thread.id

    def new_thread(self) -> None:
        """Start a draft: the thread is created when its first message is sent, so no empty threads pile up."""
        self.open_thread(None)
        self.composer.setFocus()

    def open_thread(self, thread_id: int | None, *, at_message_id: int | None = None, highlight: bool = False) -> None:
        """Show a thread (None: a new draft). With `at_message_id`, first switch to the branch through that message
        and show it there (tinted if `highlight`, as for a search hit)."""
        if thread_id != self._open_thread_id:
            self.cancel_editing()
        self._open_thread_id = thread_id
        self.attachments.show_thread(thread_id)
        self._view_request += 1
        self.thread_list.select_thread(thread_id)
        self._settings.setValue("session/lastThread", thread_id or 0)
        if thread_id is None:
            self._show_title(NEW_THREAD_LABEL)
            self._show_model(None)
            self.details.show_thread(None)
            self.attachments.show_citations_of(None)
            self.privacy.show_draft()
            self.conversation.show_empty()
            return
        self._show_title(self.thread_list.title_of(thread_id) or "")
        self._load_privacy(thread_id)
        request, store = self._view_request, self._session.store
        self._queries.run(
            lambda: load_page(store, thread_id, show_message_id=at_message_id),
            on_result=lambda page: self._show_thread(
                request, page, focus_message_id=at_message_id, highlight=highlight
            ),
            on_error=self._report,
        )

    def open_search_hit(self, thread_id: int, message_id: int) -> None:
        """Open the thread at the hit's message, on the hit's branch, tinted for a moment."""
        self.open_thread(thread_id, at_message_id=message_id, highlight=True)

    def _show_thread(
        self, request: int, page: ThreadPage, *, focus_message_id: int | None = None, highlight: bool = False
    ) -> None:
        if request != self._view_request:
            return  # the user has opened something else since
        self._show_model(page.thread.model if page.thread else None)
        self.details.show_thread(page.thread)
        replies = [message for message in page.messages if message.role == Role.ASSISTANT]
        self.attachments.show_citations_of(replies[-1] if replies else None)
        messages = page.messages
        live = self._live
        live_texts = {}
        if live is not None and live.started is not None and live.thread_id == self._open_thread_id:
            live_texts[live.started.reply.id] = live.text
            if not any(message.id == live.started.reply.id for message in messages):  # read before it began
                messages = [*messages, live.started.user_message, live.started.reply]
        self.conversation.show_messages(
            messages,
            live_texts=live_texts,
            positions=page.positions,
            focus_message_id=focus_message_id,
            highlight=highlight,
            summary=page.summary,
        )

    def edit_summary(self, summary_id: int) -> None:
        card = self.conversation.summary_card
        text, ok = QInputDialog.getMultiLineText(
            self, "Edit summary", "What the model is told about the earlier turns:", card.summary.content if card else ""
        )
        if ok and text.strip():
            self._change_summary(lambda store: store.edit_summary(summary_id, text.strip()))

    def undo_summary(self, summary_id: int) -> None:
        self._change_summary(lambda store: store.undo_summary(summary_id))

    def _change_summary(self, change) -> None:
        store, thread_id = self._session.store, self._open_thread_id
        self._queries.run(lambda: change(store), on_result=lambda _: self.open_thread(thread_id), on_error=self._report)

    def rename_thread(self, thread_id: int, title: str) -> None:
        store = self._session.store
        self._queries.run(
            lambda: store.rename_thread(thread_id, title),
            on_result=lambda _thread: self.refresh_threads(),
            on_error=self._report,
        )

    def delete_thread(self, thread_id: int) -> None:
        """Delete at once, with Undo in the sidebar's banner (a soft delete: nothing is lost until purged)."""
        if self._live_in(thread_id):
            self._say("A reply is being written in this thread: stop it (Esc) before deleting the thread.")
            return
        if self._open_thread_id == thread_id:
            self.open_thread(None)
        self.sidebar.delete_thread(thread_id)

    def _delete_current_thread(self) -> None:
        item = self.thread_list.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole) is not None:
            self.delete_thread(item.data(Qt.ItemDataRole.UserRole))

    def _show_title(self, title: str) -> None:
        self.title_label.set_full_text(title)
        self.setWindowTitle(f"{title} — Threadloom" if title else "Threadloom")

    def _show_model(self, model: str | None) -> None:
        """The header's chip: the model the open thread's replies come from, and whether it runs here."""
        ref = ModelRef.parse(model or self._session.chat.model_name)
        if ref.hosted:
            self.model_chip.setText(f"● {ref.name} · {ref.provider} (hosted)")
            self.model_chip.setToolTip(
                f"This thread's replies come from {ref}, a hosted model: its messages are sent to {ref.provider} "
                "when its privacy rule allows it"
            )
        else:
            self.model_chip.setText(f"● {ref.name} · local")
            self.model_chip.setToolTip("Replies come from this model, running on this computer")

    # Sending and streaming

    @property
    def is_streaming(self) -> bool:
        return self._live is not None

    @property
    def is_loading(self) -> bool:
        """A thread listing or a thread's messages are still on their way."""
        return self._queries.busy

    @property
    def is_settled(self) -> bool:
        """Nothing in flight: no reply, no thread naming after one, no listing."""
        return not self._replies.busy and not self._queries.busy

    def _send_or_stop(self) -> None:
        if self._live is None:
            self.send_message()
        else:
            self.stop_reply()

    def send_message(self) -> None:
        if self._live is not None:
            self._hint("A reply is still being written: press Esc to stop it first.")
            return
        text = self.composer.toPlainText()
        if not text.strip():
            self._hint("Type a message first.")
            return
        self.composer.clear()
        edit_of = self._editing_message_id
        if edit_of is None:
            self._start_reply(lambda chat, thread_id: chat.send(thread_id, text), text=text)
            return
        self.cancel_editing()  # gives back the draft the user had before choosing Edit
        self._start_reply(
            lambda chat, _thread_id: chat.edit(edit_of, text), text=text, new_branch=True, edit_of=edit_of
        )

    def regenerate(self, message_id: int, *, model: str | None = None, allow_hosted: bool = False) -> None:
        """Write another reply in place of `message_id`; the old one stays as a sibling (‹ k / n ›). With `model`,
        that model writes it (an upgrade); `allow_hosted` is the user's yes for this turn."""
        if self._live is not None:
            self._hint("A reply is still being written: press Esc to stop it first.")
            return
        self._start_reply(
            lambda chat, _thread_id: chat.regenerate(message_id, model=model, allow_hosted=allow_hosted),
            text="",
            new_branch=True,
            hosted_model=model if model and ModelRef.parse(model).hosted else None,
        )

    def _start_reply(
        self,
        begin: Callable[[ChatService, int], Iterator[ChatEvent]],
        *,
        text: str,
        new_branch: bool = False,
        edit_of: int | None = None,
        hosted_model: str | None = None,
    ) -> None:
        """Stream the reply that `begin(chat, thread_id)` starts (a send, an edit, a regeneration) into the view."""
        live = LiveReply(
            sent_from_thread_id=self._open_thread_id, new_branch=new_branch, edit_of=edit_of, hosted_model=hosted_model
        )
        self._live = live
        self._set_streaming(True)
        self._say("")
        chat = self._session.chat

        def stream(report: Report) -> None:
            """Runs on the replies thread; reports ReplyStarted, coalesced TokenEvents, ReplyFinished, ThreadRetitled."""
            thread_id = live.sent_from_thread_id or chat.new_thread().id
            pending: list[str] = []
            last_report = time.monotonic()
            stop_repeated = False
            for event in begin(chat, thread_id):
                if isinstance(event, TokenEvent):
                    if live.stop_requested.is_set() and not stop_repeated:
                        chat.stop()  # a stop sent before the worker began this reply is not seen by it: say it again
                        stop_repeated = True
                    pending.append(event.text)
                    if time.monotonic() - last_report >= TEXT_INTERVAL_S:
                        report(TokenEvent("".join(pending)))
                        pending.clear()
                        last_report = time.monotonic()
                else:
                    if pending:
                        report(TokenEvent("".join(pending)))
                        pending.clear()
                    report(event)

        self._replies.run_reporting(
            stream,
            on_progress=lambda event: self._on_stream_event(live, event),
            on_error=lambda error: self._on_reply_failed(live, text, error),
        )

    def _on_stream_event(self, live: LiveReply, event: ChatEvent) -> None:
        if isinstance(event, ReplyStarted):
            self._on_reply_started(live, event)
        elif isinstance(event, TokenEvent):
            if not live.text and not live.stop_requested.is_set():
                self._say("")  # the model has started: "Starting the model…" is over
            live.text += event.text
            if live.started is not None and self._open_thread_id == live.thread_id:
                self.conversation.update_live_text(live.started.reply, live.text)
        elif isinstance(event, ReplyFinished):
            self._on_reply_finished(live, event)
        elif isinstance(event, ThreadRetitled):
            self.refresh_threads()
        elif isinstance(event, ThreadCompacted):
            live.compacted = True
            self._say("This thread outgrew the model's window: older turns were summarised for it (all are kept).")

    def _on_reply_started(self, live: LiveReply, event: ReplyStarted) -> None:
        live.started = event
        if live.new_branch and self._open_thread_id == live.thread_id:
            self.open_thread(live.thread_id)  # the new branch replaces the one shown, arrows and all
        elif self._open_thread_id == live.sent_from_thread_id:  # still looking where the message was sent from
            if self._open_thread_id is None:  # the draft became a thread; its title arrives with the listing
                self._open_thread_id = event.reply.thread_id
                self._settings.setValue("session/lastThread", self._open_thread_id)
            self.conversation.add_message(event.user_message)
            self.conversation.add_message(event.reply, live_text="")
            self.conversation.scroll_to_bottom()
        loading = live.hosted_model is None and not self._session.chat.model_in_memory(event.reply.model or "")
        self._say(f"Loading {event.reply.model}…" if loading else "")
        self.refresh_threads()

    def _on_reply_finished(self, live: LiveReply, finished: ReplyFinished) -> None:
        """The reply is stored. The service may still be naming the thread; a next message queues behind that."""
        self._end_live(live)
        reply = finished.reply
        if self._open_thread_id == reply.thread_id:
            self.conversation.update_message(reply)
            self._load_privacy(reply.thread_id)  # a hosted reply (an upgrade, a fallback) adds to the ledger
            self.attachments.show_citations_of(reply)
            if live.compacted:
                self.open_thread(reply.thread_id)  # shows the summary card where the fold is
        if reply.timings is not None and reply.timings.tokens_per_s > 0:
            self.status_model.setText(reply_status_line(reply.model or self._session.chat.model_name, reply))
        self._indexing.run(self._session.search.index_pending, on_error=self._indexing_failed)
        if reply.status == MessageStatus.COMPLETE and not live.compacted:
            self._say("")
        elif reply.error == "stopped":
            self._say("Stopped. The reply so far is kept.")
        else:
            self._say(f"The reply did not finish: {reply.error}", error=True)
        self.refresh_threads()

    def _on_reply_failed(self, live: LiveReply, text: str, error: BaseException) -> None:
        self._end_live(live)
        if isinstance(error, (ConsentRequired, OfflineMode)):
            self._say(hosted_refusal(error, live.hosted_model or "a hosted model"), error=True)
        else:
            self._say(f"Could not send: {describe(error)}", error=True)
        if live.started is None and live.edit_of is not None:
            self._begin_editing(live.edit_of, text)
        elif live.started is None and not self.composer.toPlainText():
            self.composer.setPlainText(text)  # nothing was stored: give the user their words back
        elif live.thread_id is not None and self._open_thread_id == live.thread_id:
            self.open_thread(live.thread_id)  # show what the store holds now
        self.refresh_threads()

    def _end_live(self, live: LiveReply) -> None:
        if self._live is live:  # not a newer reply the user has sent since
            self._live = None
            self._set_streaming(False)

    # Corrections and branches

    def start_editing(self, message_id: int) -> None:
        """Put a user message into the composer; sending it makes a new branch (the original is kept)."""
        card = self.conversation.card_for(message_id)
        if card is not None:
            self._begin_editing(message_id, card.message.content)

    def edit_last_message(self) -> None:
        """Ctrl+↑: edit the last message the user wrote on the branch shown."""
        mine = [card for card in self.conversation.cards() if card.message.role == Role.USER]
        if mine:
            self.start_editing(mine[-1].message.id)

    def _begin_editing(self, message_id: int, text: str) -> None:
        if self._live is not None:
            self._hint("A reply is still being written: press Esc to stop it first.")
            return
        if self._editing_message_id is None:
            self._draft_before_edit = self.composer.toPlainText()
        self._editing_message_id = message_id
        self.composer.setPlainText(text)
        self.composer.moveCursor(QTextCursor.MoveOperation.End)
        self.composer.setFocus()
        self.editing_bar.show_notice(
            "Editing your message. Sending it starts a new version; the original is kept.", "Cancel  Esc"
        )

    def cancel_editing(self) -> None:
        """Leave editing and give back what the composer held before."""
        if self._editing_message_id is None:
            return
        self._editing_message_id = None
        self.editing_bar.hide_notice()
        self.composer.setPlainText(self._draft_before_edit)
        self._draft_before_edit = ""

    @property
    def editing_message_id(self) -> int | None:
        return self._editing_message_id

    def show_branch(self, message_id: int) -> None:
        """‹ / ›: show the branch through `message_id`; the store remembers it as the thread's current branch."""
        if self._live_in(self._open_thread_id):
            self._hint("Wait for the reply to finish (or press Esc) before switching versions.")
            return
        self.open_thread(self._open_thread_id, at_message_id=message_id)

    def fork_from(self, message_id: int) -> None:
        """Start a new thread holding a copy of the branch up to `message_id`, and open it."""
        store = self._session.store

        def forked(thread: Thread) -> None:
            self._say(f"Forked into “{thread.title}”.")
            self.open_thread(thread.id)
            self.refresh_threads()

        self._queries.run(lambda: store.fork(message_id), on_result=forked, on_error=self._report)

    def _escape(self) -> None:
        if self._live is not None:
            self.stop_reply()
        else:
            self.cancel_editing()

    def stop_reply(self) -> None:
        """Stop the streaming reply (Esc); what was written so far is kept and marked interrupted."""
        live = self._live
        if live is None:
            return
        live.stop_requested.set()
        self._session.chat.stop()
        self._say("Stopping…")

    def copy_last_reply(self) -> None:
        cards = [card for card in self.conversation.cards() if card.message.role == Role.ASSISTANT]
        if cards:
            QGuiApplication.clipboard().setText(cards[-1].body_text())
            self._say("Copied the last reply.")

    def _set_streaming(self, streaming: bool) -> None:
        self.send_button.setText("■  Stop   Esc" if streaming else "Send")
        self.send_button.setAccessibleName("Stop" if streaming else "Send")
        self.send_button.setToolTip("Stop the reply (Esc)" if streaming else self.composer.send_hint())
        self.send_button.setProperty("streaming", streaming)
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)

    def _live_in(self, thread_id: int) -> bool:
        return self._live is not None and self._live.thread_id == thread_id

    # Privacy and hosted models

    def _load_privacy(self, thread_id: int) -> None:
        routing = self._session.routing
        self._queries.run(
            lambda: load_privacy(routing, thread_id), on_result=self._show_privacy, on_error=self._report
        )

    def _show_privacy(self, state: PrivacyState) -> None:
        if state.thread_id == self._open_thread_id:
            self.privacy.show_state(state)

    def set_privacy_rule(self, thread_id: int, rule: str) -> None:
        """The header's privacy picker: store the thread's new rule, then show what the store holds."""
        routing, chosen = self._session.routing, PrivacyRule(rule)

        def change() -> PrivacyState:
            routing.set_privacy_rule(thread_id, chosen)
            return load_privacy(routing, thread_id)

        def changed(state: PrivacyState) -> None:
            self._show_privacy(state)
            self._say(f"Privacy of this thread: {RULE_LABELS[state.rule]}.")

        def failed(error: BaseException) -> None:
            self._report(error)
            self._load_privacy(thread_id)  # the picker goes back to the stored rule

        self._queries.run(change, on_result=changed, on_error=failed)

    def _load_stronger_models(self) -> None:
        """What "Ask a stronger model" offers; read again whenever the model manager closes."""
        session, current = self._session, self._session.chat.model_name

        def choices() -> list[str]:
            return stronger_models(session.models.installed(), session.providers.list(), current)

        def show(models: list[str]) -> None:
            self.conversation.stronger_models = models

        self._queries.run(choices, on_result=show, on_error=self._report)

    def ask_stronger_model(self, message_id: int, model: str) -> None:
        """Re-run the turn of reply `message_id` with `model`: the new reply is a sibling branch. A hosted model is
        asked only where the thread's privacy rule allows it, after a confirmation when the rule is "ask"."""
        if self._live is not None:
            self._hint("A reply is still being written: press Esc to stop it first.")
            return
        card = self.conversation.card_for(message_id)
        if card is None:
            return
        if not ModelRef.parse(model).hosted:
            self.regenerate(message_id, model=model)
            return
        router, routing, thread_id = self._session.router, self._session.routing, card.message.thread_id
        self._queries.run(
            lambda: (router.offline(), routing.privacy_rule(thread_id)),
            on_result=lambda found: self._upgrade_if_allowed(message_id, model, *found),
            on_error=self._report,
        )

    def _upgrade_if_allowed(self, message_id: int, model: str, offline: bool, rule: PrivacyRule) -> None:
        if offline:
            self._say(hosted_refusal(OfflineMode(), model), error=True)
        elif rule == PrivacyRule.LOCAL_ONLY:
            self._say(hosted_refusal(ConsentRequired(), model), error=True)
        elif rule == PrivacyRule.ASK and not self.confirm_hosted(model):
            self._say(f"Nothing was sent to {model}: this thread stayed on this device.")
        else:
            self.regenerate(message_id, model=model, allow_hosted=True)

    def confirm_hosted(self, model: str) -> bool:
        """The per-turn yes a thread whose rule is "ask" needs before its content leaves the device."""
        answer = QMessageBox.question(
            self,
            "Send to a hosted model?",
            f"Send this thread to {model}? It will leave this device.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # The starter model

    def _show_model_state(self) -> None:
        installed = self._session.models.is_installed(self._session.settings.default_model)
        self.starter_card.setVisible(not installed)
        model = self._session.chat.model_name
        self.status_model.setText(model if installed else f"{model} · not installed")

    def open_model_manager(self) -> ModelManagerDialog:
        """The model manager, modal; the model state is shown again when it closes."""
        dialog = ModelManagerDialog(self._session, self)
        dialog.finished.connect(lambda _result: (self._show_model_state(), self._load_stronger_models()))
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        """The settings, modal; OK saves them and applies them at once."""
        dialog = SettingsDialog(self._session.settings, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.chosen()))
        dialog.open()
        return dialog

    def apply_settings(self, chosen: Settings) -> None:
        """Save what the settings dialog changed (onto the file as it is now: the CLI may have changed other keys)
        and apply it: theme, send key and attachment limit now; saved model states when the model next starts."""
        edited = {
            name: getattr(chosen, name)
            for name in ("theme", "send_key", "attachment_max_mb", "kv_cache", "kv_cache_budget_mb")
        }
        data_dir = self._session.data_dir
        save_settings(data_dir, load_settings(data_dir).with_changes(**edited))
        self._session.settings = self._session.settings.with_changes(**edited)
        self.composer.send_key = chosen.send_key
        self.composer_hint.setText(self.composer.send_hint())
        self._session.attachments.max_bytes = chosen.attachment_max_mb * 1024 * 1024
        self.apply_theme()

    def download_starter_model(self) -> None:
        self.starter_card.set_running()
        models, name = self._session.models, self._session.settings.default_model

        def pull(report: Report):
            last = {"at": 0.0, "phase": ""}

            def progress(done: int, total: int, phase: str) -> None:
                now = time.monotonic()
                if phase != last["phase"] or done >= total or now - last["at"] >= PROGRESS_INTERVAL_S:
                    last.update(at=now, phase=phase)
                    report((done, total, phase))

            return models.pull(name, progress=progress)

        self._downloads.run_reporting(
            pull,
            on_progress=lambda values: self.starter_card.set_progress(*values),
            on_result=lambda _path: self._on_model_installed(),
            on_error=lambda error: self.starter_card.set_failed(describe(error)),
        )

    def _on_model_installed(self) -> None:
        self._show_model_state()
        self._say("The starter model is ready. Ask anything.")
        self.composer.setFocus()

    # Messages to the user

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_note.set_full_text(text)
        self.status_note.setObjectName("statusError" if error else "statusNote")
        self.status_note.style().unpolish(self.status_note)
        self.status_note.style().polish(self.status_note)

    def _report(self, error: BaseException) -> None:
        self._say(describe(error), error=True)

    def _indexing_failed(self, error: BaseException) -> None:
        """Without the embedding model, search is by keyword only; the search box says so, not every reply."""
        if not isinstance(error, ModelUnavailable):
            self._report(error)

    def _hint(self, text: str) -> None:
        self.composer_hint.setText(text)
        self._hint_timer.start()

    # Closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._is_closed:
            self._is_closed = True
            self._settings.setValue("window/geometry", self.saveGeometry())
            self._settings.setValue("window/splitter", self.splitter.saveState())
            self._settings.setValue("window/details", self.details_button.isChecked())
            self._settings.setValue("session/lastThread", self._open_thread_id or 0)
            self._settings.sync()
            self.stop_reply()
            self._queries.shutdown()
            self._replies.shutdown()
            self._indexing.shutdown()
            self._downloads.shutdown(timeout_s=0)  # a download has no cancel; its thread ends with the process
            self.attachments.shutdown()
            self._session.close()
            self.closed.emit()
        event.accept()
