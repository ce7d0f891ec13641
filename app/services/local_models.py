"""Models the user added from their own files: validated, copied into the models directory and listed in
`added-models.json` there, next to the weights (the catalog in the repository lists the ones Threadloom fetches)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from app.core.domain import ModelSpec, SamplingParams
from app.core.errors import InvalidInput, SetupError
from app.services.gguf import GgufInfo, validate_chat_model

REGISTRY = "added-models.json"
COPY_CHUNK = 1 << 20


def registry_path(models_dir: Path) -> Path:
    return models_dir / REGISTRY


def load_added_models(models_dir: Path) -> list[ModelSpec]:
    """The user's own models; a damaged registry lists none rather than stopping the app."""
    try:
        entries = json.loads(registry_path(models_dir).read_text(encoding="utf-8"))
        return [ModelSpec(**{**entry, "sampling": SamplingParams(**entry["sampling"])}) for entry in entries]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def save_added_models(models_dir: Path, specs: list[ModelSpec]) -> None:
    path = registry_path(models_dir)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps([asdict(spec) for spec in specs], indent=2), encoding="utf-8")
    os.replace(temporary, path)


def name_for(path: Path) -> str:
    """A model name from its file name: lower case, words joined by dashes (`Qwen2.5-0.5B-Q4_K_M.gguf` →
    `qwen2.5-0.5b-q4_k_m`)."""
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "model"


SCRATCH_PREFIX = ".add-"  # a copy in progress; left behind only by a kill, swept at start


def copy_verified(
    source: Path, target: Path, progress: Callable[[int, int, str], None] | None = None
) -> str:
    """Copy `source` into place atomically and return its sha256, computed on the bytes written."""
    digest = hashlib.sha256()
    total = source.stat().st_size
    done = 0
    descriptor, scratch = tempfile.mkstemp(dir=target.parent, prefix=f"{SCRATCH_PREFIX}{target.name}-")
    try:
        with open(source, "rb") as reader, os.fdopen(descriptor, "wb") as writer:
            while block := reader.read(COPY_CHUNK):
                writer.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total, "copy")
        os.replace(scratch, target)
    except OSError as exc:
        raise SetupError(f"cannot copy {source} into {target.parent} ({exc.strerror}): free some space") from exc
    finally:  # a failed or interrupted copy (Ctrl+C included) leaves no partial file behind
        Path(scratch).unlink(missing_ok=True)
    return digest.hexdigest()


def spec_for(info: GgufInfo, *, name: str, sha256: str, source: Path) -> ModelSpec:
    return ModelSpec(
        name=name,
        file=source.name,
        sha256=sha256,
        size_bytes=info.file_size,
        license=info.license or "unknown (see the model's card)",
        context_length=int(info.context_length or 4096),
        quantization=info.quantization,
        source=f"file:{source}",
        sampling=SamplingParams(),
        description=f"{info.name or name} ({info.architecture}), added from {source}",
    )


def check_addable(path: Path, known: list[ModelSpec], models_dir: Path, free_memory: int | None) -> GgufInfo:
    """The checks before a copy: a whole chat GGUF that fits in memory, under a name and file not taken yet."""
    if path.suffix.lower() != ".gguf":
        raise InvalidInput(f"{path} is not a .gguf file: Threadloom runs GGUF models made for llama.cpp")
    info = validate_chat_model(path, free_memory=free_memory)
    name = name_for(path)
    if any(spec.name == name for spec in known):
        raise InvalidInput(f"a model named {name!r} is already installed: remove it first or rename {path}")
    if (models_dir / path.name).exists() and path.resolve() != (models_dir / path.name).resolve():
        raise InvalidInput(f"{models_dir / path.name} already exists: rename {path} before adding it")
    return info
