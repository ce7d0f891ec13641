"""Shared fixtures: a real store in a temp dir and a session on the real starter model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The repo's models/ folder, where `make test` pulls the starter model (git-ignored)."""
    path = Path(os.environ.get("THREADLOOM_MODELS_DIR", REPO / "models"))
    from app.services.models import ModelService

    if not ModelService(path).is_installed():
        pytest.fail(f"the starter model is not in {path}: run `make test` (or `threadloom --models-dir {path} models pull`)")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


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
    """The real on-device embedder (all-MiniLM-L6-v2 GGUF in its worker process), shared by a whole run."""
    from app.platform.settings import Settings
    from app.services.embedding import embedding_spec, open_embedder
    from app.services.models import ModelService

    models = ModelService(models_dir)
    if not models.is_installed(embedding_spec(models).name):
        pytest.fail(f"the embedding model is not in {models_dir}: run `make test` (or `threadloom --models-dir "
                    f"{models_dir} models pull all-minilm-l6-v2`)")
    embedder = open_embedder(models, Settings(), log_path=tmp_path_factory.mktemp("embedder") / "embedder.log")
    yield embedder
    embedder.shutdown()
