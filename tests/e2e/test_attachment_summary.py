"""Summaries on ingest by the real local model: a long attachment is summarised map-reduce style over groups of its
chunks spread from start to end, and the summary is stored on the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.domain import CallPurpose
from app.services.attachments import AttachmentService
from app.services.document_summaries import SUMMARY_GROUPS
from tests.e2e.test_attach_cli import haystack

pytestmark = pytest.mark.slow


class CountingSummariser:
    """Summaries by the real local model through the router, counting the requests."""

    def __init__(self, session) -> None:
        self.session = session
        self.prompts: list[str] = []

    def __call__(self, request) -> str:
        self.prompts.append(request.turns[-1].content)
        return self.session.router.complete(request, purpose=CallPurpose.SUMMARY)


def test_long_attachment_gets_a_map_reduce_summary(session, tmp_path: Path):
    path = tmp_path / "essays.txt"
    path.write_text(haystack(30_000, 0.5), encoding="utf-8")
    backend = CountingSummariser(session)
    service = AttachmentService(session.store, files_dir=tmp_path / "files", embedder=None, summarise_with=backend)
    [result] = service.attach(session.store.create_thread("t").id, [path])
    document = service.documents.document(result.attachment.document.id)
    assert document.chunk_count > 2 * SUMMARY_GROUPS
    assert len(backend.prompts) == SUMMARY_GROUPS + 1  # one per group, then one to combine them
    assert backend.prompts[-1].startswith("These notes describe parts of one document:")
    assert document.summary and len(document.summary) > 20
