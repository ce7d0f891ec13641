"""Message search: the keyword (FTS5) and vector (sqlite-vec) rankings the search service fuses, and the
vectors behind the second."""

from __future__ import annotations

from app.core.domain import Message, Thread
from app.store.database import Database, nearest_vectors_sql, replace_vectors
from app.store.values import message_value, thread_value

RERANK_CANDIDATES = 200  # binary-KNN candidates re-ranked exactly; recall stays close to exact KNN


class MessageSearch(Database):
    """Rankings over messages; the fusion and snippets live in app.services.search."""

    def store_embeddings(self, rows: list[tuple[int, bytes]], *, model: str) -> None:
        """(message_id, float32 vector bytes) pairs made by embedding model `model`; replaces earlier vectors."""
        with self.writing():
            replace_vectors(self.db, "message", rows, model=model)

    def messages_to_embed(self, *, model: str, limit: int = 256) -> list[Message]:
        """Finished, non-empty messages that have no vector from `model` yet."""
        ids = [
            row[0]
            for row in self.db.execute_sql(
                """SELECT id FROM message WHERE vector_model IS NOT ? AND status != 'streaming' AND content != ''
                   ORDER BY id LIMIT ?""",
                (model, limit),
            )
        ]
        M = self._rows.Message
        return [message_value(row) for row in M.select().where(M.id.in_(ids)).order_by(M.id)] if ids else []

    # Search over messages (the fusion and snippets live in app.services.search)

    def keyword_ranking(self, match: str, *, limit: int = 50, tag: str | None = None) -> list[int]:
        """Message ids matching an FTS5 expression, best BM25 first; deleted threads never, archived ones too."""
        tag_clause, params = self._search_scope(tag)
        rows = self.db.execute_sql(
            f"""SELECT message.id FROM message_fts
                JOIN message ON message.id = message_fts.rowid
                JOIN thread ON thread.id = message.thread_id
                WHERE message_fts MATCH ? AND thread.deleted_at IS NULL {tag_clause}
                ORDER BY bm25(message_fts) LIMIT ?""",
            (match, *params, limit),
        )
        return [row[0] for row in rows]

    def vector_ranking(
        self, vector: bytes, *, model: str, limit: int = 50, tag: str | None = None, max_distance: float = 2.0
    ) -> list[int]:
        """Message ids within cosine `max_distance` of `vector` among vectors made by `model`, nearest first.

        Candidates come from a hamming KNN over binary-quantised vectors, re-ranked by exact cosine distance."""
        tag_clause, params = self._search_scope(tag)
        rows = self.db.execute_sql(
            f"""{nearest_vectors_sql("message")}
                SELECT ranked.message_id FROM ranked
                JOIN message ON message.id = ranked.message_id
                JOIN thread ON thread.id = message.thread_id
                WHERE thread.deleted_at IS NULL AND ranked.distance <= ? {tag_clause}
                ORDER BY ranked.distance LIMIT ?""",
            (vector, max(RERANK_CANDIDATES, limit * 4), model, vector, max_distance, *params, limit),
        )
        return [row[0] for row in rows]

    def messages_with_threads(self, message_ids: list[int]) -> dict[int, tuple[Message, Thread]]:
        M = self._rows.Message
        messages = {row.id: message_value(row) for row in M.select().where(M.id.in_(message_ids))}
        T = self._rows.Thread
        thread_ids = {message.thread_id for message in messages.values()}
        threads = {row.id: thread_value(row) for row in T.select().where(T.id.in_(thread_ids)).namedtuples()}
        return {mid: (message, threads[message.thread_id]) for mid, message in messages.items()}

    @staticmethod
    def _search_scope(tag: str | None) -> tuple[str, tuple]:
        if not tag:
            return "", ()
        return (
            "AND thread.id IN (SELECT thread_id FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id "
            "WHERE tag.name = ?)",
            (tag,),
        )
