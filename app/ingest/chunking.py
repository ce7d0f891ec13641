"""Cut page texts into ~256–512-token chunks at the best structural break (heading, paragraph, sentence, line,
word), with a small overlap, keeping each chunk's page and exact character span (`text == page[start:end]`)."""

from __future__ import annotations

import bisect
import re

from app.core.documents import ChunkText

TARGET_TOKENS = 320   # the embedding model reads 512 tokens; word pieces outnumber these estimates a little
MIN_TOKENS = 160      # do not break before this unless the page ends
OVERLAP_TOKENS = 40

# A rough token: a CJK character, a word, or one punctuation mark.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+|[^\w\s]")
# Break candidates, best first: a heading or a blank line, a sentence end, a line end, a space.
_BREAKS = (
    re.compile(r"\n\s*\n|\n(?=#{1,6} )"),
    re.compile(r"(?<=[.!?。！？])\s+"),
    re.compile(r"\n"),
    re.compile(r"\s+"),
)


def chunk_pages(pages: list[str]) -> list[ChunkText]:
    chunks: list[ChunkText] = []
    for number, text in enumerate(pages, 1):
        chunks.extend(_chunk_page(number, text))
    return chunks


def _chunk_page(page: int, text: str) -> list[ChunkText]:
    token_starts = [match.start() for match in _TOKEN.finditer(text)]
    if not token_starts:
        return []
    chunks: list[ChunkText] = []
    first = 0  # index of the chunk's first token
    while first < len(token_starts):
        last = min(first + TARGET_TOKENS, len(token_starts))
        start = token_starts[first]
        if last == len(token_starts):
            end = len(text)
        else:
            end = _best_break(text, token_starts[min(first + MIN_TOKENS, last - 1)], token_starts[last])
        piece = text[start:end]
        stripped_end = start + len(piece.rstrip())
        chunks.append(ChunkText(page, start, stripped_end, text[start:stripped_end]))
        if end >= len(text):
            break
        next_first = bisect.bisect_left(token_starts, end)
        # Step back a little for the overlap, but always move forward.
        first = max(first + 1, next_first - OVERLAP_TOKENS)
        first = _word_start(text, token_starts, first, floor=first)
    return chunks


def _best_break(text: str, low: int, high: int) -> int:
    """The position just after the best-ranked break in text[low:high] (the last one of that rank)."""
    window = text[low:high]
    for pattern in _BREAKS:
        found = [match.end() for match in pattern.finditer(window)]
        if found:
            return low + found[-1]
    return high


def _word_start(text: str, token_starts: list[int], index: int, *, floor: int) -> int:
    """Move `index` forward to the first token that starts after whitespace, so an overlap never begins mid-word."""
    while index < len(token_starts) and index > 0 and not text[token_starts[index] - 1].isspace():
        if index - floor > OVERLAP_TOKENS:
            break
        index += 1
    return index
