"""The Insights dashboard at 100,000 usage rows: its queries, `threadloom stats`' sums, and the window's worst stall.

Prints p50/p95 of the whole dashboard read (`InsightsService.dashboard`, every figure the window shows) for the last
30 days and for all time, of each `stats --by` grouping, and, as the baseline measured in the same run, one plain
scan of the usage table (`SELECT sum(prompt_tokens) FROM usage_event`) on the same connection: the cost of reading
every row once. Then opens the Insights window (offscreen) on that store with a 1 ms ticker on the GUI thread and
prints the longest gap between ticks (a frame is 16 ms) while the figures load and are drawn, and the time to paint
each chart. Goal: the dashboard read under 100 ms. Asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/insights.py [--rows 100000] [--runs 15]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from history import build_history, bulk_usage  # noqa: E402

from app.core.insights import StatsKey  # noqa: E402
from app.services.changes import ChangeBroadcast  # noqa: E402
from app.services.insights import InsightsService  # noqa: E402
from app.store import open_store  # noqa: E402

TODAY = date(2026, 12, 1)  # bulk_usage writes the 90 days before this one


def timed(work, runs: int) -> tuple[float, float]:
    work()  # warm the page cache and SQLite's statement cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def queries(store, runs: int) -> None:
    insights = InsightsService(store, changes=ChangeBroadcast())
    baseline, baseline_p95 = timed(
        lambda: store.db.execute_sql("SELECT sum(prompt_tokens) FROM usage_event").fetchone(), runs
    )
    print(f"baseline: one scan of usage_event   p50 {baseline * 1000:7.1f} ms  p95 {baseline_p95 * 1000:7.1f} ms")
    for label, since in (("dashboard, last 30 days", date(2026, 11, 2)), ("dashboard, all time", None)):
        p50, p95 = timed(lambda since=since: insights.dashboard(since=since), runs)
        print(f"{label:<35} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  ({p50 / baseline:.1f}x the scan)")
    for key in StatsKey:
        p50, p95 = timed(lambda key=key: insights.usage_totals(key), runs)
        print(f"stats --by {key:<24} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  ({p50 / baseline:.1f}x the scan)")


def window_stall(store) -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.insights_dialog import InsightsDialog
    from app.gui.status import StatusBridge
    from app.gui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    from PySide6.QtWidgets import QLabel

    window = QLabel("the main window")  # open before Insights in the app: fonts and style are loaded by then
    window.show()
    app.processEvents()
    status = StatusBridge()
    reads = TaskRunner(name="reads", status=status)
    insights = InsightsService(store, changes=ChangeBroadcast())
    dialog = InsightsDialog(insights, reads=reads, status=status, today=lambda: TODAY)
    all_time = dialog.period.findData(None)
    for label, step in (
        ("first open (last 30 days)", dialog.show),
        ("switch to all time", lambda: dialog.period.setCurrentIndex(all_time)),
    ):
        ticks: list[float] = []
        ticker = QTimer(interval=1)
        ticker.timeout.connect(lambda ticks=ticks: ticks.append(time.perf_counter()))
        loop = QEventLoop()
        dialog.loaded.connect(loop.quit)
        ticker.start()
        started = time.perf_counter()
        QTimer.singleShot(0, step)
        loop.exec()
        landed = time.perf_counter()
        QTimer.singleShot(100, loop.quit)  # and the paint that follows
        loop.exec()
        ticker.stop()
        dialog.loaded.disconnect(loop.quit)
        gaps = sorted(later - earlier for earlier, later in itertools.pairwise(ticks))
        print(f"window, {label:<27} read+shown in {(landed - started) * 1000:6.1f} ms; worst GUI gap "
              f"{gaps[-1] * 1000:5.1f} ms, p99 {gaps[int(len(gaps) * 0.99)] * 1000:4.1f} ms, "
              f"{sum(gap > 0.016 for gap in gaps)} over a frame")  # fmt: skip
    for chart in (dialog.per_day, dialog.per_model, dialog.ttft, dialog.speed):
        paint = statistics.median(_paint_time(chart) for _ in range(15))
        print(f"paint {chart.accessibleName():<35} {paint * 1000:6.2f} ms")
    dialog.close()
    window.close()
    reads.shutdown()
    reads.wait(5)
    app.processEvents()


def _paint_time(widget) -> float:
    started = time.perf_counter()
    widget.grab()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder))
        started = time.perf_counter()
        build_history(store)
        bulk_usage(store, args.rows)
        print(f"{args.rows:,} usage rows over 90 days and 200 threads written in {time.perf_counter() - started:.1f} s")
        queries(store, args.runs)
        window_stall(store)
        store.close()


if __name__ == "__main__":
    main()
