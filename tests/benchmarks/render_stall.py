"""How long drawing a streaming reply holds the GUI thread: a 4,000-token Markdown reply with code blocks and a table
streams into a real reply card (offscreen) at the window's cadence, once through the incremental render (only the
open block is drawn again) and once through one Markdown document re-rendered whole on every update (the render
before it, the baseline of the same run).

The small starter model ends its replies long before 4,000 tokens, so the text is replayed at the window's cadence
(TEXT_INTERVAL_S, TOKENS_PER_UPDATE tokens each time); `gui_stall.py --code` measures the whole window on the real
model. Garbage is collected as the window collects it (app.gui.gc_guard: automatic collection off, a GUI-thread timer
collecting by the same thresholds, the objects alive once the view is set up frozen out of later collections).

A 1 ms timer ticks on the GUI thread; the longest gap between ticks is the worst stall (a frame is 16 ms). Prints for
each render the wall time and the GUI thread's CPU time per update (the update and the layout and paint it causes)
and per gap between ticks (the stall: what else ran then counts too, a finished block drawn or a spare made while
idle, a collection), worst / p99 / p50, and the ratio of the worst CPU per update. Wall time includes other
processes on a busy machine; CPU time does not. Asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/render_stall.py
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.core.domain import Message, MessageStatus, Role
from app.gui import theme
from app.gui.code_block import preload_lexers
from app.gui.conversation import ConversationView
from app.gui.gc_guard import GuiThreadCollector
from app.gui.reply_controller import TEXT_INTERVAL_S
from app.gui.reply_view import MessageBody

TOKENS = 4000
CHARS_PER_TOKEN = 4  # English prose and code with a Llama-style tokenizer, roughly
TOKENS_PER_UPDATE = 4  # ~100 tok/s: a fast local model
FRAME_S = 0.016
FIRST_TOKEN_S = 0.2  # the prompt is read before the first token comes: the view is idle meanwhile
SECTION = """## Step {n}: reading the file

Open the file with a context manager so it is closed even when an error is raised. The `encoding` argument matters:
without it Python uses the platform's default, which differs between machines, and a file written on one may not
read on another. Keep the function small and give it one job.

```python
def read_rows_{n}(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:  # newline="" lets csv handle line endings itself
        reader = csv.DictReader(handle)
        return [row for row in reader if row.get("name")]
```

| mode | reads | writes | creates |
|---|---|---|---|
| `r` | yes | no | no |
| `w` | no | yes | yes |

- check the path exists first;
- catch `UnicodeDecodeError` and say which line failed;
- never read a huge file whole.

"""


def reply_text() -> str:
    text = "".join(SECTION.format(n=n) for n in range(1, 200))
    return text[: TOKENS * CHARS_PER_TOKEN]


class WholeDocumentReply(MessageBody):
    """The earlier render: the reply's whole Markdown set again on every update."""

    def show_text(self, text: str, streaming: bool) -> None:
        self.show_markdown(text + (" ▍" if streaming else ""))


@dataclass
class Measured:
    """Per update and per gap between ticks: wall and GUI-thread CPU seconds."""

    update_wall: list[float] = field(default_factory=list)
    update_cpu: list[float] = field(default_factory=list)
    tick_wall: list[float] = field(default_factory=list)
    tick_cpu: list[float] = field(default_factory=list)
    update_ends: list[int] = field(default_factory=list)  # where in the reply's text each update ended


def run(app: QApplication, update) -> Measured:
    """Stream the reply through `update(text, streaming)` at the window's cadence, measuring each update and each
    gap between the ticks of a 1 ms timer."""
    text = reply_text()
    step = TOKENS_PER_UPDATE * CHARS_PER_TOKEN
    measured = Measured()
    last_tick = [time.perf_counter(), time.thread_time()]

    def tick() -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        measured.tick_wall.append(wall - last_tick[0])
        measured.tick_cpu.append(cpu - last_tick[1])
        last_tick[:] = wall, cpu

    ticker = QTimer(interval=1)
    ticker.timeout.connect(tick)
    ticker.start()
    idle(app, FIRST_TOKEN_S)
    for end in [*range(step, len(text), step), len(text)]:
        began_wall, began_cpu = time.perf_counter(), time.thread_time()
        update(text[:end], end < len(text))
        app.processEvents()  # the layout and paint the update causes count too
        measured.update_cpu.append(time.thread_time() - began_cpu)
        measured.update_wall.append(time.perf_counter() - began_wall)
        measured.update_ends.append(end)
        idle(app, TEXT_INTERVAL_S)
    ticker.stop()
    return measured


def idle(app: QApplication, seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        app.processEvents()
        time.sleep(0.001)


def spread(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    worst, p99, p50 = ordered[-1], ordered[int(len(ordered) * 0.99)], ordered[len(ordered) // 2]
    return f"worst {worst * 1000:5.1f}  p99 {p99 * 1000:5.1f}  p50 {p50 * 1000:4.1f} ms"


def summary(what: str, measured: Measured) -> float:
    over = sum(gap > FRAME_S for gap in measured.tick_wall)
    print(f"{what}:")
    print(f"  per update        CPU {spread(measured.update_cpu)};  wall {spread(measured.update_wall)}")
    ticks = f"CPU {spread(measured.tick_cpu)};  wall {spread(measured.tick_wall)}"
    print(f"  per gap of ticks  {ticks};  over a frame: {over}")
    text = reply_text()
    slowest = sorted(zip(measured.update_cpu, measured.update_ends, strict=True), reverse=True)[:3]
    where = ",  ".join(f"{cpu * 1000:.1f} ms at {end} {text[end - 24 : end]!r}" for cpu, end in slowest)
    print(f"  slowest updates (CPU): {where}")
    return max(measured.update_cpu)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    preload_lexers()  # as the window does at start
    print(f"a {TOKENS}-token reply ({len(reply_text())} characters), {TOKENS_PER_UPDATE} tokens per update")
    app.setStyleSheet(theme.style_sheet(theme.LIGHT))  # the window's style sheet: polishing new blocks costs too
    view = ConversationView()
    view.resize(1000, 800)
    view.show()
    window = QObject()  # collects garbage as the window does, for both renders
    collector = GuiThreadCollector(window)
    now = datetime.now(UTC)
    reply = Message(
        id=1, thread_id=1, parent_id=None, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING,
        created_at=now,
    )  # fmt: skip
    view.show_messages([reply], live_texts={1: ""})
    done = replace(reply, status=MessageStatus.COMPLETE)
    app.processEvents()
    collector.settled()
    print("garbage collected as the window does: on the GUI thread by a 500 ms timer, start-up objects frozen")

    def incremental(text: str, streaming: bool) -> None:
        if streaming:
            view.update_live_text(reply, text)
        else:
            view.update_message(replace(done, content=text))

    new = summary("incremental render", run(app, incremental))
    card = view.cards()[0]
    print(f"  {len(card.code_blocks())} code blocks drawn")

    baseline_view = ConversationView()
    baseline_view.resize(1000, 800)
    baseline_view.show()
    body = WholeDocumentReply()
    baseline_view._cards_layout.insertWidget(0, body)
    old = summary("whole-document render (baseline)", run(app, body.show_text))
    print(f"worst CPU per update, incremental / whole document: {new / old:.2f}")


if __name__ == "__main__":
    main()
