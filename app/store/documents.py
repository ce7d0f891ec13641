"""Attachments, documents, chunks, their vectors and citations, over the Store's database.

Kept apart from the thread repositories so the thread store stays readable; writes go through the same `Store.writing()`
transaction and lock. Every method returns `app.core.documents` values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import apsw

from app.core.documents import (
    Attachment,
    ChunkText,
    Citation,
    Document,
    DocumentStatus,
    KnowledgeFolder,
    Passage,
)
from app.core.errors import NotFound
from app.store.chunk_bits import ChunkBitIndex
from app.store.database import _iso, _parse, replace_vectors
from app.store.db import Store

_DOCUMENT_COLUMNS = """document.id, document.sha256, document.stored_path, document.kind, document.size_bytes,
    document.pages, document.status, document.error, document.summary,
    document.chunks, document.created_at"""
_ATTACHMENT_COLUMNS = f"""attachment.id, attachment.thread_id, attachment.file_name, attachment.source_path,
    attachment.folder_id, attachment.created_at, {_DOCUMENT_COLUMNS}"""
_ATTACHMENT_ROWS = "attachment JOIN document ON document.id = attachment.document_id"
BATCH_ROWS = 200  # rows per INSERT statement: SQLite limits the variables of one statement
CHUNK_TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])  # chunk_fts's, as migration 0004 made it
# Hamming candidates re-ranked exactly, at least: the retriever's fusion needs about this many per ranking
# (tests/benchmarks/retrieval.py prints what it costs in recall). 400 gave the exact ranking's nDCG on SciFact, but
# each candidate's float vector is a vec0 lookup: search alone at 100k chunks went from 30 to 81 ms at p95.
CHUNK_RERANK_CANDIDATES = 100
KEYWORD_MERGE_PAGES = 200  # index pages one merge step writes (tests/benchmarks/retrieval.py's 100k: 25 steps)
TERM_COUNTS_KEPT = 10_000  # per-word chunk counts held between searches (about a MB)
# Keyword scope planning, from timings at 100k chunks: a scope holding at least this share of all chunks is ranked
# as if unscoped and filtered after.
WIDE_SCOPE = 0.5


def _document(row: tuple) -> Document:
    return Document(
        id=row[0], sha256=row[1], stored_path=row[2], kind=row[3], size_bytes=row[4], pages=row[5],
        status=DocumentStatus(row[6]), error=row[7], summary=row[8], chunk_count=row[9], created_at=_parse(row[10]),
    )  # fmt: skip


@dataclass(frozen=True)
class ChunkScope:
    """The chunks one search looks in, counted once for both of its rankings: the documents (None: every chunk), also
    as a JSON list for SQL's json_each, how many chunks there are in all, the share in scope, and the chunk generation
    (migration 0022) they were counted in, which is what the rankings' in-memory caches are valid for."""

    document_ids: tuple[int, ...] | None
    documents_json: str | None
    total: int
    share: float
    generation: int


def _keep_scope(scope: ChunkScope) -> str:
    """SQL after `FROM <rows with a chunk_id>` keeping the scope's chunks; its parameter: `_scope_params`."""
    if scope.documents_json is None:
        return ""
    return "JOIN chunk ON chunk.id = chunk_id WHERE chunk.document_id IN (SELECT value FROM json_each(?))"


def _scope_params(scope: ChunkScope) -> tuple:
    return () if scope.documents_json is None else (scope.documents_json,)


def _in(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


class DocumentStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        self._bits = ChunkBitIndex(self._rows)
        self._term_counts: dict[tuple[int, str], int] = {}  # by (chunk generation, term)
        self._last_scope: ChunkScope | None = None

    def _rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return list(self.db.execute_sql(sql, tuple(params)))

    def _now(self) -> str:
        return _iso(self.store._clock())

    # Documents

    def document(self, document_id: int) -> Document:
        rows = self._rows(f"SELECT {_DOCUMENT_COLUMNS} FROM document WHERE id = ?", (document_id,))
        if not rows:
            raise NotFound(f"no document with id {document_id}")
        return _document(rows[0])

    def document_by_sha(self, sha256: str) -> Document | None:
        rows = self._rows(f"SELECT {_DOCUMENT_COLUMNS} FROM document WHERE sha256 = ?", (sha256,))
        return _document(rows[0]) if rows else None

    def add_document(self, *, sha256: str, stored_path: str, kind: str, size_bytes: int) -> Document:
        """The document for this content, created if new (the same file attached twice is stored once)."""
        now = self._now()
        with self.store.writing():
            self.db.execute_sql(
                """INSERT INTO document (sha256, stored_path, kind, size_bytes, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING""",
                (sha256, stored_path, kind, size_bytes, now, now),
            )
        return self.document_by_sha(sha256)

    def set_status(
        self, document_id: int, status: DocumentStatus, *, error: str | None = None, pages: int | None = None
    ) -> None:
        with self.store.writing():
            self.db.execute_sql(
                "UPDATE document SET status = ?, error = ?, pages = coalesce(?, pages), updated_at = ? WHERE id = ?",
                (str(status), error, pages, self._now(), document_id),
            )

    def set_summary(self, document_id: int, summary: str) -> None:
        with self.store.writing():
            self.db.execute_sql(
                "UPDATE document SET summary = ?, updated_at = ? WHERE id = ?", (summary, self._now(), document_id)
            )

    def unfinished_documents(self) -> list[Document]:
        """Documents an ingest has not finished (it was cancelled, or the app quit or crashed), oldest first."""
        return [
            _document(row)
            for row in self._rows(
                f"SELECT {_DOCUMENT_COLUMNS} FROM document WHERE status IN ('pending', 'embedding') ORDER BY id"
            )
        ]

    def documents_missing_vectors(self, model: str) -> list[Document]:
        """Ready documents with chunks that have no vector from `model` (the embedding model changed)."""
        rows = self._rows(
            f"""SELECT {_DOCUMENT_COLUMNS} FROM document WHERE status = 'ready' AND EXISTS (
                    SELECT 1 FROM chunk WHERE chunk.document_id = document.id AND chunk.vector_model IS NOT ?)
                ORDER BY id""",
            (model,),
        )
        return [_document(row) for row in rows]

    # Chunks and vectors

    def replace_chunks(self, document_id: int, chunks: list[ChunkText], *, pages: int) -> None:
        """Store a document's chunks (dropping any from an earlier, interrupted read) and mark it for embedding."""
        with self.store.writing():
            self.db.execute_sql("DELETE FROM chunk WHERE document_id = ?", (document_id,))
            for offset in range(0, len(chunks), BATCH_ROWS):
                batch = chunks[offset : offset + BATCH_ROWS]
                values: list[Any] = []
                for ordinal, chunk in enumerate(batch, offset):
                    values += [document_id, ordinal, chunk.page, chunk.start, chunk.end, chunk.text]
                self.db.execute_sql(
                    'INSERT INTO chunk (document_id, ordinal, page, start, "end", text) VALUES '
                    + ",".join(["(?, ?, ?, ?, ?, ?)"] * len(batch)),
                    values,
                )
            self.db.execute_sql(
                "UPDATE document SET status = 'embedding', error = NULL, pages = ?, updated_at = ? WHERE id = ?",
                (pages, self._now(), document_id),
            )

    def chunks(self, document_id: int) -> list[tuple[int, ChunkText]]:
        rows = self._rows(
            'SELECT id, page, start, "end", text FROM chunk WHERE document_id = ? ORDER BY ordinal', (document_id,)
        )
        return [(row[0], ChunkText(row[1], row[2], row[3], row[4])) for row in rows]

    def chunks_to_embed(self, document_id: int, *, model: str) -> list[tuple[int, ChunkText]]:
        """(chunk id, chunk) of a document's chunks without a vector from `model`, in document order."""
        rows = self._rows(
            'SELECT id, page, start, "end", text FROM chunk WHERE document_id = ? AND vector_model IS NOT ? '
            "ORDER BY ordinal",
            (document_id, model),
        )
        return [(row[0], ChunkText(row[1], row[2], row[3], row[4])) for row in rows]

    def page_openings(self, document_id: int, pages: list[int] | None = None) -> dict[int, ChunkText]:
        """The first chunk of each page of a document (of `pages` only, if given): where its heading is."""
        rows = self._rows(
            'SELECT page, start, "end", text, min(ordinal) FROM chunk WHERE document_id = ? GROUP BY page',
            (document_id,),
        )
        wanted = set(pages) if pages is not None else None
        return {
            row[0]: ChunkText(row[0], row[1], row[2], row[3])
            for row in rows
            if wanted is None or row[0] in wanted
        }

    def page_chunks(self, document_id: int, page: int) -> list[tuple[int, ChunkText]]:
        """(chunk id, chunk) of one page of a document, in order: a hit's neighbours."""
        rows = self._rows(
            'SELECT id, page, start, "end", text FROM chunk WHERE document_id = ? AND page = ? ORDER BY ordinal',
            (document_id, page),
        )
        return [(row[0], ChunkText(row[1], row[2], row[3], row[4])) for row in rows]

    def store_chunk_vectors(self, rows: list[tuple[int, bytes]], *, model: str) -> None:
        """(chunk id, float32 bytes) pairs from embedding model `model`, committed together."""
        with self.store.writing():
            replace_vectors(self.db, "chunk", rows, model=model)

    def scope(self, document_ids: list[int] | None) -> ChunkScope:
        """The chunks of `document_ids` (None: every chunk) as one search's rankings plan their SQL by them. The last
        one is kept while the chunks stay as they were: a thread asks about the same documents turn after turn, and
        summing thousands of them takes milliseconds."""
        generation = self._rows("SELECT generation FROM chunk_generation")[0][0]
        listed = None if document_ids is None else tuple(document_ids)
        last = self._last_scope
        if last is not None and (last.generation, last.document_ids) == (generation, listed):
            return last
        if listed is None:
            total = self._rows("SELECT coalesce(sum(chunks), 0) FROM document")[0][0]
            scope = ChunkScope(None, None, total, 1.0, generation)
        else:
            listed_json = json.dumps(listed)
            total, in_scope = self._rows(
                """SELECT (SELECT coalesce(sum(chunks), 0) FROM document),
                   (SELECT coalesce(sum(chunks), 0) FROM document WHERE id IN (SELECT value FROM json_each(?)))""",
                (listed_json,),
            )[0]
            scope = ChunkScope(listed, listed_json, total, max(in_scope, 1) / max(total, 1), generation)
        self._last_scope = scope
        return scope

    def chunk_counts(self, words: list[str], *, scope: ChunkScope) -> dict[str, int]:
        """How many chunks hold each word as the keyword index reads it (stemmed; a word the tokenizer splits counts
        as its rarest part), in all of the collection: the scope only says which chunk generation to count in."""
        tokenize = self.db.connection().fts5_tokenizer(*CHUNK_TOKENIZER)
        generation = scope.generation
        counts = {}
        for word in words:
            stems = {token[2] for token in tokenize(word.encode(), apsw.FTS5_TOKENIZE_QUERY, None)}
            counts[word] = min((self._chunks_with_term(stem, generation) for stem in stems), default=0)
        return counts

    def _chunks_with_term(self, term: str, generation: int) -> int:
        """From fts5vocab, which walks the term's whole posting list to count it (milliseconds for a common word at
        100k chunks), so kept for the chunk generation it was counted in; all are dropped at TERM_COUNTS_KEPT."""
        count = self._term_counts.get((generation, term))
        if count is None:
            if len(self._term_counts) >= TERM_COUNTS_KEPT:
                self._term_counts = {}
            rows = self._rows("SELECT doc FROM chunk_terms WHERE term = ?", (term,))
            count = self._term_counts[generation, term] = rows[0][0] if rows else 0
        return count

    def merge_keyword_index(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Merge the keyword index's segments into one, KEYWORD_MERGE_PAGES at a time, each step its own write
        transaction so a reply's writes wait for one step (under 0.1 s at 100k chunks), not the whole (about 1 s).
        A large ingest leaves the index in many segments that every search reads: at 100k chunks, merged, the
        keyword ranking's p95 fell from 37 to 31 ms. `stop` ends it between steps; a part-merged index is sound."""
        connection = self.db.connection()
        while not stop():
            with self.store.writing():
                before = connection.total_changes()
                self.db.execute_sql(
                    "INSERT INTO chunk_fts(chunk_fts, rank) VALUES ('merge', ?)", (-KEYWORD_MERGE_PAGES,)
                )  # negative: merge every segment, as 'optimize' does, but only so many pages now
                if connection.total_changes() - before < 2:  # FTS5's sign that no work was left
                    return

    def keyword_ranking(self, match: str, *, scope: ChunkScope, limit: int) -> list[int]:
        """Chunk ids matching an FTS5 expression, best BM25 first, within the scope."""
        if scope.share < WIDE_SCOPE:
            rows = self._rows(
                """SELECT chunk_fts.rowid FROM chunk_fts JOIN chunk ON chunk.id = chunk_fts.rowid
                   WHERE chunk_fts MATCH ? AND chunk.document_id IN (SELECT value FROM json_each(?))
                   ORDER BY bm25(chunk_fts) LIMIT ?""",
                (match, scope.documents_json, limit),
            )
        else:  # rank everything, then keep the scope's: cheaper than joining every match to its chunk first
            rows = self._rows(
                f"""WITH hits AS (
                        SELECT rowid AS chunk_id, bm25(chunk_fts) AS score FROM chunk_fts WHERE chunk_fts MATCH ?
                        ORDER BY score LIMIT ?
                    ) SELECT chunk_id FROM hits {_keep_scope(scope)} ORDER BY score LIMIT ?""",
                (match, math.ceil(limit / scope.share), *_scope_params(scope), limit),
            )
        return [row[0] for row in rows]

    def vector_ranking(self, vector: bytes, *, model: str, scope: ChunkScope, limit: int) -> list[int]:
        """Chunk ids nearest to `vector` among vectors from `model`, nearest first, within the scope.

        Candidates come from a hamming scan over the binary-quantised vectors held in memory (ChunkBitIndex), with
        the scope applied as it scans; their float vectors in chunk_vec rank them by exact cosine distance."""
        query_bits = self._rows("SELECT vec_quantize_binary(?)", (vector,))[0][0]
        candidates = self._bits.nearest(
            query_bits,
            generation=scope.generation,
            model=model,
            document_ids=scope.document_ids,
            k=max(CHUNK_RERANK_CANDIDATES, limit),
        )
        rows = self._rows(
            """SELECT chunk_vec.chunk_id FROM json_each(?) AS candidate
               JOIN chunk_vec ON chunk_vec.chunk_id = candidate.value
               ORDER BY vec_distance_cosine(chunk_vec.embedding, ?), chunk_vec.chunk_id LIMIT ?""",
            (json.dumps(candidates), vector, limit),
        )
        return [row[0] for row in rows]

    def passages(self, chunk_ids: list[int], *, names: dict[int, str]) -> dict[int, Passage]:
        """Chunks by id as passages named by `names` (document id → the file name the thread knows)."""
        if not chunk_ids:
            return {}
        rows = self._rows(
            f'SELECT id, document_id, page, start, "end", text FROM chunk WHERE id IN ({_in(chunk_ids)})', chunk_ids
        )
        return {
            row[0]: Passage(row[0], row[1], names.get(row[1], ""), row[2], row[3], row[4], row[5], 0.0)
            for row in rows
        }

    def passages_of(self, document_id: int, *, name: str) -> list[Passage]:
        """Every chunk of a document in order, for a document small enough to go into a prompt whole."""
        return [
            Passage(chunk_id, document_id, name, c.page, c.start, c.end, c.text, 0.0)
            for chunk_id, c in self.chunks(document_id)
        ]

    def message_passages(self, message_id: int) -> list[Passage] | None:
        """The passages stored for a user message, in prompt order; None if retrieval never ran for it."""
        rows = self._rows(
            """SELECT chunk_id, document_id, file_name, page, start, "end", text FROM message_passage
               WHERE message_id = ? ORDER BY number""",
            (message_id,),
        )
        if not rows:
            return None
        return [Passage(row[0], row[1], row[2], row[3], row[4], row[5], row[6], 0.0) for row in rows if row[0]]

    def save_message_passages(self, message_id: int, passages: list[Passage]) -> None:
        """Keep what went with a user message; an empty list is kept too (number 0), so it is not searched again."""
        with self.store.writing():
            if not passages:
                self.db.execute_sql(
                    """INSERT OR IGNORE INTO message_passage (message_id, number, chunk_id, document_id, file_name,
                       page, start, "end", text) VALUES (?, 0, NULL, NULL, '', 0, 0, 0, '')""",
                    (message_id,),
                )
            for number, p in enumerate(passages, 1):
                self.db.execute_sql(
                    """INSERT OR REPLACE INTO message_passage (message_id, number, chunk_id, document_id, file_name,
                       page, start, "end", text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (message_id, number, p.chunk_id, p.document_id, p.file_name, p.page, p.start, p.end, p.text),
                )

    # Attachments and knowledge folders

    def name_of(self, document_id: int) -> str:
        """The file name a thread knows a document by (its first attachment), else its stored file's name."""
        rows = self._rows("SELECT file_name FROM attachment WHERE document_id = ? ORDER BY id LIMIT 1", (document_id,))
        return rows[0][0] if rows else self.document(document_id).stored_path.rsplit("/", 1)[-1]

    @staticmethod
    def _attachment(row: tuple) -> Attachment:
        """An attachment from a row of _ATTACHMENT_COLUMNS (its document joined)."""
        return Attachment(
            id=row[0], thread_id=row[1], file_name=row[2], source_path=row[3], folder_id=row[4],
            created_at=_parse(row[5]), document=_document(row[6:]),
        )  # fmt: skip

    def attach(
        self,
        *,
        thread_id: int | None,
        document_id: int,
        file_name: str,
        source_path: str | None,
        folder_id: int | None = None,
        source_stamp: str | None = None,
    ) -> Attachment:
        """Link a document to a thread (once) or to a folder's file (replacing that file's earlier content);
        `source_stamp` is the folder file's size and mtime as it was read."""
        now = self._now()
        with self.store.writing():
            if folder_id is None:
                existing = self._rows(
                    "SELECT id FROM attachment WHERE thread_id = ? AND document_id = ? AND folder_id IS NULL",
                    (thread_id, document_id),
                )
            else:
                existing = self._rows(
                    "SELECT id FROM attachment WHERE folder_id = ? AND source_path = ?", (folder_id, source_path)
                )
            if existing:
                self.db.execute_sql(
                    "UPDATE attachment SET document_id = ?, file_name = ?, source_stamp = ? WHERE id = ?",
                    (document_id, file_name, source_stamp, existing[0][0]),
                )
                attachment_id = existing[0][0]
            else:
                attachment_id = self._rows(
                    """INSERT INTO attachment (thread_id, folder_id, document_id, file_name, source_path,
                           source_stamp, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                    (thread_id, folder_id, document_id, file_name, source_path, source_stamp, now),
                )[0][0]
        return self.attachment(attachment_id)

    def attachment(self, attachment_id: int) -> Attachment:
        rows = self._rows(
            f"SELECT {_ATTACHMENT_COLUMNS} FROM {_ATTACHMENT_ROWS} WHERE attachment.id = ?", (attachment_id,)
        )
        if not rows:
            raise NotFound(f"no attachment with id {attachment_id}")
        return self._attachment(rows[0])

    def attachments(self, thread_id: int) -> list[Attachment]:
        """What a thread can draw on: its own files, its folders' files, and the folders shared by all threads; a
        document reached more than one way (the same file in two folders) once, as first attached."""
        rows = self._rows(
            f"""SELECT {_ATTACHMENT_COLUMNS} FROM {_ATTACHMENT_ROWS}
                LEFT JOIN knowledge_folder ON knowledge_folder.id = attachment.folder_id
                WHERE (attachment.folder_id IS NULL AND attachment.thread_id = ?)
                   OR (attachment.folder_id IS NOT NULL
                       AND (knowledge_folder.thread_id = ? OR knowledge_folder.thread_id IS NULL))
                ORDER BY attachment.id""",
            (thread_id, thread_id),
        )
        by_document: dict[int, Attachment] = {}
        for row in rows:
            by_document.setdefault(row[6], self._attachment(row))  # row[6]: the joined document's id
        return list(by_document.values())

    def folder_attachments(self, folder_id: int) -> list[Attachment]:
        rows = self._rows(
            f"SELECT {_ATTACHMENT_COLUMNS} FROM {_ATTACHMENT_ROWS} WHERE attachment.folder_id = ?", (folder_id,)
        )
        return [self._attachment(row) for row in rows]

    def folder_stamps(self, folder_id: int) -> dict[str, str | None]:
        """Each indexed file of a folder, by path: its stamp when it was last read."""
        return dict(self._rows("SELECT source_path, source_stamp FROM attachment WHERE folder_id = ?", (folder_id,)))

    def set_stamp(self, attachment_id: int, stamp: str) -> None:
        with self.store.writing():
            self.db.execute_sql("UPDATE attachment SET source_stamp = ? WHERE id = ?", (stamp, attachment_id))

    def remove_attachment(self, attachment_id: int) -> None:
        with self.store.writing():
            self.db.execute_sql("DELETE FROM attachment WHERE id = ?", (attachment_id,))

    def remove_unused_documents(self) -> list[str]:
        """Delete the documents no thread or folder uses any more (their chunks, keyword entries and vectors go with
        them); returns their stored copies' paths, for the caller to delete once this has committed."""
        with self.store.writing():
            rows = self._rows(
                "DELETE FROM document WHERE id NOT IN (SELECT document_id FROM attachment) RETURNING stored_path"
            )
        return [row[0] for row in rows]

    def add_folder(self, path: str, *, thread_id: int | None) -> KnowledgeFolder:
        now = self._now()
        with self.store.writing():
            self.db.execute_sql(
                """INSERT INTO knowledge_folder (path, thread_id, created_at) VALUES (?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (path, thread_id, now),
            )
        rows = self._rows(
            "SELECT id, path, thread_id, created_at FROM knowledge_folder WHERE path = ? AND thread_id IS ?",
            (path, thread_id),
        )
        return KnowledgeFolder(rows[0][0], rows[0][1], rows[0][2], _parse(rows[0][3]))

    def folders(self) -> list[KnowledgeFolder]:
        rows = self._rows("SELECT id, path, thread_id, created_at FROM knowledge_folder ORDER BY id")
        return [KnowledgeFolder(row[0], row[1], row[2], _parse(row[3])) for row in rows]

    def remove_folder(self, folder_id: int) -> None:
        """Stop watching a folder; its files leave the threads that saw them (stored copies stay for the others)."""
        with self.store.writing():
            if not self._rows("DELETE FROM knowledge_folder WHERE id = ? RETURNING id", (folder_id,)):
                raise NotFound(f"no knowledge folder with id {folder_id}; see `threadloom folders`")

    # Citations of a reply

    def save_citations(self, message_id: int, citations: list[Citation]) -> None:
        with self.store.writing():
            for citation in citations:
                self.db.execute_sql(
                    """INSERT INTO citation (message_id, number, document_id, file_name, page, start, "end", text,
                       verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (message_id, citation.number, citation.document_id, citation.file_name, citation.page,
                     citation.start, citation.end, citation.text, int(citation.verified)),
                )  # fmt: skip

    def citations(self, message_id: int) -> list[Citation]:
        rows = self._rows(
            """SELECT citation.number, citation.file_name, citation.page, citation.start, citation."end",
                      citation.text, citation.verified, citation.document_id, document.stored_path
               FROM citation LEFT JOIN document ON document.id = citation.document_id
               WHERE citation.message_id = ? ORDER BY citation.number""",
            (message_id,),
        )
        return [
            Citation(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8] or "")
            for row in rows
        ]
