"""Moving history in and out: lossless JSON and readable Markdown exports; imports of our JSON, ChatGPT's
`conversations.json` and Open WebUI's export.

An import reads the whole file first. A file that is not one of these formats changes nothing; an entry that cannot
be read is skipped and reported by its title while the rest imports, each thread in its own transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core import metadata
from app.core.errors import InvalidInput
from app.core.models import (
    ImportedMessage,
    ImportedThread,
    MessageStatus,
    Role,
    Thread,
    Timings,
    Usage,
)
from app.store import Store

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
            }
            for m in store.messages(thread.id)
        ],
    }


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
        lines += ["", f"### {who}{status}", "", message.content]
    return "\n".join(lines)


# Import


def import_file(store: Store, path: Path) -> ImportReport:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a JSON export: {exc}") from exc
    entries, parse = _detect(data, path)
    report = ImportReport()
    for entry in entries:
        title = _title_of(entry)
        try:
            imported = parse(entry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            report.skipped.append((title, f"unreadable entry ({type(exc).__name__}: {exc})"))
            continue
        if not imported.messages:
            report.skipped.append((title, "no messages"))
            continue
        report.imported.append(store.insert_thread(imported))
    return report


def _detect(data: Any, path: Path) -> tuple[list[Any], Callable[[Any], ImportedThread]]:
    if isinstance(data, dict) and data.get("format") == FORMAT:
        if data.get("version") != FORMAT_VERSION:
            raise InvalidInput(f"{path} is a Threadloom export of version {data.get('version')}; this app reads 1")
        return list(data.get("threads", [])), _from_threadloom
    if isinstance(data, list) and data and all(isinstance(entry, dict) for entry in data):
        if any("mapping" in entry or "current_node" in entry for entry in data):
            return data, _from_chatgpt
        if any(isinstance(entry.get("chat"), dict) and "history" in entry["chat"] for entry in data):
            return data, _from_openwebui
    raise InvalidInput(f"{path} is not an export this app knows (Threadloom JSON, ChatGPT, Open WebUI)")


def _title_of(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("title") or entry.get("name") or "untitled")
    return "untitled"


def _when(value: Any, fallback: datetime | None = None) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    if fallback is not None:
        return fallback
    raise ValueError("no timestamp")


def _from_threadloom(entry: dict[str, Any]) -> ImportedThread:
    messages = tuple(
        ImportedMessage(
            key=str(m["id"]),
            parent_key=None if m["parent_id"] is None else str(m["parent_id"]),
            role=Role(m["role"]),
            content=m["content"],
            created_at=_when(m["created_at"]),
            status=MessageStatus(m["status"]),
            model=m.get("model"),
            error=m.get("error"),
            usage=Usage(**m["usage"]) if m.get("usage") else None,
            timings=Timings(**m["timings"]) if m.get("timings") else None,
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
        tags=tuple(entry.get("tags", ())),
        metadata={pair["key"]: metadata.decode(pair["type"], pair["value"]) for pair in entry.get("metadata", [])},
        summaries=tuple(
            (str(s["up_to_message_id"]), s["content"], _when(s["created_at"])) for s in entry.get("summaries", [])
        ),
    )


def _chatgpt_text(content: dict[str, Any]) -> str | None:
    """The readable text of a ChatGPT message, or None for kinds that are not conversation (tool displays, thoughts)."""
    kind = content.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = [part if isinstance(part, str) else "[attachment]" for part in content.get("parts") or []]
        return "\n".join(parts)
    if kind == "code":
        return f"```\n{content.get('text', '')}\n```"
    return None


def _from_chatgpt(entry: dict[str, Any]) -> ImportedThread:
    """ChatGPT's mapping is a tree with hidden and non-text nodes: keep the conversation, re-attaching each kept
    message to its nearest kept ancestor, so branches survive."""
    mapping: dict[str, dict[str, Any]] = entry["mapping"]
    created = _when(entry.get("create_time"), datetime.now(UTC))
    kept: dict[str, ImportedMessage] = {}
    system_prompt = None

    def kept_ancestor(node_id: str | None) -> str | None:
        while node_id is not None and node_id not in kept:
            node_id = mapping.get(node_id, {}).get("parent")
        return node_id

    # Walk from the roots so parents are decided before their children.
    order, stack = [], [key for key, node in mapping.items() if not node.get("parent") or node["parent"] not in mapping]
    while stack:
        node_id = stack.pop()
        order.append(node_id)
        stack.extend(reversed(mapping[node_id].get("children") or []))
    for node_id in order:
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
        finish = ((message.get("metadata") or {}).get("finish_details") or {}).get("type")
        interrupted = message.get("status") == "in_progress" or finish == "interrupted"
        kept[node_id] = ImportedMessage(
            key=node_id,
            parent_key=kept_ancestor(mapping[node_id].get("parent")),
            role=Role(role),
            content=text,
            created_at=_when(message.get("create_time"), created),
            status=MessageStatus.INTERRUPTED if interrupted else MessageStatus.COMPLETE,
            model=(message.get("metadata") or {}).get("model_slug"),
        )
    return ImportedThread(
        title=entry.get("title") or "Imported from ChatGPT",
        created_at=created,
        updated_at=_when(entry.get("update_time"), created),
        messages=tuple(kept.values()),
        current_key=kept_ancestor(entry.get("current_node")),
        archived=bool(entry.get("is_archived")),
        model=entry.get("default_model_slug"),
        system_prompt=system_prompt,
    )


_REASONING = re.compile(r'<details type="reasoning"[^>]*>.*?</details>\s*', re.DOTALL)


def _from_openwebui(entry: dict[str, Any]) -> ImportedThread:
    history = entry["chat"]["history"]
    messages: dict[str, dict[str, Any]] = history["messages"]
    created = _when(entry.get("created_at"), datetime.now(UTC))
    ordered, seen = [], set()

    def visit(message_id: str) -> None:  # parents before children
        if message_id in seen:
            return
        parent = messages[message_id].get("parentId")
        if parent is not None:
            visit(parent)
        seen.add(message_id)
        ordered.append(message_id)

    for message_id in messages:
        visit(message_id)
    imported = []
    for message_id in ordered:
        message = messages[message_id]
        imported.append(
            ImportedMessage(
                key=message_id,
                parent_key=message.get("parentId"),
                role=Role(message["role"]),
                content=_REASONING.sub("", message.get("content") or ""),
                created_at=_when(message.get("timestamp"), created),
                status=MessageStatus.COMPLETE if message.get("done", True) else MessageStatus.INTERRUPTED,
                model=message.get("model"),
            )
        )
    tags = (entry.get("meta") or {}).get("tags") or []
    return ImportedThread(
        title=entry.get("title") or entry["chat"].get("title") or "Imported from Open WebUI",
        created_at=created,
        updated_at=_when(entry.get("updated_at"), created),
        messages=tuple(imported),
        current_key=history.get("currentId"),
        pinned=bool(entry.get("pinned")),
        archived=bool(entry.get("archived")),
        tags=tuple(str(tag) for tag in tags),
    )
