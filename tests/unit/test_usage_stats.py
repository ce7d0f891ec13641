"""Usage sums on the real store: per day, model, thread and purpose they add up to the rows; the dashboard's figures."""

from __future__ import annotations

from datetime import date

import pytest
from history import OTHER, STARTER, build_history, bulk_usage, record_usage

from app.core.insights import StatsKey
from app.store import usage_stats


@pytest.fixture
def calls(store):
    return record_usage(store, build_history(store))


@pytest.mark.parametrize("key", list(StatsKey))
def test_every_grouping_adds_up_to_the_rows(store, calls, key):
    totals = store.usage_totals(key)
    assert sum(t.calls for t in totals) == len(calls)
    assert sum(t.prompt_tokens for t in totals) == sum(c.usage.prompt_tokens for c in calls)
    assert sum(t.completion_tokens for t in totals) == sum(c.usage.completion_tokens for c in calls)
    assert sum(t.cached_tokens for t in totals) == sum(c.usage.cached_tokens for c in calls)
    assert sum(t.seconds for t in totals) == pytest.approx(sum(c.seconds for c in calls))


def test_groups_and_means(store, calls):
    by_day = store.usage_totals(StatsKey.DAY)
    assert [(t.key, t.calls) for t in by_day] == [("2026-11-28", 2), ("2026-11-29", 2), ("2026-11-30", 1)]
    by_model = {t.key: t for t in store.usage_totals(StatsKey.MODEL)}
    assert by_model[STARTER].mean_ttft_s == pytest.approx(0.15)
    assert by_model["all-minilm-l6-v2"].mean_ttft_s is None  # an embedding batch has no first token
    assert next(iter(by_model)) == OTHER  # most tokens first
    by_thread = {t.key: t.calls for t in store.usage_totals(StatsKey.THREAD)}
    assert by_thread == {str(calls[0].thread_id): 3, str(calls[-1].thread_id): 1, None: 1}  # None: the embedding
    assert [(t.key, t.calls) for t in store.usage_totals(StatsKey.PURPOSE, since=date(2026, 11, 29))] == [
        ("turn", 2), ("embedding", 1)
    ]
    assert store.usage_totals(StatsKey.DAY, since=date(2027, 1, 1)) == []


def test_dashboard_figures(store, calls):
    board = store.dashboard()
    assert sum(day.calls for day in board.per_day) == len(calls)
    assert [thread.calls for thread, _title in board.per_thread] == [3, 1]
    assert board.per_thread[0][1] == "Recipes"
    assert board.cache_hit_share == pytest.approx(260 / (100 + 50 + 300))  # local model calls, embeddings aside
    assert board.local_share == pytest.approx(585 / 604)
    assert board.hosted_calls_by_provider == [("acme", 1)]
    assert board.embedding_seconds == pytest.approx(0.5)
    assert board.ratings == {"up": 3, "down": 2}
    ttft = {d.model: d for d in board.ttft}
    assert (ttft[STARTER].count, ttft[STARTER].p50, ttft[STARTER].maximum) == (2, 0.1, 0.2)
    assert "all-minilm-l6-v2" not in ttft


def test_dashboard_on_an_empty_history(store):
    board = store.dashboard()
    assert (board.per_day, board.cache_hit_share, board.local_share, board.embedding_seconds) == ([], None, None, 0)


def test_percentiles_at_scale_match_a_sort_in_python(store):
    bulk_usage(store, 5000, threads=20)
    board = store.dashboard()
    for spread in board.tokens_per_s:
        values = sorted(
            row[0]
            for row in store.db.execute_sql(
                "SELECT tokens_per_s FROM usage_event WHERE model = ? AND purpose != 'embedding'", (spread.model,)
            )
        )
        assert spread.count == len(values)
        assert spread.p50 == values[-(-len(values) // 2) - 1]  # nearest rank: ceil(n / 2)-th value
        assert spread.p90 == values[-(-len(values) * 9 // 10) - 1]
        assert spread.p25 == values[-(-len(values) // 4) - 1]
        assert spread.maximum == values[-1]
    assert sum(day.calls for day in board.per_day) == 5000


def test_spreads_beyond_the_sample_size_are_read_from_an_even_sample(store, monkeypatch):
    bulk_usage(store, 6000, threads=20)
    exact = {spread.model: spread for spread in store.dashboard().ttft}
    monkeypatch.setattr(usage_stats, "SPREAD_SAMPLE", 1000)
    sampled = {spread.model: spread for spread in store.dashboard().ttft}
    assert sampled.keys() == exact.keys()
    for model, spread in sampled.items():
        assert spread.count < exact[model].count  # about one row in six
        width = exact[model].p90 - exact[model].p10
        for name in ("p10", "p25", "p50", "p75", "p90"):
            assert abs(getattr(spread, name) - getattr(exact[model], name)) < 0.1 * width
