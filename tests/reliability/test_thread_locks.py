"""Two turns on one thread never interleave: a second one (another service, another process) is refused in one line
before it writes anything, other threads go on, and a holder killed with -9 leaves no lock behind."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import scripted_services

from app.core.domain import ReplyFinished, ReplyStarted
from app.core.errors import Busy
from app.platform.locks import ThreadLocks


def test_a_second_service_on_the_same_thread_is_refused_before_it_writes_and_others_go_on(data_dir: Path):
    first = scripted_services(data_dir)
    second = scripted_services(data_dir)
    thread = first.chat.new_thread()
    other = first.chat.new_thread()
    first.backend().enqueue(["A long answer", " that is still", " being written."])
    second.backend().enqueue(["Fine."])
    running = first.chat.send(thread.id, "Tell me a story.")
    assert isinstance(next(running), ReplyStarted)  # the turn holds its thread now
    before = len(first.store.current_path(thread.id))

    with pytest.raises(Busy) as refusal:
        next(second.chat.send(thread.id, "And me?"))
    message = str(refusal.value)
    assert message.startswith(f"thread {thread.id} is already answering a message (in process {os.getpid()})")
    assert "\n" not in message
    assert len(second.store.current_path(thread.id)) == before, "the refused turn wrote nothing"
    with pytest.raises(Busy):
        next(second.chat.regenerate(first.store.current_path(thread.id)[-1].id))

    finished = [e for e in second.chat.send(other.id, "Meanwhile, here?") if isinstance(e, ReplyFinished)]
    assert finished[0].reply.content == "Fine."  # another thread is not held up

    list(running)  # the first turn ends and lets go
    second.backend().enqueue(["Now it is my turn."])
    again = [e for e in second.chat.send(thread.id, "And me?") if isinstance(e, ReplyFinished)]
    assert again[0].reply.content == "Now it is my turn."
    for services in (first, second):
        services.store.close()


def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from pathlib import Path; from app.platform.locks import ThreadLocks\n"
            "with ThreadLocks(Path(sys.argv[1])).hold(7):\n"
            "    print('held', flush=True); time.sleep(3600)\n"
        ), str(tmp_path / "locks")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Busy, match=f"in process {holder.pid}"), ThreadLocks(tmp_path / "locks").hold(7):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with ThreadLocks(tmp_path / "locks").hold(7):
        pass  # the OS let go of the dead holder's lock


def _streaming(data_dir: Path, thread_id: int) -> bool:
    with sqlite3.connect(f"file:{data_dir / 'threadloom.sqlite3'}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(
            "SELECT count(*) FROM message WHERE thread_id = ? AND status = 'streaming' AND content != ''", (thread_id,)
        ).fetchone()[0] > 0


@pytest.mark.slow
def test_two_clis_on_one_thread_the_second_is_refused_in_one_line_a_killed_first_frees_it(cli, data_dir, models_dir):
    created = cli("chat", "--new", "--json", "Say hello.")
    assert created.returncode == 0, created.stderr
    thread_id = json.loads(created.stdout)["thread_id"]
    first = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models_dir), "chat", "--thread",
         str(thread_id), "Write a very long story about a lighthouse keeper, with many chapters."],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _streaming(data_dir, thread_id):
            assert first.poll() is None and time.monotonic() < deadline, "the first reply never started streaming"
            time.sleep(0.1)
        # A small model may end even a "very long story" within the second's start-up: the stopped first keeps its
        # reply open and its lock held, so the refusal does not depend on how long the model writes.
        first.send_signal(signal.SIGSTOP)
        second = cli("chat", "--thread", str(thread_id), "Are you there?")
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"threadloom: error: thread {thread_id} is already answering a message (in process {first.pid}): wait "
            "for that reply to end, or stop it, then send again"
        ]
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = cli("chat", "--thread", str(thread_id), "--json", "Are you there now?")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["status"] == "complete"
