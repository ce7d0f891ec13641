"""Chunk rankings on a real store: every way of applying a document scope returns the same, exact answer; common
words leave the keyword query only in a large collection; an older database keeps its vectors, in scope and
known by their model so nothing is embedded twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import app.retrieval.search as retrieval
import app.store.documents as documents_module
from app.core.documents import ChunkText
from app.retrieval.search import Retriever, content_words
from app.store import open_store
from app.store.documents import DocumentStore

DIMENSIONS = 384
MODEL = "test-embedding"


def _vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSIONS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def library(store):
    """Three documents of 30 chunks (fewer chunks than the re-rank candidates, so every ranking can be exact).
    Every chunk says "alpha"; chunk i of document d also says "word{i}"; document 1's chunk 7 alone says "zebra"."""
    documents = DocumentStore(store)
    ids, vectors = [], _vectors(90, seed=3)
    for d in range(3):
        document = documents.add_document(sha256=f"doc{d}", stored_path="", kind="text", size_bytes=0)
        texts = [f"alpha word{i} " + ("zebra " if (d, i) == (1, 7) else "") + f"filler{d}" for i in range(30)]
        documents.replace_chunks(document.id, [ChunkText(1, 0, len(t), t) for t in texts], pages=1)
        ids.append(document.id)
    chunk_ids = [chunk_id for document_id in ids for chunk_id, _ in documents.chunks(document_id)]
    documents.store_chunk_vectors([(c, v.tobytes()) for c, v in zip(chunk_ids, vectors, strict=True)], model=MODEL)
    return documents, ids, dict(zip(chunk_ids, vectors, strict=True))


def _exact_nearest(vectors: dict[int, np.ndarray], query: np.ndarray, allowed: set[int], limit: int) -> list[int]:
    scored = sorted((float(-(vector @ query)), chunk_id) for chunk_id, vector in vectors.items() if chunk_id in allowed)
    return [chunk_id for _, chunk_id in scored[:limit]]


def test_vector_ranking_in_a_scope_is_the_exact_nearest_of_that_scope(library):
    documents, ids, vectors = library
    query = _vectors(1, seed=5)[0]
    listed = [ids[0], ids[2]]
    allowed = {c for d in listed for c, _ in documents.chunks(d)}
    ranked = documents.vector_ranking(query.tobytes(), model=MODEL, scope=documents.scope(listed), limit=12)
    assert ranked == _exact_nearest(vectors, query, allowed, 12)
    assert documents.vector_ranking(query.tobytes(), model="other-model", scope=documents.scope(listed), limit=12) == []
    assert documents.vector_ranking(query.tobytes(), model=MODEL, scope=documents.scope([10**6]), limit=12) == []


WRITE_VECTOR = """
import sys
from pathlib import Path
import numpy as np
from app.store import open_store
from app.store.documents import DocumentStore
store = open_store(Path(sys.argv[1]))
vector = np.frombuffer(bytes.fromhex(sys.argv[3]), dtype=np.float32)
DocumentStore(store).store_chunk_vectors([(int(sys.argv[2]), vector.tobytes())], model=sys.argv[4])
store.close()
"""


def test_the_vector_ranking_follows_writes_and_deletes_of_this_process_and_another(library, data_dir, monkeypatch):
    """The in-memory bit index is loaded by the first search; every later write must reach the next one. With fewer
    hamming candidates than chunks, stale bits would pick the wrong candidates: the long-lived store must rank as
    one that has just loaded them."""
    documents, ids, vectors = library
    monkeypatch.setattr(documents_module, "CHUNK_RERANK_CANDIDATES", 4)
    query = _vectors(1, seed=6)[0].tobytes()

    def ranked(limit: int = 3) -> list[int]:
        scope = documents.scope(None)
        fresh = DocumentStore(documents.store).vector_ranking(query, model=MODEL, scope=scope, limit=limit)
        assert documents.vector_ranking(query, model=MODEL, scope=scope, limit=limit) == fresh
        return fresh

    first = ranked()
    moved = next(chunk_id for chunk_id in vectors if chunk_id not in first)
    documents.store_chunk_vectors([(moved, query)], model=MODEL)  # now the nearest of all
    assert ranked()[0] == moved

    owner = next(d for d in ids if moved in {c for c, _ in documents.chunks(d)})
    documents.db.execute_sql("DELETE FROM document WHERE id = ?", (owner,))
    kept = {c for d in ids if d != owner for c, _ in documents.chunks(d)}
    assert moved not in ranked() and set(ranked(limit=90)) == kept and len(kept) == 60
    assert documents.db.execute_sql("SELECT count(*) FROM chunk_bits").fetchone()[0] == 60  # deleted with the chunks

    other = next(chunk_id for chunk_id in kept if chunk_id not in ranked())
    subprocess.run(
        [sys.executable, "-c", WRITE_VECTOR, str(data_dir), str(other), query.hex(), MODEL],
        cwd=Path(__file__).resolve().parents[2], check=True, timeout=120,
    )  # fmt: skip
    assert ranked()[0] == other


def test_a_bit_vector_of_another_width_is_left_out_of_the_vector_ranking(library):
    """A damaged row (the plain table takes any blob) must not stop every search."""
    documents, ids, vectors = library
    query = _vectors(1, seed=9)[0]
    damaged = next(iter(vectors))
    documents.db.execute_sql("UPDATE chunk_bits SET embedding = zeroblob(7) WHERE chunk_id = ?", (damaged,))
    ranked = documents.vector_ranking(query.tobytes(), model=MODEL, scope=documents.scope(None), limit=90)
    assert set(ranked) == set(vectors) - {damaged}


def keyword_segments(documents: DocumentStore) -> int:
    return documents.db.execute_sql("SELECT count(DISTINCT segid) FROM chunk_fts_idx").fetchone()[0]


def test_merging_the_keyword_index_leaves_one_segment_and_finds_the_same_chunks(library):
    documents, _, _ = library
    query = '"word3" OR "zebra"'
    before = documents.keyword_ranking(query, scope=documents.scope(None), limit=100)
    assert keyword_segments(documents) == 3  # one per document: each was stored in its own transaction
    documents.merge_keyword_index(stop=lambda: True)
    assert keyword_segments(documents) == 3
    documents.merge_keyword_index()
    assert keyword_segments(documents) == 1
    after = documents.keyword_ranking(query, scope=documents.scope(None), limit=100)
    assert (after[0], sorted(after)) == (before[0], sorted(before)) and len(after) == 4  # zebra's chunk first
    documents.db.execute_sql("INSERT INTO chunk_fts(chunk_fts) VALUES ('integrity-check')")  # raises if unsound


def test_vector_ranking_without_a_scope_searches_everything(library):
    documents, _, vectors = library
    query = _vectors(1, seed=8)[0]
    ranked = documents.vector_ranking(query.tobytes(), model=MODEL, scope=documents.scope(None), limit=5)
    assert ranked == _exact_nearest(vectors, query, set(vectors), 5)


@pytest.mark.parametrize("wide_scope", [0.0, 1.01])  # always rank-then-filter; always join first
def test_keyword_ranking_in_a_scope_keeps_the_bm25_order(library, monkeypatch, wide_scope):
    documents, ids, _ = library
    everywhere = documents.keyword_ranking('"word3" OR "zebra"', scope=documents.scope(None), limit=10)
    assert len(everywhere) == 4  # word3 in each document, zebra in one more chunk
    monkeypatch.setattr(documents_module, "WIDE_SCOPE", wide_scope)
    listed = [ids[1]]
    in_scope = {c for c, _ in documents.chunks(ids[1])}
    assert documents.keyword_ranking('"word3" OR "zebra"', scope=documents.scope(listed), limit=10) == [
        c for c in everywhere if c in in_scope
    ]


def test_chunk_counts_read_words_as_the_index_stems_them(library):
    documents, ids, _ = library
    counts = documents.chunk_counts(["alphas", "zebra", "word3", "absent"], scope=documents.scope(None))
    assert documents.scope(None).total == 90
    assert counts == {"alphas": 90, "zebra": 1, "word3": 3, "absent": 0}
    # The counts are kept between searches, for as long as the chunks stay as they were.
    documents.replace_chunks(ids[0], [ChunkText(1, 0, 11, "zebra zebra")], pages=1)
    assert documents.chunk_counts(["alpha", "zebra"], scope=documents.scope(None)) == {"alpha": 60, "zebra": 2}
    documents.db.execute_sql("DELETE FROM document WHERE id = ?", (ids[1],))
    assert documents.chunk_counts(["alpha", "zebra"], scope=documents.scope(None)) == {"alpha": 30, "zebra": 1}


def test_words_in_most_chunks_leave_the_keyword_query_only_in_a_large_collection(library, monkeypatch):
    documents, _, _ = library
    retriever = Retriever(documents, embedder=None)
    words = content_words("Is there an alpha zebra?")
    assert words == ["alpha", "zebra"]
    # Small collection (under COMMON_MIN_CHUNKS): every word counts, so every chunk matches "alpha".
    assert len(retriever.keyword_ranking(words, scope=documents.scope(None), limit=100)) == 90
    monkeypatch.setattr(retrieval, "COMMON_MIN_CHUNKS", 10)
    [only] = retriever.keyword_ranking(words, scope=documents.scope(None), limit=100)
    assert "zebra" in documents.passages([only], names={})[only].text
    # A query of common words alone still searches with them.
    assert len(retriever.keyword_ranking(["alpha"], scope=documents.scope(None), limit=100)) == 90


def test_past_the_posting_budget_the_commonest_words_leave_the_keyword_query(library, monkeypatch):
    documents, _, _ = library
    retriever = Retriever(documents, embedder=None)
    words = content_words("word3 filler1 zebra")  # in 3, 30 and 1 chunks: 34 postings in all
    assert len(retriever.keyword_ranking(words, scope=documents.scope(None), limit=100)) == 32
    monkeypatch.setattr(retrieval, "POSTING_BUDGET", 4)  # zebra and word3 fit, filler1 does not
    assert len(retriever.keyword_ranking(words, scope=documents.scope(None), limit=100)) == 4
    monkeypatch.setattr(retrieval, "POSTING_BUDGET", 0)  # the rarest word stays
    [only] = retriever.keyword_ranking(words, scope=documents.scope(None), limit=100)
    assert "zebra" in documents.passages([only], names={})[only].text


def test_an_older_database_keeps_its_vectors_searchable_in_scope_and_not_embedded_again(data_dir: Path):
    from app.store.database import open_database
    from app.store.migrations import MIGRATIONS, migrate

    data_dir.mkdir(parents=True)
    db = open_database(data_dir / "threadloom.sqlite3")
    migrate(db, MIGRATIONS[: [name for name, _ in MIGRATIONS].index("0007_chunk_search_scope")])
    db.execute_sql(
        "INSERT INTO document (id, sha256, stored_path, kind, size_bytes, status, created_at, updated_at) "
        "VALUES (4, 'x', '', 'text', 0, 'ready', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')"
    )
    db.execute_sql("""INSERT INTO chunk (id, document_id, ordinal, page, start, "end", text) VALUES (9, 4, 0, 1, 0, 5, 'hello')""")
    vector = _vectors(1, seed=1)[0].tobytes()
    db.execute_sql("INSERT INTO chunk_vec (chunk_id, embedding, model) VALUES (9, ?, ?)", (vector, MODEL))
    db.execute_sql("INSERT INTO chunk_bits (chunk_id, embedding, model) VALUES (9, vec_quantize_binary(?), ?)", (vector, MODEL))
    db.execute_sql("INSERT INTO thread (id, title, created_at, updated_at) VALUES (1, 't', '2024-01-01', '2024-01-01')")
    for message_id in (1, 2):
        db.execute_sql(
            "INSERT INTO message (id, thread_id, role, content, status, created_at, updated_at) "
            "VALUES (?, 1, 'user', 'hi', 'complete', '2024-01-01', '2024-01-01')",
            (message_id,),
        )
    db.execute_sql("INSERT INTO message_vec (message_id, embedding, model) VALUES (1, ?, ?)", (vector, MODEL))
    db.close()

    store = open_store(data_dir)
    documents = DocumentStore(store)
    assert documents.vector_ranking(vector, model=MODEL, scope=documents.scope([4]), limit=3) == [9]
    assert documents.vector_ranking(vector, model=MODEL, scope=documents.scope([5]), limit=3) == []
    # What each row's vector came from is read from the row now: only what lacks a vector of the model is left.
    assert documents.chunks_to_embed(4, model=MODEL) == []
    assert [(i, c.text) for i, c in documents.chunks_to_embed(4, model="next-model")] == [(9, "hello")]
    assert [m.id for m in store.messages_to_embed(model=MODEL)] == [2]
    assert [m.id for m in store.messages_to_embed(model="next-model")] == [1, 2]
    store.store_embeddings([(2, vector)], model=MODEL)
    assert store.messages_to_embed(model=MODEL) == []
    store.close()


def test_the_scope_counts_chunks_as_they_are_replaced_deleted_and_migrated(library, data_dir: Path):
    documents, ids, _ = library
    assert (documents.scope(None).total, documents.scope([ids[0]]).share) == (90, pytest.approx(1 / 3))
    documents.replace_chunks(ids[0], [ChunkText(1, 0, 5, "short")], pages=1)  # a re-read drops the 30 it had
    documents.db.execute_sql("DELETE FROM document WHERE id = ?", (ids[1],))
    assert documents.document(ids[0]).chunk_count == 1
    assert (documents.scope(None).total, documents.scope([ids[0], ids[2]]).share) == (31, 1.0)

    from app.store.database import open_database
    from app.store.migrations import MIGRATIONS, migrate

    (data_dir / "older").mkdir(parents=True)
    db = open_database(data_dir / "older" / "threadloom.sqlite3")
    migrate(db, MIGRATIONS[: [name for name, _ in MIGRATIONS].index("0021_document_chunk_count")])
    db.execute_sql(
        "INSERT INTO document (id, sha256, stored_path, kind, size_bytes, status, created_at, updated_at) "
        "VALUES (4, 'x', '', 'text', 0, 'ready', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')"
    )
    for ordinal in range(3):
        db.execute_sql(
            """INSERT INTO chunk (document_id, ordinal, page, start, "end", text) VALUES (4, ?, 1, 0, 5, 'hello')""",
            (ordinal,),
        )
    db.close()
    older = open_store(data_dir / "older")
    assert DocumentStore(older).document(4).chunk_count == 3
    assert DocumentStore(older).scope([4]).total == 3
    older.close()
