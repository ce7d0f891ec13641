"""The centre of the window: the open thread's current branch, one card per message, replies as Markdown."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.domain import Message, MessageStatus, Role, ThreadSummary
from app.core.reasoning import split_reasoning
from app.gui import theme
from app.gui.branch_switcher import BranchPosition, BranchSwitcher
from app.gui.card_button import action_button
from app.gui.code_block import CodeBlock
from app.gui.reply_view import MessageBody, ReplyView
from app.gui.thinking_section import ThinkingSection

READABLE_WIDTH_PX = 760  # ~90 characters of body text: long replies stay readable on wide windows
FOLLOW_SLACK_PX = 24  # this close to the bottom still counts as "at the bottom"
HIGHLIGHT_MS = 1800  # how long a message opened from a search hit stays tinted
ANCHOR_MS = 600  # message bodies take their final heights over a few layout passes: the target stays in view


def reply_details(message: Message) -> list[str]:
    """The facts shown after "Assistant": model, time to first token, speed, how much came from the cache."""
    details = [message.model] if message.model else []
    if message.status == MessageStatus.STREAMING:
        return [*details, "writing…"]
    timings, usage = message.timings, message.usage
    if timings is not None and timings.tokens_per_s > 0:
        details += [f"{timings.ttft_s:.2f} s to first token", f"{timings.tokens_per_s:.1f} tok/s"]
    if usage is not None and usage.prompt_tokens and usage.cached_tokens:
        details.append(f"{100 * usage.cached_tokens // usage.prompt_tokens}% of prompt from cache")
    return details


def status_banner(message: Message) -> tuple[str, str] | None:
    """(kind, text) for a reply that did not complete, or None."""
    if message.status == MessageStatus.INTERRUPTED:
        return "warning", f"Interrupted: {message.error or 'the reply stopped early'}"
    if message.status == MessageStatus.ERROR:
        return "error", f"Error: {message.error or 'the model could not answer'}"
    return None


class MessageCard(QFrame):
    """One message: a quiet header (who, model, timing, ‹ k / n ›, actions), the text, and a banner when it did not
    complete.

    Signals (GUI thread) carry message ids; the window decides what they do: `edit_requested` (a user message),
    `regenerate_requested` (a reply), `upgrade_requested` (a reply, the model to ask: "Ask a stronger model"),
    `branch_chosen` (the sibling to show), `fork_requested`. `stronger_models` gives that submenu's model names.
    """

    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    upgrade_requested = Signal(int, str)
    branch_chosen = Signal(int)
    fork_requested = Signal(int)

    def __init__(
        self,
        message: Message,
        parent: QWidget | None = None,
        *,
        position: BranchPosition | None = None,
        stronger_models: Callable[[], list[str]] = list,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("messageCard")
        self.message = message
        self._stronger_models = stronger_models
        self._header = QLabel()
        self._header.setObjectName("messageHeader")
        self._header.setTextFormat(Qt.TextFormat.RichText)
        self._header.setWordWrap(True)  # a long timing line wraps in a narrow window instead of widening the column
        self.branch_switcher: BranchSwitcher | None = None
        header_row = QHBoxLayout()
        header_row.setContentsMargins(0, 0, 0, 0)
        header_row.setSpacing(4)
        header_row.addWidget(self._header, 1)
        if position is not None:
            self.branch_switcher = BranchSwitcher(position)
            self.branch_switcher.branch_chosen.connect(self.branch_chosen)
            header_row.addWidget(self.branch_switcher)
        mine = message.role == Role.USER
        self.action_button = action_button(
            "Edit" if mine else "Regenerate",
            "Edit this message; the original stays as another version" if mine
            else "Write another reply; this one stays as another version",
            self._request_edit_or_regenerate,
        )  # fmt: skip
        self.more_button = action_button("⋯", "More actions", None)
        self.more_button.setAccessibleName(self.tr("More actions for this message"))
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setMenu(self._menu())
        header_row.addWidget(self.action_button)
        header_row.addWidget(self.more_button)
        self._header_row = header_row
        self._settled_widgets: list[QWidget] = [self.action_button, self.more_button]  # hidden while it streams
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.thinking = ThinkingSection()  # a reasoning model's thoughts, above the answer
        self.thinking.hide()
        self._body: MessageBody | ReplyView = MessageBody() if message.role == Role.USER else ReplyView()
        self._parts: list[ReplyView] = [] if message.role == Role.USER else [self._body]  # the text between inlines
        self._inline: list[tuple[int, QWidget]] = []  # (offset in the reply's text, widget) in offset order
        self._banner = QLabel()
        self._banner.setObjectName("banner")
        self._banner.setWordWrap(True)
        self._banner.setContentsMargins(10, 6, 10, 6)
        self._banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._banner.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)  # room for the tint of a highlighted message
        layout.setSpacing(6)
        layout.addLayout(header_row)
        layout.addWidget(self.thinking)
        layout.addWidget(self._body)
        layout.addWidget(self._banner)
        self._layout = layout
        self.message = message
        self.show_message(message)

    def show_message(self, message: Message, *, live_text: str | None = None) -> None:
        """Show `message`; while it streams, `live_text` (what has arrived so far) replaces its stored content."""
        self.message = message
        self._live_text = live_text
        mine = message.role == Role.USER
        who = self.tr("You") if mine else self.tr("Assistant")
        details = [f"{message.created_at.astimezone():%H:%M}"] if mine else reply_details(message)
        colours = theme.current()
        meta = "".join(f" · {html.escape(part).replace(' ', '&nbsp;')}" for part in details)  # "62.8 tok/s" whole
        self._header.setText(f"<b style='color:{colours.text}'>{who}</b>{meta}")
        self.setAccessibleName(self.tr("Message from you") if mine else self.tr("Message from the assistant"))
        text = live_text if live_text is not None else message.content
        if mine:
            self._body.show_plain(text)
        else:
            text = self._show_reply(message, live_text)
        self._body.setAccessibleName(self.tr("{0} wrote").format(who))
        if mine:
            self._body.setVisible(bool(text))
        settled = message.status != MessageStatus.STREAMING
        for widget in self._settled_widgets:
            widget.setVisible(settled)
        banner = status_banner(message)
        self._banner.setVisible(banner is not None)
        if banner is not None:
            kind, text = banner
            self._banner.setProperty("kind", kind)
            self._banner.setText(text)
            self._banner.style().unpolish(self._banner)
            self._banner.style().polish(self._banner)

    def _show_reply(self, message: Message, live_text: str | None) -> str:
        """The thinking (if any) in its section, the answer as Markdown in parts split where the inline widgets
        sit; returns the answer."""
        streaming = message.status == MessageStatus.STREAMING
        raw = live_text if live_text is not None else message.content
        reasoned = split_reasoning(raw, streaming=streaming)  # a stored reply may be raw: cut off mid-stream
        reasoning = message.reasoning if message.reasoning is not None else reasoned.reasoning
        self.thinking.setVisible(reasoning is not None)
        if reasoning is not None:
            self.thinking.show_reasoning(
                reasoning, thinking=reasoned.thinking and streaming, seconds=None if streaming else message.reasoning_s
            )
        bounds = [0, *(min(offset, len(raw)) for offset, _widget in self._inline), len(raw)]
        answers = []
        for index, part in enumerate(self._parts):
            last = index == len(self._parts) - 1
            answer = split_reasoning(raw[bounds[index] : bounds[index + 1]], streaming=streaming and last).answer
            part.show_text(answer, streaming=streaming and last)
            part.setVisible(bool(answer) or (streaming and last))
            answers.append(answer)
        return "\n\n".join(answer for answer in answers if answer)

    def add_header_widget(self, widget: QWidget) -> None:
        """A control another module puts on this card's header, before the actions (the rating of a reply); it is
        hidden while the message streams, like them."""
        self._header_row.insertWidget(self._header_row.indexOf(self.action_button), widget)
        self._settled_widgets.append(widget)
        widget.setVisible(self.message.status != MessageStatus.STREAMING)

    def body_text(self) -> str:
        """The text as shown, without the streaming caret (a reply's parts around its inline widgets joined)."""
        if not self._parts:
            return self._body.toPlainText()
        return "\n\n".join(text for text in (part.plain_text() for part in self._parts) if text)

    def code_blocks(self) -> list[CodeBlock]:
        """The reply's code blocks, top to bottom (none for a user message)."""
        return [block for part in self._parts for block in part.code_blocks()]

    def inline_widgets(self) -> list[tuple[int, QWidget]]:
        return list(self._inline)

    def set_inline_widgets(self, widgets: Sequence[tuple[int, QWidget]]) -> None:
        """Put each widget where it happened in the reply's text, `(offset, widget)` with the offset in the stored
        text (a tool call's card): the text before it, the widget, the text after. Widgets shown before and not
        given again are deleted."""
        kept = {id(widget) for _offset, widget in widgets}
        for _offset, widget in self._inline:
            self._layout.removeWidget(widget)
            if id(widget) not in kept:
                widget.deleteLater()
        for part in self._parts[1:]:
            self._layout.removeWidget(part)
            part.deleteLater()
        self._inline = sorted(widgets, key=lambda pair: pair[0])
        self._parts = [self._body, *(ReplyView() for _ in self._inline)]
        index = self._layout.indexOf(self._body)
        for (_offset, widget), part in zip(self._inline, self._parts[1:], strict=True):
            self._layout.insertWidget(index + 1, widget)
            self._layout.insertWidget(index + 2, part)
            index += 2
        self.show_message(self.message, live_text=self._live_text)

    def set_highlighted(self, highlighted: bool) -> None:
        self.setProperty("highlight", highlighted)
        self.style().unpolish(self)
        self.style().polish(self)

    def _menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName(self.tr("Message actions"))
        mine = self.message.role == Role.USER
        menu.addAction(self.tr("Edit…") if mine else self.tr("Regenerate"), self._request_edit_or_regenerate)
        if not mine:
            upgrade = menu.addMenu(self.tr("Ask a stronger model"))
            upgrade.setAccessibleName(self.tr("Ask a stronger model"))
            upgrade.aboutToShow.connect(lambda: self._fill_upgrade_menu(upgrade))
            self._fill_upgrade_menu(upgrade)
        menu.addAction(self.tr("Copy text"), lambda: QGuiApplication.clipboard().setText(self.message.content))
        menu.addSeparator()
        menu.addAction(self.tr("Fork to a new thread from here"), lambda: self.fork_requested.emit(self.message.id))
        return menu

    def _fill_upgrade_menu(self, menu: QMenu) -> None:
        """Filled again each time it opens: providers and models may have been added since the card was made."""
        menu.clear()
        models = self._stronger_models()
        for model in models:
            menu.addAction(model, lambda model=model: self.upgrade_requested.emit(self.message.id, model))
        if not models:
            menu.addAction(self.tr("No other model yet: add one in Models… (Ctrl+Shift+M)")).setEnabled(False)

    def _show_menu(self, position: QPoint) -> None:
        if self.message.status != MessageStatus.STREAMING:
            self.more_button.menu().exec(self.mapToGlobal(position))

    def _request_edit_or_regenerate(self) -> None:
        if self.message.role == Role.USER:
            self.edit_requested.emit(self.message.id)
        else:
            self.regenerate_requested.emit(self.message.id)

    def banner_text(self) -> str:
        return self._banner.text() if self._banner.isVisibleTo(self) else ""


class SummaryCard(QFrame):
    """Older turns folded into a summary so the thread fits the model's window. Collapsed to one line; the
    originals stay above it. Signals (GUI thread, summary id): `edit_requested`, `undo_requested`."""

    edit_requested = Signal(int)
    undo_requested = Signal(int)

    def __init__(self, summary: ThreadSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("summaryCard")
        self.setAccessibleName(self.tr("Summary of earlier turns"))
        self.summary = summary
        self.toggle = action_button(
            "", "The model sees this summary instead of the turns above; they are all kept", None
        )
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._expand)
        edit = action_button("Edit", "Edit the summary", lambda: self.edit_requested.emit(self.summary.id))
        undo = action_button(
            "Undo", "Give the model the original turns again", lambda: self.undo_requested.emit(self.summary.id)
        )
        edit.setAccessibleName(self.tr("Edit the summary"))
        undo.setAccessibleName(self.tr("Undo the summary"))
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.toggle)
        header.addStretch(1)
        header.addWidget(edit)
        header.addWidget(undo)
        self.body = MessageBody()
        self.body.show_plain(summary.content)
        self.body.setAccessibleName(self.tr("Summary text"))
        self._expand(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addWidget(self.body)

    def _expand(self, expanded: bool) -> None:
        self.toggle.setText(("▾ " if expanded else "▸ ") + self.tr("Earlier turns are summarised for the model"))
        self.body.setVisible(expanded)


class ConversationView(QScrollArea):
    """Scrolls the cards of one thread. While a reply streams it follows the bottom unless the user scrolled up.
    `stronger_models` lists what replies may be re-run with.

    Signals (emitted on the GUI thread; they relay the cards' requests, the window decides what they do):
        edit_requested(int): the id of the user message to edit.
        regenerate_requested(int): the id of the reply to write again.
        upgrade_requested(int, str): the id of the reply to re-run, and the model (PROVIDER/MODEL or a local name).
        branch_chosen(int): the id of the sibling message whose branch to show.
        fork_requested(int): the id of the message a new thread copies the branch up to.
        summary_edit_requested(int), summary_undo_requested(int): the id of the summary (the fold) to edit or undo.
        card_shown(MessageCard): a card was made, or refreshed from the store in place: the one seam for what other
            modules show on a card (`add_header_widget`, `set_inline_widgets`); a handler may hear a card again.
    """

    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    upgrade_requested = Signal(int, str)
    branch_chosen = Signal(int)
    fork_requested = Signal(int)
    summary_edit_requested = Signal(int)
    summary_undo_requested = Signal(int)
    card_shown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversation")
        self.setAccessibleName(self.tr("Conversation"))
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page = QWidget()
        page.setObjectName("conversationColumn")
        row = QHBoxLayout(page)
        row.setContentsMargins(24, 8, 24, 16)
        self._column = QWidget()
        self._column.setObjectName("conversationColumn")
        self._column.setMaximumWidth(READABLE_WIDTH_PX)
        self._cards_layout = QVBoxLayout(self._column)
        self._cards_layout.setContentsMargins(0, 0, 0, 0)
        self._cards_layout.setSpacing(4)
        self._empty = QLabel()
        self._empty.setObjectName("emptyState")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._cards_layout.addWidget(self._empty)
        self._cards_layout.addStretch(1)
        row.addStretch(0)
        row.addWidget(self._column, 1)
        row.addStretch(0)
        self.setWidget(page)
        self._cards: dict[int, MessageCard] = {}
        self._positions: dict[int, BranchPosition] = {}  # of the cards shown, those with alternatives
        self.stronger_models: list[str] = []  # set by the window: PROVIDER/MODEL and other installed local models
        self.summary_card: SummaryCard | None = None
        self._follow_bottom = True
        self._anchor: MessageCard | None = None  # a message kept at the top while the cards settle their heights
        self._anchor_timer = QTimer(self, singleShot=True, interval=ANCHOR_MS)
        self._anchor_timer.timeout.connect(self._drop_anchor)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._remember_position)
        bar.rangeChanged.connect(self._keep_following)
        self.show_empty()

    # What to show

    def show_empty(self, text: str | None = None) -> None:
        self._clear_cards()
        self._empty.setText(text or self._first_steps())
        self._empty.show()

    def _first_steps(self) -> str:
        """The empty conversation: what the app can do, the keys that matter, and where files can be dropped."""
        keys = [
            ("Ctrl+K", self.tr("go to a thread")),
            ("Ctrl+N", self.tr("new thread")),
            ("Ctrl+F", self.tr("search every message")),
            ("Ctrl+L", self.tr("back to the composer")),
            ("Esc", self.tr("stop a reply")),
        ]
        rows = "".join(f"<tr><td align='right'><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for key, what in keys)
        return (
            f"<p style='font-size:16px'><b>{self.tr('Start a conversation')}</b></p>"
            f"<p>{self.tr('Type below and press Enter. Replies come from a model on this computer;')}<br>"
            f"{self.tr('nothing you write leaves it.')}</p>"
            f"<p>{self.tr('Drop PDFs, documents or a folder here to ask about them.')}<br>"
            f"{self.tr('Bring your ChatGPT or Open WebUI history with File → Import…')}</p>"
            f"<p></p><table align='center' cellspacing='0' cellpadding='3'>{rows}</table>"
        )

    def show_messages(
        self,
        messages: Sequence[Message],
        *,
        live_texts: dict[int, str] | None = None,
        positions: dict[int, BranchPosition] | None = None,
        focus_message_id: int | None = None,
        highlight: bool = False,
        summary: ThreadSummary | None = None,
    ) -> None:
        """Replace the cards with `messages`; `live_texts` gives the text so far of replies still streaming,
        `positions` the ‹ k / n › of forked messages, `summary` the fold after its last message. Shows the bottom,
        or `focus_message_id` (tinted if `highlight`)."""
        if not messages:
            self.show_empty()
            return
        self._clear_cards()
        for message in messages:
            self.add_message(
                message, live_text=(live_texts or {}).get(message.id), position=(positions or {}).get(message.id)
            )
            if summary is not None and message.id == summary.up_to_message_id:
                self.summary_card = SummaryCard(summary, self._column)
                self.summary_card.edit_requested.connect(self.summary_edit_requested)
                self.summary_card.undo_requested.connect(self.summary_undo_requested)
                self._cards_layout.insertWidget(self._cards_layout.count() - 1, self.summary_card)
        if focus_message_id in self._cards:
            self.scroll_to_message(focus_message_id, highlight=highlight)
        else:
            self.scroll_to_bottom()
        self.order_tabs()

    def refresh_messages(
        self,
        messages: Sequence[Message],
        *,
        positions: dict[int, BranchPosition] | None = None,
        summary: ThreadSummary | None = None,
    ) -> bool:
        """Show the stored state of the messages already on screen, in place (the scroll position stays). False,
        changing nothing, when the page differs — other messages, arrows or fold — and must be shown anew."""
        shown_summary = self.summary_card.summary if self.summary_card is not None else None
        same = (
            [message.id for message in messages] == list(self._cards)
            and (positions or {}) == self._positions
            and summary == shown_summary
        )
        if same:
            for message in messages:
                card = self._cards[message.id]
                if card.message != message:  # drawing a card again costs a markdown layout: only the changed ones
                    card.show_message(message)
                    self.order_tabs(card)
                self.card_shown.emit(card)
        return same

    def add_message(
        self, message: Message, *, live_text: str | None = None, position: BranchPosition | None = None
    ) -> None:
        self._empty.hide()
        card = MessageCard(
            message, self._column, position=position, stronger_models=lambda: list(self.stronger_models)
        )
        if live_text is not None:
            card.show_message(message, live_text=live_text)
        for signal, relay in (
            (card.edit_requested, self.edit_requested),
            (card.regenerate_requested, self.regenerate_requested),
            (card.upgrade_requested, self.upgrade_requested),
            (card.branch_chosen, self.branch_chosen),
            (card.fork_requested, self.fork_requested),
        ):
            signal.connect(relay)
        self._cards[message.id] = card
        if position is not None:
            self._positions[message.id] = position
        self._cards_layout.insertWidget(self._cards_layout.count() - 1, card)
        self.card_shown.emit(card)

    def card_for(self, message_id: int) -> MessageCard | None:
        return self._cards.get(message_id)

    def scroll_to_message(self, message_id: int, *, highlight: bool = False) -> None:
        """Bring the message to the top of the view once the cards are laid out; stop following the bottom."""
        card = self._cards.get(message_id)
        if card is None:
            return
        self._follow_bottom = False
        if highlight:
            card.set_highlighted(True)
            QTimer.singleShot(HIGHLIGHT_MS, card, lambda: card.set_highlighted(False))  # cancelled with the card
        self._drop_anchor()
        self._anchor = card
        card.installEventFilter(self)  # the card moving (cards above it taking their heights) moves the view too
        self._anchor_timer.start()
        self._scroll_to_anchor()

    def _scroll_to_anchor(self) -> None:
        if self._anchor is not None:
            self.verticalScrollBar().setValue(self._anchor.mapTo(self.widget(), QPoint(0, 0)).y() - 8)

    def _drop_anchor(self) -> None:
        if self._anchor is not None:
            self._anchor.removeEventFilter(self)
        self._anchor = None

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Move and watched is getattr(self, "_anchor", None):  # (Qt filters early)
            self._scroll_to_anchor()
            self._anchor_timer.start()
        return super().eventFilter(watched, event)


    def update_live_text(self, message: Message, text: str) -> None:
        card = self._cards.get(message.id)
        if card is not None:
            card.show_message(message, live_text=text)

    def update_message(self, message: Message) -> None:
        card = self._cards.get(message.id)
        if card is not None:
            card.show_message(message)
            self.order_tabs(card)  # a finished reply's code blocks and links join the Tab order

    def order_tabs(self, changed: MessageCard | None = None) -> None:
        """Tab goes through the cards' controls top to bottom right after the conversation itself (widgets made
        later would otherwise come last in the window's order, after the composer). Given the one card that
        changed, only its controls are put in place, after those of the cards before it: walking every card's
        widgets when a reply finished took ~17 ms for one long reply, and grew with the thread."""
        cards = self._card_order()
        previous: QWidget = self
        if changed in cards:
            index = cards.index(changed)
            earlier = (controls for card in reversed(cards[:index]) if (controls := _tab_controls(card)))
            previous = next(earlier, [self])[-1]
            cards = [changed]
        for card in cards:
            for widget in _tab_controls(card):
                QWidget.setTabOrder(previous, widget)
                previous = widget

    def _card_order(self) -> list[QWidget]:
        items = (self._cards_layout.itemAt(index).widget() for index in range(self._cards_layout.count()))
        return [widget for widget in items if isinstance(widget, (MessageCard, SummaryCard))]

    def has_message(self, message_id: int) -> bool:
        return message_id in self._cards

    def cards(self) -> list[MessageCard]:
        return list(self._cards.values())

    def scroll_to_bottom(self) -> None:
        self._drop_anchor()
        self._follow_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # Following the bottom

    def _remember_position(self, value: int) -> None:
        self._follow_bottom = value >= self.verticalScrollBar().maximum() - FOLLOW_SLACK_PX

    def _keep_following(self, _minimum: int, maximum: int) -> None:
        if self._anchor is not None:
            self._scroll_to_anchor()
            self._anchor_timer.start()  # held until the heights have been still for ANCHOR_MS, however busy the machine
        elif self._follow_bottom:
            self.verticalScrollBar().setValue(maximum)

    def _clear_cards(self) -> None:
        self._drop_anchor()
        for card in [*self._cards.values(), *([self.summary_card] if self.summary_card else [])]:
            card.hide()
            card.deleteLater()
        self._cards.clear()
        self._positions.clear()
        self.summary_card = None


def _tab_controls(card: QWidget) -> list[QWidget]:
    """The card's widgets that Tab stops at, top to bottom."""
    return [
        widget
        for widget in card.findChildren(QWidget)
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(card)
    ]
