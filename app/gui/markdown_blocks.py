"""A reply's Markdown cut into top-level blocks (prose and fenced code), so a streaming reply lays out each finished
block once and re-renders only the one still being written. Plain Python: no Qt."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
LIST_ITEM = re.compile(r"^ {0,3}([-*+]|\d{1,9}[.)])(\s|$)")


@dataclass(frozen=True)
class Block:
    """One top-level block. `kind` is "prose" (Markdown) or "code" (a fence's inside, without the fences);
    `language` is the fence's info word ("" when none); `closed` is False only for the last block of a reply still
    streaming, which may yet grow."""

    kind: str
    text: str
    language: str = ""
    closed: bool = True


def split_blocks(text: str, *, streaming: bool = False) -> list[Block]:
    """Cut `text` at code fences and at blank lines between prose paragraphs; a list (blank lines between its items
    included), an indented continuation and a table stay one block. While `streaming`, the last block is open."""
    return _split(text, streaming).blocks


class BlockSplitter:
    """`split_blocks` for a text that grows (a streaming reply): the text before the last settled point is not split
    again, its blocks are kept (re-splitting the whole reply on every update grew with the reply). The result is
    always that of `split_blocks` on the whole text; a text that does not start with the settled part (a stored
    reply that differs from what streamed) is split whole."""

    def __init__(self) -> None:
        self._settled_text = ""
        self._settled_blocks: list[Block] = []

    def split(self, text: str, *, streaming: bool = False) -> list[Block]:
        if not text.startswith(self._settled_text):
            self._settled_text, self._settled_blocks = "", []
        rest = text[len(self._settled_text) :]
        split = _split(rest, streaming)
        blocks = self._settled_blocks + split.blocks
        self._settled_text += rest[: split.settled_at]
        self._settled_blocks = blocks[: len(self._settled_blocks) + split.settled_blocks]
        return blocks

    @property
    def settled_length(self) -> int:
        """How many characters of the text are no longer split."""
        return len(self._settled_text)


@dataclass(frozen=True)
class _Split:
    """The blocks of a text, and its settled point: the text before `settled_at` (a line's start) gives the first
    `settled_blocks` blocks whatever follows, and the text from there on splits alone into the rest."""

    blocks: list[Block]
    settled_at: int = 0
    settled_blocks: int = 0


def _split(text: str, streaming: bool) -> _Split:
    """The text is settled up to the start of a complete line (one a newline follows) that opens a fence, that
    follows a closing fence, or that starts a prose block which does not continue the one before it: the prose
    grouping starts afresh after a fence, and a block only ever continues the one just before it."""
    blocks: list[Block] = []
    paragraphs: list[_Paragraph] = []  # the prose since the last fence
    lines = text.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    last_line = len(lines) - 1
    settled = (0, 0)  # (line, blocks before it)
    index = 0

    def flush_prose() -> None:
        nonlocal settled
        for group_index, (first_line, group) in enumerate(_group_paragraphs(paragraphs)):
            if group_index and first_line < last_line:
                settled = (first_line, len(blocks))
            blocks.append(Block("prose", "\n".join(group).strip("\n")))
        paragraphs.clear()

    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            flush_prose()
            if index < last_line:
                settled = (index, len(blocks))
            marker, language = fence.group(1), fence.group(2)
            body: list[str] = []
            index += 1
            closed = False
            while index < len(lines):
                candidate = lines[index].strip()
                if candidate.startswith(marker[0] * len(marker)) and set(candidate) <= {marker[0]}:
                    closed = True
                    break
                body.append(lines[index])
                index += 1
            blocks.append(Block("code", "\n".join(body), language, closed=closed or not streaming))
            if closed and index < last_line:
                settled = (index + 1, len(blocks))
            index += 1
            continue
        if not line.strip():
            if paragraphs and paragraphs[-1].lines:
                paragraphs.append(_Paragraph())
        else:
            if not paragraphs:
                paragraphs.append(_Paragraph())
            if not paragraphs[-1].lines:
                paragraphs[-1].first_line = index
            paragraphs[-1].lines.append(line)
        index += 1
    flush_prose()
    if streaming and blocks and blocks[-1].kind == "prose":
        blocks[-1] = Block("prose", blocks[-1].text, closed=False)
    line, count = settled
    return _Split(blocks, starts[line], count)


@dataclass
class _Paragraph:
    """Lines of prose between blank lines, and where the first of them is in the text."""

    first_line: int = 0
    lines: list[str] = field(default_factory=list)


def _group_paragraphs(paragraphs: list[_Paragraph]) -> list[tuple[int, list[str]]]:
    """Paragraphs joined where Markdown would read them as one block: list items with their loose items and
    indented continuations. Each group with the line it starts on."""
    groups: list[tuple[int, list[str]]] = []
    for paragraph in paragraphs:
        lines = paragraph.lines
        if not lines:
            continue
        continues = groups and (
            lines[0].startswith((" ", "\t")) or (LIST_ITEM.match(lines[0]) and LIST_ITEM.match(groups[-1][1][0]))
        )
        if continues:
            groups[-1][1].extend(["", *lines])
        else:
            groups.append((paragraph.first_line, list(lines)))
    return groups
