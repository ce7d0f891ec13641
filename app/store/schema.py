"""peewee models for the tables the migrations create.

Models are made per database (`bind_models`) so several stores can be open in one process (tests, a reopened
window). Foreign keys are plain integer fields here: the constraints live in the migrations' SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee


class _Row(peewee.Model):
    class Meta:
        legacy_table_names = False


class ThreadRow(_Row):
    title = peewee.TextField()
    created_at = peewee.TextField()
    updated_at = peewee.TextField()
    pinned = peewee.BooleanField(default=False)
    archived = peewee.BooleanField(default=False)
    deleted_at = peewee.TextField(null=True)
    model = peewee.TextField(null=True)
    system_prompt = peewee.TextField(null=True)
    current_leaf_id = peewee.IntegerField(null=True)
    title_source = peewee.TextField(default="provisional")
    incognito = peewee.BooleanField(default=False)

    class Meta:
        table_name = "thread"


class MessageRow(_Row):
    thread_id = peewee.IntegerField()
    parent_id = peewee.IntegerField(null=True)
    role = peewee.TextField()
    content = peewee.TextField(default="")
    status = peewee.TextField()
    model = peewee.TextField(null=True)
    error = peewee.TextField(null=True)
    writer_pid = peewee.IntegerField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()
    reasoning = peewee.TextField(null=True)
    reasoning_s = peewee.FloatField(null=True)

    class Meta:
        table_name = "message"


class UsageEventRow(_Row):
    purpose = peewee.TextField(default="turn")
    thread_id = peewee.IntegerField(null=True)
    message_id = peewee.IntegerField(null=True)
    backend = peewee.TextField()
    model = peewee.TextField(null=True)
    prompt_tokens = peewee.IntegerField(default=0)
    completion_tokens = peewee.IntegerField(default=0)
    cached_tokens = peewee.IntegerField(default=0)
    ttft_s = peewee.FloatField(null=True)
    tokens_per_s = peewee.FloatField(null=True)
    seconds = peewee.FloatField(null=True)
    created_at = peewee.TextField()

    class Meta:
        table_name = "usage_event"


@dataclass(frozen=True)
class BoundModels:
    Thread: type[ThreadRow]
    Message: type[MessageRow]
    UsageEvent: type[UsageEventRow]


def bind_models(db: peewee.Database) -> BoundModels:
    def bound(model: type[peewee.Model]) -> type:
        meta = type("Meta", (), {"database": db, "table_name": model._meta.table_name})
        return type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})

    return BoundModels(Thread=bound(ThreadRow), Message=bound(MessageRow), UsageEvent=bound(UsageEventRow))
