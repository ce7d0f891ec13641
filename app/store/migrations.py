"""Append-only, named schema migrations, each applied in its own transaction and recorded in `migration`.

Never edit or reorder a step that has shipped: add a new one. A database that has steps this build does not know
was written by a newer Threadloom, and is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import peewee

from app.core.errors import SetupError

Step = Callable[[peewee.Database], None]


def _sql(*statements: str) -> Step:
    def run(db: peewee.Database) -> None:
        for statement in statements:
            db.execute_sql(statement)

    return run


MIGRATIONS: list[tuple[str, Step]] = [
    (
        "0001_threads_and_messages",
        _sql(
            """CREATE TABLE thread (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                pinned INTEGER NOT NULL DEFAULT 0,
                archived INTEGER NOT NULL DEFAULT 0,
                deleted_at TEXT,
                model TEXT,
                system_prompt TEXT,
                current_leaf_id INTEGER REFERENCES message(id) ON DELETE SET NULL
            )""",
            """CREATE TABLE message (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                parent_id INTEGER REFERENCES message(id) ON DELETE CASCADE,
                role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
                content TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'interrupted', 'error')),
                model TEXT,
                error TEXT,
                writer_pid INTEGER,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX message_thread ON message(thread_id, id)",
            "CREATE INDEX message_parent ON message(parent_id)",
            "CREATE INDEX message_streaming ON message(status) WHERE status = 'streaming'",
            """CREATE TABLE usage_event (
                id INTEGER PRIMARY KEY,
                message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                backend TEXT NOT NULL,
                model TEXT,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cached_tokens INTEGER NOT NULL DEFAULT 0,
                ttft_s REAL,
                tokens_per_s REAL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX usage_event_message ON usage_event(message_id)",
            # Keyword search over messages; kept in step with `message` by triggers.
            """CREATE VIRTUAL TABLE message_fts USING fts5(
                content, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
            )""",
            """CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
                INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
            END""",
            """CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
                INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
            END""",
            """CREATE TRIGGER message_fts_update AFTER UPDATE OF content ON message BEGIN
                INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
                INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
            END""",
        ),
    ),
]


def applied_migrations(db: peewee.Database) -> list[str]:
    db.execute_sql("CREATE TABLE IF NOT EXISTS migration (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return [row[0] for row in db.execute_sql("SELECT name FROM migration ORDER BY name")]


def migrate(db: peewee.Database, steps: list[tuple[str, Step]] = MIGRATIONS) -> list[str]:
    """Apply the steps not yet recorded; return their names."""
    known = {name for name, _ in steps}
    done = applied_migrations(db)
    unknown = [name for name in done if name not in known]
    if unknown:
        raise SetupError(
            f"this database was written by a newer Threadloom (migration {unknown[-1]}); update the app to open it"
        )
    newly_applied = []
    for name, step in steps:
        if name in done:
            continue
        with db.atomic("IMMEDIATE"):
            step(db)
            db.execute_sql(
                "INSERT INTO migration (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        newly_applied.append(name)
    return newly_applied
