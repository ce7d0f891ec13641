"""Replies on real widgets: Markdown blocks, highlighted code that never wraps and copies exactly, links that open
only after the user saw the address, and a streaming render that lays each finished block out once."""

from __future__ import annotations

from pygments.lexers import TextLexer
from pygments.styles import get_style_by_name
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QPlainTextEdit

from app.gui import theme
from app.gui import code_block
from app.gui.code_block import DARK_STYLE, LIGHT_STYLE, CodeBlock, known_languages, lexer_for
from app.gui.reply_view import IDLE_AFTER_MS, MessageBody, ReplyView
from tests.gui.conftest import contrast

LONG_LINE = "    total = " + " + ".join(f"value_{n}" for n in range(40)) + "  # must not wrap"
REPLY = f"""Here is the **function**, see [the docs](https://docs.example.org/a?b=1) and `len`.

| name | kind |
|---|---|
| f | function |

```python
def f(values):
{LONG_LINE}
    return total
```

Then run it:

```sh
python f.py
```

Done."""
CODE = f"def f(values):\n{LONG_LINE}\n    return total"


class OpenedUrls(QObject):
    """Stands in for the browser: QDesktopServices hands it the URLs it would open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def reply_view(qtbot, text: str, width: int = 700) -> ReplyView:
    view = ReplyView()
    qtbot.addWidget(view)
    view.resize(width, 400)
    view.show_text(text)
    view.show()
    qtbot.waitExposed(view)
    return view


def answer_dialog(qtbot, button_text: str | None, seen: list[str]) -> None:
    """Once the modal box is up, note its text and press the button labelled `button_text` (None: the default)."""

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen.append(box.text())
        if button_text is None:
            box.defaultButton().click() if box.defaultButton() else box.reject()
            return
        next(button for button in box.buttons() if button.text() == button_text).click()

    QTimer.singleShot(20, answer)


def test_prose_and_code_become_separate_blocks_with_tables_lists_and_links(qtbot):
    view = reply_view(qtbot, REPLY)
    widgets = view.block_widgets()
    assert [type(widget) for widget in widgets] == [
        MessageBody, MessageBody, CodeBlock, MessageBody, CodeBlock, MessageBody
    ]  # fmt: skip
    first = widgets[0].document()
    assert "https://docs.example.org/a?b=1" in first.toHtml()  # the link is a link
    assert first.toPlainText() == "Here is the function, see the docs and len."
    assert widgets[1].document().rootFrame().childFrames()  # the table is a table
    assert [block.language for block in view.code_blocks()] == ["python", "sh"]


def test_the_copy_button_puts_exactly_the_blocks_code_on_the_clipboard(qtbot):
    view = reply_view(qtbot, REPLY)
    python, shell = view.code_blocks()
    QGuiApplication.clipboard().setText("something else")
    qtbot.mouseClick(python.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == CODE
    assert python.copy_button.text() == "Copied"
    qtbot.mouseClick(shell.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "python f.py"


def test_code_never_wraps_it_scrolls_sideways_inside_the_block(qtbot):
    view = reply_view(qtbot, REPLY, width=500)
    python = view.code_blocks()[0]
    assert python.view.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap
    assert python.view.document().lineCount() == 3  # three lines of code, laid out as three lines
    qtbot.waitUntil(lambda: python.view.horizontalScrollBar().maximum() > 0)
    assert python.width() <= view.width()  # the long line did not widen the reply
    assert python.view.height() >= 3 * python.view.fontMetrics().lineSpacing()  # every line shows, no inner v-scroll


def test_a_fence_with_no_code_after_it_is_one_line_tall(qtbot):
    """A small model often ends a reply with a stray ``` (an empty block): it was drawn as a 200 px grey box."""
    view = reply_view(qtbot, "def reverse(s):\n    return s[::-1]\n```")
    (empty,) = view.code_blocks()
    one_line_view = reply_view(qtbot, "```\nx\n```")
    assert empty.code == "" and empty.view.height() == one_line_view.code_blocks()[0].view.height()


def test_code_is_highlighted_for_the_theme_and_every_colour_is_readable_on_its_tint():
    for style, tint in ((LIGHT_STYLE, theme.LIGHT.code), (DARK_STYLE, theme.DARK.code)):
        for token_type, spec in get_style_by_name(style):
            if spec["color"] and "Whitespace" not in str(token_type) and "Error" not in str(token_type):
                assert contrast(f"#{spec['color']}", tint) >= 4.5, (style, token_type, spec["color"])
    for colours in (theme.LIGHT, theme.DARK):
        assert contrast(colours.text, colours.code) >= 7
        assert contrast(colours.muted, colours.code) >= 4.5  # the language label and Copy


def test_a_fence_language_pygments_does_not_know_is_plain_text_without_asking_it(monkeypatch):
    """A language still streaming in ("pyt") is not looked up: Pygments scans every installed package for one."""
    known_languages()
    lexer_for.cache_clear()

    def refuse(*_args, **_options):
        raise AssertionError("Pygments was asked for a language it does not know")

    monkeypatch.setattr(code_block, "get_lexer_by_name", refuse)
    assert isinstance(lexer_for("pyt"), TextLexer) and isinstance(lexer_for("no-such-language"), TextLexer)
    assert isinstance(lexer_for(""), TextLexer)
    monkeypatch.undo()
    lexer_for.cache_clear()
    assert lexer_for("Python").name == "Python" and lexer_for("sh").name == "Bash"


def test_python_keywords_get_a_colour(qtbot):
    view = reply_view(qtbot, REPLY)
    first_line = view.code_blocks()[0].view.document().begin()
    coloured = {span.start for span in first_line.layout().formats() if span.format.foreground().style()}
    assert 0 in coloured  # "def"


def test_a_link_opens_only_after_the_user_saw_the_full_address_and_said_yes(qtbot):
    view = reply_view(qtbot, REPLY)
    opened = OpenedUrls()
    QDesktopServices.setUrlHandler("https", opened, "open")
    try:
        body = view.block_widgets()[0]
        seen: list[str] = []
        answer_dialog(qtbot, None, seen)  # the default is Cancel
        click_link(qtbot, body, "the docs")
        qtbot.waitUntil(lambda: bool(seen))
        assert "https://docs.example.org/a?b=1" in seen[0]
        assert opened.urls == []
        answer_dialog(qtbot, "Open in browser", seen)
        click_link(qtbot, body, "the docs")
        qtbot.waitUntil(lambda: bool(opened.urls))
        assert opened.urls == ["https://docs.example.org/a?b=1"]
    finally:
        QDesktopServices.unsetUrlHandler("https")


def test_a_link_that_is_not_a_web_address_is_shown_and_never_opened(qtbot):
    view = reply_view(qtbot, "Click [here](file:///etc/passwd) for a prize.")
    opened = OpenedUrls()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        seen: list[str] = []
        answer_dialog(qtbot, None, seen)
        click_link(qtbot, view.block_widgets()[0], "here")
        qtbot.waitUntil(lambda: bool(seen))
        assert "file:///etc/passwd" in seen[0] and "not opened" in seen[0]
        assert opened.urls == []
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_streaming_lays_each_finished_block_out_once(qtbot):
    view = ReplyView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    finished: list[object] = []  # the widgets of blocks that finished while streaming, in order
    changes: list[int] = []  # how often each one's document changed after it finished
    for end in range(1, len(REPLY) + 1, 7):
        view.show_text(REPLY[:end], streaming=True)
        qtbot.wait(IDLE_AFTER_MS + 4)  # the idle moment that draws a block finished by this update
        for _block, widget in view._shown[:-1]:
            if widget not in finished:
                finished.append(widget)
                changes.append(0)
                document = widget.view.document() if isinstance(widget, CodeBlock) else widget.document()
                document.contentsChanged.connect(count_change(changes, len(changes) - 1))
    view.show_text(REPLY)
    assert len(finished) == 5  # all blocks but the last finished while streaming …
    assert view.block_widgets()[:5] == finished  # … and stayed the same widgets …
    assert changes == [0] * 5  # … never drawn again
    assert view.code_blocks()[0].code == CODE
    assert view.plain_text().endswith("Done.")


def test_a_code_block_whose_language_streams_in_is_made_once(qtbot):
    view = ReplyView()
    qtbot.addWidget(view)
    made = []
    for text in ("Here:\n\n```", "Here:\n\n```pyt", "Here:\n\n```python\n", "Here:\n\n```python\nx = 1"):
        view.show_text(text, streaming=True)
        made.extend(block for block in view.code_blocks() if block not in made)
    view.show_text("Here:\n\n```python\nx = 1\n```")
    assert len(made) == 1 and view.code_blocks() == made
    assert made[0].language == "python" and made[0].code == "x = 1"
    assert made[0]._language_label.text() == "python"


def test_a_stored_text_unlike_the_streamed_one_is_drawn_anew(qtbot):
    view = reply_view(qtbot, "")
    view.show_text("```python\nx = 1\n```\n\nmore", streaming=True)
    view.show_text("Only prose now.")
    assert [type(widget) for widget in view.block_widgets()] == [MessageBody]
    assert view.plain_text() == "Only prose now."


PARAGRAPH = "A paragraph\nof two lines."


def test_a_block_finished_while_streaming_gets_its_final_render_when_the_gui_is_idle(qtbot):
    """The update that ends the paragraph and starts the list draws only the list; the paragraph loses its caret a
    moment later, or at the next update if that comes first."""
    view = reply_view(qtbot, "")
    view.show_text(PARAGRAPH, streaming=True)
    view.show_text(PARAGRAPH + "\n\n- one", streaming=True)
    paragraph, listing = view.block_widgets()
    assert paragraph.toPlainText() == "A paragraph of two lines. ▍" and listing.toPlainText() == "one ▍"
    assert view.plain_text() == "A paragraph of two lines.\n\none"  # what Copy takes has no caret mid-text
    qtbot.waitUntil(lambda: paragraph.toPlainText() == "A paragraph of two lines.")

    early = reply_view(qtbot, "")
    early.show_text(PARAGRAPH, streaming=True)
    early.show_text(PARAGRAPH + "\n\n- one", streaming=True)
    early.show_text(PARAGRAPH + "\n\n- one, two", streaming=True)  # before the GUI was idle
    assert early.block_widgets()[0].toPlainText() == "A paragraph of two lines."


def test_a_finished_block_dropped_before_its_final_render_is_left_alone(qtbot):
    view = reply_view(qtbot, "")
    view.show_text("```py\nx = 1", streaming=True)
    view.show_text("```py\nx = 1\n```\nmore", streaming=True)
    view.show_text("Only prose now.")  # the stored text differs: the code block goes before the GUI is idle
    qtbot.wait(10)
    assert [type(widget) for widget in view.block_widgets()] == [MessageBody]
    assert view.plain_text() == "Only prose now."


def test_a_spare_widget_of_each_kind_is_made_while_idle_and_taken_by_the_next_block(qtbot):
    view = reply_view(qtbot, "")
    view.show_text("Intro", streaming=True)
    qtbot.waitUntil(lambda: view.spare_kinds() == {"prose", "code"})
    (spare_code,) = [block for block in view.findChildren(CodeBlock) if block not in view.code_blocks()]
    assert not spare_code.isVisible() and spare_code not in view.block_widgets()  # out of sight until it is a block
    view.show_text("Intro\n\n```python\nx = 1", streaming=True)
    assert view.code_blocks() == [spare_code] and spare_code.isVisible()
    assert spare_code.language == "python" and spare_code._language_label.text() == "python"
    assert spare_code.code == "x = 1"
    qtbot.waitUntil(lambda: view.spare_kinds() == {"prose", "code"})  # the next one is made ahead again
    view.show_text("Intro\n\n```python\nx = 1\n```")
    assert view.spare_kinds() == set()  # a finished reply keeps no spares
    qtbot.waitUntil(lambda: view.findChildren(CodeBlock) == view.code_blocks())


def count_change(changes: list[int], index: int):
    def counted() -> None:
        changes[index] += 1

    return counted


def click_link(qtbot, body: MessageBody, text: str) -> None:
    """Click in the middle of the link whose text is `text`."""
    start = body.toPlainText().index(text) + len(text) // 2
    cursor = body.textCursor()
    cursor.setPosition(start)
    point = body.cursorRect(cursor).center()
    qtbot.mouseClick(body.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))


def test_a_think_stream_renders_as_a_collapsed_thinking_section_above_the_answer(qtbot):
    from dataclasses import replace
    from datetime import UTC, datetime

    from app.core.domain import Message, MessageStatus, Role
    from app.gui.conversation import MessageCard

    streaming = Message(
        id=7, thread_id=1, parent_id=None, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    card = MessageCard(streaming)
    qtbot.addWidget(card)
    card.show()
    card.show_message(streaming, live_text="<thi")
    assert card.body_text() == "" and not card.thinking.isHidden()  # half a marker never shows as text
    card.show_message(streaming, live_text="<think>The user wants code")
    assert card.thinking.toggle.text().startswith("▸ Thinking…")
    assert not card.thinking.expanded and card.thinking.body.isHidden()
    assert card.body_text() == ""
    card.show_message(streaming, live_text="<think>The user wants code</think>\n\nHere it is.")
    assert card.body_text() == "Here it is."

    stored = replace(
        streaming, status=MessageStatus.COMPLETE, content="Here it is.", reasoning="The user wants code",
        reasoning_s=2.25,
    )  # fmt: skip
    card.show_message(stored)
    assert card.thinking.toggle.text() == "▸ Thought for 2.2 s"
    assert card.body_text() == "Here it is." and "user wants" not in card.body_text()
    qtbot.mouseClick(card.thinking.toggle, Qt.MouseButton.LeftButton)
    assert card.thinking.expanded and card.thinking.body.toPlainText() == "The user wants code"
    assert card.thinking.toggle.text() == "▾ Thought for 2.2 s"

    plain = replace(stored, reasoning=None, reasoning_s=None, id=8)
    assert MessageCard(plain).thinking.isHidden()  # no thinking, no section
