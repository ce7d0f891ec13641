"""The thread store: one SQLite file (WAL, foreign keys, sqlite-vec, FTS5) behind repository methods.

Every method returns `app.core` values. Writes are serialised by one lock per store so the GUI's background tasks
and the streaming writer never fight for SQLite's write lock; other processes (the CLI next to the window) wait on
SQLite's busy timeout instead.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import apsw
import peewee
import sqlite_vec
from peewee import SQL
from playhouse.apsw_ext import APSWDatabase

from app.core import metadata
from app.core.errors import InvalidInput, NotFound, SetupError, StorageFull
from app.core.models import (
    ImportedThread,
    Message,
    MessageStatus,
    MetaValue,
    Role,
    SavedView,
    Thread,
    ThreadSummary,
    ThreadFilter,
    Timings,
    Usage,
)
from app.platform.paths import private_file
from app.store.migrations import busy_error, is_busy, migrate
from app.store.schema import BoundModels, MessageRow, ThreadRow, bind_models

Clock = Callable[[], datetime]


RERANK_CANDIDATES = 200  # binary-KNN candidates re-ranked exactly; recall stays close to exact KNN


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def open_database(path: Path) -> APSWDatabase:
    db = APSWDatabase(
        str(path),
        timeout=10,
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": "normal",  # WAL + normal: a crash of the process never corrupts; power loss may drop the last commit
            "busy_timeout": 10_000,
            "mmap_size": 256 * 1024 * 1024,
        },
    )
    db.load_extension(sqlite_vec.loadable_path())
    return db


def nearest_vectors_sql(kind: str, *, within: str = "") -> str:
    """A CTE `ranked(<kind>_id, distance)`: a hamming KNN over `{kind}_bits` picks candidates, exact cosine distance
    from `{kind}_vec` ranks them. `within` adds conditions on `{kind}_bits` columns that the KNN applies while it
    scans. Parameters, in order: query vector, k, embedding model, those of `within`, query vector."""
    return f"""WITH candidates AS (
            SELECT {kind}_id FROM {kind}_bits
            WHERE embedding MATCH vec_quantize_binary(?) AND k = ? AND model = ? {within}
        ), ranked AS (
            SELECT {kind}_vec.{kind}_id, vec_distance_cosine({kind}_vec.embedding, ?) AS distance
            FROM candidates JOIN {kind}_vec ON {kind}_vec.{kind}_id = candidates.{kind}_id
        )"""


# How each kind's binary prefilter row is written from (id ?1, float32 vector ?2, model ?3).
_INSERT_BITS = {
    "message": "INSERT INTO message_bits (message_id, embedding, model) VALUES (?1, vec_quantize_binary(?2), ?3)",
    "chunk": """INSERT INTO chunk_bits (chunk_id, embedding, model, document_id)
                SELECT ?1, vec_quantize_binary(?2), ?3, document_id FROM chunk WHERE id = ?1""",
}


def replace_vectors(db: APSWDatabase, kind: str, rows: list[tuple[int, bytes]], *, model: str) -> None:
    """Write (id, float32 bytes) vectors of `kind` ("message" or "chunk") into `{kind}_vec` and their binary
    prefilter copies into `{kind}_bits`, replacing earlier ones, and note the model on the row. Call inside a write
    transaction."""
    for row_id, vector in rows:
        for table in (f"{kind}_vec", f"{kind}_bits"):
            db.execute_sql(f"DELETE FROM {table} WHERE {kind}_id = ?", (row_id,))
        db.execute_sql(f"INSERT INTO {kind}_vec ({kind}_id, embedding, model) VALUES (?, ?, ?)", (row_id, vector, model))
        db.execute_sql(_INSERT_BITS[kind], (row_id, vector, model))
        db.execute_sql(f"UPDATE {kind} SET vector_model = ? WHERE id = ?", (model, row_id))


def _is_disk_full(exc: BaseException) -> bool:
    """peewee re-raises apsw's FullError as an OperationalError; look through to the original."""
    return isinstance(exc, apsw.FullError) or isinstance(exc.__context__, apsw.FullError)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """Repository over one database file. Implements `app.core.ports.ThreadRepository`."""

    def __init__(self, db: APSWDatabase, *, clock: Clock = utc_now) -> None:
        self.db = db
        self._clock = clock
        self._rows: BoundModels = bind_models(db)
        self._write_lock = threading.RLock()

    @property
    def path(self) -> Path:
        return Path(self.db.database)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction, taking SQLite's write lock up front (BEGIN IMMEDIATE)."""
        try:
            with self._write_lock, self.db.atomic("IMMEDIATE"):
                yield
        except (apsw.FullError, peewee.OperationalError) as exc:
            if _is_disk_full(exc):
                raise StorageFull() from exc
            if is_busy(exc):  # after the busy timeout: another process held the write lock all along
                raise busy_error(self.path) from exc
            raise

    # Threads

    def create_thread(
        self,
        title: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        title_source: str = "provisional",
        created_at: datetime | None = None,
    ) -> Thread:
        now = _iso(created_at or self._clock())
        with self.writing():
            row = self._rows.Thread.create(
                title=title,
                created_at=now,
                updated_at=now,
                model=model,
                system_prompt=system_prompt,
                title_source=title_source,
            )
        return self.get_thread(row.id)

    def get_thread(self, thread_id: int, *, include_deleted: bool = False) -> Thread:
        T = self._rows.Thread
        condition = T.id == thread_id
        if not include_deleted:
            condition &= T.deleted_at.is_null()
        row = T.get_or_none(condition)
        if row is None:
            raise NotFound(f"no thread with id {thread_id}")
        return self._labelled([row])[0]

    def list_threads(self, filter: ThreadFilter | None = None) -> list[Thread]:
        """Threads matching `filter` (default: live, unarchived), pinned first, then most recently active."""
        filter = filter or ThreadFilter()
        clauses, params = [], []
        clauses.append("deleted_at IS NOT NULL" if filter.deleted_only else "deleted_at IS NULL")
        if filter.archived_only:
            clauses.append("archived = 1")
        elif not filter.include_archived and not filter.deleted_only:
            clauses.append("archived = 0")
        if filter.tag:
            clauses.append(
                "id IN (SELECT thread_id FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id WHERE tag.name = ?)"
            )
            params.append(filter.tag)
        for key, value in filter.where:
            kind, text = metadata.encode(value)
            clauses.append("id IN (SELECT thread_id FROM thread_meta WHERE key = ? AND type = ? AND value = ?)")
            params += [key, kind, text]
        T = self._rows.Thread
        query = (
            T.select()
            .where(SQL(" AND ".join(clauses), params))
            .order_by(T.pinned.desc(), T.updated_at.desc(), T.id.desc())
        )
        return self._labelled(query.namedtuples())

    def rename_thread(self, thread_id: int, title: str, *, source: str = "user") -> Thread:
        if not title.strip():
            raise InvalidInput("a thread title cannot be empty")
        return self._update_thread(thread_id, title=title.strip(), title_source=source)

    def set_pinned(self, thread_id: int, pinned: bool) -> Thread:
        return self._update_thread(thread_id, pinned=pinned)

    def set_archived(self, thread_id: int, archived: bool) -> Thread:
        return self._update_thread(thread_id, archived=archived)

    def set_system_prompt(self, thread_id: int, system_prompt: str | None) -> Thread:
        return self._update_thread(thread_id, system_prompt=system_prompt or None)

    def delete_thread(self, thread_id: int) -> None:
        """Soft delete: hidden everywhere and out of search until restored or purged."""
        self._update_thread(thread_id, deleted_at=_iso(self._clock()))

    def restore_thread(self, thread_id: int) -> Thread:
        T = self._rows.Thread
        with self.writing():
            if not T.update(deleted_at=None).where(T.id == thread_id).execute():
                raise NotFound(f"no thread with id {thread_id}")
        return self.get_thread(thread_id)

    def purge_deleted(self, *, deleted_before: datetime | None = None) -> list[int]:
        """Remove soft-deleted threads for good (messages and everything else cascade); returns their ids."""
        T = self._rows.Thread
        condition = T.deleted_at.is_null(False)
        if deleted_before is not None:
            condition &= T.deleted_at < _iso(deleted_before)
        with self.writing():
            ids = [row.id for row in T.select(T.id).where(condition)]
            if ids:
                for table in ("message_vec", "message_bits"):
                    self.db.execute_sql(
                        f"DELETE FROM {table} WHERE message_id IN (SELECT id FROM message WHERE thread_id IN "
                        f"({','.join('?' * len(ids))}))",
                        ids,
                    )
                T.update(current_leaf_id=None).where(T.id.in_(ids)).execute()
                T.delete().where(T.id.in_(ids)).execute()
        return ids

    def set_current_leaf(self, thread_id: int, message_id: int) -> None:
        T = self._rows.Thread
        with self.writing():
            T.update(current_leaf_id=message_id).where(T.id == thread_id).execute()

    def _update_thread(self, thread_id: int, **fields) -> Thread:
        T = self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            T.update(**fields).where(T.id == thread_id).execute()
        return self.get_thread(thread_id, include_deleted=True)

    # Tags, metadata and saved views

    def add_tags(self, thread_id: int, tags: list[str]) -> Thread:
        names = [tag.strip() for tag in tags if tag.strip()]
        with self.writing():
            self.get_thread(thread_id)
            for name in names:
                if len(name) > metadata.MAX_KEY_LENGTH:
                    raise InvalidInput(f"tag {name[:20]!r}… is longer than {metadata.MAX_KEY_LENGTH} characters")
                self.db.execute_sql("INSERT OR IGNORE INTO tag (name) VALUES (?)", (name,))
                self.db.execute_sql(
                    "INSERT OR IGNORE INTO thread_tag (thread_id, tag_id) SELECT ?, id FROM tag WHERE name = ?",
                    (thread_id, name),
                )
        return self.get_thread(thread_id)

    def remove_tags(self, thread_id: int, tags: list[str]) -> Thread:
        with self.writing():
            for name in tags:
                self.db.execute_sql(
                    "DELETE FROM thread_tag WHERE thread_id = ? AND tag_id = (SELECT id FROM tag WHERE name = ?)",
                    (thread_id, name),
                )
        return self.get_thread(thread_id)

    def all_tags(self) -> list[str]:
        """Tags in use by live threads, alphabetically."""
        rows = self.db.execute_sql(
            """SELECT DISTINCT tag.name FROM tag JOIN thread_tag ON thread_tag.tag_id = tag.id
               JOIN thread ON thread.id = thread_tag.thread_id WHERE thread.deleted_at IS NULL
               ORDER BY tag.name COLLATE NOCASE"""
        )
        return [row[0] for row in rows]

    def set_metadata(self, thread_id: int, pairs: dict[str, MetaValue]) -> Thread:
        """Add or replace typed key-value pairs, within the limits of `app.core.metadata`."""
        for key, value in pairs.items():
            metadata.validate(key, value)
        with self.writing():
            existing = set(self.get_thread(thread_id).metadata)
            if len(existing | set(pairs)) > metadata.MAX_PAIRS:
                raise InvalidInput(f"a thread holds at most {metadata.MAX_PAIRS} metadata pairs")
            for key, value in pairs.items():
                kind, text = metadata.encode(value)
                self.db.execute_sql(
                    "INSERT OR REPLACE INTO thread_meta (thread_id, key, type, value) VALUES (?, ?, ?, ?)",
                    (thread_id, key, kind, text),
                )
        return self.get_thread(thread_id)

    def remove_metadata(self, thread_id: int, keys: list[str]) -> Thread:
        with self.writing():
            for key in keys:
                self.db.execute_sql("DELETE FROM thread_meta WHERE thread_id = ? AND key = ?", (thread_id, key))
        return self.get_thread(thread_id)

    def save_view(self, name: str, filter: ThreadFilter) -> SavedView:
        if not name.strip():
            raise InvalidInput("a saved view needs a name")
        encoded = json.dumps(
            {
                "tag": filter.tag,
                "where": [[key, *metadata.encode(value)] for key, value in filter.where],
                "include_archived": filter.include_archived,
                "archived_only": filter.archived_only,
            }
        )
        with self.writing():
            self.db.execute_sql(
                "INSERT INTO saved_view (name, filter, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET filter = excluded.filter",
                (name.strip(), encoded, _iso(self._clock())),
            )
        return next(view for view in self.saved_views() if view.name == name.strip())

    def saved_views(self) -> list[SavedView]:
        views = []
        for view_id, name, encoded in self.db.execute_sql("SELECT id, name, filter FROM saved_view ORDER BY name"):
            raw = json.loads(encoded)
            views.append(
                SavedView(
                    view_id,
                    name,
                    ThreadFilter(
                        tag=raw["tag"],
                        where=tuple((key, metadata.decode(kind, text)) for key, kind, text in raw["where"]),
                        include_archived=raw["include_archived"],
                        archived_only=raw["archived_only"],
                    ),
                )
            )
        return views

    def delete_view(self, view_id: int) -> None:
        with self.writing():
            self.db.execute_sql("DELETE FROM saved_view WHERE id = ?", (view_id,))

    def _labelled(self, rows) -> list[Thread]:
        """Thread values with their tags and metadata (two queries for the whole list)."""
        rows = list(rows)
        if not rows:
            return []
        wanted = {row.id for row in rows}
        tags: dict[int, list[str]] = {}
        meta: dict[int, dict[str, MetaValue]] = {}
        scope = "" if len(rows) > 500 else f"WHERE thread_id IN ({','.join(str(i) for i in wanted)})"
        for thread_id, name in self.db.execute_sql(
            f"SELECT thread_id, tag.name FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id {scope} "
            "ORDER BY tag.name COLLATE NOCASE"
        ):
            if thread_id in wanted:
                tags.setdefault(thread_id, []).append(name)
        for thread_id, key, kind, text in self.db.execute_sql(
            f"SELECT thread_id, key, type, value FROM thread_meta {scope} ORDER BY key"
        ):
            if thread_id in wanted:
                meta.setdefault(thread_id, {})[key] = metadata.decode(kind, text)
        return [_thread(row, tags.get(row.id, ()), meta.get(row.id, {})) for row in rows]

    # Messages

    def add_message(
        self,
        thread_id: int,
        *,
        parent_id: int | None,
        role: Role,
        content: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        model: str | None = None,
    ) -> Message:
        """Add a message under `parent_id` and make it the thread's current leaf."""
        now = _iso(self._clock())
        M, T = self._rows.Message, self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            row = M.create(
                thread_id=thread_id,
                parent_id=parent_id,
                role=str(role),
                content=content,
                status=str(status),
                model=model,
                writer_pid=os.getpid() if status == MessageStatus.STREAMING else None,
                created_at=now,
                updated_at=now,
            )
            T.update(current_leaf_id=row.id, updated_at=now).where(T.id == thread_id).execute()
        return _message(row)

    def append_to_message(self, message_id: int, text: str) -> None:
        """Append streamed text; called in small batches, so a crash loses at most one batch."""
        M = self._rows.Message
        with self.writing():
            M.update(content=M.content.concat(text), updated_at=_iso(self._clock())).where(M.id == message_id).execute()

    def finish_message(
        self,
        message_id: int,
        *,
        status: MessageStatus,
        usage: Usage | None = None,
        timings: Timings | None = None,
        error: str | None = None,
        backend: str = "local",
    ) -> Message:
        M, U = self._rows.Message, self._rows.UsageEvent
        now = _iso(self._clock())
        with self.writing():
            M.update(status=str(status), error=error, writer_pid=None, updated_at=now).where(
                M.id == message_id
            ).execute()
            if usage is not None:
                row = M.get_by_id(message_id)
                U.create(
                    message_id=message_id,
                    backend=backend,
                    model=row.model,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cached_tokens=usage.cached_tokens,
                    ttft_s=timings.ttft_s if timings else None,
                    tokens_per_s=timings.tokens_per_s if timings else None,
                    created_at=now,
                )
        return self.get_message(message_id)

    def get_message(self, message_id: int) -> Message:
        row = self._rows.Message.get_or_none(self._rows.Message.id == message_id)
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        return self._with_usage([row])[0]

    def messages(self, thread_id: int) -> list[Message]:
        """Every message of the thread, every branch, in creation order."""
        M = self._rows.Message
        return self._with_usage(list(M.select().where(M.thread_id == thread_id).order_by(M.id)))

    def path_to(self, message_id: int) -> list[Message]:
        """The messages from the root down to `message_id`: the branch a reply is generated from."""
        rows = self.db.execute_sql(
            """WITH RECURSIVE path(id, depth) AS (
                   SELECT id, 0 FROM message WHERE id = ?
                   UNION ALL
                   SELECT message.parent_id, path.depth + 1 FROM message JOIN path ON message.id = path.id
                   WHERE message.parent_id IS NOT NULL
               ) SELECT id FROM path ORDER BY depth DESC""",
            (message_id,),
        ).fetchall()
        ids = [row[0] for row in rows]
        if not ids:
            raise NotFound(f"no message with id {message_id}")
        M = self._rows.Message
        by_id = {row.id: row for row in M.select().where(M.id.in_(ids))}
        return self._with_usage([by_id[i] for i in ids])

    def current_path(self, thread_id: int) -> list[Message]:
        leaf = self.get_thread(thread_id).current_leaf_id
        return [] if leaf is None else self.path_to(leaf)

    def children(self, message_id: int | None, thread_id: int) -> list[Message]:
        M = self._rows.Message
        parent = M.parent_id.is_null() if message_id is None else M.parent_id == message_id
        return self._with_usage(list(M.select().where(parent & (M.thread_id == thread_id)).order_by(M.id)))

    def siblings(self, message_id: int) -> list[Message]:
        """The message and its alternatives (edits, regenerations) under the same parent, oldest first."""
        message = self.get_message(message_id)
        return self.children(message.parent_id, message.thread_id)

    def show_branch(self, message_id: int) -> list[Message]:
        """Make the branch through `message_id` the thread's current one, down to its newest leaf; return the path."""
        message = self.get_message(message_id)
        leaf_id = self.db.execute_sql(
            """WITH RECURSIVE below(id, depth) AS (
                   SELECT ?, 0
                   UNION ALL
                   SELECT (SELECT max(id) FROM message WHERE parent_id = below.id), depth + 1 FROM below
                   WHERE EXISTS (SELECT 1 FROM message WHERE parent_id = below.id)
               ) SELECT id FROM below ORDER BY depth DESC LIMIT 1""",
            (message_id,),
        ).fetchone()[0]
        self.set_current_leaf(message.thread_id, leaf_id)
        return self.path_to(leaf_id)

    def fork(self, message_id: int, *, title: str | None = None) -> Thread:
        """A new thread holding a copy (by value) of the path from the root to `message_id`."""
        path = self.path_to(message_id)
        source = self.get_thread(path[0].thread_id)
        M = self._rows.Message
        with self.writing():
            thread = self.create_thread(
                title or f"{source.title} (fork)", model=source.model, system_prompt=source.system_prompt,
                title_source="user" if title else source.title_source,
            )  # fmt: skip
            parent_id = None
            for message in path:
                row = M.create(
                    thread_id=thread.id,
                    parent_id=parent_id,
                    role=str(message.role),
                    content=message.content,
                    status=str(message.status),
                    model=message.model,
                    error=message.error,
                    created_at=_iso(message.created_at),
                    updated_at=_iso(message.created_at),
                )
                parent_id = row.id
            self.set_current_leaf(thread.id, parent_id)
            if source.tags:
                self.add_tags(thread.id, list(source.tags))
            if source.metadata:
                self.set_metadata(thread.id, source.metadata)
        return self.get_thread(thread.id)

    def insert_thread(self, imported: ImportedThread) -> Thread:
        """Store a whole thread from an export in one transaction: all of it or nothing."""
        M, T, U = self._rows.Message, self._rows.Thread, self._rows.UsageEvent
        with self.writing():
            row = T.create(
                title=imported.title,
                title_source=imported.title_source,
                created_at=_iso(imported.created_at),
                updated_at=_iso(imported.updated_at),
                pinned=imported.pinned,
                archived=imported.archived,
                model=imported.model,
                system_prompt=imported.system_prompt,
            )
            ids: dict[str, int] = {}
            for message in imported.messages:
                created = _iso(message.created_at)
                message_row = M.create(
                    thread_id=row.id,
                    parent_id=ids[message.parent_key] if message.parent_key is not None else None,
                    role=str(message.role),
                    content=message.content,
                    status=str(message.status),
                    model=message.model,
                    error=message.error,
                    created_at=created,
                    updated_at=created,
                )
                ids[message.key] = message_row.id
                if message.usage is not None:
                    U.create(
                        message_id=message_row.id,
                        backend=message.backend,
                        model=message.model,
                        prompt_tokens=message.usage.prompt_tokens,
                        completion_tokens=message.usage.completion_tokens,
                        cached_tokens=message.usage.cached_tokens,
                        ttft_s=message.timings.ttft_s if message.timings else None,
                        tokens_per_s=message.timings.tokens_per_s if message.timings else None,
                        created_at=created,
                    )
            if imported.current_key is not None:
                T.update(current_leaf_id=ids[imported.current_key]).where(T.id == row.id).execute()
            if imported.tags:
                self.add_tags(row.id, list(imported.tags))
            if imported.metadata:
                self.set_metadata(row.id, imported.metadata)
            for up_to_key, content, created_at in imported.summaries:
                self.db.execute_sql(
                    "INSERT INTO thread_summary (thread_id, up_to_message_id, content, created_at) VALUES (?, ?, ?, ?)",
                    (row.id, ids[up_to_key], content, _iso(created_at)),
                )
        return self.get_thread(row.id)

    # Summaries of older turns

    def add_summary(self, thread_id: int, *, up_to_message_id: int, content: str) -> ThreadSummary:
        now = _iso(self._clock())
        with self.writing():
            cursor = self.db.execute_sql(
                "INSERT INTO thread_summary (thread_id, up_to_message_id, content, created_at) VALUES (?, ?, ?, ?)",
                (thread_id, up_to_message_id, content, now),
            )
            summary_id = cursor.connection.last_insert_rowid()
        return ThreadSummary(summary_id, thread_id, up_to_message_id, content, _parse(now))

    def summaries(self, thread_id: int) -> list[ThreadSummary]:
        """Summaries in force (not undone), oldest first."""
        rows = self.db.execute_sql(
            "SELECT id, thread_id, up_to_message_id, content, created_at FROM thread_summary "
            "WHERE thread_id = ? AND undone_at IS NULL ORDER BY id",
            (thread_id,),
        )
        return [ThreadSummary(r[0], r[1], r[2], r[3], _parse(r[4])) for r in rows]

    def summary_on_branch(self, thread_id: int, path: list[Message]) -> ThreadSummary | None:
        """The newest summary in force whose last folded message lies on `path` (a branch, root first)."""
        by_last_message = {s.up_to_message_id: s for s in self.summaries(thread_id)}
        on_path = [by_last_message[m.id] for m in path if m.id in by_last_message]
        return on_path[-1] if on_path else None

    def edit_summary(self, summary_id: int, content: str) -> None:
        if not content.strip():
            raise InvalidInput("a summary cannot be empty; undo it instead")
        with self.writing():
            self.db.execute_sql("UPDATE thread_summary SET content = ? WHERE id = ?", (content, summary_id))

    def undo_summary(self, summary_id: int) -> None:
        """The thread's prompt goes back to the original messages (which were never removed)."""
        with self.writing():
            self.db.execute_sql(
                "UPDATE thread_summary SET undone_at = ? WHERE id = ?", (_iso(self._clock()), summary_id)
            )

    # Message embeddings, for meaning search

    def store_embeddings(self, rows: list[tuple[int, bytes]], *, model: str) -> None:
        """(message_id, float32 vector bytes) pairs made by embedding model `model`; replaces earlier vectors."""
        with self.writing():
            replace_vectors(self.db, "message", rows, model=model)

    def messages_to_embed(self, *, model: str, limit: int = 256) -> list[Message]:
        """Finished, non-empty messages that have no vector from `model` yet."""
        ids = [
            row[0]
            for row in self.db.execute_sql(
                """SELECT id FROM message WHERE vector_model IS NOT ? AND status != 'streaming' AND content != ''
                   ORDER BY id LIMIT ?""",
                (model, limit),
            )
        ]
        M = self._rows.Message
        return [_message(row) for row in M.select().where(M.id.in_(ids)).order_by(M.id)] if ids else []

    # Search over messages (the fusion and snippets live in app.services.search)

    def keyword_ranking(self, match: str, *, limit: int = 50, tag: str | None = None) -> list[int]:
        """Message ids matching an FTS5 expression, best BM25 first; deleted threads never, archived ones too."""
        tag_clause, params = self._search_scope(tag)
        rows = self.db.execute_sql(
            f"""SELECT message.id FROM message_fts
                JOIN message ON message.id = message_fts.rowid
                JOIN thread ON thread.id = message.thread_id
                WHERE message_fts MATCH ? AND thread.deleted_at IS NULL {tag_clause}
                ORDER BY bm25(message_fts) LIMIT ?""",
            (match, *params, limit),
        )
        return [row[0] for row in rows]

    def vector_ranking(
        self, vector: bytes, *, model: str, limit: int = 50, tag: str | None = None, max_distance: float = 2.0
    ) -> list[int]:
        """Message ids within cosine `max_distance` of `vector` among vectors made by `model`, nearest first.

        Candidates come from a hamming KNN over binary-quantised vectors, re-ranked by exact cosine distance."""
        tag_clause, params = self._search_scope(tag)
        rows = self.db.execute_sql(
            f"""{nearest_vectors_sql("message")}
                SELECT ranked.message_id FROM ranked
                JOIN message ON message.id = ranked.message_id
                JOIN thread ON thread.id = message.thread_id
                WHERE thread.deleted_at IS NULL AND ranked.distance <= ? {tag_clause}
                ORDER BY ranked.distance LIMIT ?""",
            (vector, max(RERANK_CANDIDATES, limit * 4), model, vector, max_distance, *params, limit),
        )
        return [row[0] for row in rows]

    def messages_with_threads(self, message_ids: list[int]) -> dict[int, tuple[Message, Thread]]:
        M = self._rows.Message
        messages = {row.id: _message(row) for row in M.select().where(M.id.in_(message_ids))}
        T = self._rows.Thread
        thread_ids = {message.thread_id for message in messages.values()}
        threads = {row.id: _thread(row) for row in T.select().where(T.id.in_(thread_ids)).namedtuples()}
        return {mid: (message, threads[message.thread_id]) for mid, message in messages.items()}

    @staticmethod
    def _search_scope(tag: str | None) -> tuple[str, tuple]:
        if not tag:
            return "", ()
        return (
            "AND thread.id IN (SELECT thread_id FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id "
            "WHERE tag.name = ?)",
            (tag,),
        )

    def recover_interrupted(self) -> int:
        """Mark replies left 'streaming' by a process that is gone (killed, crashed) as interrupted.

        A store opened anew in this process has no reply of its own in flight, so our own pid counts as gone too.
        """
        M = self._rows.Message
        stale = [
            row.id
            for row in M.select(M.id, M.writer_pid).where(M.status == str(MessageStatus.STREAMING))
            if row.writer_pid is None or row.writer_pid == os.getpid() or not _pid_alive(row.writer_pid)
        ]
        if stale:
            with self.writing():
                M.update(
                    status=str(MessageStatus.INTERRUPTED),
                    error="the app stopped while this reply was being written",
                    writer_pid=None,
                ).where(M.id.in_(stale)).execute()
        return len(stale)

    def integrity_check(self) -> str:
        return self.db.execute_sql("PRAGMA integrity_check").fetchone()[0]

    def _with_usage(self, rows: list[MessageRow]) -> list[Message]:
        U = self._rows.UsageEvent
        usage = {}
        if rows:
            for event in U.select().where(U.message_id.in_([r.id for r in rows])).order_by(U.id):
                usage[event.message_id] = event
        return [_message(row, usage.get(row.id)) for row in rows]


def _thread(row: ThreadRow, tags=(), meta: dict[str, MetaValue] | None = None) -> Thread:
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
    )


def _message(row: MessageRow, usage_row=None) -> Message:
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
    )


def open_store(data_dir: Path, *, clock: Clock = utc_now) -> Store:
    """Open (creating and migrating if needed) the thread database in `data_dir`."""
    try:
        path = private_file(data_dir, "threadloom.sqlite3")
        db = open_database(path)
        db.connect()
    except (OSError, apsw.Error, peewee.OperationalError) as exc:
        raise SetupError(f"cannot open the database in {data_dir}: {exc}; check that the folder is writable") from exc
    migrate(db)
    store = Store(db, clock=clock)
    store.recover_interrupted()
    return store
