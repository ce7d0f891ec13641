"""A reply's Markdown cut into top-level blocks (prose and fenced code), so a streaming reply lays out each finished
block once and re-renders only the one still being written. Plain Python: no Qt."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    blocks: list[Block] = []
    paragraphs: list[list[str]] = []  # the prose since the last fence, as paragraphs of lines
    lines = text.split("\n")
    index = 0

    def flush_prose() -> None:
        for group in _group_paragraphs(paragraphs):
            blocks.append(Block("prose", "\n".join(group).strip("\n")))
        paragraphs.clear()

    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            flush_prose()
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
            index += 1
            continue
        if not line.strip():
            if paragraphs and paragraphs[-1]:
                paragraphs.append([])
        else:
            if not paragraphs:
                paragraphs.append([])
            paragraphs[-1].append(line)
        index += 1
    flush_prose()
    blocks = [block for block in blocks if block.kind == "code" or block.text]
    if streaming and blocks and blocks[-1].kind == "prose":
        blocks[-1] = Block("prose", blocks[-1].text, closed=False)
    return blocks


def _group_paragraphs(paragraphs: list[list[str]]) -> list[list[str]]:
    """Paragraphs joined where Markdown would read them as one block: list items with their loose items and
    indented continuations."""
    groups: list[list[str]] = []
    for paragraph in paragraphs:
        if not paragraph:
            continue
        continues = groups and (
            paragraph[0].startswith((" ", "\t"))
            or (LIST_ITEM.match(paragraph[0]) and LIST_ITEM.match(groups[-1][0]))
        )
        if continues:
            groups[-1] += ["", *paragraph]
        else:
            groups.append(list(paragraph))
    return groups
