"""The connection: one SQLite file through apsw (WAL, foreign keys, sqlite-vec loaded), the write lock every
repository shares, and the helpers the repositories use (timestamps, vectors)."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import apsw
import peewee
from playhouse.apsw_ext import APSWDatabase

from app.core.errors import SetupError, StorageFull
from app.store.migrations import busy_error, is_busy
from app.store.schema import BoundModels, bind_models

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
            # Freed content is overwritten with zeros on every write, not only at purge or forget: a reply is
            # rewritten as it streams and a memory as it is approved or used, and each rewrite frees its old copy.
            "secure_delete": 1,
        },
    )
    db.load_extension(sqlite_vec_path())
    return db


def sqlite_vec_path() -> str:
    """The sqlite-vec extension (vec0.so beside its package), found without importing the package: its __init__
    imports numpy, ~0.2 s of a cold start for a path."""
    package = importlib.util.find_spec("sqlite_vec")
    if package is None or package.origin is None:
        raise SetupError("the sqlite-vec package is not installed: reinstall Threadloom (`make run`)")
    return str(Path(package.origin).with_name("vec0"))


def nearest_vectors_sql(kind: str) -> str:
    """A CTE `ranked(<kind>_id, distance)`: a hamming KNN over the vec0 table `{kind}_bits` picks candidates, exact
    cosine distance from `{kind}_vec` ranks them. Parameters, in order: query vector, k, embedding model, query
    vector."""
    return f"""WITH candidates AS (
            SELECT {kind}_id FROM {kind}_bits
            WHERE embedding MATCH vec_quantize_binary(?) AND k = ? AND model = ?
        ), ranked AS (
            SELECT {kind}_vec.{kind}_id, vec_distance_cosine({kind}_vec.embedding, ?) AS distance
            FROM candidates JOIN {kind}_vec ON {kind}_vec.{kind}_id = candidates.{kind}_id
        )"""


# How each kind's binary prefilter row is written from (id ?1, float32 vector ?2, model ?3): into a vec0 table for
# messages (sqlite-vec's hamming KNN), a plain table for chunks (scanned in memory: app.store.chunk_bits).
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
        db.execute_sql(
            f"INSERT INTO {kind}_vec ({kind}_id, embedding, model) VALUES (?, ?, ?)", (row_id, vector, model)
        )
        db.execute_sql(_INSERT_BITS[kind], (row_id, vector, model))
        db.execute_sql(f"UPDATE {kind} SET vector_model = ? WHERE id = ?", (model, row_id))


def is_disk_full(exc: BaseException) -> bool:
    """peewee re-raises apsw's FullError as an OperationalError; look through to the original."""
    return isinstance(exc, apsw.FullError) or isinstance(exc.__context__, apsw.FullError)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Database:
    """One database file and its single writer. The repositories of `app.store` are mixed into `Store` on top."""

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
            if is_disk_full(exc):
                raise StorageFull() from exc
            if is_busy(exc):  # after the busy timeout: another process held the write lock all along
                raise busy_error(self.path) from exc
            raise

    def integrity_check(self) -> str:
        return self.db.execute_sql("PRAGMA integrity_check").fetchone()[0]
