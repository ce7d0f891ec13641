"""A data directory holding a large history (by default 10,000 threads / 100,000 messages), written straight into
a migrated store in one transaction, for the thread list and cold start benchmarks. Not a test; asserts nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.store import open_store

WORDS = "garden lighthouse budget recipe travel python invoice novel physics music".split()


def write_history(data_dir: Path, *, threads: int = 10_000, messages_per_thread: int = 10) -> int:
    """Fill `data_dir` with `threads` threads of alternating user/assistant messages; returns the id of the most
    recently active thread."""
    store = open_store(data_dir)
    db = store.db
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with store.writing():
            for number in range(threads):
                when = start + timedelta(minutes=number)
                stamp = when.isoformat()
                title = f"{WORDS[number % len(WORDS)].title()} notes {number}"
                cursor = db.execute_sql(
                    "INSERT INTO thread (title, created_at, updated_at, title_source) VALUES (?, ?, ?, 'user')",
                    (title, stamp, stamp),
                )
                thread_id = db.last_insert_id(cursor)
                parent = None
                for turn in range(messages_per_thread):
                    role = "user" if turn % 2 == 0 else "assistant"
                    text = f"{role} message {turn} about {WORDS[(number + turn) % len(WORDS)]} in thread {number}."
                    cursor = db.execute_sql(
                        "INSERT INTO message (thread_id, parent_id, role, content, status, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, 'complete', ?, ?)",
                        (thread_id, parent, role, text, stamp, stamp),
                    )
                    parent = db.last_insert_id(cursor)
                db.execute_sql("UPDATE thread SET current_leaf_id = ? WHERE id = ?", (parent, thread_id))
        return thread_id
    finally:
        store.close()
