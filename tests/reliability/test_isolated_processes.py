"""The model worker, the embedder's worker, the attachment reader and pip start isolated from the current directory: a folder holding a
Python project (here a hostile `app/` and `pip/` that leave a marker when imported) runs none of its code."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.domain import ChatTurn, Role
from app.core.errors import SetupError
from app.ingest.isolated import extract_isolated
from app.runtime.client import WorkerClient, WorkerConfig
from app.services.embedding import embedding_spec
from app.services.models import ModelService, _pip_download, load_catalog


@pytest.fixture
def hostile_cwd(tmp_path: Path, monkeypatch) -> Path:
    """A working directory whose `app` and `pip` packages write `marker` when they are imported."""
    folder = tmp_path / "project"
    marker = tmp_path / "marker"
    for package in ("app", "app/runtime", "pip"):
        (folder / package).mkdir(parents=True)
        (folder / package / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write({package!r} + '\\n')\n")
    (folder / "app" / "runtime" / "worker.py").write_text("raise SystemExit('the hostile worker ran')\n")
    (folder / "pip" / "__main__.py").write_text("raise SystemExit('the hostile pip ran')\n")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PYTHONPATH", str(folder))  # -I ignores this as well
    return marker


@pytest.mark.slow
@pytest.mark.parametrize("embedding", [False, True], ids=["chat worker", "embedder worker"])
def test_a_worker_started_from_a_python_project_runs_none_of_its_code(models_dir, hostile_cwd, tmp_path, embedding):
    models = ModelService(models_dir)
    spec = embedding_spec(models) if embedding else load_catalog()[0]
    tokenizer = models_dir / spec.tokenizer.file if spec.tokenizer else None
    worker = WorkerClient(WorkerConfig(model_path=models_dir / spec.file, model_name=spec.name, n_ctx=512,
                                      log_path=tmp_path / "worker.log", embedding=embedding,
                                      tokenizer_path=tokenizer))  # fmt: skip
    try:
        if embedding:
            vectors, _tokens = worker.embed(["otters"])
            assert len(vectors[0]) == spec.dimensions
        else:
            assert worker.count_tokens((ChatTurn(Role.USER, "hello"),)) > 0
    finally:
        worker.shutdown()
    assert not hostile_cwd.exists(), hostile_cwd.read_text()
    assert "hostile" not in (tmp_path / "worker.log").read_text()


def test_pip_started_from_a_python_project_is_the_real_pip(hostile_cwd, tmp_path):
    with pytest.raises(SetupError) as caught:
        _pip_download(str(tmp_path / "no-such-wheel-1.0-py3-none-any.whl"), tmp_path, None)  # fails locally
    assert "hostile" not in str(caught.value)
    assert not hostile_cwd.exists(), hostile_cwd.read_text()


def test_the_attachment_reader_started_from_a_python_project_runs_none_of_its_code(hostile_cwd, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("otters", encoding="utf-8")
    assert extract_isolated(path, kind="text", name="notes.txt").pages == ["otters"]
    assert not hostile_cwd.exists(), hostile_cwd.read_text()
