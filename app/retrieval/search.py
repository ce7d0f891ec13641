"""Hybrid search over chunks: sqlite-vec KNN ∪ FTS5 BM25, fused by reciprocal rank."""

from __future__ import annotations

import re
from array import array
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import accumulate

from app.core.documents import Passage
from app.core.errors import ThreadloomError
from app.core.ports import Embedder
from app.core.search import reciprocal_rank_fusion
from app.store.documents import ChunkScope, DocumentStore

CANDIDATES = 100   # per ranking, before fusion
# Reciprocal rank fusion's constant for chunks: smaller than the customary 60, so each ranking's top places weigh
# more than agreement far down both lists. With the int8 embedder (its binary prefilter loses some of the exact
# top 10) SciFact's hybrid nDCG@10 was 0.7077 at 60, 0.7151 at 30, 0.7207 at 20, 0.7228 at 10; the FinanceBench
# evidence pages stayed as many (tests/benchmarks/retrieval.py, long_documents.py).
CHUNK_RRF_K = 20
MODES = ("hybrid", "bm25", "vector")

# Words that match nearly every chunk; dropping them keeps FTS5 OR-queries fast and BM25 focused.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves""".split()
)
# Beyond the stopwords, a word found in more than COMMON_SHARE of the chunks weighs little in BM25 (its IDF is low)
# but costs a posting for each of those chunks; it is left out once it is also in COMMON_MIN_CHUNKS chunks, so a
# small collection keeps every word.
COMMON_SHARE = 0.2
COMMON_MIN_CHUNKS = 1000
# BM25 scores every chunk holding any of the words, so a query's cost follows its words' postings: past
# POSTING_BUDGET in all, its commonest words are left out too (the rarest always stays). At 100k SciFact-like chunks
# this took the keyword ranking's p95 from 42.8 to 34.8 ms and hybrid nDCG@10 from 0.7091 to 0.7088 (20,000:
# 0.7055); the corpus alone (6,695 chunks) never reaches it.
POSTING_BUDGET = 40_000
_WORD = re.compile(r"\w+")


def content_words(text: str) -> list[str]:
    """The text's distinct lower-cased words without stopwords (all of them if it has nothing else), in order."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
    return [word for word in words if word not in STOPWORDS] or list(words)


def any_word_query(words: list[str]) -> str | None:
    """An FTS5 OR-query of the words, each quoted (so no word is read as syntax)."""
    return " OR ".join(f'"{word}"' for word in words) or None


def keep_each_best(fused: list[tuple[int, float]], rankings: list[list[int]], limit: int) -> list[tuple[int, float]]:
    """The fused top `limit`, making sure each ranking's own best hit is in it. Fusion favours chunks both methods
    half-like; a chunk only one of them ranks first (a rare name matched exactly, one sentence in a long chunk) would
    otherwise be dropped, and it is often the one that answers."""
    top = fused[:limit]
    scores = dict(fused)
    firsts = [ranking[0] for ranking in rankings if ranking]
    for first in firsts:
        if first in {item for item, _ in top}:
            continue
        replaceable = [i for i, (item, _) in enumerate(top) if item not in firsts]
        if replaceable:
            top[replaceable[-1]] = (first, scores[first])
    return sorted(top, key=lambda pair: (-pair[1], pair[0]))


def vector_bytes(vector: list[float]) -> bytes:
    return array("f", vector).tobytes()


class Retriever:
    """Finds the chunks that answer a query, within a set of documents.

    The keyword ranking runs on a helper thread while this one embeds the query and ranks by vector, so a hybrid
    search waits for the slower of the two, not their sum (SQLite and llama.cpp both release the GIL)."""

    def __init__(self, documents: DocumentStore, embedder: Embedder | None) -> None:
        self.documents = documents
        self.embedder = embedder
        self._keyword_thread: ThreadPoolExecutor | None = None

    def rank(
        self, query: str, *, document_ids: list[int] | None, limit: int, mode: str = "hybrid"
    ) -> list[tuple[int, float]]:
        """(chunk id, score) pairs, best first. Without a working embedder, hybrid falls back to BM25 alone."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; one of {', '.join(MODES)}")
        depth = max(limit, CANDIDATES)
        scope = self.documents.scope(document_ids)
        words = content_words(query) if mode in ("hybrid", "bm25") else []
        use_vectors = mode in ("hybrid", "vector") and self.embedder is not None
        keyword: Future[list[int]] | None = None
        if words and use_vectors:
            if self._keyword_thread is None:
                self._keyword_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyword-ranking")
            keyword = self._keyword_thread.submit(self.keyword_ranking, words, scope=scope, limit=depth)
        rankings: list[list[int]] = []
        if words and keyword is None:
            rankings.append(self.keyword_ranking(words, scope=scope, limit=depth))
        if use_vectors:
            try:
                vector = self.embedder.embed([query])[0]
            except ThreadloomError:
                if mode == "vector":
                    raise
            else:
                rankings.append(
                    self.documents.vector_ranking(
                        vector_bytes(vector), model=self.embedder.model_id, scope=scope, limit=depth
                    )
                )
        if keyword is not None:
            rankings.insert(0, keyword.result())
        return keep_each_best(reciprocal_rank_fusion(*rankings, k=CHUNK_RRF_K), rankings, limit)

    def keyword_ranking(self, words: list[str], *, scope: ChunkScope, limit: int) -> list[int]:
        """BM25 ranking for any of the words, leaving out the common ones (see COMMON_SHARE) unless all are, and the
        commonest of the rest past POSTING_BUDGET."""
        counts = self.documents.chunk_counts(words, scope=scope)
        common = max(COMMON_SHARE * scope.total, COMMON_MIN_CHUNKS)
        rare_first = sorted((word for word in words if counts[word] <= common), key=counts.__getitem__)
        within = sum(1 for total in accumulate(counts[word] for word in rare_first) if total <= POSTING_BUDGET)
        match = any_word_query(rare_first[: max(within, 1)] or words)
        return self.documents.keyword_ranking(match, scope=scope, limit=limit) if match else []

    def search(
        self, query: str, *, document_ids: list[int] | None, names: dict[int, str], limit: int = 5
    ) -> list[Passage]:
        ranked = self.rank(query, document_ids=document_ids, limit=limit)
        found = self.documents.passages([chunk_id for chunk_id, _ in ranked], names=names)
        return [
            Passage(p.chunk_id, p.document_id, p.file_name, p.page, p.start, p.end, p.text, score)
            for chunk_id, score in ranked
            if (p := found.get(chunk_id)) is not None
        ]
