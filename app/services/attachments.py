"""AttachmentService: files and knowledge folders into a thread, ingest (read, chunk, embed, summarise) with
progress, cancel and resume, and the per-turn retrieval that puts passages next to the latest user message.

Plain Python: long calls (`attach`, `ingest_pending`, `sync_folders`) are meant for a background thread and report
through a `progress` callback; `cancel` (a threading.Event) stops them between batches. Work is committed per batch
of chunks, so an ingest that is cancelled, killed or crashes resumes where it stopped (`ingest_pending`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.documents import (
    Attachment,
    Citation,
    Document,
    DocumentStatus,
    IngestProgress,
    KnowledgeFolder,
    Passage,
)
from app.core.errors import GenerationFailed, InvalidInput, ModelUnavailable, NotFound, StorageFull, WorkerDied
from app.core.models import (
    ChatTurn,
    GenerationRequest,
    Message,
    MessageStatus,
    Role,
    SamplingParams,
    Thread,
    TokenEvent,
)
from app.core.ports import ChatBackend, Embedder
from app.ingest.chunking import chunk_pages
from app.ingest.extract import PasswordNeeded, UnreadableFile, kind_of
from app.ingest.isolated import extract_isolated
from app.retrieval.citations import citation, marked_numbers, quoted, verify
from app.retrieval.search import Retriever, vector_bytes
from app.store import Store
from app.store.documents import DocumentStore

EMBED_BATCH = 64          # chunks per embedding round trip and per commit: the resume granularity
WHOLE_DOCUMENT_CHUNKS = 3  # a document this small goes into the prompt whole instead of being searched
MAX_PASSAGES = 3          # per turn: each passage costs ~300 prompt tokens on a small CPU model
SUMMARY_GROUPS = 6        # map-reduce: at most this many partial summaries, spread over a long document
SUMMARY_SAMPLING = SamplingParams(temperature=0.2, max_tokens=120, seed=1)

ProgressCallback = Callable[[IngestProgress], None]


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


WATCHED_PATHS_MAX = 4096  # inotify watches are a per-user budget shared with other programs


def files_under(path: Path) -> list[Path]:
    """A folder's files of supported kinds (hidden ones skipped), sorted; a file is itself."""
    return folder_tree(path)[1] if path.is_dir() else [path]


def folder_tree(root: Path) -> tuple[list[Path], list[Path]]:
    """The folders and the supported files below `root` (hidden ones, and what is inside them, skipped), each sorted:
    one walk of the tree. A symbolic link that leads out of `root` is not followed: a folder shared with a thread
    must not reach files the user never put in it."""
    folders: list[Path] = []
    files: list[Path] = []
    inside = root.resolve()
    for path in root.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            continue
        if path.is_dir():
            folders.append(path)
        elif path.is_file() and kind_of(path):
            files.append(path)
    return sorted(folders), sorted(files)


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
                self.file_name, self.files_done, self.files_total, self.pages_done, self.pages_total,
                self.chunks_done, self.chunks_total, eta, phase,
            )  # fmt: skip
        )


class AttachmentService:
    def __init__(
        self,
        store: Store,
        *,
        files_dir: Path,
        embedder: Embedder | None,
        summariser: ChatBackend | None = None,
        max_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        self.documents = DocumentStore(store)
        self.files_dir = files_dir
        self.embedder = embedder
        self.summariser = summariser
        self.max_bytes = max_bytes
        self.retriever = Retriever(self.documents, embedder)
        self._ingest_lock = threading.Lock()  # one ingest at a time: the embedder has one worker

    # Attaching

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
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".copy-", delete=False) as scratch:
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

    def attachments(self, thread_id: int) -> list[Attachment]:
        return self.documents.attachments(thread_id)

    def detach(self, attachment_id: int) -> None:
        self.documents.remove_attachment(attachment_id)

    # Knowledge folders

    def add_folder(self, path: str | Path, *, thread_id: int | None) -> KnowledgeFolder:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder; choose a folder to watch")
        return self.documents.add_folder(str(folder), thread_id=thread_id)

    def folders(self) -> list[tuple[KnowledgeFolder, int]]:
        """Each knowledge folder, with how many of its files a thread can draw on."""
        return [(folder, len(self.documents.folder_attachments(folder.id))) for folder in self.documents.folders()]

    def remove_folder(self, folder_id: int) -> None:
        self.documents.remove_folder(folder_id)

    def watched_paths(self, *, limit: int = WATCHED_PATHS_MAX) -> list[str]:
        """What a file watcher should watch to notice a change in the knowledge folders: each folder and its
        subfolders (a file added, removed or renamed), then their files (edited in place); at most `limit`."""
        folders: list[Path] = []
        files: list[Path] = []
        for folder in self.documents.folders():
            root = Path(folder.path)
            if root.is_dir():
                subfolders, found = folder_tree(root)
                folders += [root, *subfolders]
                files += found
        return list(dict.fromkeys(str(p) for p in folders + files))[:limit]

    def sync_folders(
        self,
        *,
        summarise: bool = True,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, list[str]]:
        """Bring every knowledge folder's index up to date: new and changed files (by sha256) are ingested,
        removed ones dropped, unchanged ones left alone. Returns the file paths per change."""
        changes: dict[str, list[str]] = {"added": [], "changed": [], "removed": [], "unchanged": []}
        touched: list[Attachment] = []
        for folder in self.documents.folders():
            known = {a.source_path: a for a in self.documents.folder_attachments(folder.id)}
            present = files_under(Path(folder.path)) if Path(folder.path).is_dir() else []
            for path in present:
                before = known.pop(str(path), None)
                try:
                    document = self._store_copy(path)
                except InvalidInput:
                    continue
                if before is not None and before.document.id == document.id:
                    changes["unchanged"].append(str(path))
                    continue
                changes["changed" if before else "added"].append(str(path))
                touched.append(
                    self.documents.attach(
                        thread_id=folder.thread_id, document_id=document.id, file_name=path.name,
                        source_path=str(path), folder_id=folder.id,
                    )  # fmt: skip
                )
            for gone in known.values():
                self.documents.remove_attachment(gone.id)
                changes["removed"].append(gone.source_path or gone.file_name)
        self._ingest(touched, None, summarise, progress, cancel)
        return changes

    # Ingest

    def ingest_pending(
        self,
        *,
        summarise: bool = True,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
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
        """Read and embed one file after the other, then summarise them. A file that cannot be read fails alone,
        and each step commits as it goes, so a stop at any point resumes from the stored state."""
        with self._ingest_lock:
            tracker = _Tracker(len(documents), progress)
            readable, ready = [], set()
            for document, name in documents:
                if cancel is not None and cancel.is_set():
                    break
                tracker.file_name = name
                if self._read(self.documents.document(document.id), name, password, tracker):
                    readable.append((document.id, name))
                    ready |= self._embed_documents([(document.id, name)], tracker, cancel)
                else:
                    tracker.files_done += 1
            for document_id, name in readable:
                if document_id not in ready:
                    continue
                tracker.file_name = name
                if summarise and self.summariser is not None and not self.documents.document(document_id).summary:
                    if cancel is not None and cancel.is_set():
                        break
                    tracker.report("summarising")
                    self.summarise(document_id)
            tracker.report("done")

    def _read(self, document: Document, name: str, password: str | None, tracker: _Tracker) -> bool:
        """Extract and chunk a file not read yet; False when it cannot be read (its status says why)."""
        retry_password = document.status == DocumentStatus.NEEDS_PASSWORD and password is not None
        if document.status == DocumentStatus.PENDING or retry_password:
            tracker.report("reading")
            try:
                extracted = extract_isolated(
                    Path(document.stored_path), kind=document.kind, name=name, password=password
                )
            except PasswordNeeded as exc:
                self.documents.set_status(document.id, DocumentStatus.NEEDS_PASSWORD, error=str(exc))
                return False
            except (UnreadableFile, OSError) as exc:
                message = str(exc) if isinstance(exc, UnreadableFile) else f"{name} cannot be read ({exc.strerror})"
                self.documents.set_status(document.id, DocumentStatus.ERROR, error=message)
                return False
            tracker.pages_total += len(extracted.pages)
            tracker.pages_done += len(extracted.pages)
            self.documents.replace_chunks(document.id, chunk_pages(extracted.pages), pages=len(extracted.pages))
            return True
        # An error stays until the file is attached again (with a password, if it asked for one).
        return document.status in (DocumentStatus.EMBEDDING, DocumentStatus.READY)

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
        pending = [(d, name, self.documents.chunks_to_embed(d, model=model)) for d, name in documents]
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
                    [(chunk_id, vector_bytes(v)) for (chunk_id, _), v in zip(batch, vectors, strict=True)],
                    model=model,
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

    # Summaries

    def summarise(self, document_id: int) -> str | None:
        """A short summary by the local model; long documents map-reduce over evenly spread groups of chunks."""
        chunks = [chunk.text for _, chunk in self.documents.chunks(document_id)]
        if not chunks or self.summariser is None:
            return None
        groups = _spread_groups(chunks, SUMMARY_GROUPS)
        if len(groups) == 1:
            summary = self._generate(_summary_prompt(groups[0]))
        else:
            partial = [self._generate(_summary_prompt(group)) for group in groups]
            summary = self._generate(_summary_prompt("\n".join(f"- {p}" for p in partial if p), combine=True))
        summary = " ".join(summary.split())
        if summary:
            self.documents.set_summary(document_id, summary)
        return summary or None

    def _generate(self, prompt: str) -> str:
        request = GenerationRequest((ChatTurn(Role.USER, prompt),), SUMMARY_SAMPLING)
        try:
            return "".join(e.text for e in self.summariser.generate(request) if isinstance(e, TokenEvent)).strip()
        except (ModelUnavailable, WorkerDied, GenerationFailed):
            return ""

    # Per-turn retrieval and citations

    def passages_for(self, thread: Thread, user: Message) -> list[Passage]:
        """The passages that go with user message `user`: stored ones if it had them, else retrieved now."""
        stored = self.documents.message_passages(user.id)
        if stored is not None:
            return stored
        replies = self.documents.store.children(user.id, thread.id)
        if any(reply.status != MessageStatus.STREAMING for reply in replies):
            return []  # answered before anything was attached: its prompt must stay as it was (append-only)
        attachments = [a for a in self.attachments(thread.id) if a.document.chunk_count]
        if not attachments:
            return []
        names = {a.document.id: a.file_name for a in attachments}
        whole = [a.document.id for a in attachments if a.document.chunk_count <= WHOLE_DOCUMENT_CHUNKS]
        searched = [a.document.id for a in attachments if a.document.id not in whole]
        passages = [
            p for document_id in whole
            for p in self.documents.passages_of(document_id, name=names[document_id])
        ]  # fmt: skip
        if searched:
            passages += self.retriever.search(
                user.content, document_ids=searched, names=names, limit=max(1, MAX_PASSAGES - len(passages))
            )
        self.documents.save_message_passages(user.id, passages)
        return passages

    def prompt_for(self, thread: Thread, user: Message) -> str:
        """The user message as the model sees it: numbered passages first, then the message (append-only)."""
        passages = self.passages_for(thread, user)
        if not passages:
            return user.content
        lines = ["Passages from the attached files; cite the ones you use as [1], [2], …:"]
        for number, passage in enumerate(passages, 1):
            lines.append(f"[{number}] {passage.file_name}, page {passage.page}:\n{passage.text}")
        return "\n\n".join(lines) + f"\n\nQuestion: {user.content}"

    def citations(self, reply: Message) -> list[Citation]:
        """The passages given with the reply's user message, each checked against the stored file. Those the reply
        marked ([n]) or quoted come first; the rest follow, as the sources the reply was given."""
        saved = self.documents.citations(reply.id)
        if saved or reply.parent_id is None:
            return saved
        passages = self.documents.message_passages(reply.parent_id) or []
        if not passages:
            return []
        marked = marked_numbers(reply.content, count=len(passages))
        used = [n for n, p in enumerate(passages, 1) if n in marked or quoted(reply.content, p.text)]
        order = used + [n for n in range(1, len(passages) + 1) if n not in used]
        cache: dict[int, list[str]] = {}
        result = []
        for number in order:
            passage = passages[number - 1]
            try:
                document = self.documents.document(passage.document_id)
            except NotFound:
                continue
            checked = verify(passage, stored_path=Path(document.stored_path), kind=document.kind, cache=cache)
            result.append(citation(number, passage, stored_path=document.stored_path, verified=checked))
        self.documents.save_citations(reply.id, result)
        return result


def _spread_groups(chunks: list[str], groups: int, *, per_group: int = 2) -> list[str]:
    """Up to `groups` runs of `per_group` consecutive chunks, spread evenly from the start to the end."""
    if len(chunks) <= per_group:
        return ["\n".join(chunks)]
    starts = sorted({round(i * (len(chunks) - per_group) / max(1, groups - 1)) for i in range(groups)})
    return ["\n".join(chunks[s : s + per_group]) for s in starts]


def _summary_prompt(text: str, *, combine: bool = False) -> str:
    if combine:
        return f"These notes describe parts of one document:\n{text}\n\nSummarise the whole document in two sentences."
    return f"{text}\n\nSummarise the text above in two sentences."

