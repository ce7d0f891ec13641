"""Hostile attachments: a DOCX whose XML never closes or that inflates to gigabytes fails alone in one line, the
good files beside it are indexed; markup full of unclosed `<`, `[`, `**` or blank runs costs linear time."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import docx
import pytest
from hostile import RATIO_LIMIT, doubling_ratio

from app.core.documents import DocumentStatus
from app.core.search import snippet
from app.ingest import extract as extract_module
from app.ingest.chunking import chunk_pages
from app.ingest.extract import html_to_text
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


def test_a_decompression_bomb_is_refused_before_it_is_read(service, store, canary, tmp_path, monkeypatch):
    path = bomb_docx(tmp_path)
    opened = []
    monkeypatch.setattr("docx.Document", lambda *args: opened.append(args))  # must never be reached
    assert path.stat().st_size < 2_000_000
    results = attach(service, store, [path, text_file(tmp_path, "fine.txt", "Herons wade.")])
    document = results["bomb.docx"].attachment.document
    assert document.status == DocumentStatus.ERROR and opened == []
    assert "would unpack to 301 MiB (over 256 MiB)" in document.error and "\n" not in document.error
    assert results["fine.txt"].attachment.document.status == DocumentStatus.READY


def test_a_parser_crash_on_one_file_fails_that_file_in_one_line(service, store, canary, tmp_path, monkeypatch):
    real = extract_module.page_texts

    def fragile(path, *, kind, name, password=None):
        if name == "hostile.txt":
            raise MemoryError("parser blew up")
        return real(path, kind=kind, name=name, password=password)

    monkeypatch.setattr("app.services.attachments.extract", lambda path, **kw: extract_module.Extracted(
        kw["kind"], fragile(path, **kw)))  # fmt: skip
    results = attach(service, store, [text_file(tmp_path, "hostile.txt", "boom"),
                                      text_file(tmp_path, "fine.txt", "Herons wade.")])  # fmt: skip
    hostile = results["hostile.txt"].attachment.document
    assert hostile.status == DocumentStatus.ERROR
    assert hostile.error == "hostile.txt could not be read (MemoryError: parser blew up); attach an intact copy"
    assert results["fine.txt"].attachment.document.status == DocumentStatus.READY


def test_each_file_is_embedded_before_the_next_is_read(service, store, canary, tmp_path):
    phases = []
    paths = [text_file(tmp_path, f"{n}.txt", f"File {n} is about otters and beavers.") for n in range(3)]
    attach(service, store, paths, progress=lambda p: phases.append(p.phase))
    steps = [phase for index, phase in enumerate(phases) if index == 0 or phases[index - 1] != phase]
    assert steps[:6] == ["reading", "embedding", "reading", "embedding", "reading", "embedding"]


def test_html_full_of_unclosed_tags_takes_linear_time():
    for hostile in ("<", "<p", "<script", "<head ", "< div"):
        assert doubling_ratio(lambda n: html_to_text((hostile + " x ") * n + "<p>end</p>"), 50_000) < RATIO_LIMIT
    assert html_to_text("<head><title>T</title><body><p>Kept</p>") .strip() == "T\nKept"  # an unclosed head stays


def test_search_snippets_of_unclosed_markup_take_linear_time():
    for hostile in ("[", "![x](", "**", "_a", "`", "\n\n\n", "[a](b "):
        ratio = doubling_ratio(lambda n: snippet(hostile * n + " otter", ["otter"]), 50_000)
        assert ratio < RATIO_LIMIT, hostile
    assert snippet("see [the **otter** page](http://x) now", ["otter"]) == "see the [otter] page now"


def test_chunking_long_blank_runs_takes_linear_time():
    def page(run: int) -> str:
        return "".join(f"word{i}" + "\n " * run for i in range(400))

    pages = {run: page(run) for run in (2_000, 4_000)}
    assert doubling_ratio(lambda run: chunk_pages([pages[run]]), 2_000) < RATIO_LIMIT
