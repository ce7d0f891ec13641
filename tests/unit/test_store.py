"""The store on a real SQLite file: migrations, sqlite-vec, FTS5, the message tree, crash recovery, a full disk."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.domain import CallPurpose, MessageStatus, ModelCall, Role, Timings, Usage
from app.core.errors import NotFound, SetupError, StorageFull
from app.store import open_store
from app.store.migrations import MIGRATIONS, applied_migrations


def test_migrations_from_a_blank_database_are_recorded_once(data_dir: Path):
    store = open_store(data_dir)
    assert applied_migrations(store.db) == [name for name, _ in MIGRATIONS]
    tables = {row[0] for row in store.db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"thread", "message", "usage_event", "message_fts", "migration"} <= tables
    store.close()
    reopened = open_store(data_dir)  # a second open applies nothing and keeps the data
    assert applied_migrations(reopened.db) == [name for name, _ in MIGRATIONS]
    reopened.close()


def test_a_database_from_a_newer_build_is_refused(data_dir: Path):
    store = open_store(data_dir)
    store.db.execute_sql("INSERT INTO migration (name, applied_at) VALUES ('9999_from_the_future', 'x')")
    store.close()
    with pytest.raises(SetupError, match="newer Threadloom"):
        open_store(data_dir)


def test_wal_foreign_keys_sqlite_vec_and_fts5_on_the_store_connection(store):
    assert store.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    store.db.execute_sql("CREATE VIRTUAL TABLE probe_vec USING vec0(embedding float[3])")
    for rowid, vector in [(1, (1.0, 0.0, 0.0)), (2, (0.0, 1.0, 0.0)), (3, (0.9, 0.1, 0.0))]:
        store.db.execute_sql(
            "INSERT INTO probe_vec(rowid, embedding) VALUES (?, ?)", (rowid, struct.pack("3f", *vector))
        )
    nearest = store.db.execute_sql(
        "SELECT rowid FROM probe_vec WHERE embedding MATCH ? ORDER BY distance LIMIT 2",
        (struct.pack("3f", 1.0, 0.05, 0.0),),
    ).fetchall()
    assert [row[0] for row in nearest] == [1, 3]

    thread = store.create_thread("search me")
    store.add_message(thread.id, parent_id=None, role=Role.USER, content="The quarterly figures for 2023")
    hits = store.db.execute_sql("SELECT rowid FROM message_fts WHERE message_fts MATCH 'quarter*'").fetchall()
    assert len(hits) == 1


def test_messages_form_a_tree_and_the_current_leaf_selects_the_branch(store):
    thread = store.create_thread("tree")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="question")
    first = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="first answer")
    second = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="second answer")
    assert store.get_thread(thread.id).current_leaf_id == second.id
    assert [m.content for m in store.current_path(thread.id)] == ["question", "second answer"]
    store.set_current_leaf(thread.id, first.id)
    assert [m.content for m in store.current_path(thread.id)] == ["question", "first answer"]
    assert len(store.messages(thread.id)) == 3  # every branch is kept


def test_streamed_reply_is_appended_then_finished_with_usage(store):
    thread = store.create_thread("stream")
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="hi")
    reply = store.add_message(
        thread.id, parent_id=user.id, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING
    )
    store.append_to_message(reply.id, "Hel")
    store.append_to_message(reply.id, "lo")
    store.record_call(
        ModelCall(CallPurpose.TURN, "local", "m", Usage(10, 2, 4), Timings(0.25, 40.0), 0.3, thread.id, reply.id)
    )
    store.record_call(ModelCall(CallPurpose.TITLE, "local", "m", Usage(99, 9), Timings(0.1, 9.0), 0.2, thread.id))
    done = store.finish_message(reply.id, status=MessageStatus.COMPLETE)
    assert done.content == "Hello"
    assert done.status == MessageStatus.COMPLETE
    assert done.usage == Usage(10, 2, 4)
    assert done.timings == Timings(0.25, 40.0)


def test_delete_is_soft_until_purged(store):
    thread = store.create_thread("doomed")
    store.add_message(thread.id, parent_id=None, role=Role.USER, content="bye")
    store.delete_thread(thread.id)
    with pytest.raises(NotFound):
        store.get_thread(thread.id)
    assert store.list_threads() == []
    assert store.restore_thread(thread.id).title == "doomed"  # undo
    store.delete_thread(thread.id)
    assert store.purge_deleted() == [thread.id]
    assert store.db.execute_sql("SELECT count(*) FROM message").fetchone()[0] == 0
    with pytest.raises(NotFound):
        store.restore_thread(thread.id)


def test_a_reply_left_streaming_by_a_dead_process_is_marked_interrupted(data_dir: Path):
    store = open_store(data_dir)
    thread = store.create_thread("crash")
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="tell me")
    reply = store.add_message(
        thread.id, parent_id=user.id, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING
    )
    store.append_to_message(reply.id, "partial text")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.db.execute_sql("UPDATE message SET writer_pid = ? WHERE id = ?", (int(dead.stdout), reply.id))
    store.close()

    reopened = open_store(data_dir)
    recovered = reopened.get_message(reply.id)
    assert recovered.status == MessageStatus.INTERRUPTED
    assert recovered.content == "partial text"
    reopened.close()


def test_a_data_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SetupError, match="a-file"):
        open_store(blocker / "data")


def test_a_full_disk_is_reported_and_loses_nothing_already_saved(store):
    thread = store.create_thread("full")
    kept = store.add_message(thread.id, parent_id=None, role=Role.USER, content="keep me")
    pages = store.db.execute_sql("PRAGMA page_count").fetchone()[0]
    store.db.execute_sql(f"PRAGMA max_page_count = {pages}")  # the database may not grow: as good as a full disk
    with pytest.raises(StorageFull):
        store.append_to_message(kept.id, "x" * 1_000_000)
    assert store.get_message(kept.id).content == "keep me"
    assert store.integrity_check() == "ok"


def test_threads_list_most_recent_first(store):
    older = store.create_thread("older")
    newer = store.create_thread("newer")
    store.add_message(older.id, parent_id=None, role=Role.USER, content="bump")  # activity moves it up
    assert [t.id for t in store.list_threads()] == [older.id, newer.id]
    assert os.path.exists(store.path)


@pytest.mark.parametrize("applied", range(1, len(MIGRATIONS)))
def test_migrating_from_every_earlier_schema_keeps_the_data(data_dir: Path, applied: int):
    from app.store.database import open_database
    from app.store.migrations import migrate

    data_dir.mkdir(parents=True)
    db = open_database(data_dir / "threadloom.sqlite3")
    migrate(db, MIGRATIONS[:applied])
    db.execute_sql("INSERT INTO thread (id, title, created_at, updated_at) VALUES (1, 'old', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')")
    db.execute_sql(
        "INSERT INTO message (thread_id, role, content, status, created_at, updated_at) "
        "VALUES (1, 'user', 'kept across upgrades', 'complete', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')"
    )
    db.close()

    store = open_store(data_dir)
    assert applied_migrations(store.db) == [name for name, _ in MIGRATIONS]
    assert [m.content for m in store.messages(1)] == ["kept across upgrades"]
    assert store.get_thread(1).title == "old"
    assert store.integrity_check() == "ok"
    store.close()
