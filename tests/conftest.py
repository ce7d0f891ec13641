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
