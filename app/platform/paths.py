"""Data and model directories: a flag wins, then the environment, then the platform's default."""

from __future__ import annotations

import os
import time
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


def private_file(folder: Path, name: str) -> Path:
    """`folder/name`, made readable by this user only: the folder 0700 (when created here, or when it already
    holds the file), the file and SQLite's -wal/-shm beside it 0600 (SQLite gives those the database's mode)."""
    path = folder / name
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if created or path.exists():
        _restrict(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))
    for own in (path, path.with_name(f"{name}-wal"), path.with_name(f"{name}-shm")):
        if own.exists():
            _restrict(own, 0o600)
    return path


def _restrict(path: Path, mode: int) -> None:
    """Best effort: a file someone else owns keeps its mode (opening it is then up to SQLite)."""
    try:
        path.chmod(mode)
    except PermissionError:
        pass


STALE_SCRATCH_S = 600  # a live copy writes every moment; a scratch file untouched this long was left by a kill


def sweep_stale(folder: Path, pattern: str) -> None:
    """Delete the scratch files matching `pattern` under `folder` that a killed copy left behind."""
    cutoff = time.time() - STALE_SCRATCH_S
    for leftover in folder.glob(pattern):
        try:
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass
