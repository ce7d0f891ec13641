"""The thread-organising commands as a user scripts them: tag, meta, filtered lists, search, export, import, delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.domain import Role
from app.store import open_store


@pytest.fixture
def two_threads(data_dir: Path) -> tuple[int, int]:
    store = open_store(data_dir)
    ids = []
    for title, text in [("Acme budget", "The quarterly figures for 2023"), ("Garden", "When to plant tomatoes")]:
        thread = store.create_thread(title)
        user = store.add_message(thread.id, parent_id=None, role=Role.USER, content=text)
        store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content=f"About {title.lower()}.")
        ids.append(thread.id)
    store.close()
    return ids[0], ids[1]


def test_tag_meta_and_filtered_lists(cli, two_threads):
    acme, garden = two_threads
    assert cli("threads", "tag", str(acme), "work", "q3").returncode == 0
    meta = cli("threads", "meta", str(acme), "project=acme", "due=2024-03-01", "hours=12.5", "billable=true", "--json")
    assert meta.returncode == 0, meta.stderr
    assert json.loads(meta.stdout)["metadata"] == {"project": "acme", "due": "2024-03-01", "hours": 12.5, "billable": True}

    listed = json.loads(cli("threads", "list", "--tag", "work", "--where", "billable=true", "--json").stdout)
    assert [t["id"] for t in listed] == [acme]
    assert listed[0]["tags"] == ["q3", "work"]
    assert json.loads(cli("threads", "list", "--where", "project=other", "--json").stdout) == []

    too_long = cli("threads", "meta", str(acme), "k" * 65 + "=v")
    assert too_long.returncode == 1 and "limit is 64" in too_long.stderr


def test_archive_search_delete_and_restore(cli, two_threads):
    acme, garden = two_threads
    cli("threads", "archive", str(acme))
    assert [t["id"] for t in json.loads(cli("threads", "list", "--json").stdout)] == [garden]
    hits = json.loads(cli("search", "quarter*", "--json").stdout)
    assert [h["thread_id"] for h in hits] == [acme] and hits[0]["archived"] is True  # archived is still found

    refused = cli("threads", "delete", str(garden))
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert cli("threads", "delete", str(garden), "--yes").returncode == 0
    assert json.loads(cli("search", "tomatoes", "--json").stdout) == []  # deleted threads are not searched
    assert cli("threads", "restore", str(garden)).returncode == 0
    assert [h["thread_id"] for h in json.loads(cli("search", "tomatoes", "--json").stdout)][:1] == [garden]


def test_export_and_import_round_trip_through_files(cli, two_threads, tmp_path: Path):
    acme, _ = two_threads
    out = tmp_path / "all.json"
    assert cli("export", "--all", "--format", "json", "-o", str(out)).returncode == 0
    markdown = cli("export", str(acme), "--format", "md")
    assert markdown.stdout.startswith("# Acme budget") and "quarterly figures" in markdown.stdout

    other = tmp_path / "other"
    imported = cli("import", str(out), "--json", data=other)
    assert imported.returncode == 0, imported.stderr
    assert sorted(t["title"] for t in json.loads(imported.stdout)["imported"]) == ["Acme budget", "Garden"]

    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    result = cli("import", str(bad))
    assert result.returncode == 1 and "bad.json" in result.stderr
