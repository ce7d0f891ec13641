"""Attach every PDF of the shared pdf-corpus: each yields its known strings or the right one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.documents import DocumentStatus
from app.ingest.extract import page_texts
from app.services.attachments import AttachmentService
from tests.conftest import SHARED_DATA

CORPUS = SHARED_DATA / "pdf-corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))

# What pymupdf 1.28 cannot read in this corpus, and the error the user gets instead of wrong text.
EXPECTED_ERRORS = {
    "ocrmypdf-invalid-header-eof-only.pdf": "is damaged or not a PDF",
    "sf-017-unreadablemetadata.pdf": "is damaged: no page can be read",  # pymupdf sees 0 pages
    "pm-issue-791-czech-non-unicode-cmap.pdf": "could not be decoded",   # fonts without a Unicode map
}
# Known text pymupdf gives that the manifest records only as another extractor's output.
EXTRA_KNOWN = {
    "pm-zen_of_python_corrupted.pdf": ["Beautiful is better than ugly."],
    "pm-issue-1113-evil-xobjects.pdf": ["Hello world"],
    "pm-simple3-japanese-chars.pdf": ["Hello"],
    "pypdf-crazyones.pdf": ["The Crazy Ones", "to the crazy ones"],
    "sf-001-minimal-document.pdf": ["Lorem ipsum dolor sit amet"],
}


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _document_text(service: AttachmentService, document_id: int) -> str:
    return _collapse(" ".join(chunk.text for _, chunk in service.documents.chunks(document_id)))


@pytest.fixture
def service(store, tmp_path: Path) -> AttachmentService:
    return AttachmentService(store, files_dir=tmp_path / "files", embedder=None)


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: Path(e["file"]).name)
def test_each_corpus_pdf_yields_its_text_or_a_clear_error(service: AttachmentService, store, entry):
    name = Path(entry["file"]).name
    expected = entry["expected"]
    thread = store.create_thread("corpus")
    [result] = service.attach(thread.id, [CORPUS / entry["file"]], summarise=False)
    assert result.error is None  # refusals before storing are for size and kind; these are all PDFs
    document = result.attachment.document

    if name in EXPECTED_ERRORS:
        assert document.status == DocumentStatus.ERROR
        assert document.error.startswith(name) and EXPECTED_ERRORS[name] in document.error
        return
    if expected.get("encrypted") and expected.get("user_password"):
        assert document.status == DocumentStatus.NEEDS_PASSWORD
        assert document.error == f"{name} is encrypted: give its password to read it"
        if "wrong_password" in expected:
            [wrong] = service.attach(thread.id, [CORPUS / entry["file"]], password=expected["wrong_password"])
            assert wrong.attachment.document.status == DocumentStatus.NEEDS_PASSWORD
            assert wrong.attachment.document.error == f"{name}: wrong password; try again with the right one"
        [result] = service.attach(thread.id, [CORPUS / entry["file"]], password=expected["user_password"])
        document = result.attachment.document
    if expected.get("text_layer") is False:
        assert document.status == DocumentStatus.ERROR
        assert document.error == f"{name}: no text found (scanned?); run it through OCR and attach the result"
        return
    if name == "ocrmypdf-multipage.pdf":  # "mostly no" text layer: ~110 stray characters are still text
        assert document.status in (DocumentStatus.READY, DocumentStatus.ERROR)
        return

    assert document.status == DocumentStatus.READY, document.error
    assert document.pages == expected["pages"]
    assert document.chunk_count > 0
    text = _document_text(service, document.id)
    known = expected.get("expected_text_contains", [])
    for needle in ([known] if isinstance(known, str) else known) + EXTRA_KNOWN.get(name, []):
        assert _collapse(needle) in text, needle
    # Chunks keep exact spans into their page, so citations can be checked later.
    pages = page_texts(
        Path(document.stored_path), kind="pdf", name=name, password=expected.get("user_password")
    )
    for _, chunk in service.documents.chunks(document.id)[:20]:
        assert pages[chunk.page - 1][chunk.start : chunk.end] == chunk.text


def test_the_same_file_attached_twice_is_stored_once(service: AttachmentService, store, tmp_path: Path):
    source = CORPUS / "files" / "sf-011-google-doc-document.pdf"
    copy = tmp_path / "renamed.pdf"
    copy.write_bytes(source.read_bytes())
    first, second = store.create_thread("a"), store.create_thread("b")
    [one] = service.attach(first.id, [source], summarise=False)
    [two] = service.attach(second.id, [copy], summarise=False)
    [again] = service.attach(first.id, [source], summarise=False)
    assert one.attachment.document.id == two.attachment.document.id == again.attachment.document.id
    assert len(list((tmp_path / "files").rglob("*.pdf"))) == 1
    assert [a.file_name for a in service.attachments(first.id)] == ["sf-011-google-doc-document.pdf"]
    assert [a.file_name for a in service.attachments(second.id)] == ["renamed.pdf"]
