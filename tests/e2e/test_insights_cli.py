"""The insights commands as a user runs them: rate, threads list --rated, training exports, stats and sql."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from history import build_history, record_usage

from app.store import open_store


@pytest.fixture
def history(data_dir: Path):
    store = open_store(data_dir)
    try:
        built = build_history(store)
        record_usage(store, built)
    finally:
        store.close()
    return built


def test_rate_then_filter_and_clear(cli, history):
    reply = history.ids["a2"]
    rated = cli("rate", str(reply), "down", "--note", "wrong: five is hard-boiled-ish", "--json")
    assert rated.returncode == 0, rated.stderr
    assert json.loads(rated.stdout) | {"rated_at": None} == {
        "message_id": reply, "thread_id": history.recipes, "rating": "down",
        "note": "wrong: five is hard-boiled-ish", "rated_at": None,
    }  # fmt: skip
    listed = json.loads(cli("threads", "list", "--rated", "down", "--json").stdout)
    assert {t["id"] for t in listed} == {history.recipes, history.shown_vs_down}
    assert cli("rate", str(reply), "clear").stdout.strip() == f"message {reply}: rating cleared"

    question = cli("rate", str(history.ids["u1"]), "up")
    assert question.returncode == 1
    assert question.stderr.strip() == f"threadloom: error: message {history.ids['u1']} is a user message: only replies can be rated"
    assert cli("rate", "424242", "up").stderr.strip() == "threadloom: error: no message with id 424242"


def test_export_the_rated_replies_as_a_fine_tuning_file(cli, history, tmp_path):
    out = tmp_path / "train.jsonl"
    done = cli("export", "--format", "finetune", "--rated", "up", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"exported 1 line(s) to {out}"
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["messages"][2]["content"] == "Simmer it for 7 minutes, then cool it in cold water."

    everything = cli("export", "--format", "preference", "--include-incognito", "--include-hosted")
    assert len(everything.stdout.splitlines()) == 3

    assert "not one id" in cli("export", str(history.recipes), "--format", "finetune").stderr
    assert "go with --format finetune" in cli("export", "--all", "--format", "md", "--tag", "x").stderr
    assert "YYYY-MM-DD" in cli("export", "--format", "finetune", "--since", "last week").stderr
    assert "say which thread" in cli("export").stderr


def test_stats_sums_in_text_json_and_csv(cli, history):
    as_json = json.loads(cli("stats", "--by", "model", "--json").stdout)
    assert sum(row["calls"] for row in as_json) == 5
    assert sum(row["prompt_tokens"] for row in as_json) == 542
    assert set(as_json[0]) == {"model", "calls", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds",
                               "mean_ttft_s", "mean_tokens_per_s"}  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(cli("stats", "--by", "day", "--since", "2026-11-29", "--csv").stdout)))
    assert [(row["day"], row["calls"]) for row in rows] == [("2026-11-29", "2"), ("2026-11-30", "1")]
    by_thread = json.loads(cli("stats", "--by", "thread", "--json").stdout)
    assert {row["thread_id"] for row in by_thread} == {history.recipes, history.hosted, None}
    text = cli("stats", "--by", "purpose").stdout.splitlines()
    assert text[0].split() == ["purpose", "calls", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds",
                               "mean_ttft_s", "mean_tokens_per_s"]  # fmt: skip
    assert cli("stats", "--since", "2030-01-01").stdout.strip() == "no model calls recorded since 2030-01-01"
    bad = cli("stats", "--since", "yesterday")
    assert bad.returncode == 1 and bad.stderr.strip() == "threadloom: error: --since 'yesterday' is not a date (YYYY-MM-DD)"


def test_sql_answers_which_model_was_used_most_and_refuses_writes(cli, history):
    most = cli(
        "sql",
        "SELECT model, sum(prompt_tokens + completion_tokens) AS tokens FROM v_usage "
        "WHERE purpose = 'turn' AND day >= '2026-11-24' GROUP BY model ORDER BY tokens DESC LIMIT 1",
        "--json",
    )
    assert most.returncode == 0, most.stderr
    assert json.loads(most.stdout) == [{"model": "other-model", "tokens": 330}]
    joined = cli(
        "sql", "SELECT t.title, r.rating FROM v_ratings r JOIN v_threads t ON t.id = r.thread_id ORDER BY r.message_id",
        "--csv",
    )  # fmt: skip
    assert joined.stdout.splitlines()[:2] == ["title,rating", "Recipes,down"]
    for statement, refused in [
        ("INSERT INTO tag (name) VALUES ('x')", "insert tag is refused"),
        ("ATTACH DATABASE 'x.db' AS x", "attach x.db is refused"),
        ("PRAGMA writable_schema = ON", "pragma writable_schema ON is refused"),
        ("SELECT load_extension('evil')", "function load_extension() is refused"),
    ]:
        done = cli("sql", statement)
        assert done.returncode == 1
        assert done.stderr == f"threadloom: error: `threadloom sql` only reads: {refused}\n"
    assert cli("sql", "SELECT count(*) AS n FROM v_threads").stdout.split() == ["n", "5"]
    assert cli("sql", "SELECT 1", "--timeout", "0").stderr == "threadloom: error: --timeout is in seconds and above 0, not 0\n"
