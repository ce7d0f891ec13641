"""Helpers of the hostile-input suite: a canary thread that must come through untouched, a time-ratio check that
catches quadratic work without asserting speed, and the `threadloom` command in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from app.core.domain import MessageStatus, Role, Thread
from app.store import Store

REPO = Path(__file__).resolve().parents[2]
GROWTH = 4  # the input grows this many times between the two timed runs
RATIO_LIMIT = 8  # ... and may cost at most this much more time: linear work gives ~4, quadratic ~16 (a doubling's
# 2 against 4 left too little room for a busy shared machine: a linear run measured 2.6 once)


def write_canary(store: Store) -> Thread:
    """A thread written before the hostile input arrives: afterwards it must be exactly as it was."""
    thread = store.create_thread("Canary")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="Is the canary fine?")
    store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="It sings.",
                      status=MessageStatus.COMPLETE)  # fmt: skip
    store.add_tags(thread.id, ["bird"])
    store.set_metadata(thread.id, {"colour": "yellow"})
    return store.get_thread(thread.id)


def assert_canary_intact(store: Store, canary: Thread) -> None:
    assert store.get_thread(canary.id) == canary
    assert [(m.role, m.content) for m in store.messages(canary.id)] == [
        (Role.USER, "Is the canary fine?"), (Role.ASSISTANT, "It sings."),
    ]  # fmt: skip
    assert store.integrity_check() == "ok"


def best_time(run: Callable[[], object], *, repeat: int = 3) -> float:
    """The fastest of `repeat` runs: the least disturbed by other work on a shared machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def growth_ratio(run: Callable[[int], object], size: int, *, repeat: int = 3) -> float:
    """How much longer `run(GROWTH * size)` takes than `run(size)`."""
    return best_time(lambda: run(GROWTH * size), repeat=repeat) / best_time(lambda: run(size), repeat=repeat)


def run_cli(
    data_dir: Path, *args: str, models_dir: Path | None = None, timeout: float = 120, **options
) -> subprocess.CompletedProcess:
    """`python -m app` on `data_dir`; with no `models_dir`, an empty models folder (for commands that run no model)."""
    models = models_dir or data_dir / "models"
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models), *args],
        capture_output=True, text=True, timeout=timeout, cwd=options.pop("cwd", REPO), **options,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The command failed with exit 1 and one `threadloom: error:` line naming `fragments`; never a traceback."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("threadloom: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
