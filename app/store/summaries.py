"""Summaries that fold a thread's older turns so it fits the model's window (the messages are kept)."""

from __future__ import annotations

from app.core.domain import Message, ThreadSummary
from app.core.errors import InvalidInput
from app.store.database import Database, _iso, _parse


class Summaries(Database):
    """Each summary folds the branch up to one message; the newest on a branch is in force."""

    def add_summary(self, thread_id: int, *, up_to_message_id: int, content: str) -> ThreadSummary:
        now = _iso(self._clock())
        with self.writing():
            cursor = self.db.execute_sql(
                "INSERT INTO thread_summary (thread_id, up_to_message_id, content, created_at) VALUES (?, ?, ?, ?)",
                (thread_id, up_to_message_id, content, now),
            )
            summary_id = cursor.connection.last_insert_rowid()
        return ThreadSummary(summary_id, thread_id, up_to_message_id, content, _parse(now))

    def summaries(self, thread_id: int) -> list[ThreadSummary]:
        """Summaries in force (not undone), oldest first."""
        rows = self.db.execute_sql(
            "SELECT id, thread_id, up_to_message_id, content, created_at FROM thread_summary "
            "WHERE thread_id = ? AND undone_at IS NULL ORDER BY id",
            (thread_id,),
        )
        return [ThreadSummary(r[0], r[1], r[2], r[3], _parse(r[4])) for r in rows]

    def summary_on_branch(self, thread_id: int, path: list[Message]) -> ThreadSummary | None:
        """The newest summary in force whose last folded message lies on `path` (a branch, root first)."""
        by_last_message = {s.up_to_message_id: s for s in self.summaries(thread_id)}
        on_path = [by_last_message[m.id] for m in path if m.id in by_last_message]
        return on_path[-1] if on_path else None

    def edit_summary(self, summary_id: int, content: str) -> None:
        if not content.strip():
            raise InvalidInput("a summary cannot be empty; undo it instead")
        with self.writing():
            self.db.execute_sql("UPDATE thread_summary SET content = ? WHERE id = ?", (content, summary_id))

    def undo_summary(self, summary_id: int) -> None:
        """The thread's prompt goes back to the original messages (which were never removed)."""
        with self.writing():
            self.db.execute_sql(
                "UPDATE thread_summary SET undone_at = ? WHERE id = ?", (_iso(self._clock()), summary_id)
            )
