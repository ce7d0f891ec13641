"""Values of the insights over the history: ratings of replies, usage summed by a key, the dashboard's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RatingValue(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Rating:
    message_id: int
    value: RatingValue
    note: str | None
    rated_at: datetime


MAX_NOTE_LENGTH = 2000


class StatsKey(StrEnum):
    """What `threadloom stats` sums usage rows by."""

    DAY = "day"
    MODEL = "model"
    THREAD = "thread"
    PURPOSE = "purpose"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Usage rows summed under one key (a day, a model, a thread id, a purpose; None: not known)."""

    key: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    seconds: float  # wall time of the calls that measured it
    mean_ttft_s: float | None  # over the calls that measured it
    mean_tokens_per_s: float | None


@dataclass(frozen=True, slots=True)
class Distribution:
    """A per-model spread of one timing (TTFT or tokens/s) over the calls that measured it."""

    model: str
    count: int
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    maximum: float


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the Insights window shows, read in one go off the GUI thread."""

    per_day: list[UsageTotals]
    per_model: list[UsageTotals]
    per_thread: list[tuple[UsageTotals, str]]  # the busiest threads with their titles
    ttft: list[Distribution]
    tokens_per_s: list[Distribution]
    cache_hit_share: float | None  # prompt tokens of local turns read from saved state; None: no local turn
    local_share: float | None  # of all tokens, the share local calls used; None: no call
    hosted_calls_by_provider: list[tuple[str, int]]
    embedding_seconds: float
    ratings: dict[str, int]  # "up"/"down" -> how many replies
