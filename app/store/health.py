"""Checks that a store's SQLite connection has what the app relies on: sqlite-vec and FTS5 (for `--self-test`).

Both build TEMP tables on the store's connection, so they touch nothing in the database file. Each returns a short
description of what it found and raises SetupError, with the reason, when the feature is missing or wrong.
"""

from __future__ import annotations

import struct

import apsw
import peewee

from app.core.errors import SetupError
from app.store.db import Store


def _vector(*values: float) -> bytes:
    return struct.pack(f"{len(values)}f", *values)


def check_vector_search(store: Store) -> str:
    """sqlite-vec is loaded and a KNN query over a vec0 table finds the nearest vector."""
    db = store.db
    try:
        version = db.execute_sql("SELECT vec_version()").fetchone()[0]
        db.execute_sql("CREATE VIRTUAL TABLE temp.selftest_vec USING vec0(embedding float[3])")
        try:
            for rowid, vector in ((1, (1.0, 0.0, 0.0)), (2, (0.0, 1.0, 0.0)), (3, (0.0, 0.0, 1.0))):
                db.execute_sql(
                    "INSERT INTO temp.selftest_vec (rowid, embedding) VALUES (?, ?)", (rowid, _vector(*vector))
                )
            rows = db.execute_sql(
                "SELECT rowid FROM temp.selftest_vec WHERE embedding MATCH ? AND k = 2 ORDER BY distance",
                (_vector(0.1, 0.9, 0.0),),
            ).fetchall()
        finally:
            db.execute_sql("DROP TABLE IF EXISTS temp.selftest_vec")
    except (apsw.Error, peewee.DatabaseError) as exc:
        raise SetupError(f"sqlite-vec is not usable on this SQLite ({exc})") from exc
    nearest = [row[0] for row in rows]
    if nearest[:1] != [2]:
        raise SetupError(f"sqlite-vec {version} returned rows {nearest} for a query nearest to row 2")
    return f"sqlite-vec {version}, KNN over vec0"


def check_full_text_search(store: Store) -> str:
    """FTS5 is compiled in and a MATCH query ranks by BM25."""
    db = store.db
    try:
        sqlite_version = db.execute_sql("SELECT sqlite_version()").fetchone()[0]
        db.execute_sql("CREATE VIRTUAL TABLE temp.selftest_fts USING fts5(body)")
        try:
            for body in ("a loom weaves threads", "bread rises overnight", "threads and more threads"):
                db.execute_sql("INSERT INTO temp.selftest_fts (body) VALUES (?)", (body,))
            rows = db.execute_sql(
                "SELECT body FROM temp.selftest_fts WHERE selftest_fts MATCH ? ORDER BY bm25(selftest_fts)",
                ("threads",),
            ).fetchall()
        finally:
            db.execute_sql("DROP TABLE IF EXISTS temp.selftest_fts")
    except (apsw.Error, peewee.DatabaseError) as exc:
        raise SetupError(f"FTS5 is not usable on this SQLite ({exc})") from exc
    found = [row[0] for row in rows]
    if found != ["threads and more threads", "a loom weaves threads"]:
        raise SetupError(f"FTS5 on SQLite {sqlite_version} matched {found} for 'threads'")
    return f"FTS5 on SQLite {sqlite_version}, BM25 ranking"
