"""Moving history in and out: lossless JSON and readable Markdown exports; imports of our JSON, ChatGPT's
`conversations.json` and Open WebUI's export.

An import reads the whole file first. A file that is not one of these formats changes nothing; an entry that cannot
be read is skipped and reported by its title with a one-line reason while the rest imports, each thread (with the
record of where it came from) in its own transaction. Entries come from strangers' files: every walk over their
message links is bounded and every reference is checked before anything is written, so a cycle, a stale id or an
absurd value fails its own entry and nothing else. A conversation already imported (same source id) is skipped.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core import metadata
from app.core.domain import (
    ImportedMessage,
    ImportedThread,
    MessageStatus,
    Role,
    Thread,
    Timings,
    Usage,
)
from app.core.errors import InvalidInput
from app.core.insights import MAX_NOTE_LENGTH, Rating, RatingValue
from app.core.tools import ToolCall, ToolCallStatus, ToolEffect
from app.store import Store
from app.store.imports import ImportSources

FORMAT = "threadloom"
FORMAT_VERSION = 1


@dataclass
class ImportReport:
    imported: list[Thread] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (title, why)


# Export


def export_json(store: Store, thread_ids: Iterable[int]) -> dict[str, Any]:
    """Every branch, status, timestamp, usage, tag, metadata pair and summary: import gives the same threads back."""
    return {"format": FORMAT, "version": FORMAT_VERSION, "threads": [_thread_json(store, i) for i in thread_ids]}


def _thread_json(store: Store, thread_id: int) -> dict[str, Any]:
    thread = store.get_thread(thread_id)
    messages = store.messages(thread.id)
    ratings = store.ratings(m.id for m in messages)
    calls: dict[int, list[ToolCall]] = {}
    for call in store.thread_tool_calls(thread_id):
        calls.setdefault(call.message_id, []).append(call)
    return {
        "id": thread.id,
        "title": thread.title,
        "title_source": thread.title_source,
        "created_at": thread.created_at.isoformat(),
        "updated_at": thread.updated_at.isoformat(),
        "pinned": thread.pinned,
        "archived": thread.archived,
        "model": thread.model,
        "system_prompt": thread.system_prompt,
        "current_leaf_id": thread.current_leaf_id,
        "tags": list(thread.tags),
        "metadata": [
            {"key": key, "type": kind, "value": text}
            for key, (kind, text) in ((k, metadata.encode(v)) for k, v in thread.metadata.items())
        ],
        "summaries": [
            {"up_to_message_id": s.up_to_message_id, "content": s.content, "created_at": s.created_at.isoformat()}
            for s in store.summaries(thread.id)
        ],
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id,
                "role": str(m.role),
                "content": m.content,
                "reasoning": m.reasoning,
                "reasoning_s": m.reasoning_s,
                "status": str(m.status),
                "created_at": m.created_at.isoformat(),
                "model": m.model,
                "error": m.error,
                "usage": None
                if m.usage is None
                else {
                    "prompt_tokens": m.usage.prompt_tokens,
                    "completion_tokens": m.usage.completion_tokens,
                    "cached_tokens": m.usage.cached_tokens,
                },
                "timings": None
                if m.timings is None
                else {"ttft_s": m.timings.ttft_s, "tokens_per_s": m.timings.tokens_per_s},
                "tool_calls": [tool_call_json(call) for call in calls.get(m.id, [])],
                "rating": _rating_json(ratings.get(m.id)),
            }
            for m in messages
        ],
    }


def tool_call_summary(call: ToolCall) -> dict[str, Any]:
    """A call as `chat --json` prints it (README: `tool_calls`)."""
    return {
        "id": call.id,
        "name": call.name,
        "server": call.server,
        "arguments": call.arguments,
        "result": call.result,
        "error": call.error,
        "status": str(call.status),
        "duration_ms": call.duration_ms,
    }


def tool_call_json(call: ToolCall) -> dict[str, Any]:
    """A call as the lossless export writes it: the summary and what importing it back needs."""
    return {
        **tool_call_summary(call),
        "effect": str(call.effect),
        "offset": call.offset,
        "call_key": call.call_key,
        "approved_by": call.approved_by,
        "created_at": call.created_at.isoformat(),
    }


def _tool_call_from_json(data: dict[str, Any]) -> ToolCall:
    arguments = data["arguments"]
    if not isinstance(arguments, dict | str):
        raise InvalidInput("a tool call's arguments are neither an object nor a text")
    return ToolCall(
        id=0, thread_id=0, message_id=0, call_key=str(data["call_key"]), name=str(data["name"]),
        server=str(data["server"]), arguments=arguments, status=ToolCallStatus(data["status"]),
        effect=ToolEffect(data["effect"]), offset=int(data["offset"]), created_at=_when(data["created_at"]),
        result=data.get("result"), error=data.get("error"), duration_ms=data.get("duration_ms"),
        approved_by=data.get("approved_by"),
    )  # fmt: skip


def tool_call_line(call: ToolCall) -> str:
    """A call as one readable Markdown line."""
    arguments = json.dumps(call.arguments, ensure_ascii=False) if isinstance(call.arguments, dict) else call.arguments
    if call.status == ToolCallStatus.DONE:
        outcome = (call.result or "").strip().splitlines()[0][:200] if (call.result or "").strip() else "(no output)"
    elif call.status == ToolCallStatus.FAILED:
        outcome = f"failed: {call.error}"
    elif call.status == ToolCallStatus.REFUSED:
        outcome = "declined by the user"
    else:
        outcome = str(call.status)
    return f"> 🔧 `{call.name}({arguments})` ({call.server}) → {outcome}"


def _rating_json(rating: Rating | None) -> dict[str, Any] | None:
    if rating is None:
        return None
    return {"value": str(rating.value), "note": rating.note, "rated_at": rating.rated_at.isoformat()}


def export_markdown(store: Store, thread_ids: Iterable[int]) -> str:
    """The branch each thread shows, as a document a person reads."""
    return "\n\n---\n\n".join(_thread_markdown(store, thread_id) for thread_id in thread_ids) + "\n"


def _thread_markdown(store: Store, thread_id: int) -> str:
    thread = store.get_thread(thread_id)
    lines = [f"# {thread.title}", "", f"*{thread.created_at:%Y-%m-%d %H:%M} UTC*"]
    if thread.tags:
        lines.append("Tags: " + ", ".join(thread.tags))
    lines += [f"- {key}: {value}" for key, value in thread.metadata.items()]
    for message in store.current_path(thread.id):
        who = "You" if message.role == Role.USER else f"Assistant{f' · {message.model}' if message.model else ''}"
        status = "" if message.status == MessageStatus.COMPLETE else f" *({message.status})*"
        lines += ["", f"### {who}{status}", ""]
        said = 0
        for call in store.tool_calls(message.id):
            lines += [message.content[said:call.offset].strip(), "", tool_call_line(call), ""]
            said = max(said, call.offset)
        lines.append(message.content[said:])
    return "\n".join(lines)


# Import

# What a malformed entry raises inside the parsers below, turned into that entry's one-line reason.
_ENTRY_ERRORS = (InvalidInput, KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # a whole string, or a bracket
_TITLE = re.compile(r'"(?:title|name)"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


@dataclass(frozen=True)
class _Unparsable:
    """An entry of a top-level array that json cannot decode on its own (nested too deeply)."""

    title: str
    reason: str


def import_file(store: Store, path: Path, *, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """`progress(done, total)` after each entry (the window's progress bar)."""
    data = _load(Path(path))
    entries, parse, kind = _detect(data, path)
    sources = ImportSources(store)
    report = ImportReport()
    for done, entry in enumerate(entries):
        if progress is not None:
            progress(done, len(entries))
        title = entry.title if isinstance(entry, _Unparsable) else _title_of(entry)
        try:
            if isinstance(entry, _Unparsable):
                raise InvalidInput(entry.reason)
            source = _source_id(kind, entry)
            earlier = sources.thread_for(source)
            if earlier is not None:
                raise InvalidInput(f"already imported as thread {earlier}")
            imported = _checked(parse(entry))
            if not imported.messages:
                raise InvalidInput("no messages")
            report.imported.append(sources.insert(imported, source))
        except _ENTRY_ERRORS as exc:
            report.skipped.append((title, _reason(exc)))
    if progress is not None:
        progress(len(entries), len(entries))
    return report


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not a JSON export: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not a JSON export: {exc}") from exc
    except RecursionError:
        if text.lstrip().startswith("["):
            return _entries_one_by_one(text, path)
        raise InvalidInput(f"{path} is nested too deeply to read as an export") from None


def _entries_one_by_one(text: str, path: Path) -> list[Any]:
    """The entries of a top-level JSON array, each decoded alone, so one nested too deeply fails by itself.

    One linear scan over strings and brackets finds where each entry ends, without recursion."""
    entries: list[Any] = []
    depth, start = 0, None
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket[0] == '"':
            continue
        if bracket in "[{":
            depth += 1
            if depth == 2:
                start = token.start()
        else:
            depth -= 1
            if depth == 1 and start is not None:
                entries.append(_decode_entry(text[start : token.end()], path))
                start = None
    if depth != 0:
        raise InvalidInput(f"{path} is not a JSON export: its brackets do not balance")
    return entries


def _decode_entry(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        title = _TITLE.search(text[:100_000])
        return _Unparsable(title.group(1) if title else "untitled", "nested too deeply to read")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not a JSON export: {exc}") from exc


def _detect(data: Any, path: Path) -> tuple[list[Any], Callable[[Any], ImportedThread], str]:
    if isinstance(data, dict) and data.get("format") == FORMAT:
        if data.get("version") != FORMAT_VERSION:
            raise InvalidInput(f"{path} is a Threadloom export of version {data.get('version')}; this app reads 1")
        threads = data.get("threads", [])
        if not isinstance(threads, list):
            raise InvalidInput(f"{path} is a Threadloom export without a list of threads")
        return threads, _from_threadloom, FORMAT
    entries = [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []
    if isinstance(data, list) and data and all(isinstance(entry, dict | _Unparsable) for entry in data):
        if any("mapping" in entry or "current_node" in entry for entry in entries):
            return data, _from_chatgpt, "chatgpt"
        if any(isinstance(entry.get("chat"), dict) and "history" in entry["chat"] for entry in entries):
            return data, _from_openwebui, "openwebui"
    raise InvalidInput(f"{path} is not an export this app knows (Threadloom JSON, ChatGPT, Open WebUI)")


def _source_id(kind: str, entry: dict[str, Any]) -> str:
    """A stable name for the conversation: the export's own id where it has one, else a digest of the entry."""
    own = None if kind == FORMAT else entry.get("conversation_id") or entry.get("id")
    if isinstance(own, str | int) and not isinstance(own, bool) and str(own).strip():
        return f"{kind}:{own}"
    canonical = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _reason(exc: BaseException) -> str:
    """One line, short enough to read: the project's own message, or what the parser tripped on."""
    if isinstance(exc, InvalidInput):
        text = str(exc)
    elif isinstance(exc, RecursionError):
        text = "nested too deeply to read"
    else:
        text = f"unreadable entry ({type(exc).__name__}: {exc})"
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def _title_of(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("title") or entry.get("name") or "untitled")
    return "untitled"


def _when(value: Any, fallback: datetime | None = None) -> datetime:
    if value is None and fallback is not None:
        return fallback
    try:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise InvalidInput(f"its timestamp {str(value)[:40]!r} is not a date")


def _checked(thread: ImportedThread) -> ImportedThread:
    """Every reference and limit the store relies on, checked before anything is written."""
    seen: set[str] = set()
    for message in thread.messages:
        if not isinstance(message.content, str):
            raise InvalidInput(f"message {message.key[:40]} has no text content")
        if message.key in seen:
            raise InvalidInput(f"message id {message.key[:40]} appears twice")
        if message.parent_key is not None and message.parent_key not in seen:
            raise InvalidInput(f"message {message.key[:40]} names a parent that is not before it in the export")
        seen.add(message.key)
    if thread.current_key is not None and thread.current_key not in seen:
        raise InvalidInput(f"its current message {thread.current_key[:40]} is not among its messages")
    if any(up_to not in seen for up_to, _, _ in thread.summaries):
        raise InvalidInput("a summary names a message that is not among its messages")
    for tag in thread.tags:
        if len(tag.strip()) > metadata.MAX_KEY_LENGTH:
            raise InvalidInput(f"tag {tag[:20]!r}… is longer than {metadata.MAX_KEY_LENGTH} characters")
    if len(thread.metadata) > metadata.MAX_PAIRS:
        raise InvalidInput(f"it has {len(thread.metadata)} metadata pairs; the limit is {metadata.MAX_PAIRS}")
    for key, value in thread.metadata.items():
        metadata.validate(key, value)
    return thread


def _parents_first(parent_of: dict[str, str | None], rank: Callable[[str], int]) -> list[str]:
    """The nodes of a message forest ordered so each comes after its parent (depth first, siblings by `rank`).

    A parent missing from the forest makes its child a root. A cycle is refused: every node is visited once, so
    the walk is linear whatever the links say."""
    children: dict[str | None, list[str]] = {}
    for node, parent in parent_of.items():
        children.setdefault(parent if parent in parent_of else None, []).append(node)
    for siblings in children.values():
        siblings.sort(key=rank)
    order: list[str] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children.get(node, [])))
    if len(order) < len(parent_of):
        reached = set(order)
        stuck = next(node for node in parent_of if node not in reached)
        raise InvalidInput(f"its messages link in a cycle (through {stuck[:40]})")
    return order


def _from_threadloom(entry: dict[str, Any]) -> ImportedThread:
    messages = tuple(
        ImportedMessage(
            key=str(m["id"]),
            parent_key=None if m["parent_id"] is None else str(m["parent_id"]),
            role=Role(m["role"]),
            content=m["content"],
            reasoning=m.get("reasoning"),  # absent from files exported before it was kept
            reasoning_s=m.get("reasoning_s"),
            created_at=_when(m["created_at"]),
            status=MessageStatus(m["status"]),
            model=m.get("model"),
            error=m.get("error"),
            usage=Usage(**m["usage"]) if m.get("usage") else None,
            timings=Timings(**m["timings"]) if m.get("timings") else None,
            tool_calls=tuple(_tool_call_from_json(c) for c in m.get("tool_calls", ())),
            rating=_imported_rating(m.get("rating")) if m["role"] == "assistant" else None,
        )
        for m in entry["messages"]
    )
    leaf = entry.get("current_leaf_id")
    return ImportedThread(
        title=entry["title"],
        title_source=entry.get("title_source", "user"),
        created_at=_when(entry["created_at"]),
        updated_at=_when(entry["updated_at"]),
        messages=messages,
        current_key=None if leaf is None else str(leaf),
        pinned=bool(entry.get("pinned")),
        archived=bool(entry.get("archived")),
        model=entry.get("model"),
        system_prompt=entry.get("system_prompt"),
        tags=tuple(str(tag) for tag in entry.get("tags", ())),
        metadata={pair["key"]: metadata.decode(pair["type"], pair["value"]) for pair in entry.get("metadata", [])},
        summaries=tuple(
            (str(s["up_to_message_id"]), s["content"], _when(s["created_at"])) for s in entry.get("summaries", [])
        ),
    )


def _chatgpt_text(content: dict[str, Any]) -> str | None:
    """The readable text of a ChatGPT message, or None for kinds that are not conversation (tool displays, thoughts).
    Of a multimodal message the text parts are kept (an audio part by its transcript), anything else is a marker."""
    kind = content.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = content.get("parts") or []
        return "\n".join(_chatgpt_part(part) for part in parts if part is not None)
    if kind in ("code", "execution_output"):
        return f"```\n{content.get('text', '')}\n```"
    return None


def _chatgpt_part(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return part["text"]
    return "[attachment]"


def _from_chatgpt(entry: dict[str, Any]) -> ImportedThread:
    """ChatGPT's mapping is a tree with hidden and non-text nodes: keep the conversation, re-attaching each kept
    message to its nearest kept ancestor, so branches survive. A tool's output (code run, search, file reader) is
    kept as an assistant message that names the tool: Threadloom stores no tool turns of other apps."""
    mapping: dict[str, dict[str, Any]] = entry["mapping"]
    if not isinstance(mapping, dict):
        raise InvalidInput("its message mapping is not an object")
    created = _when(entry.get("create_time"), datetime.now(UTC))
    parent_of = {key: node.get("parent") for key, node in mapping.items()}
    position = {key: index for index, key in enumerate(mapping)}
    listed = {(key, child): index for key, node in mapping.items() for index, child in enumerate(node.get("children") or [])}

    def rank(node_id: str) -> tuple[int, int]:  # as the parent lists its children, then as the mapping has them
        return (listed.get((parent_of[node_id], node_id), len(listed)), position[node_id])

    kept: dict[str, ImportedMessage] = {}
    anchor: dict[str, str | None] = {}  # each node's nearest kept ancestor-or-self
    system_prompt = None
    for node_id in _parents_first(parent_of, rank):
        parent_anchor = anchor.get(parent_of[node_id])
        anchor[node_id] = parent_anchor
        message = mapping[node_id].get("message")
        if not message:
            continue
        role = message["author"]["role"]
        text = _chatgpt_text(message.get("content") or {})
        hidden = (message.get("metadata") or {}).get("is_visually_hidden_from_conversation")
        if role == "system":
            if text and text.strip() and not hidden:
                system_prompt = text
            continue
        if role not in ("user", "assistant", "tool") or text is None or hidden or not text.strip():
            continue
        if role == "tool":
            text = f"[{message['author'].get('name') or 'tool'} output]\n{text}"
        finish = ((message.get("metadata") or {}).get("finish_details") or {}).get("type")
        interrupted = message.get("status") == "in_progress" or finish == "interrupted"
        kept[node_id] = ImportedMessage(
            key=node_id,
            parent_key=parent_anchor,
            role=Role.USER if role == "user" else Role.ASSISTANT,
            content=text,
            created_at=_when(message.get("create_time"), created),
            status=MessageStatus.INTERRUPTED if interrupted else MessageStatus.COMPLETE,
            model=(message.get("metadata") or {}).get("model_slug"),
        )
        anchor[node_id] = node_id
    return ImportedThread(
        title=entry.get("title") or "Imported from ChatGPT",
        created_at=created,
        updated_at=_when(entry.get("update_time"), created),
        messages=tuple(kept.values()),
        current_key=anchor.get(entry.get("current_node")),
        archived=bool(entry.get("is_archived")),
        model=entry.get("default_model_slug"),
        system_prompt=system_prompt,
    )


def _imported_rating(data: Any) -> tuple[RatingValue, str | None, datetime] | None:
    if data is None:
        return None
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH):
        raise InvalidInput(f"a rating's note is not text of at most {MAX_NOTE_LENGTH} characters")
    return RatingValue(data["value"]), note, _when(data["rated_at"])


def _split_reasoning(text: str) -> tuple[str, str | None, float | None]:
    """The answer, the thinking and its seconds of an Open WebUI message, whose reasoning sits in `<details
    type="reasoning" duration="3"><summary>…</summary>&gt; quoted lines</details>` blocks before the answer. One
    pass, so an unclosed block in a hostile export costs no rescans (and is kept as answer text)."""
    kept, thoughts, seconds, position = [], [], 0.0, 0
    while (start := text.find('<details type="reasoning"', position)) >= 0:
        opened = text.find(">", start)
        end = text.find("</details>", start)
        if opened < 0 or end < 0:
            break
        kept.append(text[position:start])
        if duration := re.search(r'\bduration="(\d+(?:\.\d+)?)"', text[start:opened]):
            seconds += float(duration.group(1))
        body = text[opened + 1 : end]
        if (summary_end := body.find("</summary>")) >= 0:
            body = body[summary_end + len("</summary>") :]
        quoted = html.unescape(body).strip().splitlines()
        thoughts.append("\n".join(line.removeprefix(">").removeprefix(" ") for line in quoted).strip())
        position = end + len("</details>")
        while position < len(text) and text[position].isspace():
            position += 1
    kept.append(text[position:])
    reasoning = "\n\n".join(thought for thought in thoughts if thought) or None
    return "".join(kept), reasoning, seconds if reasoning and seconds else None


def _from_openwebui(entry: dict[str, Any]) -> ImportedThread:
    history = entry["chat"]["history"]
    messages: dict[str, dict[str, Any]] = history["messages"]
    if not isinstance(messages, dict):
        raise InvalidInput("its messages are not an object")
    created = _when(entry.get("created_at"), datetime.now(UTC))
    position = {key: index for index, key in enumerate(messages)}
    imported = []
    for message_id in _parents_first({key: m.get("parentId") for key, m in messages.items()}, position.__getitem__):
        message = messages[message_id]
        parent = message.get("parentId")
        content, reasoning, reasoning_s = _split_reasoning(message.get("content") or "")
        imported.append(
            ImportedMessage(
                key=message_id,
                parent_key=parent if parent in messages else None,
                role=Role(message["role"]),
                content=content,
                created_at=_when(message.get("timestamp"), created),
                status=MessageStatus.COMPLETE if message.get("done", True) else MessageStatus.INTERRUPTED,
                model=message.get("model"),
                reasoning=reasoning,
                reasoning_s=reasoning_s,
            )
        )
    tags = (entry.get("meta") or {}).get("tags") or []
    chat = entry["chat"]
    system_prompt = str((chat.get("params") or {}).get("system") or chat.get("system") or "").strip() or None
    return ImportedThread(
        title=entry.get("title") or chat.get("title") or "Imported from Open WebUI",
        created_at=created,
        updated_at=_when(entry.get("updated_at"), created),
        messages=tuple(imported),
        current_key=history.get("currentId"),
        pinned=bool(entry.get("pinned")),
        archived=bool(entry.get("archived")),
        tags=tuple(str(tag) for tag in tags),
        system_prompt=system_prompt,
    )
