"""How long drawing a streaming reply holds the GUI thread: a 4,000-token Markdown reply with code blocks and a table
streams into a real reply card (offscreen) at the window's cadence, once through the incremental render (only the
open block is drawn again) and once through one Markdown document re-rendered whole on every update (the render
before it, the baseline of the same run).

The small starter model ends its replies long before 4,000 tokens, so the text is replayed at the window's cadence
(TEXT_INTERVAL_S, TOKENS_PER_UPDATE tokens each time); `gui_stall.py --code` measures the whole window on the real
model. A 1 ms timer ticks on the GUI thread; the longest gap between ticks is the worst stall (a frame is 16 ms).
Prints for both the worst gap, p99 and gaps over a frame (wall clock: a busy machine lengthens them) and the GUI
thread's CPU time per update (worst, p99: what the render itself costs), and the ratio of the worst. Asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/render_stall.py
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.domain import Message, MessageStatus, Role
from app.gui import theme
from app.gui.code_block import preload_lexers
from app.gui.conversation import ConversationView
from app.gui.reply_controller import TEXT_INTERVAL_S
from app.gui.reply_view import MessageBody

TOKENS = 4000
CHARS_PER_TOKEN = 4  # English prose and code with a Llama-style tokenizer, roughly
TOKENS_PER_UPDATE = 4  # ~100 tok/s: a fast local model
FRAME_S = 0.016
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


def run(app: QApplication, update) -> tuple[list[float], list[float]]:
    """Stream the reply through `update(text, streaming)` at the window's cadence; the ticks, and the GUI thread's
    CPU time for each update (unlike the gaps, not lengthened by other processes on a busy machine)."""
    text = reply_text()
    step = TOKENS_PER_UPDATE * CHARS_PER_TOKEN
    ticks: list[float] = []
    costs: list[float] = []
    ticker = QTimer(interval=1)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()
    for end in [*range(step, len(text), step), len(text)]:
        began = time.thread_time()
        update(text[:end], end < len(text))
        app.processEvents()  # the layout and paint the update causes count too
        costs.append(time.thread_time() - began)
        until = time.perf_counter() + TEXT_INTERVAL_S
        while time.perf_counter() < until:
            app.processEvents()
            time.sleep(0.001)
    ticker.stop()
    return ticks, costs


def summary(what: str, ticks: list[float], costs: list[float]) -> float:
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(ticks))
    worst, p99 = gaps[-1], gaps[int(len(gaps) * 0.99)]
    over = sum(gap > FRAME_S for gap in gaps)
    ordered = sorted(costs)
    print(
        f"{what}: worst gap {worst * 1000:.1f} ms  p99 gap {p99 * 1000:.1f} ms  over a frame: {over};  "
        f"CPU per update: worst {ordered[-1] * 1000:.1f} ms  p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms  "
        f"last while streaming {costs[-2] * 1000:.1f} ms"
    )
    return ordered[-1]


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    preload_lexers()  # as the window does at start
    print(f"a {TOKENS}-token reply ({len(reply_text())} characters), {TOKENS_PER_UPDATE} tokens per update")
    app.setStyleSheet(theme.style_sheet(theme.LIGHT))  # the window's style sheet: polishing new blocks costs too
    view = ConversationView()
    view.resize(1000, 800)
    view.show()
    now = datetime.now(UTC)
    reply = Message(
        id=1, thread_id=1, parent_id=None, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING,
        created_at=now,
    )  # fmt: skip
    view.show_messages([reply], live_texts={1: ""})
    done = replace(reply, status=MessageStatus.COMPLETE)

    def incremental(text: str, streaming: bool) -> None:
        if streaming:
            view.update_live_text(reply, text)
        else:
            view.update_message(replace(done, content=text))

    new = summary("incremental render", *run(app, incremental))
    card = view.cards()[0]
    print(f"  {len(card.code_blocks())} code blocks drawn")

    baseline_view = ConversationView()
    baseline_view.resize(1000, 800)
    baseline_view.show()
    body = WholeDocumentReply()
    baseline_view._cards_layout.insertWidget(0, body)
    old = summary("whole-document render (baseline)", *run(app, body.show_text))
    print(f"worst CPU per update, incremental / whole document: {new / old:.2f}")


if __name__ == "__main__":
    main()
