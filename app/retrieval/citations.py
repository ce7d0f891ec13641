"""Which passages a reply used, and whether each cited text is really at that place in the stored file."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.documents import Citation, Passage
from app.ingest.extract import UnreadableFile, page_texts

_MARKER = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"\w+")
QUOTE_WORDS = 6  # this many words in a row shared with a passage count as using it


def marked_numbers(reply: str, *, count: int) -> set[int]:
    """Passage numbers the reply refers to as [n]."""
    return {n for n in map(int, _MARKER.findall(reply)) if 1 <= n <= count}


def quoted(reply: str, passage_text: str, *, words: int = QUOTE_WORDS) -> bool:
    """Does the reply repeat `words` consecutive words of the passage (case and punctuation aside)?"""
    reply_words = [w.lower() for w in _WORD.findall(reply)]
    if len(reply_words) < words:
        return False
    shingles = {tuple(reply_words[i : i + words]) for i in range(len(reply_words) - words + 1)}
    source = [w.lower() for w in _WORD.findall(passage_text)]
    return any(tuple(source[i : i + words]) in shingles for i in range(len(source) - words + 1))


def verify(passage: Passage, *, stored_path: Path, kind: str, cache: dict[int, list[str]]) -> bool:
    """True only when the passage's text is exactly at (page, start, end) of the file as stored."""
    pages = cache.get(passage.document_id)
    if pages is None:
        try:
            pages = page_texts(stored_path, kind=kind, name=passage.file_name)
        except (UnreadableFile, OSError):
            pages = []  # an encrypted or vanished file cannot be checked: never shown as verified
        cache[passage.document_id] = pages
    if not 1 <= passage.page <= len(pages):
        return False
    return pages[passage.page - 1][passage.start : passage.end] == passage.text and bool(passage.text.strip())


def citation(number: int, passage: Passage, *, stored_path: str, verified: bool) -> Citation:
    return Citation(
        number=number, file_name=passage.file_name, page=passage.page, start=passage.start, end=passage.end,
        text=passage.text, verified=verified, document_id=passage.document_id, stored_path=stored_path,
    )  # fmt: skip
