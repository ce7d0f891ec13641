"""One search over all threads: keyword (FTS5, phrases and prefixes) and meaning (message embeddings), fused."""

from __future__ import annotations

import struct

from app.core.domain import SearchHit
from app.core.errors import ModelUnavailable
from app.core.ports import Embedder
from app.core.search import fts_query, query_terms, reciprocal_rank_fusion, snippet
from app.store import Store

CANDIDATES = 50  # per ranking, before fusion
# Vector hits farther than this (cosine distance; 1 - similarity) are noise, not meaning: all-MiniLM-L6-v2 puts
# unrelated sentences at a similarity of about 0 to 0.2.
MAX_VECTOR_DISTANCE = 0.7


def pack_vector(vector: list[float]) -> bytes:
    return struct.pack(f"{len(vector)}f", *vector)


class SearchService:
    """Keyword search always works; with an embedder, meaning search joins it by reciprocal rank fusion."""

    def __init__(self, store: Store, embedder: Embedder | None = None) -> None:
        self.store = store
        self.embedder = embedder
        # Why the last search fell back to keywords alone (the embedding model is missing or broken), else None.
        self.keyword_only_reason: str | None = None

    def search(self, query: str, *, tag: str | None = None, limit: int = 20) -> list[SearchHit]:
        rankings = []
        match = fts_query(query)
        if match:
            rankings.append(self.store.keyword_ranking(match, limit=CANDIDATES, tag=tag))
            if tag is None:  # a reply is found by the words of its tool calls too
                rankings.append(self.store.tool_call_ranking(match, limit=CANDIDATES))
        vector = self._embed_query(query)
        if vector is not None:
            rankings.append(
                self.store.vector_ranking(
                    vector, model=self.embedder.model_id, limit=CANDIDATES, tag=tag, max_distance=MAX_VECTOR_DISTANCE
                )
            )
        fused = reciprocal_rank_fusion(*rankings)[:limit]
        found = self.store.messages_with_threads([message_id for message_id, _ in fused])
        terms = query_terms(query)
        hits = []
        for message_id, score in fused:
            message, thread = found[message_id]
            hits.append(
                SearchHit(
                    thread_id=thread.id,
                    thread_title=thread.title,
                    message_id=message.id,
                    role=message.role,
                    snippet=snippet(message.content, terms),
                    score=score,
                    created_at=message.created_at,
                    archived=thread.archived,
                )
            )
        return hits

    def _embed_query(self, query: str) -> bytes | None:
        """The query's vector, or None when there is no usable embedding model (then keywords work alone)."""
        if self.embedder is None or not query.strip():
            return None
        try:
            vector = pack_vector(self.embedder.embed([query])[0])
        except ModelUnavailable as exc:
            self.keyword_only_reason = str(exc)
            return None
        self.keyword_only_reason = None
        return vector

    def index_pending(self, batch: int = 64) -> int:
        """Embed messages that have no vector from the current embedding model yet; returns how many.

        Searching never waits for this: callers run it in the background after a reply (the window) or before a
        search (the CLI)."""
        if self.embedder is None or self.keyword_only_reason is not None:
            return 0
        done = 0
        while pending := self.store.messages_to_embed(model=self.embedder.model_id, limit=batch):
            try:
                vectors = self.embedder.embed([message.content for message in pending])
            except ModelUnavailable as exc:
                self.keyword_only_reason = str(exc)
                return done
            self.store.store_embeddings(
                [(m.id, pack_vector(v)) for m, v in zip(pending, vectors, strict=True)], model=self.embedder.model_id
            )
            done += len(pending)
        return done
