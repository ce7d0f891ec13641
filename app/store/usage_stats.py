"""Usage rows summed: `threadloom stats` and the Insights window's figures, in SQL over `usage_event` (indexed by
`created_at`), so 100,000 rows take milliseconds rather than a pass through Python."""

from __future__ import annotations

from datetime import date

from app.core.insights import Dashboard, Distribution, StatsKey, UsageTotals
from app.store.database import Database

DAY = "substr(created_at, 1, 10)"  # the UTC day a row was written; the covering indexes of 0016 start with it
# The SQL expression each key sums by: each leads one of those indexes, except purpose (a handful of values).
_KEY_SQL = {StatsKey.DAY: DAY, StatsKey.MODEL: "model", StatsKey.THREAD: "thread_id", StatsKey.PURPOSE: "purpose"}


def _totals_sql(of: str = "") -> str:
    """The sums a `UsageTotals` holds, over the usage rows of the query (`of`: their table's alias and a dot)."""
    return f"""count(*), coalesce(sum({of}prompt_tokens), 0), coalesce(sum({of}completion_tokens), 0),
        coalesce(sum({of}cached_tokens), 0), coalesce(sum({of}seconds), 0.0), avg({of}ttft_s), avg({of}tokens_per_s)"""


TOP_THREADS = 10
PERCENTILES = (10, 25, 50, 75, 90)  # those of a `Distribution`
SPREAD_SAMPLE = 5_000  # timed calls at most that a spread is read from (an even sample beyond that)


def _since(since: date | None) -> tuple[str, tuple]:
    return ("", ()) if since is None else (f"AND {DAY} >= ?", (since.isoformat(),))


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
        busiest = [
            (_totals(row[:8]), row[8] or "")
            for row in sql(
                f"""WITH busiest AS (
                        SELECT thread_id, {_totals_sql()} FROM usage_event INDEXED BY usage_event_by_thread
                        WHERE thread_id IS NOT NULL {where}
                        GROUP BY thread_id ORDER BY sum(prompt_tokens) + sum(completion_tokens) DESC LIMIT ?
                    )
                    SELECT busiest.*, thread.title FROM busiest LEFT JOIN thread ON thread.id = busiest.thread_id""",
                (*params, TOP_THREADS),
            )
        ]
        per_thread = sorted(busiest, key=lambda each: -(each[0].prompt_tokens + each[0].completion_tokens))
        # One plain scan for the shares: an index would cost a table lookup per row here.
        cached, local_prompt, local_tokens, all_tokens, embedding_seconds = sql(
            f"""SELECT sum(CASE WHEN backend = 'local' AND purpose != 'embedding' THEN cached_tokens ELSE 0 END),
                    sum(CASE WHEN backend = 'local' AND purpose != 'embedding' THEN prompt_tokens ELSE 0 END),
                    sum(CASE WHEN backend = 'local' THEN prompt_tokens + completion_tokens ELSE 0 END),
                    sum(prompt_tokens + completion_tokens),
                    sum(CASE WHEN purpose = 'embedding' THEN coalesce(seconds, 0.0) ELSE 0.0 END)
                FROM usage_event NOT INDEXED WHERE 1 {where}""",
            params,
        ).fetchone()
        per_model = self.usage_totals(StatsKey.MODEL, since=since)
        timed_calls = sum(each.calls for each in per_model)
        return Dashboard(
            per_day=self.usage_totals(StatsKey.DAY, since=since),
            per_model=per_model,
            per_thread=per_thread,
            ttft=self._distribution("ttft_s", where, params, calls=timed_calls),
            tokens_per_s=self._distribution("tokens_per_s", where, params, calls=timed_calls),
            cache_hit_share=(cached or 0) / local_prompt if local_prompt else None,
            local_share=(local_tokens or 0) / all_tokens if all_tokens else None,
            hosted_calls_by_provider=sql(
                f"""SELECT provider, count(*) FROM hosted_call WHERE 1 {where} GROUP BY provider
                    ORDER BY count(*) DESC, provider""",
                params,
            ).fetchall(),
            embedding_seconds=embedding_seconds or 0.0,
            ratings=dict(sql("SELECT value, count(*) FROM rating GROUP BY value").fetchall()),
        )

    def _distribution(self, column: str, where: str, params: tuple, *, calls: int) -> list[Distribution]:
        """Nearest-rank percentiles of `column` per model, over the model calls (not embeddings) that measured it.
        Beyond `SPREAD_SAMPLE` of the period's `calls`, from every k-th row by id (an even sample: a percentile
        read from 5,000 calls is within about a percentile point of the exact one); `count` is then the sample's."""
        stride = max(1, -(-calls // SPREAD_SAMPLE))
        rows = self.db.execute_sql(
            f"""WITH ranked AS (
                    SELECT model, {column} AS value,
                        row_number() OVER (PARTITION BY model ORDER BY {column}) AS rank,
                        count(*) OVER (PARTITION BY model) AS n
                    FROM usage_event NOT INDEXED
                    WHERE {column} IS NOT NULL AND purpose != 'embedding' AND model IS NOT NULL AND id % ? = 0 {where}
                )
                SELECT model, n, {", ".join(f"min(CASE WHEN rank * 100 >= {p} * n THEN value END)" for p in PERCENTILES)},
                    max(value)
                FROM ranked GROUP BY model ORDER BY n DESC, model""",
            (stride, *params),
        )
        return [Distribution(*row) for row in rows]


def _totals(row: tuple) -> UsageTotals:
    key = row[0]
    return UsageTotals(None if key is None else str(key), *row[1:8])
