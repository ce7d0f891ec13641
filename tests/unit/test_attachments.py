"""Attachments beyond PDFs: text kinds and their errors, knowledge folders re-indexing only what changed,
retrieval with stored passages (append-only prompts) and citations checked against the stored file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import app.services.ingest as ingest
from app.core.documents import DocumentStatus
from app.core.domain import Role
from app.services.attachments import AttachmentService
from tests.unit.test_chunk_ranking import keyword_segments


@pytest.fixture
def service(store, tmp_path: Path) -> AttachmentService:
    return AttachmentService(store, files_dir=tmp_path / "files", embedder=None, max_bytes=50_000)


def _attach_one(service: AttachmentService, store, path: Path):
    thread = store.create_thread("t")
    [result] = service.attach(thread.id, [path], summarise=False)
    return thread, result


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.md", "# Title\n\nSome **markdown** text about otters.\n", "otters"),
        ("guide.rst", "Heading\n=======\n\nreStructuredText about beavers.\n", "beavers"),
        ("main.py", "def otter():\n    return 'river'\n", "river"),
        ("page.html", "<html><head><style>p{}</style></head><body><p>Badgers &amp; voles</p></body></html>", "Badgers & voles"),
        ("table.csv", "animal,habitat\nheron,marsh\n", "animal: heron; habitat: marsh"),
    ],
)
def test_text_kinds_are_read(service, store, tmp_path: Path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    _, result = _attach_one(service, store, path)
    document = result.attachment.document
    assert document.status == DocumentStatus.READY, document.error
    assert expected in " ".join(chunk.text for _, chunk in service.documents.chunks(document.id))


def test_non_utf8_text_is_decoded(service, store, tmp_path: Path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Crème brûlée à la française, très délicieuse et légère.\n".encode("cp1252"))
    _, result = _attach_one(service, store, path)
    chunks = service.documents.chunks(result.attachment.document.id)
    assert "Crème brûlée" in chunks[0][1].text


def test_docx_is_read(service, store, tmp_path: Path):
    import docx

    document = docx.Document()
    document.add_paragraph("The quarterly report mentions kingfishers.")
    path = tmp_path / "report.docx"
    document.save(path)
    _, result = _attach_one(service, store, path)
    assert result.attachment.document.status == DocumentStatus.READY
    assert "kingfishers" in service.documents.chunks(result.attachment.document.id)[0][1].text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty.txt is empty (0 bytes)"),
        ("binary.txt", b"\x7fELF\x00\x00\x01\x02" * 50, "binary.txt is a binary file, not text"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "broken.docx is damaged or not a Word document"),
    ],
)
def test_bad_files_get_a_clear_error_and_nothing_else_is_lost(service, store, tmp_path: Path, name, data, message):
    good = tmp_path / "good.txt"
    good.write_text("Good text about herons.\n")
    bad = tmp_path / name
    bad.write_bytes(data)
    thread = store.create_thread("t")
    results = service.attach(thread.id, [good, bad], summarise=False)
    assert results[0].attachment.document.status == DocumentStatus.READY
    assert results[1].attachment.document.status == DocumentStatus.ERROR
    assert results[1].attachment.document.error.startswith(message)


def test_refused_before_storing_too_big_or_unsupported(service, store, tmp_path: Path):
    big = tmp_path / "big.txt"
    big.write_text("x" * 60_000)
    odd = tmp_path / "image.bmp"
    odd.write_bytes(b"BM....")
    thread = store.create_thread("t")
    big_result, odd_result = service.attach(thread.id, [big, odd], summarise=False)
    assert big_result.attachment is None and "over the 0 MB attachment limit (setting attachment_max_mb)" in big_result.error
    assert odd_result.attachment is None and "cannot be attached" in odd_result.error
    assert service.attachments(thread.id) == []


def test_knowledge_folder_reindexes_only_what_changed(service, store, tmp_path: Path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha notes about falcons.\n")
    (folder / "b.md").write_text("Beta notes about owls.\n")
    (folder / "c.txt").write_text("Gamma notes about wrens.\n")
    thread = store.create_thread("t")
    service.add_folder(folder, thread_id=thread.id)
    first = service.sync_folders()
    assert sorted(Path(p).name for p in first["added"]) == ["a.txt", "b.md", "c.txt"]
    before = {a.file_name: a.document for a in service.attachments(thread.id)}
    chunk_ids_b = [cid for cid, _ in service.documents.chunks(before["b.md"].id)]

    (folder / "a.txt").write_text("Alpha notes, rewritten, about kestrels.\n")
    (folder / "c.txt").unlink()
    second = service.sync_folders()
    assert [Path(p).name for p in second["changed"]] == ["a.txt"]
    assert [Path(p).name for p in second["removed"]] == ["c.txt"]
    assert [Path(p).name for p in second["unchanged"]] == ["b.md"]
    after = {a.file_name: a.document for a in service.attachments(thread.id)}
    assert sorted(after) == ["a.txt", "b.md"]
    assert after["a.txt"].id != before["a.txt"].id and after["a.txt"].status == DocumentStatus.READY
    assert [cid for cid, _ in service.documents.chunks(after["b.md"].id)] == chunk_ids_b  # untouched
    assert service.sync_folders()["unchanged"] and not service.sync_folders()["changed"]


def test_an_ingest_that_grows_the_collection_by_a_tenth_merges_the_keyword_index(service, store, tmp_path, monkeypatch):
    files = []
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        files.append(tmp_path / name)
        files[-1].write_text(f"Notes {name} about herons and their marshes.\n")
    thread = store.create_thread("t")
    service.attach(thread.id, files[:3], summarise=False)  # each file's chunks are committed on their own
    assert keyword_segments(service.documents) == 1
    monkeypatch.setattr(ingest, "KEYWORD_MERGE_GROWTH", 0.5)  # one more file in four is too small a growth
    service.attach(thread.id, files[3:], summarise=False)
    assert keyword_segments(service.documents) == 2
    assert len(service.documents.keyword_ranking('"herons"', scope=service.documents.scope(None), limit=10)) == 4


def test_passages_are_stored_per_message_and_citations_verified(service, store, tmp_path: Path):
    long_text = "\n\n".join(
        f"Paragraph {i} talks about the harbour, the tides and the boats of town number {i}." * 4 for i in range(40)
    )
    long_text += "\n\nThe secret lighthouse code is PELICAN-42 and only the keeper knows it.\n"
    path = tmp_path / "harbour.txt"
    path.write_text(long_text)
    thread, result = _attach_one(service, store, path)
    assert result.attachment.document.chunk_count > 3  # large: searched, not put in whole
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="What is the lighthouse code?")
    context = service.for_message(store.get_thread(thread.id), user, budget_tokens=2000)
    assert "PELICAN-42" in context.prefix and context.prefix.endswith("Question: ")
    # The same prompt every time: later turns re-render earlier ones identically (append-only).
    assert service.for_message(store.get_thread(thread.id), user, budget_tokens=10) == context
    reply = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="It is PELICAN-42 [1].")
    citations = service.citations(reply)
    assert citations[0].number == 1 and "PELICAN-42" in citations[0].text and citations[0].verified
    assert citations[0].file_name == "harbour.txt" and citations[0].page == 1
    assert long_text[citations[0].start : citations[0].end] == citations[0].text
    assert service.citations(reply) == citations  # stored with the reply

    # A citation whose text is no longer in the stored file is never shown as verified.
    Path(result.attachment.document.stored_path).write_text(long_text.replace("PELICAN-42", "PELICAN-99"))
    other = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="PELICAN-42 [1]")
    assert not service.citations(other)[0].verified


def test_a_file_reached_two_ways_is_listed_once(service, store, tmp_path: Path):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "plan.md").write_text("# Plan\n\nThe launch is on Tuesday.\n")
    thread = store.create_thread("t")
    [own] = service.attach(thread.id, [folder / "plan.md"], summarise=False)
    service.add_folder(folder, thread_id=thread.id)
    service.add_folder(folder, thread_id=None)
    service.sync_folders(summarise=False)
    listed = service.attachments(thread.id)
    assert [(a.id, a.file_name) for a in listed] == [(own.attachment.id, "plan.md")]
    assert len(service.attachments(store.create_thread("other").id)) == 1  # the folder for all threads


def test_a_folder_poll_hashes_only_files_whose_size_or_mtime_changed(service, store, tmp_path: Path, monkeypatch):
    import app.services.attachments as attachments

    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"Notes {name} about herons.\n")
    service.add_folder(folder, thread_id=store.create_thread("t").id)
    service.sync_folders(summarise=False)
    hashed: list[str] = []
    real = attachments.sha256_file
    monkeypatch.setattr(attachments, "sha256_file", lambda path: hashed.append(Path(path).name) or real(path))

    assert sorted(Path(p).name for p in service.sync_folders()["unchanged"]) == ["a.txt", "b.txt"]
    assert hashed == []  # nothing touched: nothing read
    stat = (folder / "b.txt").stat()
    os.utime(folder / "b.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same content
    changes = service.sync_folders()
    assert hashed == ["b.txt"] and not changes["changed"]
    hashed.clear()
    assert not service.sync_folders()["changed"] and hashed == []  # its new stamp was kept
    (folder / "a.txt").write_text("Notes a.txt about egrets, longer now.\n")
    assert [Path(p).name for p in service.sync_folders()["changed"]] == ["a.txt"] and hashed == ["a.txt"]


def test_many_small_files_take_no_more_than_the_passage_budget(service, store, tmp_path: Path):
    from app.services.passages import passage_tokens

    folder = tmp_path / "notes"
    folder.mkdir()
    for index in range(40):  # each small enough to go in whole, together far past a small model's window
        (folder / f"note{index:02}.txt").write_text(f"Note {index} about the heron colony. " * 30)
    thread = store.create_thread("t")
    service.attach(thread.id, [folder], summarise=False)
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="What do the notes say about herons?")
    passages = service.passages_for(store.get_thread(thread.id), user, budget_tokens=1000)
    assert passages and passage_tokens(passages) <= 1000
    assert len({p.document_id for p in passages}) < 40
    assert service.passages_for(store.get_thread(thread.id), user, budget_tokens=50_000) == passages  # kept as chosen
