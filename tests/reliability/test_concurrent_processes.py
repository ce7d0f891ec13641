"""Several processes at once: four opening a new data folder together all succeed (the migrations are re-read under
the write lock), again and again; a database held busy by another process is waited for, then reported in one line."""

from __future__ import annotations

import subprocess
import sys
import time

import apsw
import pytest
from hostile import REPO

from app.core.errors import SetupError
from app.store import open_store
from app.store.db import open_database
from app.store.migrations import MIGRATIONS, applied_migrations, migrate

OPEN_AT = """
import sys, time
from pathlib import Path
start = float(sys.argv[2])
while time.time() < start:
    pass
from app.store import open_store
open_store(Path(sys.argv[1])).close()
"""


@pytest.mark.parametrize("round_", range(5))
def test_four_processes_opening_a_new_data_folder_at_once_all_succeed(tmp_path, round_):
    data = tmp_path / "data"
    start = time.time() + 2.0  # all four have imported the app by then and spin towards the same moment
    processes = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT, str(data), str(start)], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for _ in range(4)
    ]
    outcomes = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], [err for _, err in outcomes]
    store = open_store(data)
    assert applied_migrations(store.db) == [name for name, _ in MIGRATIONS]
    assert store.integrity_check() == "ok"
    store.close()


def test_a_migration_applied_by_another_process_meanwhile_is_not_applied_again(tmp_path, monkeypatch):
    """The race in slow motion: this process read the list, then another applied a step before this one took the
    write lock."""
    data = tmp_path / "data"
    open_store(data).close()
    ran = []
    late = [*MIGRATIONS, ("9000_added_meanwhile", lambda db: ran.append("late"))]
    other, mine = (open_database(data / "threadloom.sqlite3") for _ in range(2))
    assert migrate(other, late) == ["9000_added_meanwhile"]
    stale = [name for name, _ in MIGRATIONS]  # what this process read before the other one wrote
    monkeypatch.setattr("app.store.migrations.applied_migrations", lambda db: stale)
    assert migrate(mine, late) == []
    assert ran == ["late"]
    other.close()
    mine.close()


def test_a_database_held_busy_is_reported_in_one_line(tmp_path, monkeypatch):
    data = tmp_path / "data"
    open_store(data).close()
    holder = apsw.Connection(str(data / "threadloom.sqlite3"))
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr("app.store.migrations.BUSY_RETRIES", 1)
    try:
        db = open_database(data / "threadloom.sqlite3")
        db.execute_sql("PRAGMA busy_timeout = 200")
        with pytest.raises(SetupError, match="busy"):
            migrate(db, [*MIGRATIONS, ("9001_blocked", lambda db: None)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_to_a_database_another_process_keeps_locked_fails_in_one_line(store, canary):
    holder = apsw.Connection(str(store.path))
    holder.execute("BEGIN IMMEDIATE")
    store.db.execute_sql("PRAGMA busy_timeout = 300")  # waited, then reported (10 s in the app)
    try:
        with pytest.raises(SetupError) as caught:
            store.rename_thread(canary.id, "renamed")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "is busy" in str(caught.value) and "\n" not in str(caught.value)
