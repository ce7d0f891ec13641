"""Instant resume on the real starter model: saved states survive a restart, are used only for their own model and
prefix, are dropped when damaged, stay within the budget, and go with their thread."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.domain import (
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    MessageStatus,
    ReplyFinished,
    Role,
    SamplingParams,
    Usage,
)
from app.runtime.client import WorkerClient, WorkerConfig
from app.runtime.kvcache import StateFiles
from app.services.context import thread_cache_key
from app.services.models import load_catalog

pytestmark = pytest.mark.slow

OPENING = (
    "I keep a small lighthouse on a rocky island. Every evening I climb the stairs, trim the wick, wind the clock "
    "and watch the ships pass. Tell me, in a few sentences, what you would want to know about my work."
)


def kv_files(root: Path, key: str | None = None) -> list[Path]:
    return sorted(root.glob(f"*/{key or '*'}/*.kv"))


@contextmanager
def running_worker(model: Path, root: Path | None, tmp_path: Path, **config) -> Iterator[WorkerClient]:
    """A worker saving its states under `root` (None: none saved), shut down (its last save done) on leaving."""
    worker = WorkerClient(
        WorkerConfig(model, "m", n_ctx=2048, log_path=tmp_path / "worker.log", kv_cache_dir=root, **config)
    )
    try:
        yield worker
    finally:
        worker.shutdown()


def ask(
    worker: WorkerClient, turns: list[tuple[Role, str]], key: str | None = "thread-1", max_tokens: int = 16
) -> tuple[str, Usage]:
    request = GenerationRequest(
        tuple(ChatTurn(role, text) for role, text in turns), SamplingParams(seed=7, max_tokens=max_tokens), key
    )
    text = ""
    for event in worker.generate(request):
        if isinstance(event, DoneEvent):
            return text, event.usage
        text += event.text
    raise AssertionError("no done event")


def reply_usage(events) -> Usage:
    finished = [e for e in events if isinstance(e, ReplyFinished)][0]
    assert finished.reply.status == MessageStatus.COMPLETE, finished.reply.error
    return finished.reply.usage


@pytest.fixture
def model(models_dir: Path) -> Path:
    return models_dir / load_catalog()[0].file


def test_after_a_restart_the_next_turn_reuses_as_much_as_a_warm_worker(session):
    session.chat.sampling = replace(session.chat.sampling, max_tokens=24, seed=3)
    thread = session.chat.new_thread()
    reply_usage(session.chat.send(thread.id, OPENING))
    reply_usage(session.chat.send(thread.id, "Go on."))
    warm = reply_usage(session.chat.send(thread.id, "Go on."))  # same worker, context kept between turns
    session.router.unload_models()  # a restart (it waits for the state to be saved): the next turn starts a new worker
    assert kv_files(session.data_dir / "kv-cache", thread_cache_key(thread.id))
    restored = reply_usage(session.chat.send(thread.id, "Go on."))

    assert restored.cached_tokens > 100
    assert restored.prompt_tokens - restored.cached_tokens == warm.prompt_tokens - warm.cached_tokens
    assert restored.prompt_tokens - restored.cached_tokens < 20  # only the new message was processed


def test_regenerate_reuses_the_whole_prompt_warm_and_after_a_restart(session):
    session.chat.sampling = replace(session.chat.sampling, max_tokens=24, seed=3)
    thread = session.chat.new_thread()
    first = [e for e in session.chat.send(thread.id, OPENING) if isinstance(e, ReplyFinished)][0].reply
    reply_usage(session.chat.send(thread.id, "Go on."))
    last = session.store.get_thread(thread.id).current_leaf_id

    again = reply_usage(session.chat.regenerate(last))
    assert again.cached_tokens == again.prompt_tokens - 1  # one token is replayed for fresh logits
    session.router.unload_models()
    after_restart = reply_usage(session.chat.regenerate(last))
    assert after_restart.cached_tokens == after_restart.prompt_tokens - 1

    edited = reply_usage(session.chat.edit(session.store.get_message(last).parent_id, "Tell me more."))
    assert edited.cached_tokens >= first.usage.prompt_tokens  # the branch reuses everything above the edit


def test_the_cli_reports_reused_tokens_across_processes_and_the_switch_turns_it_off(data_dir: Path, models_dir: Path):
    def chat(*args: str, env: dict | None = None) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models_dir), "chat", "--json", *args],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = chat("--new", OPENING)
    second = chat("--thread", str(first["thread_id"]), "Go on.")
    assert second["usage"]["cached_tokens"] > first["usage"]["prompt_tokens"]
    assert second["usage"]["prompt_tokens"] - second["usage"]["cached_tokens"] < 20

    off = chat("--thread", str(first["thread_id"]), "Go on.", env={**os.environ, "THREADLOOM_KV_CACHE": "off"})
    assert off["usage"]["cached_tokens"] == 0


def test_a_state_is_never_used_for_another_model_or_another_prefix(model: Path, tmp_path: Path):
    root = tmp_path / "kv-cache"
    history = [(Role.USER, OPENING)]
    with running_worker(model, root, tmp_path) as worker:
        reply, _ = ask(worker, history)
    assert len(kv_files(root)) == 1

    other_model = tmp_path / "other.gguf"  # the same weights plus trailing bytes: loads, but hashes differently
    shutil.copyfile(model, other_model)
    with open(other_model, "ab") as handle:
        handle.write(b"\0" * 4096)
    next_turn = history + [(Role.ASSISTANT, reply), (Role.USER, "Go on.")]
    with running_worker(other_model, root, tmp_path) as other:
        _, usage = ask(other, next_turn)
    assert usage.cached_tokens == 0
    assert len({path.parent.parent for path in kv_files(root)}) == 2  # one namespace per model

    with running_worker(model, root, tmp_path) as again:
        _, usage = ask(again, [(Role.SYSTEM, "You answer briefly.")] + next_turn)  # same key, another prefix
        assert usage.cached_tokens == 0
        _, usage = ask(again, next_turn, key="thread-2")  # the right prefix, but another thread's key
        assert usage.cached_tokens < 40  # at most the default system prompt, shared in memory


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_damaged_state_falls_back_to_a_normal_prefill(model: Path, tmp_path: Path, damage: str):
    root = tmp_path / "kv-cache"
    history = [(Role.USER, OPENING)]
    with running_worker(model, root, tmp_path) as worker:
        reply, _ = ask(worker, history)
    [path] = kv_files(root)
    data = bytearray(path.read_bytes())
    if damage == "corrupt":
        for offset in range(len(data) // 2, len(data) // 2 + 4096, 512):
            data[offset] ^= 0x5A
    else:
        data = data[: len(data) * 2 // 3]
    path.write_bytes(bytes(data))

    with running_worker(model, root, tmp_path) as worker:
        text, usage = ask(worker, history + [(Role.ASSISTANT, reply), (Role.USER, "Go on.")])
        assert usage.cached_tokens == 0 and usage.completion_tokens > 0 and text
        assert not path.exists()
        _, usage = ask(worker, history + [(Role.ASSISTANT, reply), (Role.USER, "Go on."), (Role.ASSISTANT, text), (Role.USER, "Thanks.")])
        assert usage.cached_tokens > 0  # the worker is fine and keeps its context
    assert "refused" not in (tmp_path / "worker.log").read_text()  # caught before llama.cpp saw it


def test_saved_states_stay_within_the_budget(model: Path, tmp_path: Path):
    root = tmp_path / "kv-cache"
    with running_worker(model, root, tmp_path) as worker:  # leaving waits for the state to be saved
        ask(worker, [(Role.USER, OPENING)], key="probe")
    one_state = sum(path.stat().st_size for path in kv_files(root))
    assert one_state > 0
    StateFiles(root).forget("probe")

    budget = int(one_state * 2.5)
    with running_worker(model, root, tmp_path, kv_cache_budget_bytes=budget) as worker:
        for i in range(4):
            ask(worker, [(Role.USER, f"Thread {i}. {OPENING}")], key=f"thread-{i}")
            ask(worker, [(Role.USER, "Hello.")], key=None)  # a one-off request: waits for the save before it
            assert sum(path.stat().st_size for path in kv_files(root)) <= budget
    assert [path.parent.name for path in kv_files(root)] == ["thread-2", "thread-3"]  # the oldest went first


def test_deleting_a_thread_deletes_its_states_and_only_its(session):
    session.chat.sampling = replace(session.chat.sampling, max_tokens=16, seed=3)
    doomed = session.chat.new_thread()
    kept = session.chat.new_thread()
    reply_usage(session.chat.send(doomed.id, OPENING))
    reply_usage(session.chat.send(kept.id, OPENING + " Also, who are you?"))
    root = session.data_dir / "kv-cache"
    assert kv_files(root, thread_cache_key(doomed.id))  # saved before the worker took the next request

    session.chat.delete_thread(doomed.id)
    session.router.unload_models()  # waits for the last save
    assert not kv_files(root, thread_cache_key(doomed.id))
    assert thread_cache_key(doomed.id) not in StateFiles(root).keys()
    assert kv_files(root, thread_cache_key(kept.id))


def test_forgetting_right_after_a_reply_wins_over_the_save_in_flight(model: Path, tmp_path: Path):
    root = tmp_path / "kv-cache"
    with running_worker(model, root, tmp_path) as worker:
        ask(worker, [(Role.USER, OPENING)], key="thread-9")
        worker.forget_cached("thread-9")  # the worker may still be saving this very state
    assert not kv_files(root, "thread-9")


def test_a_one_off_request_between_turns_leaves_the_thread_warm(model: Path, tmp_path: Path):
    with running_worker(model, None, tmp_path) as worker:  # no states on disk: only the warm context
        turns = [(Role.USER, OPENING)]
        reply, first = ask(worker, turns)
        turns += [(Role.ASSISTANT, reply), (Role.USER, "Which season is the hardest?")]
        _title, one_off = ask(worker, [(Role.USER, "Name this conversation in three words.")], key=None, max_tokens=6)
        assert one_off.cached_tokens < first.prompt_tokens // 2  # it did take the context over
        _reply, second = ask(worker, turns)
        # The whole first exchange came from the context put back after the one-off request.
        assert second.cached_tokens >= first.prompt_tokens + 8
