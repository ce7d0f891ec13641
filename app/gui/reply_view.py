"""A reply's text as a column of blocks: Markdown prose (tables, lists, links, inline code) and code blocks. While it
streams only the open (last) block is drawn again; finished blocks are laid out once. Links open in the browser only
after the user has seen the whole address (a reply can carry a hostile link)."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextFrameFormat,
    QTextTable,
)
from PySide6.QtWidgets import (
    QFrame,
    QMessageBox,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.code_block import CodeBlock
from app.gui.markdown_blocks import Block, BlockSplitter

STREAMING_CARET = " ▍"
BLOCK_KINDS = ("prose", "code")
IDLE_AFTER_MS = 16  # a frame after an update, so its layout and paint run apart from the work put off (a zero timer
# ran in the same pass of the event loop, and the GUI thread was as long busy as before)
OPENABLE_SCHEMES = ("http", "https", "mailto")


def confirm_and_open_link(parent: QWidget, url: QUrl) -> bool:
    """Show the link's full address and open it in the browser only on the user's yes. Other schemes (file:,
    javascript:, an app's own) are refused with the address shown."""
    address = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
    box = QMessageBox(parent)
    box.setObjectName("linkConfirm")
    box.setWindowTitle(QCoreApplication.translate("ReplyView", "Open link"))
    box.setTextFormat(Qt.TextFormat.PlainText)
    if url.scheme().lower() not in OPENABLE_SCHEMES:
        box.setIcon(QMessageBox.Icon.Warning)
        refused = QCoreApplication.translate("ReplyView", "This link is not a web address, so it is not opened:")
        box.setText(f"{refused}\n\n{address}")
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.exec()
        return False
    box.setText(QCoreApplication.translate("ReplyView", "Open this address in your browser?") + f"\n\n{address}")
    box.setInformativeText(
        QCoreApplication.translate("ReplyView", "Check it first: a reply can carry a link that is not what it says.")
    )
    open_label = QCoreApplication.translate("ReplyView", "Open in browser")
    open_button = box.addButton(open_label, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is not open_button:
        return False
    return QDesktopServices.openUrl(url)


class MessageBody(QTextBrowser):
    """Read-only rich text that is exactly as tall as its content, so the page scrolls rather than each message.
    A link asks before it opens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBody")
        self.setAccessibleDescription(self.tr("Read-only text: select it to copy; a link asks before it opens"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.anchorClicked.connect(lambda url: confirm_and_open_link(self, url))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)

    def show_markdown(self, text: str) -> None:
        self.setMarkdown(text)
        self._style_blocks()

    def show_plain(self, text: str) -> None:
        self.setPlainText(text)
        self._style_blocks()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.height())

    def _fit_height(self, size) -> None:
        self.setFixedHeight(math.ceil(size.height()) + 2 * self.frameWidth() + 2)

    def _style_blocks(self) -> None:
        """Prose gets airy line spacing; inline code a tinted background; an indented code block the same tint;
        tables thin rules in the theme's border colour."""
        colours = theme.current()
        tint = QColor(colours.code)
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()  # one layout of the document for all the changes: one for each took ~4 ms a table
        for frame in self.document().rootFrame().childFrames():
            if isinstance(frame, QTextTable):
                table = frame.format()
                table.setBorderCollapse(True)
                table.setBorder(1)
                table.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
                table.setBorderBrush(QColor(colours.border))
                table.setCellPadding(6)
                table.setCellSpacing(0)
                frame.setFormat(table)
        prose = QTextBlockFormat()
        prose.setLineHeight(135, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        code = QTextBlockFormat()
        code.setBackground(tint)
        code.setNonBreakableLines(True)
        inline_code = QTextCharFormat()
        inline_code.setBackground(tint)
        block = self.document().begin()
        while block.isValid():
            cursor.setPosition(block.position())
            fenced = block.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence)
            cursor.mergeBlockFormat(code if fenced else prose)
            if not fenced:
                fragments = block.begin()
                while not fragments.atEnd():
                    fragment = fragments.fragment()
                    if fragment.isValid() and fragment.charFormat().fontFixedPitch():
                        cursor.setPosition(fragment.position())
                        cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                        cursor.mergeCharFormat(inline_code)
                    fragments += 1
            block = block.next()
        cursor.endEditBlock()


class ReplyView(QWidget):
    """The blocks of one reply, top to bottom. `show_text` diffs the new text's blocks against those shown: equal
    finished blocks are left alone, the open one is updated in place (a code fence's language too, as it streams in),
    anything else from the first difference on is made anew (a reply's stored text can differ from what streamed).

    While it streams, the update that finishes a block also starts the next one, and doing both at once (a table's
    final render and a new code block) held the GUI thread over a frame. So the GUI's idle moments take that work:
    the finished block's final render (it shows its last text, caret and all, until then), and a spare widget of
    each kind made ahead for the next block (the first code block of a session cost ~8 ms to make)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replyView")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self._shown: list[tuple[Block, QWidget]] = []
        self._splitter = BlockSplitter()
        self._streaming = False
        self._finished_undrawn: list[QWidget] = []
        self._spares: dict[str, QWidget] = {}  # by block kind, hidden, made while streaming
        self._idle_timer = QTimer(self, singleShot=True, interval=IDLE_AFTER_MS)  # a child: it dies with the view
        self._idle_timer.timeout.connect(self._do_idle_work)

    def show_text(self, text: str, *, streaming: bool = False) -> None:
        self._draw_finished()
        self._streaming = streaming
        blocks = self._splitter.split(text, streaming=streaming)
        for index, block in enumerate(blocks):
            if index < len(self._shown):
                shown, widget = self._shown[index]
                if shown == block:
                    continue
                if not shown.closed and shown.kind == block.kind:
                    if isinstance(widget, CodeBlock):
                        widget.set_language(block.language)
                    self._shown[index] = (block, widget)
                    if streaming and block.closed:
                        self._finished_undrawn.append(widget)
                    else:
                        self._draw(widget, block, streaming)
                    continue
                self._drop_from(index)
            widget = self._new_block_widget(block)
            self._draw(widget, block, streaming)
            self._layout.addWidget(widget)
            widget.show()
            self._shown.append((block, widget))
        self._drop_from(len(blocks))
        if streaming:
            self._queue_idle_work()
        else:
            for spare in self._spares.values():
                spare.deleteLater()
            self._spares.clear()

    def plain_text(self) -> str:
        """The text as shown, without the streaming caret (a block just finished keeps its caret until its final
        render, a frame later)."""
        parts = [
            widget.code
            if isinstance(widget, CodeBlock)
            else widget.toPlainText().removesuffix(STREAMING_CARET.strip()).rstrip()
            for _block, widget in self._shown
        ]
        return "\n\n".join(parts)

    def code_blocks(self) -> list[CodeBlock]:
        return [widget for _block, widget in self._shown if isinstance(widget, CodeBlock)]

    def block_widgets(self) -> list[QWidget]:
        return [widget for _block, widget in self._shown]

    def spare_kinds(self) -> set[str]:
        """The kinds of block a widget is ready for, made ahead while the reply streams."""
        return set(self._spares)

    def _new_block_widget(self, block: Block) -> QWidget:
        widget = self._spares.pop(block.kind, None)
        if widget is None:
            return self._make_block_widget(block.kind, block.language)
        if isinstance(widget, CodeBlock):
            widget.set_language(block.language)
        return widget

    def _make_block_widget(self, kind: str, language: str = "") -> QWidget:
        if kind == "code":
            return CodeBlock(language, self)
        body = MessageBody(self)
        body.setAccessibleName(self.tr("Reply text"))
        return body

    def _draw(self, widget: QWidget, block: Block, streaming: bool) -> None:
        if isinstance(widget, CodeBlock):
            widget.show_code(block.text)
            if block.closed:
                widget.finish()
        else:
            caret = STREAMING_CARET if streaming and not block.closed else ""
            widget.show_markdown(block.text + caret)

    def _queue_idle_work(self) -> None:
        if not self._idle_timer.isActive() and (self._finished_undrawn or len(self._spares) < len(BLOCK_KINDS)):
            self._idle_timer.start()

    def _do_idle_work(self) -> None:
        """One piece of work per idle moment, so none of them adds to another."""
        missing = [kind for kind in BLOCK_KINDS if kind not in self._spares]
        if self._finished_undrawn:
            self._draw_finished()
        elif self._streaming and missing:
            spare = self._spares[missing[0]] = self._make_block_widget(missing[0])
            spare.hide()  # until it is a block: a child not hidden explicitly shows with its parent
            spare.ensurePolished()
        if self._streaming:
            self._queue_idle_work()

    def _draw_finished(self) -> None:
        if self._finished_undrawn:
            undrawn, self._finished_undrawn = self._finished_undrawn, []
            for block, widget in self._shown:
                if widget in undrawn:
                    self._draw(widget, block, streaming=True)

    def _drop_from(self, index: int) -> None:
        for _block, widget in self._shown[index:]:
            widget.hide()
            widget.deleteLater()
        del self._shown[index:]
