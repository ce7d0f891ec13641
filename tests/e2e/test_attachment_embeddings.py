"""Attachment vectors from the real embedding worker: meaning search finds a paraphrase, and a change of embedding
model re-embeds (ingest_pending, in the background in the app) while search keeps working; vectors of different
models are never compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.documents import DocumentStatus
from app.runtime.embedder import WorkerEmbedder
from app.services.attachments import AttachmentService

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    "The committee approved the annual budget after a long debate about road repairs.",
    "Our cat refuses to eat dry food and only wants fresh fish every evening.",
    "Heavy rainfall flooded the valley and the river burst its banks near the old mill.",
    "The new phone has a larger screen, a faster processor and a better camera.",
]


def _attach(service: AttachmentService, store, tmp_path: Path):
    path = tmp_path / "notes.txt"
    # Long enough that the file is searched rather than put in a prompt whole.
    path.write_text("\n\n".join(PARAGRAPHS) + "\n\n" + "Filler sentence. " * 900)
    thread = store.create_thread("t")
    [result] = service.attach(thread.id, [path], summarise=False)
    return result.attachment.document


def test_meaning_search_and_a_model_change_that_reembeds(store, embedder, tmp_path: Path):
    service = AttachmentService(store, files_dir=tmp_path / "files", embedder=embedder)
    document = _attach(service, store, tmp_path)
    assert document.status == DocumentStatus.READY
    [(chunk_id, _)] = service.retriever.rank(
        "my pet only likes seafood", document_ids=[document.id], limit=1, mode="vector"
    )
    assert "cat refuses" in dict(service.documents.chunks(document.id))[chunk_id].text

    # The same weights under another model id stand in for a new embedding model (real vectors, new label).
    renamed = WorkerEmbedder(embedder.worker, model_id="next-embedding-model", dimensions=embedder.dimensions)
    upgraded = AttachmentService(store, files_dir=tmp_path / "files", embedder=renamed)
    assert [d.id for d in upgraded.documents.documents_missing_vectors("next-embedding-model")] == [document.id]
    # Before re-embedding, search still answers (by keyword; no vector of the old model is compared).
    hits = upgraded.retriever.rank("river flooded valley", document_ids=[document.id], limit=3)
    assert hits and "flooded" in dict(upgraded.documents.chunks(document.id))[hits[0][0]].text
    assert upgraded.retriever.rank("pet seafood", document_ids=[document.id], limit=3, mode="vector") == []

    upgraded.ingest_pending(summarise=False)
    assert upgraded.documents.documents_missing_vectors("next-embedding-model") == []
    [(chunk_id, _)] = upgraded.retriever.rank(
        "my pet only likes seafood", document_ids=[document.id], limit=1, mode="vector"
    )
    assert "cat refuses" in dict(upgraded.documents.chunks(document.id))[chunk_id].text
    # Each chunk keeps one vector, labelled with its model: the old model's queries never meet the new vectors.
    assert service.retriever.rank("pet seafood", document_ids=[document.id], limit=3, mode="vector") == []
