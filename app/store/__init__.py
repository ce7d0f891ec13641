"""SQLite storage: peewee over apsw, with sqlite-vec and FTS5. ORM rows never leave this package."""

from app.store.db import Store, open_store

__all__ = ["Store", "open_store"]
