"""Fault injection on the worker protocol: a worker that hangs, writes garbage or half a line, or exits mid-stream
fails its request in one line and is replaced by a new process on the next one; a hung real worker fails the turn
and the next turn gets a fresh one; an unresponsive idle worker is replaced before a request is lost to it; cancel
interrupts a long prefill; the worker's memory cap refuses a model that does not fit it, in one line; workers start
with a scrubbed environment."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from app.core.domain import ChatTurn, DoneEvent, GenerationRequest, MessageStatus, ReplyFinished, Role, SamplingParams
from app.core.errors import ModelUnavailable, WorkerDied, WorkerHung
from app.platform.environment import child_environment
from app.platform.settings import Settings, load_settings
from app.runtime.client import WorkerClient, WorkerConfig
from app.services.models import load_catalog

# A stand-in worker: speaks the protocol up to the point where MODE makes it misbehave. Each start appends a line to
# STARTS, so a test sees whether the client started a new process.
FAKE_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    mode, starts = sys.argv[1], sys.argv[2]
    open(starts, "a").write(f"{os.getpid()}\\n")
    def say(event):
        sys.stdout.write(json.dumps(event) + "\\n"); sys.stdout.flush()
    say({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        request = json.loads(line)
        op, rid = request.get("op"), request.get("id")
        if op == "load":
            say({"event": "loaded", "id": rid, "n_ctx": 512, "chat_template": True})
        elif op == "ping":
            say({"event": "pong", "id": rid})
        elif op == "generate":
            say({"event": "token", "id": rid, "text": "Hel"})
            if mode == "hang":
                time.sleep(3600)
            elif mode == "garbage":
                sys.stdout.write("Segmentation fault (core dumped) \\x00\\x1b[2J\\n"); sys.stdout.flush()
            elif mode == "not-utf-8":
                sys.stdout.buffer.write(b'{"event": "token", "id": 1, "text": "\\xff\\xfe"}\\n'); sys.stdout.flush()
            elif mode == "half-line":
                sys.stdout.write('{"event": "token", "id": ' + str(rid) + ', "te'); sys.stdout.flush(); os._exit(0)
            elif mode == "not-an-object":
                sys.stdout.write("[1, 2, 3]\\n"); sys.stdout.flush()
            elif mode == "wrong-shape":
                say({"event": "done", "id": rid, "finish_reason": "stop", "usage": "lots"})
            elif mode == "exit":
                os._exit(3)
            time.sleep(3600)
    """
)


@pytest.fixture
def fake_worker(tmp_path: Path):
    """A client of the stand-in worker in `mode`, and the file its starts are counted in."""
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF")
    starts = tmp_path / "starts"
    clients = []

    def make(mode: str) -> tuple[WorkerClient, Path]:
        config = WorkerConfig(
            model_path=model, model_name="fake", reply_timeout_s=1.5, load_timeout_s=10,
            command=(sys.executable, "-I", str(script), mode, str(starts)),
        )  # fmt: skip
        clients.append(WorkerClient(config))
        return clients[-1], starts

    yield make
    for client in clients:
        client.shutdown()


def _request(text: str = "hello", **sampling) -> GenerationRequest:
    return GenerationRequest((ChatTurn(Role.USER, text),), SamplingParams(**{"seed": 7, "max_tokens": 8, **sampling}))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("mode", ["garbage", "not-utf-8", "half-line", "not-an-object", "wrong-shape", "exit", "hang"])
def test_a_misbehaving_worker_fails_its_request_in_one_line_and_the_next_request_gets_a_new_one(fake_worker, mode):
    client, starts = fake_worker(mode)
    with pytest.raises(WorkerDied) as failure:
        list(client.generate(_request()))
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in message and "JSONDecodeError" not in message
    if mode == "hang":
        assert isinstance(failure.value, WorkerHung)
        assert "stopped answering" in message
    elif mode == "exit":
        assert "exit code 3" in message
    else:
        assert "the model process failed" in message
    first = int(starts.read_text().split()[0])
    assert not _alive(first), "the misbehaving worker was left running"
    with pytest.raises(WorkerDied):  # it misbehaves again, but in a new process
        list(client.generate(_request()))
    assert len(starts.read_text().split()) == 2


def test_a_worker_that_never_says_ready_is_a_model_that_does_not_load_in_one_line(tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("import time\ntime.sleep(3600)\n")
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF")
    client = WorkerClient(WorkerConfig(model, "fake", load_timeout_s=1, command=(sys.executable, "-I", str(script))))
    try:
        with pytest.raises(ModelUnavailable, match="did not load within 1 s and was stopped"):
            client.start()
        assert client.pid is None
    finally:
        client.shutdown()


# The real worker on the real starter model


@pytest.fixture
def spec():
    return load_catalog()[0]


def _real_worker(models_dir: Path, spec, tmp_path: Path, **config) -> WorkerClient:
    return WorkerClient(WorkerConfig(models_dir / spec.file, spec.name, log_path=tmp_path / "worker.log", **config))


@pytest.mark.slow
def test_a_hung_real_worker_fails_the_turn_in_one_line_and_the_next_turn_gets_a_fresh_one(data_dir, models_dir):
    from app.services.session import open_session

    data_dir.mkdir(parents=True)
    # 10 s, not less: loading the model and the prompt count as silence, and on a loaded 2-core CI machine they once
    # took over 2 s, so the turn failed before its first token and the hang was never made
    (data_dir / "settings.json").write_text(json.dumps({"worker_timeout_s": 10, "kv_cache": False}))
    session = open_session(data_dir, models_dir)
    try:
        thread = session.chat.new_thread()
        hung_pid = None
        finished = None
        for event in session.chat.send(thread.id, "Write a long story about the sea."):
            if hung_pid is None and type(event).__name__ == "TokenEvent":
                hung_pid = next(m.pid for m in session.router.loaded_models() if m.pid)
                os.kill(hung_pid, signal.SIGSTOP)  # a real worker that stops answering mid-reply
            if isinstance(event, ReplyFinished):
                finished = event
        assert hung_pid is not None and finished is not None
        assert finished.reply.status == MessageStatus.INTERRUPTED
        assert finished.reply.error.startswith("the model worker stopped answering (silent for 10 s)")
        assert "\n" not in finished.reply.error
        assert finished.reply.content, "what the reply said before the hang is kept"
        assert not _alive(hung_pid)
        again = [e for e in session.chat.send(thread.id, "Hello?") if isinstance(e, ReplyFinished)][0]
        assert again.reply.status == MessageStatus.COMPLETE and again.reply.content
        assert next(m.pid for m in session.router.loaded_models() if m.pid) != hung_pid
    finally:
        session.close()


@pytest.mark.slow
def test_an_idle_worker_that_stopped_answering_is_replaced_before_a_request_is_lost_to_it(models_dir, spec, tmp_path):
    worker = _real_worker(models_dir, spec, tmp_path, n_ctx=512, reply_timeout_s=2)
    try:
        worker.start()
        stuck = worker.pid
        os.kill(stuck, signal.SIGSTOP)
        events = list(worker.generate(_request()))
        assert isinstance(events[-1], DoneEvent) and events[-1].usage.completion_tokens > 0
        assert worker.pid != stuck and not _alive(stuck)
    finally:
        worker.shutdown()


@pytest.mark.slow
def test_cancel_interrupts_a_long_prefill(models_dir, spec, tmp_path):
    """The context after a cancel holds only the chunks processed before it: a second run of the same prompt finds
    fewer cached tokens than the prompt has (a prefill run to its end would have cached all but the last)."""
    worker = _real_worker(models_dir, spec, tmp_path, n_ctx=4096)
    try:
        worker.start()
        prompt = " ".join(f"Line {n}: the keeper counted {n * 7} gulls over the grey water." for n in range(200))
        threading.Timer(0.3, worker.cancel).start()
        cancelled = list(worker.generate(_request(prompt, max_tokens=4)))[-1]
        assert cancelled.finish_reason == "cancelled" and cancelled.usage.completion_tokens == 0
        assert cancelled.usage.prompt_tokens > 2000
        again = list(worker.generate(_request(prompt, max_tokens=1)))[-1]
        assert again.finish_reason == "length"
        assert again.usage.cached_tokens < again.usage.prompt_tokens - 1
    finally:
        worker.shutdown()


def _peak_address_space(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmPeak:"))
    return int(line.split()[1]) * 1024


@pytest.mark.slow
def test_a_model_over_the_worker_memory_cap_is_refused_in_one_line(models_dir, spec, tmp_path):
    small = _real_worker(models_dir, spec, tmp_path, n_ctx=512)
    try:
        small.start()
        needed = _peak_address_space(small.pid)
    finally:
        small.shutdown()
    cap = needed + 64 * 2**20  # room for the small window, not for 8,192 tokens of KV cache (~190 MB)
    within = _real_worker(models_dir, spec, tmp_path, n_ctx=512, memory_limit_bytes=cap)
    try:
        assert within.count_tokens((ChatTurn(Role.USER, "hello"),)) > 0  # the cap itself does not break a load
    finally:
        within.shutdown()
    over = _real_worker(models_dir, spec, tmp_path, n_ctx=8192, memory_limit_bytes=cap)
    try:
        with pytest.raises(ModelUnavailable) as refusal:
            over.start()
        message = str(refusal.value)
        assert f"needs more memory than the model worker may use ({cap // 2**20} MB)" in message
        assert "worker_memory_mb" in message and "\n" not in message
        assert over.pid is None
    finally:
        over.shutdown()


@pytest.mark.slow
def test_a_worker_starts_with_a_scrubbed_environment(models_dir, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-never-in-a-worker")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    monkeypatch.setenv("LD_PRELOAD", "")
    worker = _real_worker(models_dir, spec, tmp_path, n_ctx=512)
    try:
        worker.start()
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
    finally:
        worker.shutdown()
    names = {entry.partition(b"=")[0].decode() for entry in environ if entry}
    assert "PATH" in names
    assert not names & {"OPENAI_API_KEY", "PYTHONWARNINGS", "LD_PRELOAD"}
    assert not any(name.startswith("PYTHON") for name in names)


def test_the_scrubbed_environment_keeps_what_helpers_need_and_proxies_only_for_downloads():
    shell = {"PATH": "/usr/bin", "HOME": "/home/ada", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "2",
             "AWS_SECRET_ACCESS_KEY": "canary", "GITHUB_TOKEN": "canary", "PYTHONPATH": "/tmp/x",
             "PYTHONSTARTUP": "/tmp/x.py", "LD_PRELOAD": "/tmp/x.so", "https_proxy": "http://proxy:3128",
             "PIP_FIND_LINKS": "/wheels"}  # fmt: skip
    assert child_environment(source=shell) == {
        "PATH": "/usr/bin", "HOME": "/home/ada", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "2",
    }  # fmt: skip
    download = child_environment(network=True, source=shell)
    assert download["https_proxy"] == "http://proxy:3128" and download["PIP_FIND_LINKS"] == "/wheels"
    assert not download.keys() & {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PYTHONPATH", "LD_PRELOAD"}



def test_the_worker_memory_cap_defaults_to_most_of_the_machine_and_follows_the_setting(tmp_path):
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert Settings().worker_memory_bytes == max(2 * 2**30, physical * 4 // 5)
    assert Settings(worker_memory_mb=512).worker_memory_bytes == 512 * 2**20
    (tmp_path / "settings.json").write_text(json.dumps({"worker_memory_mb": "lots"}))
    assert load_settings(tmp_path).offline  # a cap of the wrong type is a damaged file: it fails closed
