"""Saved KV-cache states on disk: matching by exact token prefix, namespaces, damage, LRU budget, forgetting.

Real files in a temp dir; the payloads are bytes standing in for llama.cpp's (the worker tests use real ones).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.platform.settings import KV_CACHE_ENV, Settings
from app.runtime.kvcache import MAX_STATES_PER_KEY, StateFiles, file_sha256, namespace_for, tokens_digest

MODEL_A = namespace_for({"model_sha256": "a" * 64, "n_ctx": 4096})
MODEL_B = namespace_for({"model_sha256": "b" * 64, "n_ctx": 4096})


def payload(n: int, seed: int = 1) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(n))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "kv-cache"


def test_a_state_serves_prompts_that_extend_its_tokens_and_reads_back_intact(root: Path):
    states = StateFiles(root, namespace=MODEL_A)
    tokens = list(range(100, 160))
    states.write("thread-1", tokens, payload(5000))

    state, shared = states.best_match("thread-1", tokens + [7, 8, 9])
    assert shared == len(tokens) and state.tokens == tuple(tokens)
    assert bytes(states.read(state)) == payload(5000)
    assert state.path.name == tokens_digest(tokens) + ".kv"


def test_only_the_shared_prefix_counts_and_another_prefix_matches_nothing(root: Path):
    states = StateFiles(root, namespace=MODEL_A)
    tokens = list(range(100, 160))
    states.write("thread-1", tokens, payload(100))

    edited = tokens[:40] + [1, 2, 3]  # an earlier message edited: only the part before it is shared
    assert states.best_match("thread-1", edited)[1] == 40
    assert states.best_match("thread-1", [9] + tokens) is None
    assert states.best_match("thread-2", tokens) is None  # another thread's key


def test_another_models_states_are_never_found(root: Path):
    StateFiles(root, namespace=MODEL_A).write("thread-1", list(range(50)), payload(100))
    assert StateFiles(root, namespace=MODEL_B).best_match("thread-1", list(range(60))) is None


def test_a_file_moved_to_another_namespace_or_key_is_refused_and_deleted(root: Path):
    a = StateFiles(root, namespace=MODEL_A)
    path = a.write("thread-1", list(range(50)), payload(100))
    for target in (root / MODEL_B / "thread-1" / path.name, root / MODEL_A / "thread-2" / path.name):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert StateFiles(root, namespace=MODEL_B).best_match("thread-1", list(range(60))) is None
    assert a.best_match("thread-2", list(range(60))) is None
    assert not (root / MODEL_B / "thread-1" / path.name).exists()
    assert not (root / MODEL_A / "thread-2" / path.name).exists()
    assert a.best_match("thread-1", list(range(60)))[1] == 50  # the original is untouched


@pytest.mark.parametrize("damage", ["flip a payload byte", "truncate", "append", "wreck the header", "empty"])
def test_a_damaged_state_is_detected_discarded_and_not_returned(root: Path, damage: str):
    states = StateFiles(root, namespace=MODEL_A)
    path = states.write("thread-1", list(range(50)), payload(4000))
    data = bytearray(path.read_bytes())
    if damage == "flip a payload byte":
        data[-1000] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "append":
        data += b"\0" * 10
    elif damage == "wreck the header":
        data[12:40] = b"#" * 28
    else:
        data = bytearray()
    path.write_bytes(bytes(data))

    match = states.best_match("thread-1", list(range(60)))
    if match is not None:  # the header survived: the payload check catches it
        assert states.read(match[0]) is None
    assert not path.exists()
    assert states.best_match("thread-1", list(range(60))) is None


def test_a_new_state_replaces_the_ones_it_extends_and_keeps_other_branches(root: Path):
    states = StateFiles(root, namespace=MODEL_A)
    turn1 = list(range(40))
    branch_a = turn1 + [1000, 1001]
    branch_b = turn1 + [2000, 2001]
    states.write("thread-1", turn1, payload(100))
    states.write("thread-1", branch_a, payload(100, 2))
    states.write("thread-1", branch_b, payload(100, 3))
    held = sorted(s.tokens for s in states.states("thread-1"))
    assert held == sorted([tuple(branch_a), tuple(branch_b)])
    assert states.best_match("thread-1", branch_b + [5])[0].tokens == tuple(branch_b)


def test_a_thread_keeps_its_most_recently_used_branches_only(root: Path):
    states = StateFiles(root, namespace=MODEL_A)
    branches = [list(range(40)) + [1000 + i] for i in range(MAX_STATES_PER_KEY + 2)]
    for i, tokens in enumerate(branches[:MAX_STATES_PER_KEY]):
        path = states.write("thread-1", tokens, payload(100, i))
        past = time.time() - 100 + i
        os.utime(path, (past, past))
    state, shared = states.best_match("thread-1", branches[0])
    assert shared == len(branches[0])
    states.read(state)  # the oldest branch, used again
    for tokens in branches[MAX_STATES_PER_KEY:]:
        states.write("thread-1", tokens, payload(100))
    held = {s.tokens for s in states.states("thread-1")}
    assert len(held) == MAX_STATES_PER_KEY
    assert tuple(branches[0]) in held and all(tuple(b) in held for b in branches[MAX_STATES_PER_KEY:])
    assert tuple(branches[1]) not in held and tuple(branches[2]) not in held


def test_eviction_keeps_all_states_within_the_budget_least_recently_used_first(root: Path):
    size = 10_000
    states = StateFiles(root, namespace=MODEL_A, budget_bytes=int(size * 2.5))
    paths = []
    for i in range(3):
        paths.append(states.write(f"thread-{i}", list(range(i, i + 40)), payload(size)))
        past = time.time() - 100 + i  # distinct, ordered use times
        os.utime(paths[-1], (past, past))
        assert states.usage_bytes() <= states.budget_bytes
    assert [p.exists() for p in paths] == [False, True, True]

    states.read(states.best_match("thread-1", list(range(1, 41)))[0])  # thread-1 used again: now the newest
    paths.append(states.write("thread-3", list(range(3, 43)), payload(size)))
    assert states.usage_bytes() <= states.budget_bytes
    assert [p.exists() for p in paths] == [False, True, False, True]


def test_the_budget_spans_every_model_and_a_state_larger_than_it_is_not_kept(root: Path):
    a = StateFiles(root, namespace=MODEL_A, budget_bytes=25_000)
    b = StateFiles(root, namespace=MODEL_B, budget_bytes=25_000)
    old = a.write("thread-1", list(range(40)), payload(10_000))
    os.utime(old, (time.time() - 100, time.time() - 100))
    b.write("thread-1", list(range(40)), payload(10_000))
    b.write("thread-2", list(range(40)), payload(10_000))
    assert not old.exists() and b.usage_bytes() <= 25_000
    assert b.write("thread-3", list(range(40)), payload(30_000)) is None
    assert b.usage_bytes() <= 25_000


def test_forget_removes_a_keys_states_under_every_model_only(root: Path):
    StateFiles(root, namespace=MODEL_A).write("thread-1", list(range(40)), payload(100))
    StateFiles(root, namespace=MODEL_B).write("thread-1", list(range(40)), payload(100))
    kept = StateFiles(root, namespace=MODEL_A).write("thread-2", list(range(40)), payload(100))
    StateFiles(root).forget("thread-1")
    assert not list(root.glob("*/thread-1"))
    assert kept.exists()
    assert StateFiles(root).keys() == {"thread-2"}


def test_stale_temporary_files_of_dead_writers_are_cleaned_up(root: Path):
    states = StateFiles(root, namespace=MODEL_A)
    states.write("thread-1", list(range(40)), payload(100))
    stale = root / MODEL_A / "thread-1" / ".abc.tmp"
    fresh = root / MODEL_A / "thread-1" / ".def.tmp"
    stale.write_bytes(b"x" * 50)
    fresh.write_bytes(b"x" * 50)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    states.evict()
    assert not stale.exists() and fresh.exists()


def test_the_model_hash_is_remembered_until_the_file_changes(tmp_path: Path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\1" * 1000)
    memo = tmp_path / "memo.json"
    first = file_sha256(model, memo)
    assert first == file_sha256(model) and memo.exists()
    memo.write_text(memo.read_text().replace(first, "f" * 64))  # proves the memo is what answers
    assert file_sha256(model, memo) == "f" * 64
    model.write_bytes(b"GGUF" + b"\2" * 1001)
    assert file_sha256(model, memo) == file_sha256(model) != first


def test_the_setting_and_the_environment_switch_persistence_off(monkeypatch):
    monkeypatch.delenv(KV_CACHE_ENV, raising=False)
    assert Settings().kv_cache_enabled
    assert not Settings(kv_cache=False).kv_cache_enabled
    monkeypatch.setenv(KV_CACHE_ENV, "off")
    assert not Settings().kv_cache_enabled
