"""Shared fixtures: a real store in a temp dir, a session on the real starter model, and for the routing tests the
hosted stand-in (llama.cpp's own OpenAI-compatible server on 127.0.0.1) behind a counting relay, and keyrings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from servers import CountingProxy, MemoryKeyring, start_llama_server, start_secret_service, stop

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The repo's models/ folder, where `make test` pulls the starter model (git-ignored)."""
    path = Path(os.environ.get("THREADLOOM_MODELS_DIR", REPO / "models")).resolve()  # tests may change directory
    from app.services.models import ModelService

    if not ModelService(path).is_installed():
        pytest.fail(f"the starter model is not in {path}: run `make test` (or `threadloom --models-dir {path} models pull`)")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(data_dir: Path, models_dir: Path):
    """Runs the `threadloom` command (`python -m app`) on this test's data dir (or `data=`) and the starter models."""

    def threadloom(*args: str, data: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data or data_dir), "--models-dir", str(models_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return threadloom


@pytest.fixture
def store(data_dir: Path):
    from app.store import open_store

    store = open_store(data_dir)
    yield store
    store.close()


@pytest.fixture
def session(data_dir: Path, models_dir: Path):
    from app.services.session import open_session

    session = open_session(data_dir, models_dir)
    yield session
    session.close()


@pytest.fixture(scope="session")
def embedder(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real on-device embedder (all-MiniLM-L6-v2, int8 ONNX, in its worker process), shared by a whole run."""
    from app.platform.settings import Settings
    from app.services.embedding import embedding_spec, open_embedder
    from app.services.models import ModelService

    models = ModelService(models_dir)
    if not models.is_installed(embedding_spec(models).name):
        pytest.fail(f"the embedding model is not in {models_dir}: run `make test` (or `threadloom --models-dir "
                    f"{models_dir} models pull {embedding_spec(models).name}`)")
    embedder = open_embedder(models, Settings(), log_path=tmp_path_factory.mktemp("embedder") / "embedder.log")
    yield embedder
    embedder.shutdown()


@pytest.fixture(scope="session")
def api_key() -> str:
    return "sk-threadloom-" + secrets.token_hex(16)


@pytest.fixture(scope="session")
def hosted_server(models_dir: Path, api_key: str, tmp_path_factory) -> int:
    """`python -m llama_cpp.server` on the starter model with an API key; its port."""
    from app.services.models import load_catalog

    log = tmp_path_factory.mktemp("hosted") / "server.log"
    process, port = start_llama_server(models_dir / load_catalog()[0].file, api_key, log)
    yield port
    stop(process)


@pytest.fixture
def hosted(hosted_server: int) -> CountingProxy:
    """A fresh relay in front of the hosted stand-in: `connections` counts what this test sent."""
    proxy = CountingProxy(hosted_server)
    yield proxy
    proxy.close()


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory) -> dict[str, str]:
    """The environment of a private D-Bus session with gnome-keyring's Secret Service running."""
    env, processes = start_secret_service(tmp_path_factory.mktemp("keyring-home"))
    yield env
    for process in processes:
        stop(process)
