"""AttachmentService: files and knowledge folders into a thread, their ingest, and the passages and citations of
each turn. One room per job: attaching here; `knowledge_folders`, `ingest`, `document_summaries` and `passages`
are mixed in.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.documents import Attachment, Document
from app.core.domain import GenerationRequest
from app.core.errors import InvalidInput, StorageFull
from app.core.ports import Embedder
from app.ingest.extract import kind_of, preload_readers
from app.platform.paths import sweep_stale
from app.retrieval.search import Retriever
from app.services.document_summaries import DocumentSummaries
from app.services.ingest import Ingest, ProgressCallback
from app.services.knowledge_folders import KnowledgeFolders, files_under
from app.services.passages import Passages
from app.store import Store
from app.store.documents import DocumentStore

SCRATCH_PREFIX = ".copy-"  # a stored copy in progress; left behind only by a kill, swept at start


@dataclass(frozen=True)
class AttachResult:
    """What became of one file the user attached: its attachment, or the one-line reason it was refused."""

    path: str
    attachment: Attachment | None
    error: str | None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class AttachmentService(KnowledgeFolders, Ingest, DocumentSummaries, Passages):
    def __init__(
        self,
        store: Store,
        *,
        files_dir: Path,
        embedder: Embedder | None,
        summarise_with: Callable[[GenerationRequest], str] | None = None,
        max_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        """`summarise_with` runs a summary request on a model and returns its text ("" when it could not)."""
        self.documents = DocumentStore(store)
        self.files_dir = files_dir
        self.embedder = embedder
        self.summarise_with = summarise_with
        self.max_bytes = max_bytes
        self.retriever = Retriever(self.documents, embedder)
        self._ingest_lock = threading.Lock()  # one ingest at a time: the embedder has one worker

    def sweep_scratch(self) -> None:
        """Delete the partial copies that killed attaches left among the stored files."""
        sweep_stale(self.files_dir, f"*/{SCRATCH_PREFIX}*")

    def attach(
        self,
        thread_id: int | None,
        paths: list[str | Path],
        *,
        password: str | None = None,
        summarise: bool = True,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[AttachResult]:
        """Store each file (folders: their supported files) once by content, link it to the thread, ingest it."""
        files = [(Path(raw), f) for raw in paths for f in files_under(Path(raw).expanduser())]
        results: list[AttachResult] = []
        for _given, path in files:
            try:
                document = self._store_copy(path)
            except InvalidInput as exc:
                results.append(AttachResult(str(path), None, str(exc)))
                continue
            attachment = self.documents.attach(
                thread_id=thread_id, document_id=document.id, file_name=path.name, source_path=str(path.resolve())
            )
            results.append(AttachResult(str(path), attachment, None))
        self._ingest([r.attachment for r in results if r.attachment], password, summarise, progress, cancel)
        return [AttachResult(r.path, self.documents.attachment(r.attachment.id), None) if r.attachment else r
                for r in results]  # fmt: skip

    def _store_copy(self, path: Path) -> Document:
        """Copy the file into the data directory under its sha256 (once), and record its document."""
        if not path.is_file():
            raise InvalidInput(f"{path} does not exist or is not a file; check the path")
        kind = kind_of(path)
        if kind is None:
            raise InvalidInput(
                f"{path.name}: this kind of file ({path.suffix or 'no extension'}) cannot be attached; "
                "attach PDF, text, Markdown, reStructuredText, code, HTML, DOCX or CSV"
            )
        size = path.stat().st_size
        if size > self.max_bytes:
            raise InvalidInput(
                f"{path.name} is {size / 1e6:.0f} MB, over the {self.max_bytes / 1e6:.0f} MB attachment limit "
                "(setting attachment_max_mb); split it or raise the limit"
            )
        try:
            sha = sha256_file(path)
        except OSError as exc:
            raise InvalidInput(f"{path.name} cannot be read ({exc.strerror}); check its permissions") from exc
        existing = self.documents.document_by_sha(sha)
        if existing is not None and Path(existing.stored_path).is_file():
            return existing
        target = self.files_dir / sha[:2] / f"{sha}{path.suffix.lower()}"
        scratch = None
        try:  # a full disk or a read-only data folder leaves no partial copy behind
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=SCRATCH_PREFIX, delete=False) as scratch:
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, scratch)
            os.replace(scratch.name, target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StorageFull() from exc
            raise InvalidInput(
                f"{path.name} cannot be copied into {self.files_dir} ({exc.strerror}); check that it is writable"
            ) from exc
        finally:
            if scratch is not None:
                Path(scratch.name).unlink(missing_ok=True)
        return self.documents.add_document(sha256=sha, stored_path=str(target), kind=kind, size_bytes=size)

    def preload_readers(self) -> None:
        """Load the file readers now (at start, in the background) rather than on the first attachment."""
        preload_readers()

    def attachments(self, thread_id: int) -> list[Attachment]:
        return self.documents.attachments(thread_id)

    def detach(self, attachment_id: int) -> None:
        self.documents.remove_attachment(attachment_id)
