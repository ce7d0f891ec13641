"""Kill -9 soak: `threadloom chat`, `attach` and `import` killed at random moments, again and again, on one data
folder; after each kill the folder is opened again and checked. Prints one line per figure:

    runs                                  how many kills
    committed messages lost               messages committed before a run that are gone or changed after (must be 0)
    integrity failures                    PRAGMA integrity_check not ok (must be 0)
    chat kills mid-reply                  chat runs killed after their reply began to stream (half the chat runs
                                          wait for the first streamed byte, then kill within MID_REPLY_S)
    partial replies kept as interrupted   replies cut by a kill, found again as `interrupted` with their text
    orphan worker processes               a killed command's workers still alive 10 s later (must be 0)

Threads are fixed (settings n_threads=1, n_threads_batch=1). Exit status 1 when a must-be-0 figure is not.

    THREADLOOM_MODELS_DIR=models .venv/bin/python tests/benchmarks/soak.py --runs 1000 [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import apsw

REPO = Path(__file__).resolve().parents[2]
ORPHAN_GRACE_S = 10
KILL_WITHIN_S = {"chat": 6.0, "attach": 4.0, "import": 3.0}  # a kill lands anywhere from start-up to the end
MID_REPLY_S = 1.5  # a mid-reply kill lands this long at most after the reply's first streamed byte
FIRST_BYTE_TIMEOUT_S = 120


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models-dir", default=os.environ.get("THREADLOOM_MODELS_DIR", str(REPO / "models")))
    args = parser.parse_args(argv)
    figures = soak(args.runs, random.Random(args.seed), Path(args.models_dir))
    for name, value in figures.items():
        print(f"{name}: {value}")
    must_be_zero = ("committed messages lost", "integrity failures", "orphan worker processes")
    return 1 if any(figures[name] for name in must_be_zero) else 0


def soak(runs: int, rng: random.Random, models_dir: Path) -> dict[str, int]:
    figures = dict.fromkeys(
        ("runs", "committed messages lost", "integrity failures", "chat kills mid-reply",
         "partial replies kept as interrupted", "orphan worker processes"), 0,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="threadloom-soak-") as scratch:
        root = Path(scratch)
        data = root / "data"
        data.mkdir()
        (data / "settings.json").write_text(json.dumps({"n_threads": 1, "n_threads_batch": 1}))
        export = root / "export.json"
        export.write_text(json.dumps([_conversation(n) for n in range(300)]))
        _threadloom(data, models_dir, "threads", "list")  # creates and migrates the database
        thread = _first_thread(data, models_dir, export)
        for run in range(runs):
            operation = rng.choice(("chat", "attach", "import"))
            if operation == "chat":
                command = ["chat", "--thread", str(thread), f"Tell me about otter number {run}."]
            elif operation == "attach":
                note = root / f"note-{run}.txt"
                note.write_text(f"Note {run}: " + "otters hold hands while they sleep. " * 400)
                command = ["attach", "--thread", str(thread), "--no-summary", str(note)]
            else:
                command = ["import", str(export)]
            before = _committed(data)
            process = _start(data, models_dir, command)
            if operation == "chat" and rng.random() < 0.5 and _first_byte(process):
                figures["chat kills mid-reply"] += 1
                time.sleep(rng.uniform(0, MID_REPLY_S))
            else:
                time.sleep(rng.uniform(0, KILL_WITHIN_S[operation]))
            children = _children(process.pid)
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()
            figures["runs"] += 1
            figures["orphan worker processes"] += _orphans(children)
            check = _threadloom(data, models_dir, "threads", "show", str(thread), "--json")  # recovers, too
            if check.returncode != 0:
                print(f"run {run} ({operation}): the folder did not open: {check.stderr.strip()}", file=sys.stderr)
                figures["integrity failures"] += 1
                continue
            after = _committed(data)
            figures["committed messages lost"] += sum(1 for key, row in before.items() if after.get(key) != row)
            figures["partial replies kept as interrupted"] += _newly_interrupted(before, after)
            figures["integrity failures"] += _integrity(data) != "ok"
    return figures


def _conversation(n: int) -> dict:
    mapping = {"root": {"parent": None, "children": ["q"], "message": None},
               "q": {"parent": "root", "children": ["a"], "message": _message("user", f"Question {n}?")},
               "a": {"parent": "q", "children": [], "message": _message("assistant", f"Answer {n}. " * 50)}}  # fmt: skip
    return {"title": f"Soak {n}", "id": f"soak-{n}", "mapping": mapping, "current_node": "a"}


def _message(role: str, text: str) -> dict:
    return {"author": {"role": role}, "content": {"content_type": "text", "parts": [text]}, "create_time": 1714585031}


def _start(data: Path, models_dir: Path, command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data), "--models-dir", str(models_dir), *command],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _first_byte(process: subprocess.Popen) -> bool:
    """Wait until the command streams its first byte of reply; False if it ended or stayed silent too long."""
    ready, _, _ = select.select([process.stdout], [], [], FIRST_BYTE_TIMEOUT_S)
    return bool(ready) and bool(os.read(process.stdout.fileno(), 1))


def _threadloom(data: Path, models_dir: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data), "--models-dir", str(models_dir), *command],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _first_thread(data: Path, models_dir: Path, export: Path) -> int:
    """A thread to chat in and attach to: the first conversation of the export, imported whole once."""
    single = export.with_name("first.json")
    single.write_text(json.dumps(json.loads(export.read_text())[:1]))
    imported = json.loads(_threadloom(data, models_dir, "import", str(single), "--json").stdout)
    return imported["imported"][0]["id"]


def _committed(data: Path) -> dict[int, tuple[str, str]]:
    """Every message that is not being written, by id: (status, content)."""
    with _connection(data) as db:
        rows = db.execute("SELECT id, status, content FROM message WHERE status != 'streaming'").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def _newly_interrupted(before: dict, after: dict) -> int:
    return sum(1 for key, (status, content) in after.items()
               if key not in before and status == "interrupted" and content)  # fmt: skip


def _integrity(data: Path) -> str:
    with _connection(data) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


class _connection:
    def __init__(self, data: Path) -> None:
        self.db = apsw.Connection(str(data / "threadloom.sqlite3"))
        self.db.setbusytimeout(10_000)

    def __enter__(self) -> apsw.Connection:
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


def _children(pid: int) -> list[int]:
    """The processes `pid` started (its workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _orphans(children: list[int]) -> int:
    """How many of a killed command's children are still alive after the grace time; those are then ended."""
    deadline = time.monotonic() + ORPHAN_GRACE_S
    alive = list(children)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return len(alive)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


if __name__ == "__main__":
    sys.exit(main())
