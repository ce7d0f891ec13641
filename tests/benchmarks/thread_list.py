"""The thread list at 10,000 threads: how long the GUI thread is busy showing a listing — the first one, the one
after a reply in the top thread (one row changes), after a reply in an older thread (one row moves to the top),
with its rows grouped on the read lane as the window does —
against the list it replaced in the same run (a QListWidget rebuilt item by item on every listing, the baseline).
Also the background read of the listing itself from a real store. Each figure includes the layout and paint the
update causes (the list is shown offscreen at sidebar size). Prints p50/p95 and the ratios. Asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/thread_list.py [--threads 10000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from big_history import write_history
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem

from app.core.domain import Thread
from app.gui import theme
from app.gui.thread_list import ThreadList, group_threads, rows_for
from app.store import open_store


def rebuilt_list(widget: QListWidget, threads: list[Thread], now: datetime) -> None:
    """The earlier list: cleared and filled again, one item per heading and thread, on every listing."""
    widget.clear()
    for label, members in group_threads(threads, now=now):
        widget.addItem(QListWidgetItem(label.upper()))
        for thread in members:
            item = QListWidgetItem(thread.title)
            item.setToolTip(f"{thread.title}\nLast active {thread.updated_at.astimezone():%d %b %Y, %H:%M}")
            item.setSizeHint(QSize(0, 30))
            widget.addItem(item)


def timed(app: QApplication, work) -> float:
    began = time.perf_counter()
    work()
    app.processEvents()
    return time.perf_counter() - began


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyleSheet(theme.style_sheet(theme.LIGHT))

    with tempfile.TemporaryDirectory() as data:
        write_history(Path(data), threads=args.threads, messages_per_thread=2)
        store = open_store(Path(data))
        reads = [timed(app, store.list_threads) for _ in range(10)]
        threads = store.list_threads()
        store.close()
    now = datetime.now(UTC)
    print(f"{len(threads)} threads; the listing's read from the store (background lane): "
          "p50 {:.1f} ms  p95 {:.1f} ms".format(*percentiles(reads)))  # fmt: skip

    listing, baseline = ThreadList(), QListWidget()
    for widget in (listing, baseline):
        widget.setObjectName("threadList")
        widget.resize(260, 800)
        widget.show()
    first = timed(app, lambda: listing.show_threads(threads, selected_id=threads[0].id, now=now))
    first_baseline = timed(app, lambda: rebuilt_list(baseline, threads, now))
    print(f"first listing: model/view {first * 1000:.1f} ms, rebuilt list (baseline) {first_baseline * 1000:.1f} ms")

    top_reply, older_reply, rebuilt, grouping = [], [], [], []
    current = list(threads)
    for n in range(args.repeat):
        later = now + timedelta(seconds=n + 1)
        current[0] = replace(current[0], updated_at=later)  # a reply in the top thread
        rows = rows_for(current, now=now)  # as the window does: grouped on the read lane with the listing
        grouping.append(timed(app, lambda: rows_for(current, now=now)))
        top_reply.append(
            timed(app, lambda: listing.show_threads(current, selected_id=current[0].id, now=now, rows=rows))
        )
        rebuilt.append(timed(app, lambda: rebuilt_list(baseline, current, now)))
        moved = replace(current[40], updated_at=later + timedelta(milliseconds=1))  # a reply in an older thread
        current = [moved, *current[:40], *current[41:]]
        rows = rows_for(current, now=now)
        older_reply.append(timed(app, lambda: listing.show_threads(current, selected_id=moved.id, now=now, rows=rows)))

    for what, samples in (
        ("after a reply in the top thread (one row changes)", top_reply),
        ("after a reply in an older thread (one row moves)", older_reply),
        ("rebuilt list after a reply (baseline)", rebuilt),
        ("grouping a listing into rows (read lane, not the GUI thread)", grouping),
    ):
        print(f"{what}: p50 {percentiles(samples)[0]:.1f} ms  p95 {percentiles(samples)[1]:.1f} ms")
    print(
        f"p95 ratio to the baseline: one row changes {percentiles(top_reply)[1] / percentiles(rebuilt)[1]:.3f}, "
        f"one row moves {percentiles(older_reply)[1] / percentiles(rebuilt)[1]:.3f}"
    )


if __name__ == "__main__":
    main()
