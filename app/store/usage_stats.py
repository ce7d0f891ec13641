"""Usage rows summed: `threadloom stats` and the Insights window's figures, in SQL over `usage_event` (indexed by
`created_at`), so 100,000 rows take milliseconds rather than a pass through Python."""

from __future__ import annotations

from datetime import date

from app.core.insights import Dashboard, Distribution, StatsKey, UsageTotals
from app.store.database import Database

# The SQL expression each key sums by; the day is the UTC date the row was written.
_KEY_SQL = {
    StatsKey.DAY: "substr(created_at, 1, 10)",
    StatsKey.MODEL: "model",
    StatsKey.THREAD: "thread_id",
    StatsKey.PURPOSE: "purpose",
}


def _totals_sql(of: str = "") -> str:
    """The sums a `UsageTotals` holds, over the usage rows of the query (`of`: their table's alias and a dot)."""
    return f"""count(*), coalesce(sum({of}prompt_tokens), 0), coalesce(sum({of}completion_tokens), 0),
        coalesce(sum({of}cached_tokens), 0), coalesce(sum({of}seconds), 0.0), avg({of}ttft_s), avg({of}tokens_per_s)"""


TOP_THREADS = 10
PERCENTILES = (10, 25, 50, 75, 90)  # those of a `Distribution`


def _since(since: date | None, column: str = "created_at") -> tuple[str, tuple]:
    return ("", ()) if since is None else (f"AND {column} >= ?", (since.isoformat(),))


class UsageStats(Database):
    def usage_totals(self, by: StatsKey, *, since: date | None = None) -> list[UsageTotals]:
        """Usage rows summed per `by` (days oldest first; other keys by tokens used, most first)."""
        key = _KEY_SQL[StatsKey(by)]
        where, params = _since(since)
        order = "key" if by == StatsKey.DAY else "sum(prompt_tokens) + sum(completion_tokens) DESC, key"
        rows = self.db.execute_sql(
            f"SELECT {key} AS key, {_totals_sql()} FROM usage_event WHERE 1 {where} GROUP BY key ORDER BY {order}", params
        )
        return [_totals(row) for row in rows]

    def dashboard(self, *, since: date | None = None) -> Dashboard:
        where, params = _since(since)
        sql = self.db.execute_sql
        thread_where, _ = _since(since, "u.created_at")
        per_thread = [
            (_totals(row[:8]), row[8] or "")
            for row in sql(
                f"""SELECT u.thread_id, {_totals_sql("u.")}, t.title
                    FROM usage_event u LEFT JOIN thread t ON t.id = u.thread_id
                    WHERE u.thread_id IS NOT NULL {thread_where}
                    GROUP BY u.thread_id ORDER BY sum(u.prompt_tokens) + sum(u.completion_tokens) DESC LIMIT ?""",
                (*params, TOP_THREADS),
            )
        ]
        local_turns = sql(
            f"""SELECT sum(cached_tokens), sum(prompt_tokens) FROM usage_event
                WHERE backend = 'local' AND purpose != 'embedding' {where}""",
            params,
        ).fetchone()
        by_backend = dict(
            sql(
                f"""SELECT backend, sum(prompt_tokens + completion_tokens) FROM usage_event WHERE 1 {where}
                    GROUP BY backend""",
                params,
            ).fetchall()
        )
        all_tokens = sum(value or 0 for value in by_backend.values())
        return Dashboard(
            per_day=self.usage_totals(StatsKey.DAY, since=since),
            per_model=self.usage_totals(StatsKey.MODEL, since=since),
            per_thread=per_thread,
            ttft=self._distribution("ttft_s", where, params),
            tokens_per_s=self._distribution("tokens_per_s", where, params),
            cache_hit_share=(local_turns[0] or 0) / local_turns[1] if local_turns[1] else None,
            local_share=(by_backend.get("local") or 0) / all_tokens if all_tokens else None,
            hosted_calls_by_provider=sql(
                f"""SELECT provider, count(*) FROM hosted_call WHERE 1 {where} GROUP BY provider
                    ORDER BY count(*) DESC, provider""",
                params,
            ).fetchall(),
            embedding_seconds=sql(
                f"SELECT coalesce(sum(seconds), 0.0) FROM usage_event WHERE purpose = 'embedding' {where}", params
            ).fetchone()[0],
            ratings=dict(sql("SELECT value, count(*) FROM rating GROUP BY value").fetchall()),
        )

    def _distribution(self, column: str, where: str, params: tuple) -> list[Distribution]:
        """Nearest-rank percentiles of `column` per model, over the model calls (not embeddings) that measured it."""
        rows = self.db.execute_sql(
            f"""WITH ranked AS (
                    SELECT model, {column} AS value,
                        row_number() OVER (PARTITION BY model ORDER BY {column}) AS rank,
                        count(*) OVER (PARTITION BY model) AS n
                    FROM usage_event
                    WHERE {column} IS NOT NULL AND purpose != 'embedding' AND model IS NOT NULL {where}
                )
                SELECT model, n, {", ".join(f"min(CASE WHEN rank * 100 >= {p} * n THEN value END)" for p in PERCENTILES)},
                    max(value)
                FROM ranked GROUP BY model ORDER BY n DESC, model""",
            params,
        )
        return [Distribution(*row) for row in rows]


def _totals(row: tuple) -> UsageTotals:
    key = row[0]
    return UsageTotals(None if key is None else str(key), *row[1:8])
