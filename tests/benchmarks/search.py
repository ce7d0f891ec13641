"""Search and thread-list latency at scale: 10k threads / 100k messages in a real store.

Prints p50/p95 of keyword search (FTS5 through SearchService) and hybrid search (keyword + vector KNN, fused), the
time to load the thread list, and, as the baseline measured in the same run, the same FTS5 query run by a plain apsw
script without the service. Vectors are random unit vectors (latency does not depend on what they mean), and so is
the query's: the embedding model's own time per query is measured by tests/benchmarks/retrieval.py. Asserts nothing.

    .venv/bin/python tests/benchmarks/search.py [--threads 10000] [--messages-per-thread 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import apsw  # noqa: E402
import numpy  # noqa: E402
import sqlite_vec  # noqa: E402

from app.core.search import fts_query  # noqa: E402
from app.services.search import SearchService  # noqa: E402
from app.store import open_store  # noqa: E402

WORDS = (
    "budget forecast quarterly revenue meeting garden recipe bread travel train python error database migration "
    "invoice holiday project deadline review design window thread model cache memory search export import report "
    "family weather running music guitar novel chapter lighthouse ocean mountain village coffee tea kernel"
).split()
RARE = ["zeppelin", "quokka", "fjord", "marzipan", "obsidian"]
QUERIES = ["budget", "quarterly revenue", '"project deadline"', "migr*", "zeppelin", "lighthouse ocean", "kernel error"]
DIMENSIONS = 384


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS[: rng.randint(5, len(WORDS))]) for _ in range(rng.randint(8, 40))]
    if rng.random() < 0.01:
        words.insert(rng.randrange(len(words)), rng.choice(RARE))
    return " ".join(words).capitalize() + "."


def populate(store, threads: int, per_thread: int, rng: random.Random) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    db = store.db
    with store.writing():
        for t in range(threads):
            when = (start + timedelta(minutes=t)).isoformat()
            db.execute_sql(
                "INSERT INTO thread (id, title, created_at, updated_at, archived) VALUES (?, ?, ?, ?, ?)",
                (t + 1, sentence(rng)[:50], when, when, int(rng.random() < 0.1)),
            )
            parent = None
            for m in range(per_thread):
                message_id = t * per_thread + m + 1
                db.execute_sql(
                    "INSERT INTO message (id, thread_id, parent_id, role, content, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)",
                    (message_id, t + 1, parent, "user" if m % 2 == 0 else "assistant", sentence(rng), when, when),
                )
                parent = message_id
            db.execute_sql("UPDATE thread SET current_leaf_id = ? WHERE id = ?", (parent, t + 1))
    vectors = numpy.random.default_rng(7).standard_normal((threads * per_thread, DIMENSIONS)).astype(numpy.float32)
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    with store.writing():
        for index in range(0, len(vectors), 1000):
            batch = vectors[index : index + 1000]
            values = [value for offset, v in enumerate(batch) for value in (index + offset + 1, v.tobytes())]
            for table, vector in (("message_vec", "?"), ("message_bits", "vec_quantize_binary(?)")):
                db.execute_sql(
                    f"INSERT INTO {table} (message_id, embedding, model) VALUES "
                    + ",".join(f"(?, {vector}, 'bench')" for _ in batch),
                    values,
                )


class RandomEmbedder:
    """A random unit query vector: this benchmark times the search, not the embedding model."""

    model_id = "bench"
    dimensions = DIMENSIONS

    def embed(self, texts):
        rng = numpy.random.default_rng(len(texts[0]))
        vector = rng.standard_normal(DIMENSIONS).astype(numpy.float32)
        return [list(vector / numpy.linalg.norm(vector))]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(function, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--messages-per-thread", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as data:
        store = open_store(Path(data))
        started = time.perf_counter()
        populate(store, args.threads, args.messages_per_thread, rng)
        print(f"{args.threads:,} threads, {args.threads * args.messages_per_thread:,} messages "
              f"(built in {time.perf_counter() - started:.1f} s)")  # fmt: skip

        keyword = SearchService(store)
        hybrid = SearchService(store, RandomEmbedder())
        raw = apsw.Connection(str(store.path))
        raw.enable_load_extension(True)
        raw.load_extension(sqlite_vec.loadable_path())

        def raw_query(text: str) -> None:
            raw.execute(
                "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY bm25(message_fts) LIMIT 50",
                (fts_query(text),),
            ).fetchall()

        rows = [("raw FTS5 (baseline)", lambda q: raw_query(q)), ("keyword", keyword.search), ("hybrid", hybrid.search)]
        results = {}
        print(f"{'':24}{'p50 ms':>10}{'p95 ms':>10}")
        for name, search in rows:
            samples = [s for q in QUERIES for s in timed(lambda q=q: search(q), args.repeats)]
            results[name] = percentiles(samples)
            print(f"{name:24}{results[name][0]:>10.1f}{results[name][1]:>10.1f}")
        list_samples = timed(store.list_threads, args.repeats)
        print(f"{'thread list (default)':24}{percentiles(list_samples)[0]:>10.1f}{percentiles(list_samples)[1]:>10.1f}"
              f"   ({len(store.list_threads()):,} threads)")  # fmt: skip
        base = results["raw FTS5 (baseline)"][1]
        print(f"p95 ratio to raw FTS5: keyword {results['keyword'][1] / base:.2f}, hybrid {results['hybrid'][1] / base:.2f}")
        store.close()


if __name__ == "__main__":
    main()
