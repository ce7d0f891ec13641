"""The built-in tools: search my threads, search this thread's documents, read an attachment's page, calculator,
current date and time. All read-only. ("Remember this" comes from the memory provider, not from here.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from app.core.calculator import evaluate
from app.core.domain import Thread
from app.core.errors import ThreadloomError
from app.core.tools import ToolEffect, ToolOutcome, ToolSpec
from app.ingest.extract import kind_of, page_texts
from app.services.attachments import AttachmentService
from app.services.search import SearchService

SEARCH_RESULTS = 5
PAGE_CHARS = 4000  # of a page's text given back to the model (a small model's window is a few thousand tokens)

_QUERY = {"type": "object", "properties": {"query": {"type": "string", "minLength": 1}}, "required": ["query"]}

SEARCH_THREADS = ToolSpec(
    "search_threads", "Search all of the user's earlier conversations for words or a topic.", _QUERY,
    ToolEffect.READ_ONLY,
)  # fmt: skip
SEARCH_DOCUMENTS = ToolSpec(
    "search_documents", "Search the files attached to this conversation; answers with numbered passages to cite.",
    _QUERY, ToolEffect.READ_ONLY,
)  # fmt: skip
READ_PAGE = ToolSpec(
    "read_page", "Read one page of a file attached to this conversation.",
    {
        "type": "object",
        "properties": {"file": {"type": "string", "minLength": 1}, "page": {"type": "integer", "minimum": 1}},
        "required": ["file", "page"],
    },
    ToolEffect.READ_ONLY,
)  # fmt: skip
CALCULATOR = ToolSpec(
    "calculator", "Compute an arithmetic expression exactly, e.g. (17 * 23) / 4 or sqrt(2).",
    {"type": "object", "properties": {"expression": {"type": "string", "minLength": 1}}, "required": ["expression"]},
    ToolEffect.READ_ONLY,
)  # fmt: skip
CURRENT_TIME = ToolSpec(
    "current_time", "The current local date and time.", {"type": "object", "properties": {}}, ToolEffect.READ_ONLY
)


class BuiltinTools:
    """A `ToolProvider`. The document tools are offered only in threads that have readable attachments."""

    def __init__(
        self, search: SearchService, attachments: AttachmentService, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self._search = search
        self._attachments = attachments
        self._now = now or (lambda: datetime.now().astimezone())

    def tools(self, thread: Thread) -> list[ToolSpec]:
        offered = [SEARCH_THREADS, CALCULATOR, CURRENT_TIME]
        if self._readable(thread):
            offered[1:1] = [SEARCH_DOCUMENTS, READ_PAGE]
        return offered

    def call(self, thread: Thread, name: str, arguments: dict) -> ToolOutcome:
        try:
            if name == "calculator":
                return ToolOutcome(_number(evaluate(arguments["expression"])))
            if name == "current_time":
                return ToolOutcome(self._now().strftime("%A %d %B %Y, %H:%M %Z").strip())
            if name == "search_threads":
                return self._search_threads(thread, arguments["query"])
            if name == "search_documents":
                return self._search_documents(thread, arguments["query"])
            if name == "read_page":
                return self._read_page(thread, arguments["file"], arguments["page"])
        except ThreadloomError as exc:
            return ToolOutcome("", error=str(exc))
        return ToolOutcome("", error=f"no built-in tool named {name!r}")

    def _readable(self, thread: Thread):
        return [a for a in self._attachments.attachments(thread.id) if a.document.chunk_count]

    def _search_threads(self, thread: Thread, query: str) -> ToolOutcome:
        hits = [hit for hit in self._search.search(query, limit=SEARCH_RESULTS + 5) if hit.thread_id != thread.id]
        if not hits:
            return ToolOutcome(f"No earlier conversation mentions {query!r}.")
        lines = [
            f"- \"{hit.thread_title}\" ({hit.created_at:%Y-%m-%d}, {hit.role}): {hit.snippet}"
            for hit in hits[:SEARCH_RESULTS]
        ]  # fmt: skip
        return ToolOutcome("\n".join(lines))

    def _search_documents(self, thread: Thread, query: str) -> ToolOutcome:
        attachments = self._readable(thread)
        names = {a.document.id: a.file_name for a in attachments}
        passages = self._attachments.retriever.search(
            query, document_ids=list(names), names=names, limit=SEARCH_RESULTS
        )  # fmt: skip
        if not passages:
            return ToolOutcome(f"No passage of the attached files matches {query!r}.")
        lines = ["Passages; cite the ones you use as [1], [2], …:"]
        for number, p in enumerate(passages, 1):
            lines.append(f"[{number}] {p.file_name}, page {p.page} (characters {p.start}–{p.end}):\n{p.text}")
        return ToolOutcome("\n\n".join(lines))

    def _read_page(self, thread: Thread, file: str, page: int) -> ToolOutcome:
        attachments = self._readable(thread)
        match = next((a for a in attachments if a.file_name == file), None) or next(
            (a for a in attachments if a.file_name.lower().startswith(file.lower())), None
        )
        if match is None:
            known = ", ".join(a.file_name for a in attachments) or "none"
            return ToolOutcome("", error=f"no attached file named {file!r} (attached: {known})")
        path = Path(match.document.stored_path)
        pages = page_texts(path, kind=kind_of(path) or "text", name=match.file_name)
        if not 1 <= page <= len(pages):
            return ToolOutcome("", error=f"{match.file_name} has {len(pages)} pages; there is no page {page}")
        text = pages[page - 1]
        cut = " […]" if len(text) > PAGE_CHARS else ""
        return ToolOutcome(f"{match.file_name}, page {page} of {len(pages)}:\n{text[:PAGE_CHARS]}{cut}")


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)
