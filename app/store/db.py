"""The thread store: one SQLite file (WAL, foreign keys, sqlite-vec, FTS5) behind repository methods.

Every method returns `app.core` values. Writes are serialised by one lock per store so the GUI's background tasks
and the streaming writer never fight for SQLite's write lock; other processes (the CLI next to the window) wait on
SQLite's busy timeout instead. `Store` is the facade over the repositories, one module each: `threads`, `messages`,
`summaries`, `message_search`, `profiles`, `memories` (and `documents`, `routing`, which take a store).
"""

from __future__ import annotations

from pathlib import Path

import apsw
import peewee

from app.core.errors import SetupError
from app.store.database import Clock, open_database, utc_now
from app.store.memories import MemoryRecords
from app.store.message_search import MessageSearch
from app.store.messages import MessageTree
from app.platform.paths import private_file
from app.store.migrations import migrate
from app.store.profiles import ProfileRecords
from app.store.ratings import Ratings
from app.store.summaries import Summaries
from app.store.usage_stats import UsageStats
from app.store.threads import ThreadRecords


class Store(ThreadRecords, MessageTree, Summaries, MessageSearch, Ratings, UsageStats, ProfileRecords, MemoryRecords):
    """Repository over one database file: threads, their message trees, summaries, search rankings, usage,
    ratings, system prompts, assistants and long-term memories."""


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
