"""Insights over the history for the window and the CLI: ratings of replies and the usage dashboard's figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.core.insights import Dashboard, Rating, RatingValue, StatsKey, UsageTotals
from app.services.changes import ChangeBroadcast, of_thread
from app.store import Store


class InsightsService:
    def __init__(self, store: Store, *, changes: ChangeBroadcast) -> None:
        self._store = store
        self._changes = changes

    def rate(self, message_id: int, value: RatingValue | None, *, note: str | None = None) -> Rating | None:
        """Rate a reply (None clears it). Publishes a thread-list change (`threads list --rated` filters on it),
        not a message change: the rated card shows its own new state and nothing else needs redrawing."""
        rating = self._store.rate(message_id, value, note=note)
        self._changes.publish(of_thread(self._store.get_message(message_id).thread_id))
        return rating

    def ratings(self, message_ids: Iterable[int]) -> dict[int, Rating]:
        return self._store.ratings(message_ids)

    def usage_totals(self, by: StatsKey, *, since: date | None = None) -> list[UsageTotals]:
        return self._store.usage_totals(by, since=since)

    def dashboard(self, *, since: date | None = None) -> Dashboard:
        """Every figure of the Insights window; call it off the GUI thread."""
        return self._store.dashboard(since=since)
