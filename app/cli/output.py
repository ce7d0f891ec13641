"""JSON shapes printed by the CLI. They are a public interface: add fields, never rename or remove them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from app.core.domain import Message, MetaValue, Thread


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "title": thread.title,
        "created_at": _iso(thread.created_at),
        "updated_at": _iso(thread.updated_at),
        "pinned": thread.pinned,
        "archived": thread.archived,
        "model": thread.model,
        "current_leaf_id": thread.current_leaf_id,
        "tags": list(thread.tags),
        "metadata": {key: meta_json(value) for key, value in thread.metadata.items()},
    }


def meta_json(value: MetaValue) -> Any:
    """Metadata values as JSON: dates become ISO strings; strings, numbers and booleans stay as they are."""
    return value.isoformat() if isinstance(value, date) else value


def message_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": str(message.role),
        "content": message.content,
        "status": str(message.status),
        "created_at": _iso(message.created_at),
        "model": message.model,
        "error": message.error,
    }
    if message.usage is not None:
        data["usage"] = {
            "prompt_tokens": message.usage.prompt_tokens,
            "completion_tokens": message.usage.completion_tokens,
            "cached_tokens": message.usage.cached_tokens,
        }
    if message.timings is not None:
        data["timings"] = {"ttft_s": message.timings.ttft_s, "tokens_per_s": message.timings.tokens_per_s}
    return data


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# What a terminal would act on instead of showing: C0/C1 controls (escape sequences), and the bidirectional
# overrides and isolates that make a name read differently from what it is ("evil\u202etxt.exe").
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: object, *, one_line: bool = True) -> str:
    """`text` (a title, a file name, an error from a stranger's file) safe to print to a terminal: controls and bidi
    marks as escapes, and, for a one-line field, line breaks and tabs too."""
    text = _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(text))
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") if one_line else text
