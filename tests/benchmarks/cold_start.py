"""Cold start at 10,000 threads / 100,000 messages: process start to the first paint of the window with the last
thread shown, against a bare PySide6 window (one label) started the same way in the same run (the baseline: the
interpreter, Qt and a first paint). Each is a fresh process, timed by this one from spawn to the child's line on
stdout; the median of a few runs is printed with the ratio. Asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/cold_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BARE = """
import sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
label = QLabel("Threadloom")
class Painted(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print("painted", flush=True)
            app.exit(0)
        return False
painted = Painted()
label.installEventFilter(painted)
label.resize(1180, 760)
label.show()
app.exec()
"""

WINDOW = """
import sys
from PySide6.QtCore import QEvent, QObject, QSettings
from app.gui.main import application
from app.gui.main_window import FIRST_RUN_SIZE, MainWindow
from app.services.session import open_session
app = application()
session = open_session(sys.argv[1], sys.argv[2])
window = MainWindow(session)
window.resize(FIRST_RUN_SIZE)  # the baseline's size, not fitted to the 800 px offscreen screen
class Painted(QObject):
    def eventFilter(self, watched, event):
        cards = window.conversation.cards()
        if event.type() == QEvent.Type.Paint and cards and cards[0].message.thread_id == int(sys.argv[3]):
            print("painted", flush=True)
            import os
            os._exit(0)  # measured: the first paint with the thread shown; no orderly shutdown needed
        return False
painted = Painted()
window.conversation.viewport().installEventFilter(painted)
window.show()
app.exec()
"""


def time_child(code: str, *args: str) -> float:
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO
    )
    line = child.stdout.readline()
    took = time.perf_counter() - began
    child.wait(60)
    if line.strip() != "painted":
        raise RuntimeError(f"the child did not paint (exit {child.returncode})")
    return took


def main() -> None:
    from big_history import write_history

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    models = os.environ.get("THREADLOOM_MODELS_DIR", str(REPO / "models"))
    with tempfile.TemporaryDirectory() as data:
        last = write_history(Path(data), threads=args.threads, messages_per_thread=10)
        (Path(data) / "window.ini").write_text(f"[session]\nlastThread={last}\n")
        bare = [time_child(BARE) for _ in range(args.runs)]
        window = [time_child(WINDOW, data, models, str(last)) for _ in range(args.runs)]
    bare_s, window_s = statistics.median(bare), statistics.median(window)
    print(f"{args.threads} threads / {args.threads * 10} messages, median of {args.runs} runs")
    print(f"bare PySide6 window (baseline): {bare_s:.2f} s   runs {', '.join(f'{t:.2f}' for t in bare)}")
    print(f"Threadloom, last thread shown:  {window_s:.2f} s   runs {', '.join(f'{t:.2f}' for t in window)}")
    print(f"ratio {window_s / bare_s:.1f}x; over the baseline {window_s - bare_s:.2f} s")


if __name__ == "__main__":
    main()
