"""`threadloom attach` and `chat --json` citations as subprocesses, on the real models: the needle in a haystack is
cited from the right passage, and an ingest killed midway resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.documents import DocumentStatus
from app.store import open_store
from app.store.documents import DocumentStore
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow

NEEDLES = json.loads((SHARED_DATA / "needle-in-haystack" / "needles.json").read_text(encoding="utf-8"))
ESSAYS = SHARED_DATA / "needle-in-haystack" / "PaulGrahamEssays"


def haystack(chars: int, depth: float) -> str:
    """The essays concatenated to `chars`, with the needle at `depth` of the text, on a sentence boundary."""
    text = ""
    for name in NEEDLES["haystack_files"]:
        text += (ESSAYS / name).read_text(encoding="utf-8") + "\n"
        if len(text) >= chars:
            break
    text = text[:chars]
    cut = text.find(". ", int(len(text) * depth)) + 1
    return text[:cut] + NEEDLES["single_needle"]["needle"] + text[cut:]


def test_needle_is_cited_from_the_passage_that_holds_it(cli, embedder, tmp_path: Path):
    path = tmp_path / "haystack.txt"
    path.write_text(haystack(60_000, 0.6), encoding="utf-8")
    created = cli("chat", "--new", "--json", "Hello.")
    thread_id = json.loads(created.stdout)["thread_id"]

    attached = cli("attach", "--thread", str(thread_id), "--no-summary", str(path))
    assert attached.returncode == 0, attached.stderr
    assert attached.stdout.startswith("haystack.txt: ready: 1 pages, ")
    assert "embedding haystack.txt" in attached.stderr  # progress lines

    question = NEEDLES["single_needle"]["retrieval_question"]
    answered = cli("chat", "--thread", str(thread_id), "--json", question)
    assert answered.returncode == 0, answered.stderr
    citations = json.loads(answered.stdout)["citations"]
    assert citations and all({"file", "page", "start", "end", "text", "verified"} <= c.keys() for c in citations)
    holding = [c for c in citations if "Dolores Park" in c["text"]]
    assert holding, [c["text"][:80] for c in citations]
    assert holding[0]["file"] == "haystack.txt" and holding[0]["verified"]
    assert path.read_text(encoding="utf-8")[holding[0]["start"] : holding[0]["end"]] == holding[0]["text"]


def test_an_ingest_killed_midway_resumes_where_it_stopped(
    cli, data_dir: Path, models_dir: Path, tmp_path: Path
):
    path = tmp_path / "long.txt"
    path.write_text(haystack(130_000, 0.5), encoding="utf-8")
    created = cli("chat", "--new", "--json", "Hi.")
    thread_id = json.loads(created.stdout)["thread_id"]
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models_dir),
         "attach", "--thread", str(thread_id), "--no-summary", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    store = open_store(data_dir)
    documents = DocumentStore(store)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            embedded = store.db.execute_sql("SELECT count(*) FROM chunk_vec").fetchone()[0]
            if embedded >= 64:  # at least one batch committed
                break
            time.sleep(0.2)
        else:
            pytest.fail("no embedding batch was committed in time")
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its embedding worker
        process.wait()
        [document] = documents.unfinished_documents()
        assert document.status == DocumentStatus.EMBEDDING
        chunks_before = [chunk_id for chunk_id, _ in documents.chunks(document.id)]
        embedded_before = store.db.execute_sql("SELECT count(*) FROM chunk_vec").fetchone()[0]
        assert 0 < embedded_before < len(chunks_before)

        resumed = cli("sync", "--no-summary")
        assert resumed.returncode == 0, resumed.stderr
        after = documents.document(document.id)
        assert after.status == DocumentStatus.READY
        # The chunks were not cut again and every one has its vector now.
        assert [chunk_id for chunk_id, _ in documents.chunks(document.id)] == chunks_before
        assert store.db.execute_sql("SELECT count(*) FROM chunk_vec").fetchone()[0] == len(chunks_before)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        store.close()


def test_a_folder_for_all_threads_is_listed_seen_by_every_thread_and_removed(cli, store, tmp_path: Path):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nEveryone gets 30 days of paid leave a year.\n", encoding="utf-8")
    first, second = store.create_thread("first"), store.create_thread("second")

    added = cli("folders", "add", str(folder), "--all-threads", "--no-summary", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == [{"id": 1, "path": str(folder), "thread_id": None, "files": 1}]
    for thread in (first, second):
        listed = json.loads(cli("attachments", str(thread.id), "--json").stdout)
        assert [(a["file"], a["status"]) for a in listed] == [("leave.md", "ready")]

    removed = cli("folders", "remove", "1")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == ""  # nothing left to list
    assert json.loads(cli("attachments", str(first.id), "--json").stdout) == []

    missing = cli("folders", "remove", "1")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "threadloom: error: no knowledge folder with id 1; see `threadloom folders`"
    both = cli("folders", "add", str(folder), "--thread", str(first.id), "--all-threads")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
