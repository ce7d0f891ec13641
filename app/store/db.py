"""The thread store: one SQLite file (WAL, foreign keys, sqlite-vec, FTS5) behind repository methods.

Every method returns `app.core` values. Writes are serialised by one lock per store so the GUI's background tasks
and the streaming writer never fight for SQLite's write lock; other processes (the CLI next to the window) wait on
SQLite's busy timeout instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import apsw
import peewee
import sqlite_vec
from playhouse.apsw_ext import APSWDatabase

from app.core.errors import NotFound, SetupError, StorageFull
from app.core.models import Message, MessageStatus, Role, Thread, Timings, Usage
from app.store.migrations import migrate
from app.store.schema import BoundModels, MessageRow, ThreadRow, bind_models

Clock = Callable[[], datetime]


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
            raise

    # Threads

    def create_thread(self, title: str, *, model: str | None = None, system_prompt: str | None = None) -> Thread:
        now = _iso(self._clock())
        with self.writing():
            row = self._rows.Thread.create(
                title=title, created_at=now, updated_at=now, model=model, system_prompt=system_prompt
            )
        return _thread(row)

    def get_thread(self, thread_id: int) -> Thread:
        row = self._rows.Thread.get_or_none(
            (self._rows.Thread.id == thread_id) & self._rows.Thread.deleted_at.is_null()
        )
        if row is None:
            raise NotFound(f"no thread with id {thread_id}")
        return _thread(row)

    def list_threads(self) -> list[Thread]:
        """Live threads, pinned first, then most recently active first."""
        T = self._rows.Thread
        query = T.select().where(T.deleted_at.is_null()).order_by(T.pinned.desc(), T.updated_at.desc(), T.id.desc())
        return [_thread(row) for row in query]

    def rename_thread(self, thread_id: int, title: str) -> Thread:
        T = self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            T.update(title=title).where(T.id == thread_id).execute()
        return self.get_thread(thread_id)

    def delete_thread(self, thread_id: int) -> None:
        """Remove a thread and everything in it (messages cascade)."""
        T = self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            T.update(current_leaf_id=None).where(T.id == thread_id).execute()
            T.delete().where(T.id == thread_id).execute()

    def set_current_leaf(self, thread_id: int, message_id: int) -> None:
        T = self._rows.Thread
        with self.writing():
            T.update(current_leaf_id=message_id).where(T.id == thread_id).execute()

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


def _thread(row: ThreadRow) -> Thread:
    return Thread(
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
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "threadloom.sqlite3"
        db = open_database(path)
        db.connect()
    except (OSError, apsw.Error, peewee.OperationalError) as exc:
        raise SetupError(f"cannot open the database in {data_dir}: {exc}; check that the folder is writable") from exc
    migrate(db)
    store = Store(db, clock=clock)
    store.recover_interrupted()
    return store
