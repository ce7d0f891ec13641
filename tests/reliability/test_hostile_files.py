"""Hostile attachments: a DOCX whose XML never closes or that inflates to gigabytes, or a file that exhausts its
reading process's memory, CPU or wall-clock limit, fails alone in one line and the good files beside it are indexed;
markup full of unclosed `<`, `[`, `**` or blank runs costs linear time."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import docx
import pymupdf
import pytest
from hostile import GROWTH, RATIO_LIMIT, growth_ratio

from app.core.documents import DocumentStatus
from app.core.search import snippet
from app.ingest import isolated
from app.ingest.chunking import chunk_pages
from app.ingest.extract import PasswordNeeded, UnreadableFile, extract, html_to_text
from app.services.attachments import AttachmentService


class CountingEmbedder:
    """A stand-in for the on-device embedder (the Embedder protocol): deterministic vectors, and a log of calls."""

    model_id = "counting-embedder"
    dimensions = 384

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(texts)
        return [[b / 255 for b in hashlib.sha256(t.encode()).digest()] * 12 for t in texts]


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def service(store, tmp_path: Path, embedder) -> AttachmentService:
    return AttachmentService(store, files_dir=tmp_path / "files", embedder=embedder, max_bytes=5_000_000)


def good_docx(path: Path, text: str = "The report mentions kingfishers.") -> Path:
    document = docx.Document()
    document.add_paragraph(text)
    document.save(path)
    return path


def rewritten_docx(tmp_path: Path, name: str, change) -> Path:
    """A real DOCX with its document.xml passed through `change`."""
    source = good_docx(tmp_path / f"source-{name}")
    target = tmp_path / name
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item)
            copy.writestr(item, change(data) if item.filename == "word/document.xml" else data)
    return target


def bomb_docx(tmp_path: Path, inflated_mib: int = 300) -> Path:
    """A real DOCX plus one member of zeros that deflates ~1000:1 — a small file that unpacks to `inflated_mib`."""
    path = good_docx(tmp_path / "bomb.docx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("word/media/zeros.bin", "w") as out:
        block = b"\0" * (1 << 20)
        for _ in range(inflated_mib):
            out.write(block)
    return path


def attach(service: AttachmentService, store, paths: list[Path], progress=None):
    thread = store.create_thread("files")
    return {Path(r.path).name: r for r in service.attach(thread.id, paths, summarise=False, progress=progress)}


def text_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change",
    [lambda xml: xml[: len(xml) // 2], lambda xml: xml.replace(b"</w:body>", b""), lambda xml: b"<w:document"],
    ids=["cut in half", "body never closes", "one open tag"],
)
def test_a_docx_whose_xml_never_closes_fails_alone_and_the_good_files_are_indexed(service, store, canary, tmp_path,
                                                                                   embedder, change):  # fmt: skip
    paths = [text_file(tmp_path, "before.txt", "Otters hold hands while they sleep."),
             rewritten_docx(tmp_path, "broken.docx", change),
             text_file(tmp_path, "after.md", "# Beavers\n\nBeavers build dams.")]  # fmt: skip
    results = attach(service, store, paths)
    broken = results["broken.docx"].attachment.document
    assert broken.status == DocumentStatus.ERROR
    assert broken.error == "broken.docx is damaged or not a Word document; attach an intact .docx"
    for name in ("before.txt", "after.md"):
        document = results[name].attachment.document
        assert document.status == DocumentStatus.READY and document.chunk_count == 1, document.error
        assert service.documents.chunks_to_embed(document.id, model=embedder.model_id) == []


def test_a_decompression_bomb_fails_alone(service, store, canary, tmp_path):
    path = bomb_docx(tmp_path)
    assert path.stat().st_size < 2_000_000
    results = attach(service, store, [path, text_file(tmp_path, "fine.txt", "Herons wade.")])
    document = results["bomb.docx"].attachment.document
    assert document.status == DocumentStatus.ERROR
    assert "would unpack to 301 MiB (over 256 MiB)" in document.error and "\n" not in document.error
    assert results["fine.txt"].attachment.document.status == DocumentStatus.READY


def test_a_decompression_bomb_is_refused_before_any_member_is_read(tmp_path, monkeypatch):
    path = bomb_docx(tmp_path)
    opened = []
    monkeypatch.setattr("docx.Document", lambda *args: opened.append(args))
    with pytest.raises(UnreadableFile, match="would unpack to"):
        extract(path, kind="docx", name="bomb.docx")
    assert opened == []


def test_a_parser_crash_fails_that_file_in_one_line(tmp_path, monkeypatch):
    """What the reading process answers when a parser raises something of its own on a hostile file."""

    def crash(*args, **kwargs):
        raise KeyError("word/document.xml")

    monkeypatch.setattr(isolated, "extract", crash)
    request = {"path": str(tmp_path / "x.docx"), "kind": "docx", "name": "hostile.docx", "password": None}
    assert isolated._answer(request) == {
        "error": "hostile.docx could not be read (KeyError: 'word/document.xml'); attach an intact copy"
    }


@pytest.mark.parametrize(
    ("limit", "value", "fragment"),
    [("MEMORY_LIMIT", 80 * 2**20, "needs more memory to read than a file may"),
     ("CPU_LIMIT_S", 1, "it used more time or memory than a file may"),
     ("WALL_LIMIT_S", 0.3, "took over 0.3 s to read and was stopped")],
    ids=["memory", "cpu time", "wall clock"],
)  # fmt: skip
def test_a_file_that_exhausts_its_readers_limits_fails_alone(store, canary, tmp_path, monkeypatch, limit, value,
                                                               fragment):  # fmt: skip
    monkeypatch.setattr(isolated, limit, value)
    heavy = tmp_path / "heavy.txt"  # not UTF-8: the encoding guess reads all of it, slowly
    heavy.write_bytes("Crème brûlée à la française, très légère. ".encode("cp1252") * 500_000)
    service = AttachmentService(store, files_dir=tmp_path / "files", embedder=None, max_bytes=100_000_000)
    results = attach(service, store, [heavy, text_file(tmp_path, "fine.txt", "Herons wade.")])
    document = results["heavy.txt"].attachment.document
    assert document.status == DocumentStatus.ERROR and fragment in document.error and "\n" not in document.error
    assert document.error.startswith("heavy.txt ")
    assert results["fine.txt"].attachment.document.status == DocumentStatus.READY


def test_a_password_reaches_the_reading_process_and_a_wrong_one_is_said(tmp_path):
    path = tmp_path / "locked.pdf"
    document = pymupdf.open()
    document.new_page().insert_text((72, 72), "Seven otters.")
    document.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="opensesame", owner_pw="owner-only")
    assert "Seven otters" in isolated.extract_isolated(path, kind="pdf", name="locked.pdf", password="opensesame").pages[0]
    with pytest.raises(PasswordNeeded) as caught:
        isolated.extract_isolated(path, kind="pdf", name="locked.pdf", password="guess")
    assert caught.value.wrong


def test_small_files_are_read_by_one_process_and_embedded_in_one_round_trip(service, store, embedder, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    children = []
    run_child = isolated._run_child
    monkeypatch.setattr(isolated, "_run_child", lambda files, password: children.append(files) or run_child(files, password))
    phases = []
    paths = [text_file(tmp_path, f"{n}.txt", f"File {n} is about otters and beavers.") for n in range(3)]
    results = attach(service, store, paths, progress=lambda p: phases.append(p.phase))
    assert [len(files) for files in children] == [3]
    assert [len(batch) for batch in embedder.batches] == [3]
    assert all(results[f"{n}.txt"].attachment.document.status == DocumentStatus.READY for n in range(3))
    steps = [phase for index, phase in enumerate(phases) if index == 0 or phases[index - 1] != phase]
    assert steps == ["reading", "embedding", "done"]


def test_a_reader_that_fails_for_a_group_reads_each_file_alone(service, store, tmp_path, monkeypatch):
    """One file of a group that kills the shared reading process fails alone: the others are read again, each in
    a process of its own."""
    run_child = isolated._run_child

    def crash_for_groups(files, password):
        if len(files) > 1 or files[0][2] == "hostile.txt":
            raise UnreadableFile(f"{files[0][2] if len(files) == 1 else 'a group'} made its reader fail (it crashed "
                                 "with signal 11); attach an intact copy")  # fmt: skip
        return run_child(files, password)

    monkeypatch.setattr(isolated, "_run_child", crash_for_groups)
    paths = [text_file(tmp_path, name, f"Herons wade ({name}).") for name in ("before.txt", "hostile.txt", "after.txt")]
    results = attach(service, store, paths)
    hostile = results["hostile.txt"].attachment.document
    assert hostile.status == DocumentStatus.ERROR
    assert hostile.error == "hostile.txt made its reader fail (it crashed with signal 11); attach an intact copy"
    for name in ("before.txt", "after.txt"):
        assert results[name].attachment.document.status == DocumentStatus.READY


@pytest.mark.parametrize(
    ("answer", "error"),
    [("[]", "{name} made its reader fail (no answer); attach an intact copy"),
     ('{"files": 2}', "{name} made its reader fail (no answer); attach an intact copy"),
     ('{"error": "the files need more memory to read than a file may; attach smaller copies"}',
      "the files need more memory to read than a file may; attach smaller copies")],
    ids=["too few answers", "not a list", "an error for the whole request"],
)  # fmt: skip
def test_a_reader_that_answers_in_the_wrong_shape_fails_each_file_in_one_line(tmp_path, monkeypatch, answer, error):
    """A reading process that exits cleanly with an answer that does not fit the request (a damaged or replaced
    interpreter) fails each file with the one-line error, never with a traceback of ours."""
    reader = tmp_path / "wrong-reader"
    reader.write_text(f"#!/bin/sh\ncat > /dev/null\nprintf '%s' '{answer}'\n")
    reader.chmod(0o755)
    monkeypatch.setattr(isolated.sys, "executable", str(reader))
    files = [(text_file(tmp_path, name, "Herons wade."), "txt", name) for name in ("a.txt", "b.txt")]
    outcomes = isolated.extract_isolated_many(files)
    assert [type(outcome) for outcome in outcomes] == [UnreadableFile, UnreadableFile]
    assert [str(outcome) for outcome in outcomes] == [error.format(name=name) for name in ("a.txt", "b.txt")]


def test_files_beyond_a_batch_of_chunks_are_embedded_while_later_ones_wait_to_be_read(service, store, embedder,
                                                                                     tmp_path):  # fmt: skip
    """Memory stays bounded on a large folder: chunks go to the embedder once a batch is full, not after all files."""
    from app.services.ingest import EMBED_BATCH

    paths = [text_file(tmp_path, f"{n}.txt", f"File {n} is about otters.") for n in range(EMBED_BATCH + 5)]
    results = attach(service, store, paths)
    assert [len(batch) for batch in embedder.batches] == [EMBED_BATCH, 5]
    assert all(result.attachment.document.status == DocumentStatus.READY for result in results.values())


def test_html_full_of_unclosed_tags_takes_linear_time():
    for hostile in ("<", "<p", "<script", "<head ", "< div"):
        assert growth_ratio(lambda n: html_to_text((hostile + " x ") * n + "<p>end</p>"), 25_000) < RATIO_LIMIT
    assert html_to_text("<head><title>T</title><body><p>Kept</p>") .strip() == "T\nKept"  # an unclosed head stays


def test_search_snippets_of_unclosed_markup_take_linear_time():
    for hostile in ("[", "![x](", "**", "_a", "`", "\n\n\n", "[a](b "):
        ratio = growth_ratio(lambda n: snippet(hostile * n + " otter", ["otter"]), 25_000)
        assert ratio < RATIO_LIMIT, hostile
    assert snippet("see [the **otter** page](http://x) now", ["otter"]) == "see the [otter] page now"


def test_chunking_long_blank_runs_takes_linear_time():
    def page(run: int) -> str:
        return "".join(f"word{i}" + "\n " * run for i in range(400))

    pages = {run: page(run) for run in (1_000, 1_000 * GROWTH)}
    assert growth_ratio(lambda run: chunk_pages([pages[run]]), 1_000) < RATIO_LIMIT


def test_small_files_share_reading_processes_and_a_big_one_reads_alone(service, store, tmp_path, monkeypatch):
    """Runs of small files go to one reading process (READ_GROUP_FILES at most); a big file between them gets one of
    its own and starts no group: the files after it gather again."""
    from app.services import ingest

    run_child = isolated._run_child
    groups: list[list[str]] = []

    def recording(files, password):
        groups.append([name for _, _, name in files])
        return run_child(files, password)

    monkeypatch.setattr(isolated, "_run_child", recording)
    monkeypatch.setattr(ingest, "READ_GROUP_FILES", 3)
    monkeypatch.setattr(ingest, "SMALL_FILE_BYTES", 1000)
    names = ["s1", "s2", "s3", "s4", "big", "s5", "s6"]
    paths = [text_file(tmp_path, f"{n}.txt", ("Herons wade. " * 100) if n == "big" else f"{n} is small.") for n in names]
    attach(service, store, paths)
    assert groups == [["s1.txt", "s2.txt", "s3.txt"], ["s4.txt"], ["big.txt"], ["s5.txt", "s6.txt"]]
