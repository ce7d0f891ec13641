"""Imports of strangers' exports: a cycle, a stale id, an over-limit field, a non-finite number or deep nesting fails
its own entry with a one-line reason (never a traceback, never half a thread); importing again never duplicates;
tool and multimodal turns of ChatGPT import; a 50 MB export takes linear time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest
from exports import GOOD, chatgpt, openwebui, write
from hostile import RATIO_LIMIT, REPO, best_time, run_cli

from app.core.domain import Role
from app.services.transfer import export_json, import_file
from app.store import open_store


def titles(store) -> list[str]:
    return sorted(t.title for t in store.list_threads())


def assert_skipped(report, title: str, fragment: str) -> str:
    reasons = dict(report.skipped)
    assert title in reasons, report.skipped
    assert fragment in reasons[title] and "\n" not in reasons[title] and "Traceback" not in reasons[title]
    return reasons[title]


@pytest.mark.parametrize(
    "links",
    [
        {"a": ("b", ["b"]), "b": ("a", ["a"])},  # parents and children both loop
        {"a": ("a", ["a"])},  # its own parent
        {"a": (None, ["b"]), "b": ("c", ["a"]), "c": ("b", [])},  # a rooted node beside a parent loop
    ],
    ids=["two-node loop", "self parent", "loop beside a root"],
)
def test_a_chatgpt_export_whose_links_form_a_cycle_fails_that_entry_alone(store, canary, tmp_path, links):
    mapping = {
        key: {"id": key, "parent": parent, "children": children,
              "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": [key]}}}
        for key, (parent, children) in links.items()
    }  # fmt: skip
    loop = {"title": "Loop", "id": "loop", "mapping": mapping, "current_node": "a"}
    path = write(tmp_path, [loop, chatgpt("Fine", GOOD)])
    started = time.monotonic()
    report = import_file(store, path)
    assert time.monotonic() - started < 10
    assert [t.title for t in report.imported] == ["Fine"]
    assert_skipped(report, "Loop", "cycle")
    assert titles(store) == ["Canary", "Fine"]


def test_children_lists_that_loop_are_not_followed_the_parents_decide(store, canary, tmp_path):
    entry = chatgpt("Looping children", GOOD)
    entry["mapping"]["n1"]["children"] = ["n0", "root"]  # points back up
    report = import_file(store, write(tmp_path, [entry]))
    thread = report.imported[0]
    assert [m.content for m in store.current_path(thread.id)] == ["hello", "hi"]


def test_a_cycle_makes_the_cli_print_a_reason_not_hang(tmp_path):
    loop = {"title": "Loop", "id": "loop", "current_node": "a", "mapping": {
        "a": {"parent": "b", "children": ["b"], "message": None}, "b": {"parent": "a", "children": ["a"], "message": None}}}
    result = run_cli(tmp_path / "data", "import", str(write(tmp_path, [loop, chatgpt("Fine", GOOD)])), "--json",
                     timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [t["title"] for t in out["imported"]] == ["Fine"]
    assert out["skipped"][0]["title"] == "Loop" and "cycle" in out["skipped"][0]["reason"]


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (openwebui("Stale current", GOOD, history={"currentId": "gone"}), "current message"),
        ({**openwebui("Long tag", GOOD), "meta": {"tags": ["x" * 65]}}, "longer than 64"),
        ({**openwebui("Infinite time", GOOD), "created_at": float("inf")}, "timestamp"),
        ({**openwebui("Not a number time", GOOD), "updated_at": float("nan")}, "timestamp"),
        ({**openwebui("Far future", GOOD), "created_at": 1e300}, "timestamp"),
        (openwebui("Unknown role", [("user", "hi"), ("wizard", "boo")]), "wizard"),
        ({"id": "x", "title": "No history", "chat": {"history": {"messages": []}}}, "messages"),
    ],
    ids=["stale currentId", "tag over the limit", "Infinity", "NaN", "1e300", "unknown role", "messages not a map"],
)
def test_an_openwebui_entry_that_breaks_a_rule_fails_alone_with_one_line(store, canary, tmp_path, bad, fragment):
    path = write(tmp_path, [openwebui("Before", GOOD), bad, openwebui("After", GOOD)])
    report = import_file(store, path)
    assert [t.title for t in report.imported] == ["Before", "After"]
    assert_skipped(report, bad["title"], fragment)
    assert titles(store) == ["After", "Before", "Canary"]


def test_an_infinite_message_time_in_chatgpt_fails_that_entry(store, canary, tmp_path):
    bad = chatgpt("Bad time", GOOD)
    bad["mapping"]["n1"]["message"]["create_time"] = float("-inf")
    report = import_file(store, write(tmp_path, [bad, chatgpt("Fine", GOOD)]))
    assert [t.title for t in report.imported] == ["Fine"]
    assert_skipped(report, "Bad time", "timestamp")


def test_an_entry_nested_too_deeply_fails_alone_and_its_neighbours_import(store, canary, tmp_path):
    depth = 100_000  # far past what json (and Python's recursion limit) can decode
    deep = json.dumps({**openwebui("Deep", GOOD), "extra": None}).replace("null", "[" * depth + "]" * depth)
    text = "[" + ",".join([json.dumps(openwebui("Before", GOOD)), deep, json.dumps(openwebui("After", GOOD))]) + "]"
    report = import_file(store, write(tmp_path, text))
    assert [t.title for t in report.imported] == ["Before", "After"]
    assert_skipped(report, "Deep", "nested too deeply")


def test_a_long_openwebui_chain_imports_without_recursion(store, canary, tmp_path):
    turns = [("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(5000)]
    entry = openwebui("Long", turns)
    history = entry["chat"]["history"]
    history["messages"] = dict(reversed(history["messages"].items()))  # newest first: each names a later parent
    report = import_file(store, write(tmp_path, [entry]))
    thread = report.imported[0]
    assert len(store.current_path(thread.id)) == 5000


def test_a_failure_inside_the_database_leaves_no_half_thread(store, canary, tmp_path):
    """Passes every check but cannot be stored (a lone surrogate is no UTF-8): the transaction takes it all back."""
    bad = chatgpt("Unstorable", [("user", "fine"), ("assistant", "broken \ud800 text")])
    report = import_file(store, write(tmp_path, [bad, chatgpt("Fine", GOOD)]))
    assert [t.title for t in report.imported] == ["Fine"]
    assert_skipped(report, "Unstorable", "")
    assert titles(store) == ["Canary", "Fine"]
    assert store.db.execute_sql("SELECT count(*) FROM message WHERE content = 'fine'").fetchone()[0] == 0


def test_tool_and_multimodal_nodes_import_with_their_text(store, canary, tmp_path):
    entry = chatgpt("Tools", [("user", "plot it"), ("assistant", "running code"), ("tool", "x = 1"),
                              ("assistant", "done")])  # fmt: skip
    entry["mapping"]["n2"]["message"]["author"]["name"] = "python"
    entry["mapping"]["n0"]["message"]["content"] = {"content_type": "multimodal_text", "parts": [
        {"content_type": "image_asset_pointer", "asset_pointer": "file-service://abc"}, "plot it",
        {"content_type": "audio_transcription", "text": "said aloud"}]}  # fmt: skip
    report = import_file(store, write(tmp_path, [entry]))
    assert report.skipped == []
    path = store.current_path(report.imported[0].id)
    assert [m.role for m in path] == [Role.USER, Role.ASSISTANT, Role.ASSISTANT, Role.ASSISTANT]
    assert path[0].content == "[attachment]\nplot it\nsaid aloud"
    assert path[2].content == "[python output]\nx = 1"


def test_importing_the_same_file_twice_skips_every_conversation_the_second_time(store, canary, tmp_path):
    path = write(tmp_path, [chatgpt("One", GOOD), chatgpt("Two", GOOD)])
    first = import_file(store, path)
    second = import_file(store, path)
    assert second.imported == []
    ids = {t.title: t.id for t in first.imported}
    assert second.skipped == [("One", f"already imported as thread {ids['One']}"),
                              ("Two", f"already imported as thread {ids['Two']}")]  # fmt: skip
    assert titles(store) == ["Canary", "One", "Two"]


@pytest.mark.parametrize("kind", ["openwebui", "threadloom"])
def test_reimporting_other_formats_does_not_duplicate_either(store, canary, tmp_path, kind):
    if kind == "openwebui":
        path = write(tmp_path, [openwebui("Web", GOOD)])
    else:
        path = write(tmp_path, export_json(store, [canary.id]))  # no stable id: the entry's digest names it
    import_file(store, path)
    again = import_file(store, path)
    assert again.imported == [] and "already imported" in again.skipped[0][1]


def test_a_purged_import_can_come_back(store, canary, tmp_path):
    path = write(tmp_path, [chatgpt("Gone", GOOD)])
    thread = import_file(store, path).imported[0]
    store.delete_thread(thread.id)
    store.purge_deleted()
    assert [t.title for t in import_file(store, path).imported] == ["Gone"]


def test_an_import_killed_midway_then_run_again_brings_in_each_conversation_once(tmp_path):
    count = 300
    entries = [chatgpt(f"Conversation {i}", GOOD * 20, conversation_id=f"c{i}") for i in range(count)]
    path = write(tmp_path, entries)
    data = tmp_path / "data"
    open_store(data).close()
    command = [sys.executable, "-m", "app", "--data-dir", str(data), "--models-dir", str(tmp_path), "import", str(path)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reader = apsw.Connection(str(data / "threadloom.sqlite3"))
    reader.setbusytimeout(5000)
    deadline = time.monotonic() + 60
    while reader.execute("SELECT count(*) FROM thread").fetchone()[0] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    landed = reader.execute("SELECT count(*) FROM thread").fetchone()[0]
    reader.close()
    assert 0 < landed < count, "the kill should land midway; make the export larger if the import got done first"
    result = run_cli(data, "import", str(path), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["imported"]) == count - landed and len(out["skipped"]) == landed
    store = open_store(data)
    assert len(store.list_threads()) == count
    assert store.integrity_check() == "ok"
    store.close()


def test_a_50_mb_export_imports_in_time_linear_in_its_size(tmp_path):
    """Each conversation ~100 KB: 125 make ~12.5 MB, 500 ~50 MB. Four times the export may cost at most
    RATIO_LIMIT times the time (linear ~4, quadratic ~16)."""

    def export(conversations: int) -> Path:
        turns = [("user" if i % 2 == 0 else "assistant", f"turn {i} " + "lorem ipsum dolor sit amet " * 180)
                 for i in range(20)]  # fmt: skip
        return write(tmp_path, [chatgpt(f"C{n}", turns, conversation_id=f"{conversations}-{n}")
                                for n in range(conversations)], name=f"export-{conversations}.json")  # fmt: skip

    paths = {n: export(n) for n in (125, 500)}
    assert paths[500].stat().st_size > 50_000_000

    def run(conversations: int) -> None:
        store = open_store(tmp_path / f"data-{conversations}-{time.monotonic_ns()}")
        report = import_file(store, paths[conversations])
        assert len(report.imported) == conversations
        store.close()

    small, large = best_time(lambda: run(125), repeat=2), best_time(lambda: run(500), repeat=2)
    print(f"\n12.5 MB: {small:.2f} s, 50 MB: {large:.2f} s, ratio {large / small:.2f}")
    assert large / small < RATIO_LIMIT
