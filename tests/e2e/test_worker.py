"""The model worker with the real starter model: streaming, usage, cancel, a killed worker, a bad model file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
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
    TokenEvent,
)
from app.core.errors import ModelUnavailable, WorkerDied
from app.runtime.client import WorkerClient, WorkerConfig
from app.services.models import load_catalog

pytestmark = pytest.mark.slow

STORY = "Write a very long story about a lighthouse keeper and the sea, with many chapters."


@pytest.fixture
def worker(models_dir: Path, tmp_path: Path):
    spec = load_catalog()[0]
    worker = WorkerClient(WorkerConfig(models_dir / spec.file, spec.name, n_ctx=2048, log_path=tmp_path / "w.log"))
    yield worker
    worker.shutdown()


def local_pid(session) -> int | None:
    """The process id of the local model's worker the session's router runs now, if any."""
    return next((model.pid for model in session.router.loaded_models() if model.pid is not None), None)


def _request(text: str, **sampling) -> GenerationRequest:
    return GenerationRequest((ChatTurn(Role.USER, text),), SamplingParams(**{"seed": 7, **sampling}))


def _prompt_token_count(model_path: Path, text: str) -> int:
    """Tokenize the rendered prompt independently, with a vocabulary-only load of the same GGUF."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
        add_generation_prompt=True,
    )
    rendered = formatter(messages=[{"role": "user", "content": text}])
    return len(llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True))


def test_streams_tokens_and_counts_usage(worker, models_dir: Path):
    events = list(worker.generate(_request(STORY, max_tokens=40)))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert len(tokens) > 5 and "".join(t.text for t in tokens).strip()
    assert done.finish_reason == "length"
    assert done.usage.completion_tokens == 40
    assert done.usage.prompt_tokens == _prompt_token_count(models_dir / load_catalog()[0].file, STORY)
    assert done.timings.ttft_s > 0 and done.timings.tokens_per_s > 0


def test_cancel_stops_within_a_few_tokens_and_the_worker_stays_usable(worker):
    stream = worker.generate(_request(STORY, max_tokens=400))
    seen = 0
    for event in stream:
        if isinstance(event, TokenEvent):
            seen += 1
            if seen == 5:
                worker.cancel()
        else:
            done = event
    assert done.finish_reason == "cancelled"
    assert done.usage.completion_tokens <= 5 + 3
    again = list(worker.generate(_request("Say hello.", max_tokens=8)))
    assert isinstance(again[-1], DoneEvent) and again[-1].usage.completion_tokens > 0


def test_a_killed_worker_keeps_the_partial_reply_as_interrupted_and_the_next_turn_works(session):
    session.chat.sampling = replace(session.chat.sampling, max_tokens=400)
    thread = session.chat.new_thread()
    finished = None
    streamed = 0
    for event in session.chat.send(thread.id, STORY):
        if isinstance(event, TokenEvent):
            streamed += 1
            if streamed == 20:
                os.kill(local_pid(session), signal.SIGKILL)
        elif isinstance(event, ReplyFinished):
            finished = event
    assert finished.finish_reason == "error"
    stored = session.store.get_message(finished.reply.id)
    assert stored.status == MessageStatus.INTERRUPTED
    assert "worker stopped" in stored.error
    assert len(stored.content) > 0  # the partial text is kept

    session.chat.sampling = replace(session.chat.sampling, max_tokens=16)
    next_turn = [e for e in session.chat.send(thread.id, "Go on.") if isinstance(e, ReplyFinished)][0]
    assert next_turn.reply.status == MessageStatus.COMPLETE
    assert next_turn.reply.content


def test_a_truncated_model_is_refused_by_name_and_loses_nothing(session, tmp_path: Path, models_dir: Path):
    spec = load_catalog()[0]
    truncated = tmp_path / "models" / spec.file
    truncated.parent.mkdir()
    with open(models_dir / spec.file, "rb") as source:
        truncated.write_bytes(source.read(spec.size_bytes // 3))
    from app.services.session import open_session

    broken = open_session(session.data_dir, truncated.parent)
    try:
        thread = broken.chat.new_thread()
        finished = [e for e in broken.chat.send(thread.id, "hello") if isinstance(e, ReplyFinished)][0]
        assert finished.reply.status == MessageStatus.ERROR
        assert str(truncated) in finished.reply.error and "truncated" in finished.reply.error
        path = broken.store.current_path(thread.id)
        assert [m.content for m in path][0] == "hello"  # the user's message is kept
    finally:
        broken.close()


def test_a_corrupt_model_that_passes_the_cheap_checks_fails_to_load_with_a_clear_error(tmp_path: Path, models_dir: Path):
    spec = load_catalog()[0]
    corrupt = tmp_path / spec.file
    shutil.copyfile(models_dir / spec.file, corrupt)
    with open(corrupt, "r+b") as handle:  # keep the magic, wreck the header
        handle.seek(4)
        handle.write(b"\xff" * 64)
    worker = WorkerClient(WorkerConfig(corrupt, spec.name, log_path=tmp_path / "w.log"))
    try:
        with pytest.raises(ModelUnavailable, match=str(corrupt)):
            worker.start()
    finally:
        worker.shutdown()


def test_the_worker_exits_when_its_parent_is_killed(models_dir: Path, tmp_path: Path):
    spec = load_catalog()[0]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from app.runtime.client import WorkerClient, WorkerConfig
                worker = WorkerClient(WorkerConfig(Path({str(models_dir / spec.file)!r}), "m", n_ctx=512))
                worker.start()
                print(worker.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    worker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30  # a bound on waiting, not a speed assertion
    while time.monotonic() < deadline and _alive(worker_pid):
        time.sleep(0.1)
    assert not _alive(worker_pid), "the worker outlived its parent"


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_a_worker_killed_mid_stream_raises_workerdied_and_the_next_request_starts_a_new_one(worker):
    stream = worker.generate(_request(STORY, max_tokens=200))
    first = next(stream)
    assert isinstance(first, TokenEvent)
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerDied):
        list(stream)
    assert isinstance(list(worker.generate(_request("hi", max_tokens=4)))[-1], DoneEvent)


def test_a_stop_pressed_while_the_worker_is_still_starting_is_not_lost(worker):
    import threading

    results = []
    runner = threading.Thread(target=lambda: results.extend(worker.generate(_request(STORY, max_tokens=400))))
    runner.start()
    while worker.pid is None and runner.is_alive():  # the worker is starting: stop now, before any token
        worker.cancel()
        time.sleep(0.001)
    worker.cancel()
    runner.join(timeout=120)
    assert isinstance(results[-1], DoneEvent) and results[-1].finish_reason == "cancelled"
    assert results[-1].usage.completion_tokens <= 3
