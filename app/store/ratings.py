"""Ratings of replies: 👍 or 👎 with an optional note, one per reply; clearing deletes it."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.domain import Role
from app.core.errors import InvalidInput
from app.core.insights import MAX_NOTE_LENGTH, Rating, RatingValue
from app.store.database import Database, _iso, _parse


class Ratings(Database):
    def rate(self, message_id: int, value: RatingValue | None, *, note: str | None = None) -> Rating | None:
        """Rate a reply (`None` clears its rating); returns the rating now stored."""
        message = self.get_message(message_id)
        if message.role != Role.ASSISTANT:
            raise InvalidInput(f"message {message_id} is a {message.role} message: only replies can be rated")
        note = (note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"a rating's note is at most {MAX_NOTE_LENGTH} characters (this one has {len(note)})")
        with self.writing():
            if value is None:
                self.db.execute_sql("DELETE FROM rating WHERE message_id = ?", (message_id,))
            else:
                self.db.execute_sql(
                    "INSERT INTO rating (message_id, value, note, rated_at) VALUES (?, ?, ?, ?) ON CONFLICT(message_id)"
                    " DO UPDATE SET value = excluded.value, note = excluded.note, rated_at = excluded.rated_at",
                    (message_id, str(RatingValue(value)), note, _iso(self._clock())),
                )
        return self.ratings([message_id]).get(message_id)

    def ratings(self, message_ids: Iterable[int] | None = None) -> dict[int, Rating]:
        """The ratings of these messages (all ratings if None), by message id."""
        if message_ids is None:
            rows = self.db.execute_sql("SELECT message_id, value, note, rated_at FROM rating")
        else:
            ids = list(message_ids)
            if not ids:
                return {}
            rows = self.db.execute_sql(
                "SELECT message_id, value, note, rated_at FROM rating WHERE message_id IN "
                "(SELECT value FROM json_each(?))",
                (str(ids),),
            )
        return {row[0]: Rating(row[0], RatingValue(row[1]), row[2], _parse(row[3])) for row in rows}
