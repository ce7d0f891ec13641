"""ORM rows → `app.core` values: rows never leave `app.store`, these do."""

from __future__ import annotations

from app.core.domain import Message, MessageStatus, MetaValue, Role, Thread, Timings, Usage
from app.store.database import _parse
from app.store.schema import MessageRow, ThreadRow


def thread_value(row: ThreadRow, tags=(), meta: dict[str, MetaValue] | None = None) -> Thread:
    return Thread(
        tags=tuple(tags),
        metadata=meta or {},
        title_source=row.title_source,
        deleted_at=_parse(row.deleted_at) if row.deleted_at else None,
        id=row.id,
        title=row.title,
        created_at=_parse(row.created_at),
        updated_at=_parse(row.updated_at),
        pinned=bool(row.pinned),
        archived=bool(row.archived),
        model=row.model,
        system_prompt=row.system_prompt,
        current_leaf_id=row.current_leaf_id,
        incognito=bool(row.incognito),
    )


def message_value(row: MessageRow, usage_row=None) -> Message:
    usage = timings = None
    if usage_row is not None:
        usage = Usage(usage_row.prompt_tokens, usage_row.completion_tokens, usage_row.cached_tokens)
        timings = Timings(usage_row.ttft_s or 0.0, usage_row.tokens_per_s or 0.0)
    return Message(
        id=row.id,
        thread_id=row.thread_id,
        parent_id=row.parent_id,
        role=Role(row.role),
        content=row.content,
        status=MessageStatus(row.status),
        created_at=_parse(row.created_at),
        model=row.model,
        error=row.error,
        usage=usage,
        timings=timings,
        reasoning=row.reasoning,
        reasoning_s=row.reasoning_s,
    )
