"""Pure search helpers: the user's query as an FTS5 expression, reciprocal rank fusion, snippets with highlights."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence

_QUERY_PART = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)

RRF_K = 60  # the customary constant: ranks far down a list still count, but little


def fts_query(text: str) -> str | None:
    """Turn what a user types into a safe FTS5 MATCH expression: "quoted phrases", prefix* terms, all required.

    Punctuation and FTS5 operators in the input are treated as text, so no input is a syntax error.
    Returns None when nothing searchable is left.
    """
    parts = []
    for phrase, word in _QUERY_PART.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
            continue
        prefix = word.endswith("*")
        for index, token in enumerate(words := _WORD.findall(word)):
            last = index == len(words) - 1
            parts.append(f'"{token}"*' if prefix and last else f'"{token}"')
    return " ".join(parts) or None


def query_terms(text: str) -> list[str]:
    """Lower-cased words of the query, for highlighting (a prefix term keeps only its stem)."""
    return [word.lower() for word in _WORD.findall(text)]


def reciprocal_rank_fusion(*rankings: Sequence[Hashable], k: int = RRF_K) -> list[tuple[Hashable, float]]:
    """Fuse ranked lists (best first) into one: score = sum of 1 / (k + rank). Ties keep first-seen order."""
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


# Markdown markup that reads as noise in a one-line snippet: the text it marks up stays. Every scan for a closing
# mark is bounded (by the next opening bracket, or to MARKED_SPAN characters), so text full of unclosed `[`, `**`
# or `_` costs linear time, not a rescan to the end per mark.
MARKED_SPAN = 300
_MARKDOWN = [
    (re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE), ""),  # headings, quotes, lists
    (re.compile(r"^[ \t]*(?:```|~~~).*$", re.MULTILINE), ""),  # code fences
    (re.compile(rf"(\*\*|__|`)(.{{1,{MARKED_SPAN}}}?)\1"), r"\2"),  # bold, inline code
    (re.compile(rf"(?<!\w)[*_](?=\S)(.{{1,{MARKED_SPAN}}}?)(?<=\S)[*_](?!\w)"), r"\1"),  # italics
]


def plain_text(markdown: str) -> str:
    """The words of a Markdown message without its markup, for snippets."""
    for pattern, replacement in _MARKDOWN:
        markdown = pattern.sub(replacement, markdown)
    return markdown


def snippet(text: str, terms: Sequence[str], *, width: int = 160) -> str:
    """A window of `text` (Markdown markup left out) around the first query term, with every term occurrence
    wrapped in [ ]."""
    flat = " ".join(plain_text(text).split())
    lowered = flat.lower()
    positions = [lowered.find(term) for term in terms if term and lowered.find(term) >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    window = flat[start : start + width]
    if start > 0:
        window = "…" + window
    if start + width < len(flat):
        window += "…"
    if not terms:
        return window
    pattern = re.compile("(" + "|".join(re.escape(term) + r"\w*" for term in terms if term) + ")", re.IGNORECASE)
    return pattern.sub(r"[\1]", window)
