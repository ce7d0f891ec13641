"""Where imported threads came from: one row per conversation of an export, written in the same transaction as
the thread, so an import run twice (or again after a kill) finds what it already brought in."""

from __future__ import annotations

import apsw
import peewee

from app.core.domain import ImportedThread, Thread
from app.core.errors import InvalidInput
from app.store.database import _iso, utc_now
from app.store.db import Store


class ImportSources:
    def __init__(self, store: Store) -> None:
        self._store = store

    def thread_for(self, source_id: str) -> int | None:
        """The thread imported from `source_id` earlier, if it is still in the database (deleted or not)."""
        row = self._store.db.execute_sql(
            "SELECT thread_id FROM import_source WHERE source_id = ?", (source_id,)
        ).fetchone()
        return None if row is None else row[0]

    def insert(self, imported: ImportedThread, source_id: str) -> Thread:
        """Store the thread and its source together: both or neither. A concurrent import of the same
        conversation loses the race on the primary key and leaves nothing behind."""
        try:
            with self._store.writing():
                thread = self._store.insert_thread(imported)
                self._store.db.execute_sql(
                    "INSERT INTO import_source (source_id, thread_id, imported_at) VALUES (?, ?, ?)",
                    (source_id, thread.id, _iso(utc_now())),
                )
        except (peewee.IntegrityError, apsw.ConstraintError) as exc:
            earlier = self.thread_for(source_id)
            if earlier is None:
                raise InvalidInput(f"the database refused it ({exc})") from exc
            raise InvalidInput(f"already imported as thread {earlier}") from exc
        return thread
