"""Long-term memories: their text (with FTS5), vectors (sqlite-vec), sources, tombstones, and the memories each thread
recalled at its start. Forgetting overwrites what it deletes (secure_delete, merged keyword index, emptied log)."""

from __future__ import annotations

from datetime import timedelta

from app.core.errors import InvalidInput, NotFound
from app.core.memory import Memory, MemorySource, MemoryStatus
from app.core.routing import PrivacyRule
from app.store.database import Database, _iso, _parse, nearest_vectors_sql
from app.store.message_search import RERANK_CANDIDATES

_STRICTNESS = [PrivacyRule.LOCAL_ONLY, PrivacyRule.ASK, PrivacyRule.ALLOWED]
_COLUMNS = "id, text, status, privacy, created_at, updated_at, last_used_at, uses, conflicts_with"


def strictest(*rules: PrivacyRule) -> PrivacyRule:
    return min(rules, key=_STRICTNESS.index)


class MemoryRecords(Database):
    def add_memory(
        self,
        text: str,
        *,
        status: MemoryStatus,
        privacy: PrivacyRule,
        sources: list[MemorySource] = (),
        conflicts_with: int | None = None,
        vector: bytes | None = None,
        vector_model: str | None = None,
    ) -> Memory:
        if not text.strip():
            raise InvalidInput("a memory cannot be empty")
        now = _iso(self._clock())
        with self.writing():
            cursor = self.db.execute_sql(
                "INSERT INTO memory (text, status, privacy, conflicts_with, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (text, str(status), str(privacy), conflicts_with, now, now),
            )
            memory_id = cursor.connection.last_insert_rowid()
            self._insert_sources(memory_id, sources)
            if vector is not None:
                self._replace_memory_vector(memory_id, vector, vector_model)
        return self.get_memory(memory_id)

    def merge_sources(self, memory_id: int, sources: list[MemorySource], privacy: PrivacyRule) -> Memory:
        """A duplicate of `memory_id` was found: its sources join the memory's, and the stricter privacy wins."""
        with self.writing():
            memory = self.get_memory(memory_id)
            self._insert_sources(memory_id, sources)
            self.db.execute_sql(
                "UPDATE memory SET privacy = ?, updated_at = ? WHERE id = ?",
                (str(strictest(memory.privacy, privacy)), _iso(self._clock()), memory_id),
            )
        return self.get_memory(memory_id)

    def get_memory(self, memory_id: int) -> Memory:
        row = self.db.execute_sql(f"SELECT {_COLUMNS} FROM memory WHERE id = ?", (memory_id,)).fetchone()
        if row is None:
            raise NotFound(f"no memory with id {memory_id}")
        return self._memories([row])[0]

    def memories(self, status: MemoryStatus | None = None, ids: list[int] | None = None) -> list[Memory]:
        """Newest first; only `status` and only `ids` (in that order) when given."""
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(str(status))
        if ids is not None:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            params += ids
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute_sql(f"SELECT {_COLUMNS} FROM memory {where} ORDER BY id DESC", params).fetchall()
        found = self._memories(rows)
        if ids is None:
            return found
        by_id = {memory.id: memory for memory in found}
        return [by_id[i] for i in ids if i in by_id]

    def update_memory(
        self,
        memory_id: int,
        *,
        text: str | None = None,
        status: MemoryStatus | None = None,
        privacy: PrivacyRule | None = None,
        vector: bytes | None = None,
        vector_model: str | None = None,
    ) -> Memory:
        """Change a memory; approving it settles any contradiction it was waiting on."""
        if text is not None and not text.strip():
            raise InvalidInput("a memory cannot be empty; forget it instead")
        with self.writing():
            self.get_memory(memory_id)
            if text is not None:
                self.db.execute_sql("UPDATE memory SET text = ? WHERE id = ?", (text, memory_id))
                if vector is not None:
                    self._replace_memory_vector(memory_id, vector, vector_model)
                else:
                    self._delete_memory_vector(memory_id)
            if status is not None:
                self.db.execute_sql("UPDATE memory SET status = ? WHERE id = ?", (str(status), memory_id))
                if status == MemoryStatus.APPROVED:
                    self.db.execute_sql("UPDATE memory SET conflicts_with = NULL WHERE id = ?", (memory_id,))
            if privacy is not None:
                self.db.execute_sql("UPDATE memory SET privacy = ? WHERE id = ?", (str(privacy), memory_id))
            self.db.execute_sql("UPDATE memory SET updated_at = ? WHERE id = ?", (_iso(self._clock()), memory_id))
        return self.get_memory(memory_id)

    def note_memories_used(self, memory_ids: list[int]) -> None:
        if not memory_ids:
            return
        with self.writing():
            self.db.execute_sql(
                f"UPDATE memory SET uses = uses + 1, last_used_at = ? WHERE id IN ({','.join('?' * len(memory_ids))})",
                [_iso(self._clock()), *memory_ids],
            )

    def forget_memory(self, memory_id: int, *, digest: str) -> list[int]:
        """Remove a memory for good and leave only a tombstone (`digest` per source message); returns the threads
        that recalled it (their saved model states hold it too).

        The store's secure_delete overwrites deleted rows with zeros rather than leaving them in free pages (vec0
        zeroes a deleted vector's slot in its chunk); the keyword index is merged so no old segment keeps its words;
        the write-ahead log is checkpointed and emptied."""
        with self.writing():
            memory = self.get_memory(memory_id)
            threads = [
                row[0]
                for row in self.db.execute_sql(
                    "SELECT thread_id FROM thread_recall WHERE memory_id = ?", (memory_id,)
                )
            ]
            now = _iso(self._clock())
            for source in memory.sources:
                self.db.execute_sql(
                    "INSERT OR IGNORE INTO memory_tombstone (digest, message_id, created_at) VALUES (?, ?, ?)",
                    (digest, source.message_id, now),
                )
            self._delete_memory_vector(memory_id)
            self.db.execute_sql("DELETE FROM memory WHERE id = ?", (memory_id,))
            self.db.execute_sql("INSERT INTO memory_fts(memory_fts) VALUES ('optimize')")
        self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: a reader elsewhere may hold the log
        return threads

    def is_tombstoned(self, digest: str, message_ids: list[int]) -> bool:
        """Whether the user forgot or rejected this fact as it came from any of these messages."""
        if not message_ids:
            return False
        return bool(
            self.db.execute_sql(
                f"SELECT 1 FROM memory_tombstone WHERE digest = ? AND message_id IN ({','.join('?' * len(message_ids))})",
                [digest, *message_ids],
            ).fetchone()
        )

    # Ranking (for recall and for finding similar memories)

    def memory_keyword_ranking(self, match: str, *, limit: int) -> list[int]:
        return [
            row[0]
            for row in self.db.execute_sql(
                "SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rank LIMIT ?", (match, limit)
            )
        ]

    def memory_source_ranking(self, match: str, *, limit: int) -> list[int]:
        """Approved memories ranked by how well their best source message matches `match` (BM25): a memory is
        found by the words of what the user said, not only by the few words the model kept."""
        return [
            row[0]
            for row in self.db.execute_sql(
                """SELECT s.memory_id FROM message_fts f JOIN memory_source s ON s.message_id = f.rowid
                   JOIN memory m ON m.id = s.memory_id
                   WHERE message_fts MATCH ? AND m.status = 'approved'
                   GROUP BY s.memory_id ORDER BY min(f.rank) LIMIT ?""",
                (match, limit),
            )
        ]

    def memory_source_vector_ranking(
        self, vector: bytes, *, model: str, limit: int, max_distance: float
    ) -> list[int]:
        """Approved memories ranked by how near in meaning their nearest source message is to `vector` (the
        messages' vectors made by `model`, within cosine `max_distance`): found by what the user said, in other words
        than the query's."""
        rows = self.db.execute_sql(
            f"""{nearest_vectors_sql("message")}
                SELECT s.memory_id FROM ranked JOIN memory_source s ON s.message_id = ranked.message_id
                JOIN memory m ON m.id = s.memory_id
                WHERE m.status = 'approved' AND ranked.distance <= ?
                GROUP BY s.memory_id ORDER BY min(ranked.distance) LIMIT ?""",
            (vector, max(RERANK_CANDIDATES, limit * 4), model, vector, max_distance, limit),
        )
        return [row[0] for row in rows]

    def sourced_among(self, memory_ids: set[int]) -> set[int]:
        """Those of `memory_ids` that came from messages (the others were added by hand or by the remember tool)."""
        if not memory_ids:
            return set()
        marks = ",".join("?" * len(memory_ids))
        rows = self.db.execute_sql(
            f"SELECT DISTINCT memory_id FROM memory_source WHERE memory_id IN ({marks})", tuple(memory_ids)
        )
        return {row[0] for row in rows}

    def memory_vector_ranking(self, vector: bytes, *, limit: int) -> list[tuple[int, float]]:
        """(memory id, cosine distance), nearest first."""
        return [
            (row[0], row[1])
            for row in self.db.execute_sql(
                "SELECT memory_id, distance FROM memory_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                (vector, limit),
            )
        ]

    def memory_vector(self, memory_id: int) -> bytes | None:
        row = self.db.execute_sql("SELECT embedding FROM memory_vec WHERE memory_id = ?", (memory_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def memories_without_vector(self, model: str) -> list[Memory]:
        rows = self.db.execute_sql(
            f"SELECT {_COLUMNS} FROM memory WHERE vector_model IS NULL OR vector_model != ? ORDER BY id", (model,)
        ).fetchall()
        return self._memories(rows)

    def store_memory_vector(self, memory_id: int, vector: bytes, model: str) -> None:
        with self.writing():
            self._replace_memory_vector(memory_id, vector, model)

    # What threads recalled, and how far extraction has read them

    def thread_recall(self, thread_id: int) -> list[tuple[int, str]]:
        """The (memory id, text) a thread recalled at its start, in prompt order."""
        return [
            (row[0], row[1])
            for row in self.db.execute_sql(
                "SELECT memory_id, text FROM thread_recall WHERE thread_id = ? ORDER BY position", (thread_id,)
            )
        ]

    def memory_scan_position(self, thread_id: int) -> int:
        row = self.db.execute_sql("SELECT up_to_message_id FROM memory_scan WHERE thread_id = ?", (thread_id,)).fetchone()
        return row[0] if row else 0

    def set_memory_scan_position(self, thread_id: int, up_to_message_id: int) -> None:
        with self.writing():
            self.db.execute_sql(
                "INSERT INTO memory_scan (thread_id, up_to_message_id, scanned_at) VALUES (?, ?, ?) "
                "ON CONFLICT(thread_id) DO UPDATE SET up_to_message_id = excluded.up_to_message_id, "
                "scanned_at = excluded.scanned_at",
                (thread_id, up_to_message_id, _iso(self._clock())),
            )

    def threads_to_scan(self, *, idle_for: timedelta, active_within: timedelta, limit: int) -> list[int]:
        """Live, not incognito threads untouched for `idle_for` but active within `active_within`, that have user
        messages extraction has not read; least recently active first."""
        return [
            row[0]
            for row in self.db.execute_sql(
                """SELECT t.id FROM thread t WHERE t.deleted_at IS NULL AND t.incognito = 0 AND t.updated_at < ?
                   AND t.updated_at > ? AND EXISTS (SELECT 1 FROM message m WHERE m.thread_id = t.id AND m.role = 'user'
                       AND m.id > ifnull((SELECT up_to_message_id FROM memory_scan s WHERE s.thread_id = t.id), 0))
                   ORDER BY t.updated_at LIMIT ?""",
                (_iso(self._clock() - idle_for), _iso(self._clock() - active_within), limit),
            )
        ]

    def _insert_sources(self, memory_id: int, sources: list[MemorySource]) -> None:
        for source in sources:
            self.db.execute_sql(
                "INSERT OR IGNORE INTO memory_source (memory_id, message_id, thread_id) VALUES (?, ?, ?)",
                (memory_id, source.message_id, source.thread_id),
            )

    def _replace_memory_vector(self, memory_id: int, vector: bytes, model: str | None) -> None:
        self._delete_memory_vector(memory_id)
        self.db.execute_sql("INSERT INTO memory_vec (memory_id, embedding) VALUES (?, ?)", (memory_id, vector))
        self.db.execute_sql("UPDATE memory SET vector_model = ? WHERE id = ?", (model, memory_id))

    def _delete_memory_vector(self, memory_id: int) -> None:
        self.db.execute_sql("DELETE FROM memory_vec WHERE memory_id = ?", (memory_id,))  # vec0 zeroes its slot
        self.db.execute_sql("UPDATE memory SET vector_model = NULL WHERE id = ?", (memory_id,))

    def _memories(self, rows: list[tuple]) -> list[Memory]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        sources: dict[int, list[MemorySource]] = {}
        for memory_id, thread_id, message_id in self.db.execute_sql(
            f"SELECT memory_id, thread_id, message_id FROM memory_source WHERE memory_id IN ({','.join('?' * len(ids))}) "
            "ORDER BY message_id",
            ids,
        ):
            sources.setdefault(memory_id, []).append(MemorySource(thread_id, message_id))
        return [_memory(row, sources.get(row[0], ())) for row in rows]


def _memory(row: tuple, sources: list[MemorySource]) -> Memory:
    return Memory(
        id=row[0], text=row[1], status=MemoryStatus(row[2]), privacy=PrivacyRule(row[3]),
        created_at=_parse(row[4]), updated_at=_parse(row[5]),
        last_used_at=_parse(row[6]) if row[6] else None, uses=row[7], conflicts_with=row[8], sources=tuple(sources),
    )  # fmt: skip
