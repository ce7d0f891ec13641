"""Purge removes content for good: the purged threads' messages and the attachments no thread uses (text, chunks,
vectors, stored copies) leave no trace in the database file, its log or the attachments folder."""

from __future__ import annotations

from pathlib import Path

from hostile import run_cli

from app.core.domain import Role
from app.services.attachments import AttachmentService
from app.services.purge import purge_for_good

SECRETS = (b"Xyzzyplugh", b"xyzzyplugh", b"Frobozzquux", b"frobozzquux")


def on_disk(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in data_dir.rglob("*") if path.is_file())


def test_purge_leaves_no_trace_of_a_thread_or_its_own_attachment(store, canary, tmp_path):
    service = AttachmentService(store, files_dir=store.path.parent / "attachments", embedder=None)
    secret = store.create_thread("Secret")
    store.add_message(secret.id, parent_id=None, role=Role.USER, content="The password is Xyzzyplugh, keep it.")
    own, shared = tmp_path / "own.txt", tmp_path / "shared.txt"
    own.write_text("Attached note: Frobozzquux opens the vault.", encoding="utf-8")
    shared.write_text("Otters hold hands.", encoding="utf-8")
    service.attach(secret.id, [own, shared], summarise=False)
    other = store.create_thread("Other")
    service.attach(other.id, [shared], summarise=False)
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert all(s in on_disk(store.path.parent) for s in (SECRETS[0], SECRETS[2]))  # the check can see them

    store.delete_thread(secret.id)
    purged = purge_for_good(store)
    assert (purged.thread_ids, purged.documents) == ([secret.id], 1)
    left = on_disk(store.path.parent)
    assert not [s for s in SECRETS if s in left]
    assert [a.file_name for a in service.attachments(other.id)] == ["shared.txt"]
    assert Path(service.attachments(other.id)[0].document.stored_path).is_file()


def test_the_cli_purge_says_what_went(tmp_path):
    data = tmp_path / "data"
    result = run_cli(data, "threads", "purge", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "purged 0 thread(s) and 0 attachment(s) no thread uses"
