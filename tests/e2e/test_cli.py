"""The `threadloom` command as a subprocess, on the real starter model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest

from app.core.domain import MessageStatus
from app.store import open_store

pytestmark = pytest.mark.slow


def test_chat_continues_a_thread_and_show_prints_both_turns(cli):
    first = cli("chat", "--new", "--json", "My name is Ada. Say hi.")
    assert first.returncode == 0, first.stderr
    turn1 = json.loads(first.stdout)
    assert {"thread_id", "message_id", "reply", "usage", "timings"} <= turn1.keys()
    assert turn1["reply"].strip()
    assert turn1["usage"]["prompt_tokens"] > 0 and turn1["usage"]["completion_tokens"] > 0
    assert turn1["timings"]["ttft_s"] > 0 and turn1["timings"]["tokens_per_s"] > 0

    second = cli("chat", "--thread", str(turn1["thread_id"]), "--json", "What is my name?")
    assert second.returncode == 0, second.stderr
    turn2 = json.loads(second.stdout)
    assert turn2["thread_id"] == turn1["thread_id"]
    # The second prompt holds the whole first turn (prompt and reply) before the new question.
    first_turn_tokens = turn1["usage"]["prompt_tokens"] + turn1["usage"]["completion_tokens"]
    assert turn2["usage"]["prompt_tokens"] > first_turn_tokens

    shown = cli("threads", "show", str(turn1["thread_id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    thread = json.loads(shown.stdout)
    messages = thread["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "My name is Ada. Say hi."
    assert messages[1]["content"] == turn1["reply"]
    assert messages[2]["parent_id"] == messages[1]["id"]
    assert all({"id", "parent_id", "role", "content", "status", "created_at"} <= m.keys() for m in messages)
    assert all(m["status"] == "complete" for m in messages)

    listed = json.loads(cli("threads", "list", "--json").stdout)
    assert [t["id"] for t in listed] == [turn1["thread_id"]]
    assert listed[0]["title"].strip() and listed[0]["title"] != "New thread"  # named after the first exchange


def test_plain_chat_streams_text_to_stdout(cli):
    result = cli("chat", "Name a colour.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("threads", "show", "999"), "no thread with id 999"),
        (("chat", "--thread", "999", "hello"), "no thread with id 999"),
        (("chat", "   "), "empty"),
        (("models", "pull", "no-such-model"), "no model named"),
    ],
)
def test_errors_exit_non_zero_with_one_line_on_stderr(cli, args, message):
    result = cli(*args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("threadloom: error:") and message in lines[0]


def test_models_list_json_says_the_starter_is_installed(cli):
    result = cli("models", "list", "--json")
    assert result.returncode == 0
    starter = json.loads(result.stdout)[0]
    assert starter["name"] == "smollm2-135m-instruct" and starter["installed"] is True


LONG_REPLY_PROMPTS = [
    "Write a very long story about a dragon and a library.",
    "Write a long story about a lighthouse keeper.",
    "Explain in detail how bread is made, step by step.",
    "Describe a walk through a forest in autumn, at length.",
    "Tell a long tale about a cat who becomes a sailor.",
]


def _kill_chat_mid_stream(data_dir: Path, models_dir: Path, thread_id: int, prompt: str) -> str | None:
    """Run `chat` and SIGKILL it once its reply has streamed a while; None if the reply ended first."""
    chat = subprocess.Popen(
        [
            sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models_dir),
            "chat", "--thread", str(thread_id), prompt,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.set_blocking(chat.stdout.fileno(), False)
    streamed = b""
    deadline = time.monotonic() + 120  # a bound on waiting, not a speed assertion
    while not _reply_text_stored(data_dir) and time.monotonic() < deadline and chat.poll() is None:
        streamed += chat.stdout.read() or b""  # kill once at least one batch of the reply reached the database
        time.sleep(0.02)
    chat.send_signal(signal.SIGKILL)
    killed = chat.wait() == -signal.SIGKILL
    streamed += chat.stdout.read() or b""
    return streamed.decode(errors="ignore") if killed and streamed else None


def _reply_text_stored(data_dir: Path) -> bool:
    """Read-only peek from outside the app: has a reply still being written got text in the database yet?"""
    connection = apsw.Connection(str(data_dir / "threadloom.sqlite3"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return bool(connection.execute("SELECT 1 FROM message WHERE status = 'streaming' AND content != ''").fetchall())
    finally:
        connection.close()


def _last_reply_status(data_dir: Path, thread_id: int) -> MessageStatus:
    store = open_store(data_dir)
    try:
        return store.messages(thread_id)[-1].status
    finally:
        store.close()


def test_a_chat_killed_mid_stream_leaves_an_intact_database_and_an_interrupted_reply(
    cli, data_dir: Path, models_dir: Path
):
    earlier = cli("chat", "--json", "Say one word.")
    thread_id = json.loads(earlier.stdout)["thread_id"]
    streamed = None
    for prompt in LONG_REPLY_PROMPTS:  # a tiny model sometimes answers in one line: then try a longer ask
        streamed = _kill_chat_mid_stream(data_dir, models_dir, thread_id, prompt)
        if streamed is not None and _last_reply_status(data_dir, thread_id) == MessageStatus.INTERRUPTED:
            break  # (a reply that ended just before the kill is complete, not a crash mid-stream: try again)
    else:
        pytest.fail("no reply streamed long enough to be killed mid-stream")

    store = open_store(data_dir)
    try:
        assert store.integrity_check() == "ok"
        messages = store.messages(thread_id)
        assert [m.status for m in messages[:2]] == [MessageStatus.COMPLETE, MessageStatus.COMPLETE]  # untouched
        assert messages[1].content == json.loads(earlier.stdout)["reply"]
        interrupted = messages[-1]
        assert interrupted.status == MessageStatus.INTERRUPTED
        assert interrupted.content and streamed.startswith(interrupted.content)
    finally:
        store.close()
