"""The main window: the layout of thread list, conversation, composer and status bar over one Session, and the
wiring between them. Each job has its own room: the streaming reply (reply_controller), editing a message
(edit_mode), hosted-model consent (hosted_consent), what the user is told (status), the sidebar's organising
(sidebar), attachments (attachments).

Every service call runs on a TaskRunner's background thread — reads on the read lane, writes on the write lane —
and results come back on the GUI thread before they touch widgets. After a write, the change broadcast
(app.services.changes, relayed by app.gui.change_relay) tells each view what to refresh.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QByteArray, QMargins, QPoint, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.domain import Message, Role, Thread
from app.core.errors import ConsentRequired, ModelUnavailable, OfflineMode
from app.core.routing import ConsentCheck, HostedPermission, ModelRef, PrivacyRule
from app.gui import hosted_consent, theme
from app.gui.attachments import AttachmentController
from app.gui.change_relay import ChangeRelay
from app.gui.code_block import preload_lexers
from app.gui.composer import Composer
from app.gui.conversation import READABLE_WIDTH_PX, ConversationView
from app.gui.details_panel import DetailsPanel
from app.gui.edit_mode import EditMode
from app.gui.gc_guard import GuiThreadCollector
from app.gui.hosted_consent import hosted_refusal
from app.gui.insights_dialog import InsightsDialog
from app.gui.mcp_servers_page import McpServersDialog
from app.gui.model_manager import ModelManagerDialog
from app.gui.notices import Notices
from app.gui.personal import PersonalControls
from app.gui.privacy import rule_label, stronger_models
from app.gui.quick_switcher import QuickSwitcher
from app.gui.ratings import RatingController
from app.gui.reply_controller import ReplyController
from app.gui.session_closer import SessionCloser
from app.gui.settings_dialog import SettingsDialog
from app.gui.sidebar import Sidebar
from app.gui.starter_card import StarterModelCard
from app.gui.status import HintLabel, StatusBridge, StatusLine, explain
from app.gui.tasks import Report, TaskRunner
from app.gui.thread_header import ThreadHeader
from app.gui.thread_tools import ThreadToolsController
from app.gui.tool_card import ToolCards
from app.gui.window_keys import WindowKeys
from app.platform.settings import Settings
from app.services.changes import Changes
from app.services.session import Session
from app.services.threads import PrivacyState, ThreadPage

PROGRESS_INTERVAL_S = 0.1
TEXT_SCALE_LIMITS = (0.7, 2.0)
NEW_THREAD_LABEL = QT_TRANSLATE_NOOP("MainWindow", "New thread")
DETAILS_WIDTH_PX = 280
DETAILS_FROM_WIDTH_PX = 1100  # a first start in a narrower window leaves Details (Ctrl+I) closed: the centre needs it
FIRST_RUN_SIZE = QSize(1180, 760)
FRAME_ALLOWANCE = QMargins(8, 40, 8, 8)  # the window manager's borders and title bar, unknown before the first show

log = logging.getLogger(__name__)


def fitted_onto(geometry: QRect, available: QRect) -> QRect:
    """`geometry` shrunk and moved as little as it takes to lie, frame and all, in a screen's free area."""
    room = available.marginsRemoved(FRAME_ALLOWANCE)
    fitted = QRect(geometry.topLeft(), geometry.size().boundedTo(room.size()))
    fitted.moveLeft(min(max(fitted.left(), room.left()), room.right() + 1 - fitted.width()))
    fitted.moveTop(min(max(fitted.top(), room.top()), room.bottom() + 1 - fitted.height()))
    return fitted


def first_run_geometry(available: QRect) -> QRect:
    """The usual first size centred on the screen, fitted onto it: at 1024x700 the status bar and the window's
    right edge would otherwise fall off the screen."""
    geometry = QRect(QPoint(), FIRST_RUN_SIZE)
    geometry.moveCenter(available.marginsRemoved(FRAME_ALLOWANCE).center())
    return fitted_onto(geometry, available)


def reply_status_line(model: str, reply: Message) -> str:
    """For the status bar, e.g. "smollm2-135m-instruct · 46.2 tok/s · TTFT 0.13 s"."""
    parts = [model]
    if reply.timings is not None and reply.timings.tokens_per_s > 0:
        parts += [f"{reply.timings.tokens_per_s:.1f} tok/s", f"TTFT {reply.timings.ttft_s:.2f} s"]
    return " · ".join(parts)


class MainWindow(QMainWindow):
    """`settings` holds window state (geometry, splitter, last thread); by default an INI file in the data dir.

    The window owns the session from here on: closing it stops any reply, hides the window at once, and closes the
    session once running background calls have ended.

    Signals:
        closed(): emitted on the GUI thread once the window has closed and the session is shut down.
    """

    closed = Signal()

    def __init__(self, session: Session, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self._collector = GuiThreadCollector(self)  # cyclic garbage is collected on the GUI thread only
        self._session = session
        self._settings = settings or QSettings(
            str(session.data_dir / "window.ini"), QSettings.Format.IniFormat
        )
        self.status = StatusBridge(self)  # every widget tells the user through this one bridge
        self._changes = ChangeRelay(session.changes, self)
        self._changes.changed.connect(self._on_changes)
        self._reads = TaskRunner(self, name="reads", status=self.status)  # in order: a stale listing never lands late
        self._writes = TaskRunner(self, name="writes", status=self.status)
        self._downloads = TaskRunner(self, name="downloads", status=self.status)
        self._indexing = TaskRunner(self, name="indexing", status=self.status)  # embeds messages for search
        self._closer = SessionCloser()
        self._closer.done.connect(self.closed)
        self._open_thread_id: int | None = None
        self._view_request = 0
        self._is_closed = False
        self._splitter_restored = False

        self._base_point_size = QApplication.instance().font().pointSizeF()
        self._text_scale = float(self._settings.value("view/textScale", 1.0) or 1.0)
        self.setWindowTitle(self.tr("Threadloom"))
        self.setObjectName("mainWindow")
        self._build()
        self.keys = WindowKeys(self)  # the window's keys, its menus and the status bar's buttons
        self.actions_by_name = self.keys.actions
        self.file_menu = self.keys.file_menu
        self.transfers = self.keys.transfers
        self.apply_theme()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.apply_theme)
        self._restore_layout()
        self._show_model_state()
        self._load_stronger_models()
        self._warmed_up = False
        self._restore_last_thread(int(self._settings.value("session/lastThread", 0) or 0) or None)
        self.replies.preload()  # starting a worker mid-reply stalls the window (a fork of this process)

    def _restore_last_thread(self, thread_id: int | None) -> None:
        """Open the thread open at the last close (if it is still listed), then read the listing: reads run in
        order, so its page is read before the whole listing (~0.2 s at 10,000 threads) and shows at once."""
        if thread_id is None:
            self.refresh_threads()
            return
        threads = self._session.threads

        def restore(listed: bool) -> None:
            if listed and self._open_thread_id is None:
                self.open_thread(thread_id)
            self.refresh_threads()

        self._reads.run(lambda: threads.is_listed(thread_id), on_result=restore)

    def _warm_up_once(self) -> None:
        """Background work the first view must not wait for, started once the thread to show is on screen (or there
        is none): the document readers' and lexers' imports (~2 s each, measured at cold start) and the indexing would
        otherwise hold the read lane and the interpreter while the last thread is read and laid out."""
        if self._warmed_up:
            return
        self._warmed_up = True
        self._index_for_search()  # messages imported or written before this window (or by the CLI) included
        self._reads.run(self._session.attachments.preload_readers)  # not while a reply streams (see preload_readers)
        # the first code block of a reply would wait for its lexer's import; once the imports above are done (the
        # lane runs in order), what they made lives as long as the window and is frozen out of collections
        self._reads.run(preload_lexers, on_result=lambda _none: self._collector.settled())

    # Layout

    def _build(self) -> None:
        sidebar = self.sidebar = Sidebar(
            self._session, reads=self._reads, writes=self._writes, status=self.status, changes=self._changes
        )
        sidebar.new_thread_requested.connect(self.new_thread)
        sidebar.threads_loaded.connect(self._show_threads)
        sidebar.hit_chosen.connect(self.open_search_hit)
        sidebar.thread_restored.connect(self.open_thread)
        self.thread_list = sidebar.thread_list
        self.thread_list.thread_chosen.connect(self.open_thread)
        self.thread_list.thread_activated.connect(lambda _id: self.composer.setFocus())  # arrows keep the list's focus
        self.thread_list.rename_requested.connect(self.rename_thread)
        self.thread_list.delete_requested.connect(self.delete_thread)

        centre = self.centre = QWidget()
        centre.setObjectName("centre")
        self.header = ThreadHeader()
        self.title_label = self.header.title.label  # a long title ends in "…" rather than widening the column
        self.header.title.renamed.connect(self._rename_open_thread)
        self.model_chip = self.header.model_chip
        self.model_chip.model_chosen.connect(self.set_thread_model)
        self.model_chip.manage_requested.connect(self.open_model_manager)
        self._show_model(None)
        self.privacy = self.header.privacy
        self.privacy.rule_chosen.connect(self.set_privacy_rule)
        self._show_title(self.tr(NEW_THREAD_LABEL))
        self.personal = PersonalControls(
            self._session, reads=self._reads, writes=self._writes, models=self._indexing, status=self.status,
            window=self,
        )  # fmt: skip
        self.personal.open_requested.connect(self._open_personal)
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
        self.replies = ReplyController(
            self._session, self.conversation, shown_thread=lambda: self._open_thread_id, status=self.status,
            confirm_hosted=lambda model: self.confirm_hosted(model), parent=self,
        )  # fmt: skip
        self._tool_cards = ToolCards(self._session.tools, self.replies.answer_tool_call, reads=self._reads)
        self.conversation.card_shown.connect(self._tool_cards.decorate)
        self.ratings = RatingController(
            self._session.insights, self.conversation, reads=self._reads, writes=self._writes, parent=self
        )
        self.replies.streaming_changed.connect(self._set_streaming)
        self.replies.thread_created.connect(self._adopt_thread)
        self.replies.reload_requested.connect(self.open_thread)
        self.replies.finished.connect(self._on_reply_finished)
        self.replies.unsent.connect(self._give_back)
        self.replies.draft_incognito = self.personal.incognito.isChecked

        self.composer = Composer(send_key=self._session.settings.send_key)
        self.composer.submitted.connect(self.send_message)
        self.edit_mode = EditMode(self.composer, self)
        self.editing_bar = self.edit_mode.bar
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName(self.tr("Send"))
        self.send_button.setAccessibleDescription(self.tr("Send the message, or stop the reply being written (Esc)"))
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._send_or_stop)
        self.send_button.setMinimumWidth(110)  # as wide as "Stop  Esc", so the composer does not jump
        self.composer_hint = HintLabel(self.status, self.composer.send_hint)
        entry = QHBoxLayout()
        entry.setSpacing(8)
        entry.addWidget(self.composer, 1)
        entry.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        column = QVBoxLayout()
        column.setSpacing(10)
        self.notices = Notices(self._session, reads=self._reads, parent=self)
        column.addWidget(self.notices)
        column.addWidget(self.starter_card)
        column.addWidget(self.conversation, 1)
        column.addWidget(self.editing_bar)
        self.attachments = AttachmentController(
            self._session, thread_id=lambda: self._open_thread_id, status=self.status, parent=self
        )
        self.attachments.thread_created.connect(self.open_thread)
        self.attachments.folders_synced.connect(self.notices.tell_links)
        self.attachments.accept_drops_on(self.conversation.viewport(), self.composer.viewport())
        column.addWidget(self.attachments.panel)
        column.addWidget(self.personal.memories_used)
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
        centre_layout.addWidget(self.header)
        centre_layout.addWidget(rule)
        centre_layout.addLayout(body, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.details = DetailsPanel()
        self.details_button = QPushButton(self.tr("Details"))
        self.details_button.setObjectName("detailsButton")
        self.details_button.setFlat(True)
        self.details_button.setCheckable(True)
        self.details_button.setToolTip(self.tr("Show or hide the thread's tags, metadata and attachments (Ctrl+I)"))
        self.details_button.setAccessibleName(self.tr("Details"))
        self.details_button.setAccessibleDescription(self.details_button.toolTip())
        self.details.tags_requested.connect(sidebar.edit_tags)
        self.details.metadata_requested.connect(sidebar.edit_metadata)
        self.details.system_prompt_requested.connect(self.personal.edit_system_prompt)
        self.thread_tools = ThreadToolsController(
            self.details, self._session.tools, reads=self._reads, writes=self._writes, parent=self
        )
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
        self.status_model.setAccessibleName(self.tr("Model status"))
        self.status_note = StatusLine(self.status)
        self.statusBar().addWidget(self.status_model)
        self.statusBar().addWidget(self.status_note, 1)
        self.statusBar().addPermanentWidget(self.personal.incognito)
        self.statusBar().addPermanentWidget(self.personal.new_thread_with)
        self.statusBar().setSizeGripEnabled(False)

    def apply_theme(self) -> None:
        """Palette and style sheet for the theme setting (called again when the desktop's scheme changes)."""
        theme.use(self._session.settings.theme)
        colours = theme.current()
        app = QApplication.instance()
        app.setPalette(theme.palette_for(colours))
        font = app.font()
        font.setPointSizeF(self._base_point_size * self._text_scale)
        app.setFont(font)
        self.setStyleSheet(theme.style_sheet(colours, scale=self._text_scale))
        if self._open_thread_id is not None and not self.replies.is_streaming:
            self.open_thread(self._open_thread_id)  # headers carry colours: draw them again

    def scale_text(self, factor: float | None) -> None:
        """Ctrl+= / Ctrl+- make all text larger or smaller (None: the usual size); remembered in window.ini."""
        low, high = TEXT_SCALE_LIMITS
        self._text_scale = 1.0 if factor is None else min(high, max(low, self._text_scale * factor))
        self._settings.setValue("view/textScale", self._text_scale)
        self.apply_theme()
        self.status.show_info(self.tr("Text size {percent}%.").format(percent=round(self._text_scale * 100)))

    def _restore_layout(self) -> None:
        """The size and place of the last close, fitted onto a screen that is there now (a monitor unplugged, a
        lower resolution): restoreGeometry alone leaves the frame a few pixels over the edge."""
        geometry = self._settings.value("window/geometry")
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            self.setGeometry(first_run_geometry(self.screen().availableGeometry()))
        elif not (self.isMaximized() or self.isFullScreen()):
            self.setGeometry(fitted_onto(self.geometry(), self.screen().availableGeometry()))

    def showEvent(self, event) -> None:
        """Splitter sizes are restored once the window has its real size; earlier, Qt rescales them."""
        super().showEvent(event)
        if self._splitter_restored:
            return
        self._splitter_restored = True
        QTimer.singleShot(0, self.composer.setFocus)  # typing at once goes into the composer
        shown = self._settings.value("window/details", self.width() >= DETAILS_FROM_WIDTH_PX, type=bool)
        self.details_button.setChecked(shown)
        self.details.setVisible(shown)  # toggled() does not fire when the button was already in that state
        self.attachments.panel.show_summary(not shown)
        state = self._settings.value("window/splitter")
        if not (isinstance(state, QByteArray) and self.splitter.restoreState(state)):
            self.splitter.setSizes([270, max(400, self.splitter.width() - 270 - DETAILS_WIDTH_PX), DETAILS_WIDTH_PX])

    # Changes: what each write changed, for the views that show it (the sidebar listens for the thread list itself)

    def _on_changes(self, changes: Changes) -> None:
        shown = self._open_thread_id
        if shown is None:
            return
        if shown in changes.privacy:
            self._load_privacy(shown)
        if shown in changes.messages and not self.replies.is_live_in(shown):
            self._refresh_open_thread()

    # Threads

    def refresh_threads(self) -> None:
        self.sidebar.refresh()  # through the filter chips; lands in _show_threads

    def _show_threads(self, threads: list[Thread]) -> None:
        self.thread_list.show_threads(
            threads, selected_id=self._open_thread_id, now=datetime.now().astimezone(), rows=self.sidebar.listed_rows
        )  # the rows of this listing, grouped on the read lane
        by_id = {thread.id: thread for thread in threads}
        if self._open_thread_id is None:
            QTimer.singleShot(0, self._warm_up_once)  # no thread to wait for
        if self._open_thread_id in by_id:
            self._show_title(by_id[self._open_thread_id].title)
            self.details.show_thread(by_id[self._open_thread_id])  # tags or metadata may have just changed
        elif (
            self._open_thread_id is not None
            and not self.replies.is_live_in(self._open_thread_id)
            and not self.sidebar.is_filtered
        ):
            # Deleted or archived here or by another process (a filter only hides it from the list) — or only made
            # after this listing was read: ask the store now (reads run in order) before closing it.
            thread_id, threads = self._open_thread_id, self._session.threads
            self._reads.run(
                lambda: threads.is_listed(thread_id),
                on_result=lambda listed: listed or self._close_if_open(thread_id),
            )

    def _close_if_open(self, thread_id: int) -> None:
        if self._open_thread_id == thread_id:
            self.open_thread(None)

    def new_thread(self) -> None:
        """Start a draft: the thread is created when its first message is sent, so no empty threads pile up."""
        self.open_thread(None)
        self.composer.setFocus()

    def open_quick_switcher(self) -> None:
        """Ctrl+K: the switcher over every listed thread (read in the background, then shown)."""
        threads = self._session.threads

        def show(listing) -> None:
            switcher = self.quick_switcher = QuickSwitcher(listing.threads, self)
            switcher.thread_chosen.connect(self.open_thread_and_focus)
            switcher.finished.connect(lambda _result: QTimer.singleShot(0, self._focus_composer))
            switcher.open()

        self._reads.run(threads.listing, on_result=show)

    def _focus_composer(self) -> None:
        self.activateWindow()  # back from a dialog
        self.composer.setFocus()

    def open_thread_and_focus(self, thread_id: int | None) -> None:
        """Open a thread the user picked (a click or Enter in the list, Ctrl+K) and put the cursor in the composer."""
        if thread_id != self._open_thread_id:
            self.open_thread(thread_id)
        self.composer.setFocus()

    def open_thread(self, thread_id: int | None, *, at_message_id: int | None = None, highlight: bool = False) -> None:
        """Show a thread (None: a new draft). With `at_message_id`, first switch to the branch through that message
        and show it there (tinted if `highlight`, as for a search hit)."""
        if thread_id != self._open_thread_id:
            self.cancel_editing()
        self._open_thread_id = thread_id
        self.attachments.show_thread(thread_id)
        self._view_request += 1
        # The last thread goes into window.ini on close, not here: QSettings writes its file on the GUI thread
        # (~25 ms measured), a stall while a reply streams.
        self.thread_list.select_thread(thread_id)
        if thread_id is None:
            self._show_title(self.tr(NEW_THREAD_LABEL))
            self._show_model(None)
            self.details.show_thread(None)
            self.thread_tools.show_for(None)
            self.personal.incognito.show_for(None)
            self.personal.show_memories_used(None)
            self.attachments.show_citations_of(None)
            self.privacy.show_draft()
            self.conversation.show_empty()
            return
        self._show_title(self.thread_list.title_of(thread_id) or "")
        self._load_privacy(thread_id)
        request, threads = self._view_request, self._session.threads

        def read_page(_switched=None) -> None:
            self._reads.run(
                lambda: threads.page(thread_id),
                on_result=lambda page: self._show_thread(
                    request, page, focus_message_id=at_message_id, highlight=highlight
                ),
            )

        if at_message_id is None:
            read_page()
        else:  # storing which branch is current is a write: the write lane, then the read
            self._writes.run(lambda: threads.switch_branch(at_message_id), on_result=read_page)

    def _refresh_open_thread(self) -> None:
        """Read the open thread again after a change; the cards update in place when the page kept its shape."""
        request, thread_id, threads = self._view_request, self._open_thread_id, self._session.threads
        self._reads.run(
            lambda: threads.page(thread_id), on_result=lambda page: self._show_thread(request, page, refresh=True)
        )

    def _adopt_thread(self, thread_id: int) -> None:
        """The draft on screen became this thread (its first message was stored); it is shown already."""
        self._open_thread_id = thread_id

    def _open_personal(self, thread_id: int, message_id: int) -> None:
        """A memory's source message (tinted, on its branch), or a thread as it is (message_id 0)."""
        if message_id:
            self.open_search_hit(thread_id, message_id)
        else:
            self.open_thread(thread_id)

    def open_search_hit(self, thread_id: int, message_id: int) -> None:
        """Open the thread at the hit's message, on the hit's branch, tinted for a moment."""
        self.open_thread(thread_id, at_message_id=message_id, highlight=True)

    def _show_thread(
        self,
        request: int,
        page: ThreadPage,
        *,
        focus_message_id: int | None = None,
        highlight: bool = False,
        refresh: bool = False,
    ) -> None:
        if request != self._view_request:
            return  # the user has opened something else since
        if page.thread is not None:
            self._show_title(page.thread.title)  # a restored thread is shown before the listing is read
        self._show_model(page.thread.model if page.thread else None)
        self.details.show_thread(page.thread)
        self.thread_tools.show_for(page.thread)
        self.personal.incognito.show_for(page.thread)
        replies = [message for message in page.messages if message.role == Role.ASSISTANT]
        self.attachments.show_citations_of(replies[-1] if replies else None)
        self.personal.show_memories_used(replies[-1] if replies else None)
        messages = page.messages
        live, live_texts = self.replies.live_messages(page.thread_id)
        if live and not any(message.id == live[-1].id for message in messages):  # read before the reply began
            messages = [*messages, *live]
        if refresh and self.conversation.refresh_messages(messages, positions=page.positions, summary=page.summary):
            return
        self.conversation.show_messages(
            messages,
            live_texts=live_texts,
            positions=page.positions,
            focus_message_id=focus_message_id,
            highlight=highlight,
            summary=page.summary,
        )
        QTimer.singleShot(0, self._warm_up_once)  # once the thread is shown

    def edit_summary(self, summary_id: int) -> None:
        card = self.conversation.summary_card
        text, ok = QInputDialog.getMultiLineText(
            self, "Edit summary", "What the model is told about the earlier turns:", card.summary.content if card else ""
        )
        if ok and text.strip():
            threads, thread_id = self._session.threads, self._open_thread_id
            self._writes.run(lambda: threads.edit_summary(thread_id, summary_id, text.strip()))

    def undo_summary(self, summary_id: int) -> None:
        threads, thread_id = self._session.threads, self._open_thread_id
        self._writes.run(lambda: threads.undo_summary(thread_id, summary_id))

    def rename_thread(self, thread_id: int, title: str) -> None:
        threads = self._session.threads
        self._writes.run(lambda: threads.rename(thread_id, title))

    def delete_thread(self, thread_id: int) -> None:
        """Delete at once, with Undo in the sidebar's banner (a soft delete: nothing is lost until purged)."""
        if self.replies.is_live_in(thread_id):
            self.status.show_warning(
                self.tr("A reply is being written in this thread: stop it (Esc) before deleting the thread.")
            )
            return
        if self._open_thread_id == thread_id:
            self.open_thread(None)
        self.sidebar.delete_thread(thread_id)

    def delete_current_thread(self) -> None:
        """Delete in the thread list: the thread selected there."""
        thread_id = self.thread_list.current_thread_id()
        if thread_id is not None:
            self.delete_thread(thread_id)

    def _show_title(self, title: str) -> None:
        self.header.title.set_title(title, editable=self._open_thread_id is not None)
        self.header.fit()
        self.setWindowTitle(self.tr("{0} — Threadloom").format(title) if title else self.tr("Threadloom"))

    def _show_model(self, model: str | None) -> None:
        """The header's chip: the model the open thread's replies come from, and whether it runs here."""
        self.model_chip.show_model(model or self._session.chat.model_name)
        self.model_chip.has_thread = self._open_thread_id is not None
        self.header.fit()

    def _rename_open_thread(self, title: str) -> None:
        if self._open_thread_id is not None:
            self._show_title(title)
            self.rename_thread(self._open_thread_id, title)
        self.composer.setFocus()

    def rename_open_thread_in_place(self) -> None:
        """F2 (outside the thread list) or a double-click on the title: rename the open thread in the header."""
        self.header.title.start_editing()

    def set_thread_model(self, model: str) -> None:
        """The model chip's menu: the open thread's replies come from `model` from its next turn on."""
        thread_id, threads = self._open_thread_id, self._session.threads
        if thread_id is None:
            return

        def changed(thread: Thread) -> None:
            if thread.id == self._open_thread_id:
                self._show_model(thread.model)
            self.status.show_info(self.tr("This thread's replies now come from {model}.").format(model=thread.model))

        self._writes.run(lambda: threads.set_model(thread_id, model), on_result=changed)

    @property
    def open_thread_id(self) -> int | None:
        """The thread shown (None: a draft)."""
        return self._open_thread_id

    # Sending and streaming (the reply itself is the ReplyController's)

    @property
    def is_streaming(self) -> bool:
        return self.replies.is_streaming

    @property
    def is_loading(self) -> bool:
        """A thread listing or a thread's messages (or the branch switch before them) are still on their way."""
        return self._reads.busy or self._writes.busy or self.sidebar.refresh_pending

    @property
    def is_settled(self) -> bool:
        """Nothing in flight: no reply, no thread naming after one, no listing, no write."""
        return not self.replies.busy and not self.is_loading

    def _send_or_stop(self) -> None:
        if self.replies.is_streaming:
            self.stop_reply()
        else:
            self.send_message()

    def _refuse_while_streaming(self) -> bool:
        if self.replies.is_streaming:
            self.status.show_hint(self.tr("A reply is still being written: press Esc to stop it first."))
        return self.replies.is_streaming

    def send_message(self) -> None:
        if self._refuse_while_streaming():
            return
        text = self.composer.toPlainText()
        if not text.strip():
            self.status.show_hint(self.tr("Type a message first."))
            return
        self.composer.clear()
        edit_of = self.edit_mode.message_id
        if edit_of is None:
            self.replies.send(text)
            return
        self.cancel_editing()  # gives back the draft the user had before choosing Edit
        self.replies.send_edit(edit_of, text)

    def regenerate(self, message_id: int, *, model: str | None = None, allow_hosted: bool = False) -> None:
        """Write another reply in place of `message_id`; the old one stays as a sibling (‹ k / n ›). With `model`,
        that model writes it (an upgrade); `allow_hosted` is the user's yes for this turn."""
        if not self._refuse_while_streaming():
            self.replies.regenerate(message_id, model=model, allow_hosted=allow_hosted)

    def stop_reply(self) -> None:
        """Stop the streaming reply (Esc); what was written so far is kept and marked interrupted."""
        self.replies.stop()

    def _on_reply_finished(self, reply: Message) -> None:
        """The reply is stored; the views refresh from the change it published. Here: speed, and search indexing."""
        if reply.timings is not None and reply.timings.tokens_per_s > 0:
            self.status_model.setText(reply_status_line(reply.model or self._session.chat.model_name, reply))
        self._index_for_search()
        focused = QApplication.focusWidget()
        if focused is None or focused is self.send_button or self.conversation.isAncestorOf(focused):
            self.composer.setFocus()  # the next message can be typed at once (not if the user is typing elsewhere)

    def _give_back(self, text: str, edit_of: int | None) -> None:
        """Nothing was stored: the user's words go back where they were typed."""
        if edit_of is not None:
            self._begin_editing(edit_of, text)
        elif not self.composer.toPlainText():
            self.composer.setPlainText(text)

    def _set_streaming(self, streaming: bool) -> None:
        self.send_button.setText(self.tr("■  Stop   Esc") if streaming else self.tr("Send"))
        self.send_button.setAccessibleName(self.tr("Stop") if streaming else self.tr("Send"))
        self.send_button.setToolTip(self.tr("Stop the reply (Esc)") if streaming else self.composer.send_hint())
        self.send_button.setProperty("streaming", streaming)
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)

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
        if not self._refuse_while_streaming():
            self.edit_mode.begin(message_id, text)

    def cancel_editing(self) -> None:
        self.edit_mode.cancel()

    @property
    def editing_message_id(self) -> int | None:
        return self.edit_mode.message_id

    def show_branch(self, message_id: int) -> None:
        """‹ / ›: show the branch through `message_id`; the store remembers it as the thread's current branch."""
        if self.replies.is_live_in(self._open_thread_id):
            self.status.show_hint(self.tr("Wait for the reply to finish (or press Esc) before switching versions."))
            return
        self.open_thread(self._open_thread_id, at_message_id=message_id)

    def fork_from(self, message_id: int) -> None:
        """Start a new thread holding a copy of the branch up to `message_id`, and open it."""
        threads = self._session.threads

        def forked(thread: Thread) -> None:
            self.status.show_info(self.tr("Forked into “{0}”.").format(thread.title))
            self.open_thread(thread.id)

        self._writes.run(lambda: threads.fork(message_id), on_result=forked)

    def escape(self) -> None:
        """Esc: stop the reply being written, else leave editing a message."""
        if self.replies.is_streaming:
            self.stop_reply()
        else:
            self.cancel_editing()

    def copy_last_reply(self) -> None:
        cards = [card for card in self.conversation.cards() if card.message.role == Role.ASSISTANT]
        if cards:
            QGuiApplication.clipboard().setText(cards[-1].body_text())
            self.status.show_info(self.tr("Copied the last reply."))

    # Privacy and hosted models

    def _load_privacy(self, thread_id: int) -> None:
        threads = self._session.threads
        self._reads.run(lambda: threads.privacy(thread_id), on_result=self._show_privacy)

    def _show_privacy(self, state: PrivacyState) -> None:
        if state.thread_id == self._open_thread_id:
            self.privacy.show_state(state)
            self.model_chip.rule = state.rule
            self.header.fit()

    def set_privacy_rule(self, thread_id: int, rule: str) -> None:
        """The header's privacy picker: store the thread's new rule, then show what the store holds."""
        threads, chosen = self._session.threads, PrivacyRule(rule)

        def changed(state: PrivacyState) -> None:
            self._show_privacy(state)
            self.status.show_info(self.tr("Privacy of this thread: {0}.").format(rule_label(state.rule)))

        def failed(error: BaseException) -> None:
            self.status.report(error)
            self._load_privacy(thread_id)  # the picker goes back to the stored rule

        self._writes.run(lambda: threads.set_privacy_rule(thread_id, chosen), on_result=changed, on_error=failed)

    def _load_stronger_models(self) -> None:
        """What "Ask a stronger model" and the model chip offer; read again whenever the model manager closes."""
        session, current = self._session, self._session.chat.model_name

        def choices() -> tuple[list[str], list[str], list[str]]:
            installed, providers = session.models.installed(), session.providers.list()
            local = [model.spec.name for model in installed if model.installed and model.spec.kind == "chat"]
            hosted = [f"{provider.name}/{provider.model}" for provider in providers]
            return stronger_models(installed, providers, current), local, hosted

        def show(models: tuple[list[str], list[str], list[str]]) -> None:
            self.conversation.stronger_models, self.model_chip.local_models, self.model_chip.hosted_models = models

        self._reads.run(choices, on_result=show)

    def ask_stronger_model(self, message_id: int, model: str) -> None:
        """Re-run the turn of reply `message_id` with `model`: the new reply is a sibling branch. A hosted model is
        asked only where the thread's privacy rule allows it, after a confirmation when the rule is "ask"."""
        if self._refuse_while_streaming():
            return
        card = self.conversation.card_for(message_id)
        if card is None:
            return
        if not ModelRef.parse(model).hosted:
            self.regenerate(message_id, model=model)
            return
        chat, thread_id = self._session.chat, card.message.thread_id
        self._reads.run(
            lambda: chat.hosted_consent(thread_id, model),
            on_result=lambda check: self._upgrade_if_allowed(message_id, model, check),
        )

    def _upgrade_if_allowed(self, message_id: int, model: str, check: ConsentCheck) -> None:
        if check.permission == HostedPermission.REFUSED:
            self.status.show_error(hosted_refusal(OfflineMode() if check.offline else ConsentRequired(), model))
        elif check.permission == HostedPermission.ASK and not self.confirm_hosted(model):
            self.status.show_info(self.tr("Nothing was sent to {0}: this thread stayed on this device.").format(model))
        else:
            self.regenerate(message_id, model=model, allow_hosted=True)

    def confirm_hosted(self, model: str) -> bool:
        """The per-turn yes (a seam tests replace)."""
        return hosted_consent.ask_to_send(self, model)

    # The starter model, models and settings

    def _show_model_state(self) -> None:
        installed = self._session.models.is_installed(self._session.settings.default_model)
        self.starter_card.setVisible(not installed)
        model = self._session.chat.model_name
        self.status_model.setText(model if installed else self.tr("{0} · not installed").format(model))

    def open_model_manager(self) -> ModelManagerDialog:
        """The model manager, modal; the model state is shown again when it closes."""
        dialog = ModelManagerDialog(self._session, self.status, self)
        dialog.finished.connect(lambda _result: (self._show_model_state(), self._load_stronger_models()))
        dialog.open()
        return dialog

    def open_mcp_servers(self) -> McpServersDialog:
        dialog = McpServersDialog(self._session.mcp, self.status, self)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        """The settings, modal; OK saves them and applies them at once."""
        dialog = SettingsDialog(self._session.settings, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.chosen()))
        dialog.open()
        return dialog

    def open_insights(self) -> InsightsDialog:
        """The usage dashboard, beside the window (not modal): its figures are read on the read lane."""
        dialog = InsightsDialog(self._session.insights, reads=self._reads, status=self.status, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def apply_settings(self, chosen: Settings) -> None:
        """Apply what the settings dialog changed — theme and send key now, on screen — and save it in the
        background (the settings service applies the attachment limit; saved model states apply when the model
        next starts)."""
        edited = {
            name: getattr(chosen, name)
            for name in (
                "theme", "send_key", "attachment_max_mb", "kv_cache", "kv_cache_budget_mb", "about_me", "answer_style"
            )
        }
        self._session.settings = self._session.settings.with_changes(**edited)
        self.composer.send_key = chosen.send_key
        self.composer_hint.show_usual()
        self.apply_theme()
        service = self._session.settings_service
        self._writes.run(lambda: service.change(**edited))

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
            on_error=lambda error: self.starter_card.set_failed(explain(error)),
        )

    def _on_model_installed(self) -> None:
        self._show_model_state()
        self.status.show_info(self.tr("The starter model is ready. Ask anything."))
        self.composer.setFocus()

    def _index_for_search(self) -> None:
        """Embed the messages meaning search has no vectors for yet, in the background."""
        self._indexing.run(self._session.search.index_pending, on_error=self._indexing_failed)

    def _indexing_failed(self, error: BaseException) -> None:
        """Without the embedding model, search is by keyword only; the search box says so, not every reply."""
        if not isinstance(error, ModelUnavailable):
            self.status.report(error)

    # Closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Returns at once: background calls are told to stop (a reply) or left to end, and the session closes on
        its own thread after them; `closed` follows."""
        if not self._is_closed:
            self._is_closed = True
            self._settings.setValue("window/geometry", self.saveGeometry())
            self._settings.setValue("window/splitter", self.splitter.saveState())
            self._settings.setValue("window/details", self.details_button.isChecked())
            self._settings.setValue("session/lastThread", self._open_thread_id or 0)
            font = QApplication.instance().font()
            font.setPointSizeF(self._base_point_size)
            QApplication.instance().setFont(font)  # the application outlives the window (tests open many)
            self._settings.sync()
            self._changes.close()
            runners = (self._reads, self._writes, self._indexing, self._downloads)
            self.replies.shutdown()
            for runner in runners:
                runner.shutdown()
            self.attachments.shutdown()
            self.personal.idle_timer.stop()
            # A download has no cancel: its thread ends with the process, so closing does not wait for it.
            waits = [self.replies.wait, self._reads.wait, self._writes.wait, self._indexing.wait, self.attachments.wait]
            self._closer.close(self._session, waits)
        event.accept()
