"""Purging for good: the deleted threads, then the attachments no thread uses any more (their chunks, vectors and
stored files), with SQLite's secure_delete on, the keyword indexes merged and the write-ahead log emptied, so the
content is not left behind in free pages, old index segments or the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.store import Store
from app.store.documents import DocumentStore


@dataclass(frozen=True)
class Purged:
    thread_ids: list[int]
    documents: int


def purge_for_good(store: Store) -> Purged:
    db = store.db  # its secure_delete is on (store/database.py): deleted content is overwritten, not just unlinked
    thread_ids = store.purge_deleted()
    stored_files = DocumentStore(store).remove_unused_documents()
    with store.writing():  # a deleted row's words stay in FTS5 segments until they are merged
        for index in ("message_fts", "chunk_fts"):
            db.execute_sql(f"INSERT INTO {index}({index}) VALUES ('optimize')")
    for path in stored_files:
        Path(path).unlink(missing_ok=True)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: a reader elsewhere may hold the log a while
    return Purged(thread_ids, len(stored_files))
