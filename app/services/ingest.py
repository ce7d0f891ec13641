"""Ingest: read, chunk, embed and summarise documents, with progress, cancel and resume. Mixed into
AttachmentService, whose `documents`, `embedder` and `summarise` it uses.

Long calls are meant for a background thread and report through a `progress` callback; `cancel` (a threading.Event)
stops them between batches. Work is committed per batch of chunks, so an ingest that is cancelled, killed or crashes
resumes where it stopped (`ingest_pending`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from app.core.documents import Attachment, ChunkText, Document, DocumentStatus, IngestProgress, page_heading
from app.core.errors import GenerationFailed, ModelUnavailable, WorkerDied
from app.ingest.chunking import chunk_pages
from app.ingest.extract import Extracted, PasswordNeeded, UnreadableFile
from app.ingest.isolated import extract_isolated_many
from app.retrieval.search import vector_bytes

EMBED_BATCH = 64  # chunks per embedding round trip and per commit: the resume granularity
# Files at most this big are read together, up to READ_GROUP_FILES in one reading process; a bigger one alone.
SMALL_FILE_BYTES = 256 * 1024
READ_GROUP_FILES = 32
# An ingest that adds at least this share of all chunks merges the keyword index's segments after it (a cost that
# grows with the whole index, so paid once per growth by a tenth: about 1 s at 100k chunks, in short steps).
KEYWORD_MERGE_GROWTH = 0.1
ProgressCallback = Callable[[IngestProgress], None]


class _Tracker:
    """Counts files, pages and chunks for progress lines, with an ETA from the embedding rate so far."""

    def __init__(self, files_total: int, progress: ProgressCallback | None) -> None:
        self.files_total = files_total
        self.files_done = self.pages_done = self.pages_total = self.chunks_done = self.chunks_total = 0
        self.file_name = ""
        self._progress = progress
        self._started = time.monotonic()

    def report(self, phase: str) -> None:
        if self._progress is None:
            return
        elapsed = time.monotonic() - self._started
        remaining = self.chunks_total - self.chunks_done
        eta = elapsed / self.chunks_done * remaining if self.chunks_done and remaining >= 0 else None
        self._progress(
            IngestProgress(
                self.file_name,
                self.files_done,
                self.files_total,
                self.pages_done,
                self.pages_total,
                self.chunks_done,
                self.chunks_total,
                eta,
                phase,
            )  # fmt: skip
        )


@dataclass(frozen=True, slots=True)
class _Read:
    """What reading a file gave: its chunks, or the status that says why not; neither: it was read before."""

    pages: int = 0
    chunks: list[ChunkText] | None = None
    status: DocumentStatus | None = None
    error: str | None = None


def _read_groups(documents: list[Document]) -> list[list[int]]:
    """Indices of `documents` in reading order, in groups that one reading process reads: small files together."""
    groups: list[list[int]] = []
    gathering = False  # the last group is of small files
    for index, document in enumerate(documents):
        small = document.size_bytes <= SMALL_FILE_BYTES
        if small and gathering and len(groups[-1]) < READ_GROUP_FILES:
            groups[-1].append(index)
        else:
            groups.append([index])
            gathering = small
    return groups


def _read_outcome(extracted: Extracted | UnreadableFile) -> _Read:
    """What one file's reading gave, as ingest keeps it."""
    if isinstance(extracted, PasswordNeeded):
        return _Read(status=DocumentStatus.NEEDS_PASSWORD, error=str(extracted))
    if isinstance(extracted, UnreadableFile):
        return _Read(status=DocumentStatus.ERROR, error=str(extracted))
    return _Read(pages=len(extracted.pages), chunks=chunk_pages(extracted.pages))


class Ingest:
    def ingest_pending(
        self, *, summarise: bool = True, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> list[Document]:
        """Finish what an earlier ingest left (cancelled, quit or crashed), and re-embed for a new embedding model."""
        todo = self.documents.unfinished_documents()
        if self.embedder is not None:
            todo += self.documents.documents_missing_vectors(self.embedder.model_id)
        self._ingest_documents([(d, self.documents.name_of(d.id)) for d in todo], None, summarise, progress, cancel)
        return [self.documents.document(d.id) for d in todo]

    def _ingest(
        self,
        attachments: list[Attachment],
        password: str | None,
        summarise: bool,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        seen: dict[int, tuple[Document, str]] = {}
        for attachment in attachments:
            seen.setdefault(attachment.document.id, (attachment.document, attachment.file_name))
        self._ingest_documents(list(seen.values()), password, summarise, progress, cancel)

    def _ingest_documents(
        self,
        documents: list[tuple[Document, str]],
        password: str | None,
        summarise: bool,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        """Read and embed the files, then summarise them. A file that cannot be read fails alone, and each step
        commits as it goes, so a stop at any point resumes from the stored state. Small files are read together
        (one reading process for a group) and embedded together (EMBED_BATCH chunks a round trip, across files),
        and the next group is read (in its own process) while this one embeds: with a process and a round trip per
        file, many small files took as long to read as to embed."""
        with self._ingest_lock, ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read") as reader:
            tracker = _Tracker(len(documents), progress)
            readable, ready = [], set()
            fresh = [self.documents.document(document.id) for document, _ in documents]
            groups = _read_groups(fresh)
            reads: dict[int, Future[list[_Read]]] = {}
            unembedded: list[tuple[int, str]] = []  # read, and waiting for a full batch of chunks
            waiting_chunks = 0
            added_chunks = 0  # newly read: past KEYWORD_MERGE_GROWTH of the collection, the keyword index is merged

            def read_ahead(group: int) -> None:
                if group < len(groups) and group not in reads:
                    members = [(fresh[i], documents[i][1]) for i in groups[group]]
                    reads[group] = reader.submit(self._extract, members, password)

            for group, members in enumerate(groups):
                if cancel is not None and cancel.is_set():
                    break
                tracker.file_name = documents[members[0]][1]
                tracker.report("reading")
                read_ahead(group)
                outcomes = reads.pop(group).result()
                read_ahead(group + 1)
                for index, outcome in zip(members, outcomes, strict=True):
                    document, name = documents[index]
                    if self._store_read(fresh[index], outcome, tracker):
                        readable.append((document.id, name))
                        unembedded.append((document.id, name))
                        added_chunks += len(outcome.chunks or [])
                        # A file read before (resuming) has its chunks in the store only: embed it now.
                        waiting_chunks += len(outcome.chunks) if outcome.chunks is not None else EMBED_BATCH
                    else:
                        tracker.files_done += 1
                    if waiting_chunks >= EMBED_BATCH:
                        ready |= self._embed_documents(unembedded, tracker, cancel)
                        unembedded, waiting_chunks = [], 0
            if unembedded:
                ready |= self._embed_documents(unembedded, tracker, cancel)
            for future in reads.values():
                future.cancel()
            if added_chunks and added_chunks >= KEYWORD_MERGE_GROWTH * self.documents.scope(None).total:
                self.documents.merge_keyword_index(stop=lambda: cancel is not None and cancel.is_set())
            for document_id, name in readable:
                if document_id not in ready:
                    continue
                tracker.file_name = name
                if summarise and self.summarise_with is not None and not self.documents.document(document_id).summary:
                    if cancel is not None and cancel.is_set():
                        break
                    tracker.report("summarising")
                    self.summarise(document_id)
            tracker.report("done")

    def _extract(self, members: list[tuple[Document, str]], password: str | None) -> list[_Read]:
        """Files not read yet, extracted and chunked (on the reader thread: no store writes, no progress)."""
        to_read = [
            (document, name) for document, name in members
            if document.status == DocumentStatus.PENDING
            or (document.status == DocumentStatus.NEEDS_PASSWORD and password is not None)
        ]  # fmt: skip
        try:
            extracted = extract_isolated_many(
                [(Path(document.stored_path), document.kind, name) for document, name in to_read], password=password
            )
        except OSError as exc:  # the reading process could not be started
            extracted = [UnreadableFile(f"{name} cannot be read ({exc.strerror})") for _, name in to_read]
        outcomes = {document.id: _read_outcome(outcome) for (document, _), outcome in zip(to_read, extracted, strict=True)}
        return [outcomes.get(document.id, _Read()) for document, _ in members]

    def _store_read(self, document: Document, outcome: _Read, tracker: _Tracker) -> bool:
        """Keep what `_extract` found; False when the file cannot be read (its status says why)."""
        if outcome.status is not None:
            self.documents.set_status(document.id, outcome.status, error=outcome.error)
            return False
        if outcome.chunks is not None:
            tracker.pages_total += outcome.pages
            tracker.pages_done += outcome.pages
            self.documents.replace_chunks(document.id, outcome.chunks, pages=outcome.pages)
            return True
        # An error stays until the file is attached again (with a password, if it asked for one).
        return document.status in (DocumentStatus.EMBEDDING, DocumentStatus.READY)

    def _texts_to_embed(self, document_id: int, model: str) -> list[tuple[int, str]]:
        """(chunk id, text to embed) of the chunks without a vector: a chunk that does not open its page goes with
        the page's heading (a statement's title and units), so the second half of a table is found as that table."""
        chunks = self.documents.chunks_to_embed(document_id, model=model)
        openings = self.documents.page_openings(document_id, sorted({c.page for _, c in chunks})) if chunks else {}
        headings = {page: page_heading(opening.text) for page, opening in openings.items()}
        return [
            (chunk_id, f"{headings[c.page]}\n{c.text}" if headings.get(c.page) and c.start > openings[c.page].start
             else c.text)
            for chunk_id, c in chunks
        ]  # fmt: skip

    def _embed_documents(
        self, documents: list[tuple[int, str]], tracker: _Tracker, cancel: threading.Event | None
    ) -> set[int]:
        """Embed the chunks still without a vector, EMBED_BATCH at a time across documents, committing each batch;
        a document becomes ready once all its chunks have vectors. Returns the ids of the ready documents."""
        ready: set[int] = set()
        if self.embedder is None:
            for document_id, _ in documents:
                self.documents.set_status(document_id, DocumentStatus.READY)
                ready.add(document_id)
                tracker.files_done += 1
            return ready
        model = self.embedder.model_id
        pending = [(d, name, self._texts_to_embed(d, model)) for d, name in documents]
        tracker.chunks_total += sum(len(chunks) for _, _, chunks in pending)
        batch: list[tuple[int, str]] = []
        waiting: list[tuple[int, str]] = []  # documents whose last chunks are in `batch`

        def flush() -> bool:
            if batch:
                if cancel is not None and cancel.is_set():
                    return False
                tracker.report("embedding")
                try:
                    vectors = self.embedder.embed([text for _, text in batch])
                except (ModelUnavailable, WorkerDied, GenerationFailed) as exc:
                    # Keyword search still finds the chunks; the next ingest_pending() embeds them.
                    for document_id, name in documents:
                        if document_id not in ready:
                            self.documents.set_status(
                                document_id, DocumentStatus.EMBEDDING, error=f"{name}: not embedded yet: {exc}"
                            )
                    return False
                self.documents.store_chunk_vectors(
                    [(chunk_id, vector_bytes(v)) for (chunk_id, _), v in zip(batch, vectors, strict=True)], model=model
                )
                tracker.chunks_done += len(batch)
                batch.clear()
            for document_id, name in waiting:
                self.documents.set_status(document_id, DocumentStatus.READY)
                ready.add(document_id)
                tracker.files_done += 1
                tracker.file_name = name
            waiting.clear()
            return True

        for document_id, name, chunks in pending:
            tracker.file_name = name
            for chunk in chunks:
                batch.append(chunk)
                if len(batch) >= EMBED_BATCH and not flush():
                    return ready
            waiting.append((document_id, name))
        if flush():
            tracker.report("embedding")
        return ready
