"""`threadloom sql`'s connection on the real database: it reads the documented views and refuses everything else."""

from __future__ import annotations

import hashlib

import pytest
from history import STARTER, build_history, record_usage

from app.core.errors import InvalidInput, NotFound
from app.store.readonly import ReadOnlyRefused, run_readonly

VIEW_COLUMNS = {
    "v_threads": ["id", "title", "created_at", "updated_at", "pinned", "archived", "model", "privacy_rule",
                  "incognito", "current_leaf_id", "tags", "message_count", "left_machine"],
    "v_messages": ["id", "thread_id", "parent_id", "role", "content", "status", "model", "error", "created_at",
                   "path_position", "sibling_index", "sibling_count", "on_shown_branch"],
    "v_usage": ["id", "created_at", "day", "purpose", "backend", "model", "thread_id", "message_id", "prompt_tokens",
                "completion_tokens", "cached_tokens", "ttft_s", "tokens_per_s", "seconds"],
    "v_ratings": ["message_id", "thread_id", "rating", "note", "rated_at", "model", "content"],
    "v_citations": ["id", "message_id", "thread_id", "number", "file_name", "page", "start", "end", "text",
                    "verified"],
    "v_hosted_calls": ["id", "created_at", "day", "thread_id", "message_id", "provider", "base_url", "model",
                       "reason", "prompt_tokens", "completion_tokens", "tokens_estimated"],
    "v_tool_calls": ["id", "thread_id", "message_id", "name", "server", "arguments", "status", "effect", "result",
                     "error", "duration_ms", "approved_by", "text_offset", "created_at"],
}  # fmt: skip


@pytest.fixture
def database(store):
    history = build_history(store)
    record_usage(store, history)
    return store.path, history


@pytest.mark.parametrize("view", VIEW_COLUMNS)
def test_each_view_has_its_documented_columns(database, view):
    path, _history = database
    assert run_readonly(path, f"SELECT * FROM {view} LIMIT 0").columns == VIEW_COLUMNS[view]


def test_messages_view_knows_branches_and_path_positions(database):
    path, history = database
    rows = run_readonly(
        path,
        """SELECT id, path_position, sibling_index, sibling_count, on_shown_branch FROM v_messages
           WHERE thread_id = ? ORDER BY id""".replace("?", str(history.recipes)),
    ).rows
    got = {row[0]: row[1:] for row in rows}
    ids = history.ids
    assert got[ids["u1"]] == (1, 1, 2, 1)  # the first of two first messages (u1e is an edit of it)
    assert got[ids["a1"]] == (2, 1, 3, 0)
    assert got[ids["a1b"]] == (2, 3, 3, 1)
    assert got[ids["a2"]] == (4, 1, 1, 1)
    assert got[ids["u1e"]] == (1, 2, 2, 0)


def test_a_join_over_the_views_answers_which_model_was_used_most(database):
    path, _history = database
    result = run_readonly(
        path,
        """SELECT u.model, sum(u.prompt_tokens + u.completion_tokens) AS tokens, count(r.message_id) AS rated
           FROM v_usage u LEFT JOIN v_ratings r ON r.message_id = u.message_id
           WHERE u.purpose = 'turn' AND u.day >= '2026-11-28' GROUP BY u.model ORDER BY tokens DESC""",
    )
    assert result.columns == ["model", "tokens", "rated"]
    assert result.rows == [("other-model", 330, 0), (STARTER, 120, 1), ("acme/big", 19, 1)]


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("INSERT INTO tag (name) VALUES ('x')", "insert tag"),
        ("UPDATE thread SET title = 'x'", "update thread"),
        ("SELECT 1; DELETE FROM message", "delete message"),
        ("DROP VIEW v_usage", "delete sqlite_master"),
        ("CREATE TEMP TABLE scratch (a)", "insert sqlite_temp_master"),
        ("ATTACH DATABASE '/tmp/elsewhere.db' AS other", "attach"),
        ("PRAGMA writable_schema = ON", "pragma writable_schema"),
        ("PRAGMA query_only = OFF", "pragma query_only"),
        ("SELECT load_extension('/tmp/evil.so')", "function load_extension()"),
    ],
)
def test_anything_but_reading_is_refused_in_one_line(database, sql, refused):
    path, _history = database
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ReadOnlyRefused) as caught:
        run_readonly(path, sql)
    message = str(caught.value)
    assert refused in message and "\n" not in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert run_readonly(path, "SELECT count(*) FROM v_threads").rows == [(5,)]


def test_a_runaway_query_stops_at_its_time_limit(database):
    path, _history = database
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(InvalidInput, match="longer than 0.2 s"):
        run_readonly(path, endless, seconds=0.2)


def test_bad_sql_and_missing_tables_are_one_line_errors(database, tmp_path):
    path, _history = database
    for sql, says in [("SELEC 1", "syntax error"), ("SELECT * FROM nowhere", "no such table: nowhere"), ("  ", "no SQL")]:
        with pytest.raises(InvalidInput, match=says) as caught:
            run_readonly(path, sql)
        assert "\n" not in str(caught.value)
    with pytest.raises(NotFound, match="no database"):
        run_readonly(tmp_path / "missing.sqlite3", "SELECT 1")


def test_schema_pragmas_that_only_read_are_allowed(database):
    path, _history = database
    assert "rating" in [row[1] for row in run_readonly(path, "PRAGMA table_list").rows]
    assert [row[1] for row in run_readonly(path, "PRAGMA table_info(rating)").rows] == [
        "message_id", "value", "note", "rated_at"
    ]
