"""A history to test insights on: a thread tree with branches and ratings, an incognito thread, a thread that went to
a hosted model, one cut by an interrupted reply, and usage rows; plus bulk usage rows for the dashboard at scale."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.domain import CallPurpose, MessageStatus, ModelCall, Role, Timings, Usage
from app.core.insights import RatingValue
from app.core.routing import Provider, RouteReason
from app.store import Store
from app.store.routing import RoutingStore

STARTER = "smollm2-135m-instruct"
OTHER = "other-model"


@dataclass
class History:
    recipes: int  # branches: u1 -> a1 (down), a1c (unrated, not shown), a1b (up, shown) -> u2 -> a2; edit u1e -> a1e
    incognito: int
    hosted: int
    interrupted: int  # u -> a (complete) -> u2 -> a2 (interrupted)
    shown_vs_down: int  # u -> e1 (down), e2 (shown, unrated)
    ids: dict[str, int]


def build_history(store: Store) -> History:
    ids: dict[str, int] = {}

    def add(name: str, thread_id: int, parent: str | None, role: Role, content: str, **extra) -> int:
        message = store.add_message(
            thread_id, parent_id=ids[parent] if parent else None, role=role, content=content, **extra
        )
        ids[name] = message.id
        return message.id

    recipes = store.create_thread("Recipes", system_prompt="You are a patient chef.")
    store.add_tags(recipes.id, ["cooking"])
    add("u1", recipes.id, None, Role.USER, "How do I boil an egg?")
    add("a1", recipes.id, "u1", Role.ASSISTANT, "Boil it.", model=STARTER)
    add("a1c", recipes.id, "u1", Role.ASSISTANT, "Eggs are laid by hens.", model=OTHER)
    add("a1b", recipes.id, "u1", Role.ASSISTANT, "Simmer it for 7 minutes, then cool it in cold water.", model=STARTER)
    add("u2", recipes.id, "a1b", Role.USER, "And a soft one?")
    add("a2", recipes.id, "u2", Role.ASSISTANT, "Five minutes for a runny yolk.", model=OTHER)
    add("u1e", recipes.id, None, Role.USER, "How do I poach an egg?")
    add("a1e", recipes.id, "u1e", Role.ASSISTANT, "Swirl the water first.", model=STARTER)
    store.set_current_leaf(recipes.id, ids["a2"])
    store.rate(ids["a1"], RatingValue.DOWN, note="too short")
    store.rate(ids["a1b"], RatingValue.UP)

    incognito = store.create_thread("Secret", incognito=True)
    add("s1", incognito.id, None, Role.USER, "A private question")
    add("s2", incognito.id, "s1", Role.ASSISTANT, "A private answer", model=STARTER)
    store.rate(ids["s2"], RatingValue.UP)

    hosted = store.create_thread("Went out")
    add("h1", hosted.id, None, Role.USER, "Ask the big model")
    add("h2", hosted.id, "h1", Role.ASSISTANT, "The big model answers", model="acme/big")
    store.rate(ids["h2"], RatingValue.UP)
    RoutingStore(store).record_hosted_call(
        thread_id=hosted.id, message_id=ids["h2"], provider=Provider("acme", "https://acme.test/v1", "big", datetime.now(UTC)),
        model="big", reason=RouteReason.THREAD, prompt_tokens=12,
    )  # fmt: skip

    interrupted = store.create_thread("Cut short")
    add("i1", interrupted.id, None, Role.USER, "Count to three")
    add("i2", interrupted.id, "i1", Role.ASSISTANT, "One, two, three.", model=STARTER)
    add("i3", interrupted.id, "i2", Role.USER, "Now to a hundred")
    add("i4", interrupted.id, "i3", Role.ASSISTANT, "One, two", model=STARTER, status=MessageStatus.INTERRUPTED)

    shown_vs_down = store.create_thread("Shown over down")
    add("e0", shown_vs_down.id, None, Role.USER, "Name a colour")
    add("e1", shown_vs_down.id, "e0", Role.ASSISTANT, "Banana", model=STARTER)
    add("e2", shown_vs_down.id, "e0", Role.ASSISTANT, "Blue", model=STARTER)
    store.rate(ids["e1"], RatingValue.DOWN)
    return History(recipes.id, incognito.id, hosted.id, interrupted.id, shown_vs_down.id, ids)


def record_usage(store: Store, history: History) -> list[ModelCall]:
    """A few calls over three days, every purpose, local and hosted; returns them as recorded."""
    day = datetime(2026, 11, 28, 12, tzinfo=UTC)
    calls = [
        (day, ModelCall(CallPurpose.TURN, "local", STARTER, Usage(100, 20, 60), Timings(0.2, 40.0), 0.7,
                        history.recipes, history.ids["a1"])),
        (day, ModelCall(CallPurpose.TITLE, "local", STARTER, Usage(50, 5, 0), Timings(0.1, 50.0), 0.2,
                        history.recipes)),
        (day + timedelta(days=1), ModelCall(CallPurpose.TURN, "local", OTHER, Usage(300, 30, 200),
                                            Timings(0.4, 20.0), 1.9, history.recipes, history.ids["a2"])),
        (day + timedelta(days=1), ModelCall(CallPurpose.EMBEDDING, "local", "all-minilm-l6-v2", Usage(80, 0, 0),
                                            None, 0.5)),
        (day + timedelta(days=2), ModelCall(CallPurpose.TURN, "hosted", "acme/big", Usage(12, 7, 0),
                                            Timings(0.9, 80.0), 1.0, history.hosted, history.ids["h2"])),
    ]  # fmt: skip
    for at, call in calls:
        store.record_call(call, at=at)
    return [call for _at, call in calls]


def bulk_usage(store: Store, rows: int, *, threads: int = 200, days: int = 90, seed: int = 7) -> None:
    """`rows` usage rows over `threads` threads and `days` days, in one transaction (for the dashboard at scale)."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, tzinfo=UTC) - timedelta(days=days)
    with store.writing():
        thread_ids = [_insert_thread(store, f"Bulk thread {n}", start) for n in range(threads)]
        models = [(STARTER, "local"), (OTHER, "local"), ("acme/big", "hosted")]
        purposes = ["turn"] * 8 + ["title", "summary", "compaction", "embedding"]
        batch = []
        for _ in range(rows):
            model, backend = rng.choice(models)
            purpose = rng.choice(purposes)
            at = start + timedelta(seconds=rng.randrange(days * 86400))
            timed = purpose != "embedding"
            batch.append((
                purpose, rng.choice(thread_ids) if purpose != "embedding" else None, None, backend,
                "all-minilm-l6-v2" if purpose == "embedding" else model, rng.randrange(20, 2000),
                0 if purpose == "embedding" else rng.randrange(1, 400), rng.randrange(0, 1500),
                rng.uniform(0.05, 2.0) if timed else None, rng.uniform(5, 120) if timed else None,
                rng.uniform(0.1, 10.0), at.isoformat(timespec="microseconds"),
            ))  # fmt: skip
        store.db.cursor().executemany(
            """INSERT INTO usage_event (purpose, thread_id, message_id, backend, model, prompt_tokens,
                   completion_tokens, cached_tokens, ttft_s, tokens_per_s, seconds, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            batch,
        )


def _insert_thread(store: Store, title: str, at: datetime) -> int:
    store.db.execute_sql(
        "INSERT INTO thread (title, created_at, updated_at) VALUES (?, ?, ?)", (title, at.isoformat(), at.isoformat())
    )
    return store.db.execute_sql("SELECT last_insert_rowid()").fetchone()[0]
