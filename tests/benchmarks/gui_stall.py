"""How long the window's GUI thread is ever busy while a reply streams, an attachment ingests and a search runs, all
at once, through the real window (offscreen) on the real models.

A 1 ms timer ticks on the GUI thread; the longest gap between two ticks is the worst stall a user would feel (a
frame is 16 ms). Prints the worst gap, the 99th percentile and how many gaps were over a frame, next to the same
figures for the idle window over two seconds just before (the baseline of this machine at this moment), and how long
the reply was and how many code blocks it drew. Asserts nothing.

    THREADLOOM_MODELS_DIR=models QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/gui_stall.py [--tokens 200]
    ... gui_stall.py --tokens 4000 --code     # a long reply asked to hold code blocks (the streaming render's worst)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.main_window import FIRST_RUN_SIZE, MainWindow  # noqa: E402
from app.services.session import open_session  # noqa: E402

PDF = REPO.parent / "shared" / "data" / "pdf-corpus" / "files" / "sf-001-minimal-document.pdf"
FRAME_S = 0.016
STORY_PROMPT = "Tell me a long story about a lighthouse keeper and the sea."
CODE_PROMPT = (
    "Write a long tutorial on Python file handling, with many fenced ```python code examples: reading, writing, "
    "CSV, JSON, paths, errors, and a table comparing the modes."
)


def wait_until(app: QApplication, done, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not settle in time")
        app.processEvents()
        time.sleep(0.001)


def report(what: str, ticks: list[float], *, trace: bool) -> None:
    gaps = [(later - earlier, later - ticks[0]) for earlier, later in zip(ticks, ticks[1:])]
    ordered = sorted(gap for gap, _at in gaps)
    worst, p99 = ordered[-1], ordered[int(len(ordered) * 0.99)]
    over = [(gap, at) for gap, at in gaps if gap > FRAME_S]
    print(f"{what}: ticks {len(ticks)}  worst gap {worst * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms  "
          f"over a frame: {len(over)}")  # fmt: skip
    if trace:
        stalls = ", ".join(f"{gap * 1000:.0f} ms @ {at:.2f}" for gap, at in over)
        print(f"  over a frame, at (s since the reply was sent): {stalls}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200, help="reply length (max_tokens)")
    parser.add_argument("--code", action="store_true", help="ask for code (a reply with code blocks), not a story")
    parser.add_argument("--trace", action="store_true", help="also print when each stall over a frame happened")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    models_dir = os.environ.get("THREADLOOM_MODELS_DIR", str(REPO / "models"))
    with tempfile.TemporaryDirectory() as data:
        session = open_session(data, models_dir)
        session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=args.tokens, seed=1)
        window = MainWindow(session)
        window.resize(FIRST_RUN_SIZE)  # not fitted to the 800 px offscreen screen: figures stay comparable
        window.show()
        wait_until(app, lambda: window.is_settled, 60)
        settle = time.monotonic() + 2  # as a user would: the window's start-up work (model, readers) ends first
        wait_until(app, lambda: time.monotonic() > settle, 10)

        ticks: list[float] = []
        ticker = QTimer(interval=1)
        ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
        ticker.start()
        idle_until = time.monotonic() + 2
        wait_until(app, lambda: time.monotonic() > idle_until, 10)
        report("idle window (baseline)", ticks, trace=False)
        ticks.clear()
        window.composer.setPlainText(CODE_PROMPT if args.code else STORY_PROMPT)
        window.send_message()
        wait_until(app, lambda: window.is_streaming and any(c.body_text() for c in window.conversation.cards()), 300)
        window.attachments.attach([str(PDF)])
        window.sidebar.search_box.setText("lighthouse")
        wait_until(app, lambda: not window.is_streaming and window.is_settled and not window.attachments.busy, 600)
        ticker.stop()

        reply = window.conversation.cards()[-1]
        report(f"reply of {reply.message.usage.completion_tokens if reply.message.usage else '?'} tokens, "
               f"{len(reply.code_blocks())} code blocks", ticks, trace=args.trace)  # fmt: skip
        with_closed = []
        window.closed.connect(lambda: with_closed.append(True))
        window.close()
        wait_until(app, lambda: bool(with_closed), 60)


if __name__ == "__main__":
    main()
