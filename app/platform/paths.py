"""Data and model directories: a flag wins, then the environment, then the platform's default."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "THREADLOOM_HOME"
MODELS_DIR_ENV = "THREADLOOM_MODELS_DIR"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser().resolve()
    return Path(platformdirs.user_data_dir("threadloom", appauthor=False))


def models_dir(data: Path, explicit: str | os.PathLike | None = None) -> Path:
    """Weights live apart from the database so many data directories can share one copy."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV]).expanduser().resolve()
    return data / "models"
