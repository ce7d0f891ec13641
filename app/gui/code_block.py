"""A fenced code block in a reply: a language label and a Copy button over the code, highlighted by Pygments and
never wrapped (a wrapped Python line changes meaning) — a long line scrolls sideways inside the block."""

from __future__ import annotations

import math
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_all_lexers, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Token, _TokenType
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme

LIGHT_STYLE, DARK_STYLE = "xcode", "github-dark"  # every colour they give code is above 4.5:1 on the theme's tint
COPIED_MS = 1500
COMMON_LANGUAGES = ("python", "bash", "sh", "javascript", "typescript", "json", "c", "cpp", "rust", "go", "java", "sql")



@lru_cache(maxsize=64)
def lexer_for(language: str) -> Lexer:
    """The fence's language, or plain text for none or one Pygments does not know."""
    if language.lower() not in known_languages():
        return TextLexer()
    return get_lexer_by_name(language, stripnl=False, ensurenl=False)


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    """Every language name Pygments knows, its plugins' too. Asking Pygments for a name it does not know (a fence's
    language as it streams in: "pyt") scanned the installed packages for plugins, ~11–33 ms of the GUI thread."""
    return frozenset(alias.lower() for _name, aliases, _files, _mimes in get_all_lexers() for alias in aliases)


def preload_lexers() -> None:
    """Import the lexers of the usual languages and the styles ahead of time (off the GUI thread): the first code
    block of a language would otherwise stall the window ~30 ms while a reply streams."""
    known_languages()
    for language in COMMON_LANGUAGES:
        lexer_for(language)
    for style in (LIGHT_STYLE, DARK_STYLE):
        get_style_by_name(style)


@lru_cache(maxsize=4)
def formats_for(style_name: str) -> dict[_TokenType, QTextCharFormat]:
    """Each token type's character format in a Pygments style. Error tokens stay plain: a line still streaming
    often lexes as one, and red half-lines would flicker."""
    formats: dict[_TokenType, QTextCharFormat] = {}
    for token_type, spec in get_style_by_name(style_name):
        if token_type in Token.Error:
            continue
        form = QTextCharFormat()
        if spec["color"]:
            form.setForeground(QColor(f"#{spec['color']}"))
        if spec["bold"]:
            form.setFontWeight(QFont.Weight.Bold)
        if spec["italic"]:
            form.setFontItalic(True)
        formats[token_type] = form
    return formats


class PygmentsHighlighter(QSyntaxHighlighter):
    """Colours each line by its tokens. While the block streams, each line is lexed alone (cheap, and a changed line
    re-colours only itself); `lex_whole` lexes the finished block once, so a string or comment over several lines is
    coloured right."""

    def __init__(self, document: QTextDocument, language: str) -> None:
        super().__init__(document)
        self._lexer = lexer_for(language)
        self._formats = formats_for(DARK_STYLE if theme.current() == theme.DARK else LIGHT_STYLE)
        self._lines: list[list[tuple[int, int, _TokenType]]] | None = None  # from the whole block, once finished

    def set_language(self, language: str) -> None:
        self._lexer = lexer_for(language)
        self.rehighlight()

    def lex_whole(self, text: str) -> None:
        lines: list[list[tuple[int, int, _TokenType]]] = [[]]
        column = 0
        for token_type, value in self._lexer.get_tokens(text):
            for index, part in enumerate(value.split("\n")):
                if index:
                    lines.append([])
                    column = 0
                if part:
                    lines[-1].append((column, len(part), token_type))
                    column += len(part)
        self._lines = lines
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        number = self.currentBlock().blockNumber()
        if self._lines is not None and number < len(self._lines):
            spans = self._lines[number]
        else:
            spans, column = [], 0
            for token_type, value in self._lexer.get_tokens(text):
                spans.append((column, len(value), token_type))
                column += len(value)
        for start, length, token_type in spans:
            form = self._format(token_type)
            if form is not None:
                self.setFormat(start, length, form)

    def _format(self, token_type: _TokenType) -> QTextCharFormat | None:
        while token_type is not Token and token_type not in self._formats:
            token_type = token_type.parent
        return self._formats.get(token_type)


class CodeView(QPlainTextEdit):
    """The code itself: read-only, monospace, no wrap, as tall as its lines (the page scrolls, not the block)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeView")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setAccessibleName(self.tr("Code"))
        self.setAccessibleDescription(self.tr("The code of this block; select it or use Copy"))
        self.document().setDocumentMargin(8)
        self.document().blockCountChanged.connect(self.fit_height)
        self.horizontalScrollBar().rangeChanged.connect(self.fit_height)

    def fit_height(self, *_args) -> None:
        lines = max(1, self.document().blockCount())
        line_height = self.fontMetrics().lineSpacing()
        bar = self.horizontalScrollBar()
        bar_height = bar.sizeHint().height() if bar.maximum() > 0 else 0
        margin = 2 * math.ceil(self.document().documentMargin())
        self.setFixedHeight(lines * line_height + margin + bar_height + 2 * self.frameWidth() + 2)

    def wheelEvent(self, event) -> None:
        """Vertical wheel turns scroll the page (the block is as tall as its code); sideways ones the code."""
        if abs(event.angleDelta().x()) > abs(event.angleDelta().y()):
            super().wheelEvent(event)
        else:
            event.ignore()


class CodeBlock(QFrame):
    """A code block of a reply. `show_code` grows it while the reply streams (only the new text is added);
    `finish` lexes it whole once the fence closes."""

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeBlock")
        self.language = language
        self.code = ""
        self.finished = False
        label = self._language_label = QLabel(language or self.tr("code"))
        label.setObjectName("codeLanguage")
        self.copy_button = QToolButton()
        self.copy_button.setObjectName("codeCopy")
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setAutoRaise(True)
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.setToolTip(self.tr("Copy this code to the clipboard"))
        self.copy_button.setAccessibleName(self.tr("Copy code"))
        self.copy_button.setAccessibleDescription(self.tr("Puts exactly this block's code on the clipboard"))
        self.copy_button.clicked.connect(self.copy)
        header = QHBoxLayout()
        header.setContentsMargins(10, 2, 4, 0)
        header.addWidget(label)
        header.addStretch(1)
        header.addWidget(self.copy_button)
        self.view = CodeView()
        self._highlighter = PygmentsHighlighter(self.view.document(), language)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view)
        self.view.fit_height()  # one line until code comes (a fence with nothing after it stays one line)

    def set_language(self, language: str) -> None:
        """The fence's language as it streams in ("p", "pyt", "python"): the block stays, only its label and lexer
        change (making a block anew for each took ~8 ms of the GUI thread every time)."""
        if language != self.language:
            self.language = language
            self._language_label.setText(language or self.tr("code"))
            self._highlighter.set_language(language)

    def show_code(self, code: str) -> None:
        if code == self.code:
            return
        if code.startswith(self.code) and self.code:
            cursor = self.view.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(code[len(self.code) :])  # the lines above keep their layout and colours
        else:
            self.view.setPlainText(code)
        self.code = code
        self.view.fit_height()

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self._highlighter.lex_whole(self.code)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy_button.setText(self.tr("Copied"))
        QTimer.singleShot(COPIED_MS, self, lambda: self.copy_button.setText(self.tr("Copy")))
