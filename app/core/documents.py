"""Attachments and what retrieval makes of them: documents, chunks, passages, citations, ingest progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DocumentStatus(StrEnum):
    PENDING = "pending"            # stored, not read yet (or an ingest stopped before reading it)
    EMBEDDING = "embedding"        # chunks stored, vectors still missing for some
    READY = "ready"
    NEEDS_PASSWORD = "needs_password"
    ERROR = "error"                # `error` says why, in one line that names the file


@dataclass(frozen=True, slots=True)
class Document:
    """One stored file, kept once per content (sha256) however many threads attach it."""

    id: int
    sha256: str
    stored_path: str
    kind: str          # "pdf", "text", "markdown", "rst", "code", "html", "docx", "csv"
    size_bytes: int
    pages: int
    status: DocumentStatus
    error: str | None
    summary: str | None
    chunk_count: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document as a thread (or a knowledge folder) knows it: under the name the user gave it."""

    id: int
    thread_id: int | None   # None: attached to every thread (a global knowledge folder)
    file_name: str
    source_path: str | None
    folder_id: int | None
    document: Document
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KnowledgeFolder:
    id: int
    path: str
    thread_id: int | None  # None: every thread sees it
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChunkText:
    """A piece of a document's text as the chunker cut it; `start`/`end` index the page's (or file's) text."""

    page: int   # 1-based; 1 for files without pages
    start: int
    end: int
    text: str


HEADING_MAX_CHARS = 160  # a page heading: its opening lines up to this long (a statement's title and units)
HEADING_MAX_LINES = 3
HEADING_LINE_MAX_CHARS = 60  # a longer line is prose, not a heading: the heading ends before it
_NOT_HEADINGS = ("table of contents",)


def page_heading(page_opening: str) -> str:
    """What a page is about, from its opening text: its first short lines (a running "Table of Contents" link and
    bare page numbers aside), up to HEADING_MAX_LINES lines and HEADING_MAX_CHARS characters, joined by " / "; ""
    when the page opens with prose. It goes with every chunk of the page that does not start with it: into its
    embedding and before it in a prompt."""
    lines: list[str] = []
    for raw in page_opening.splitlines():
        line = raw.strip()
        if not line or line.lower() in _NOT_HEADINGS or line.isdigit():
            continue
        if len(line) > HEADING_LINE_MAX_CHARS or sum(map(len, lines)) + len(line) > HEADING_MAX_CHARS:
            break
        lines.append(line)
        if len(lines) == HEADING_MAX_LINES:
            break
    return " / ".join(lines)


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk, with where it came from, ready to go into a prompt or a citation."""

    chunk_id: int
    document_id: int
    file_name: str
    page: int
    start: int
    end: int
    text: str
    score: float  # fused reciprocal-rank score, higher is better


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage the reply used. `verified` only when its text was found again at that place in the stored file."""

    number: int       # [n] as the reply writes it
    file_name: str
    page: int
    start: int
    end: int
    text: str
    verified: bool
    document_id: int
    stored_path: str


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a background ingest is; the GUI shows it as a bar, the CLI as a line."""

    file_name: str
    files_done: int
    files_total: int
    pages_done: int
    pages_total: int
    chunks_done: int
    chunks_total: int
    eta_s: float | None
    phase: str  # "reading", "embedding", "summarising", "done"
