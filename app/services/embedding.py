"""Wiring for the on-device embedder: which catalog model, which worker settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from app.core.domain import CallPurpose, ModelCall, ModelSpec, Timings, Usage
from app.core.errors import NotFound
from app.platform.settings import Settings
from app.runtime.client import WorkerClient, WorkerConfig
from app.runtime.embedder import WorkerEmbedder
from app.services.models import ModelService, check_model_file


def embedding_spec(models: ModelService) -> ModelSpec:
    """The catalog's first installed embedding model, else its first one (whose absence `models pull` fixes): the
    int8 ONNX all-MiniLM-L6-v2, or the F16 GGUF of a set-up made before it. Vectors carry the model's name, so a
    change of embedder re-embeds in the background."""
    embedders = [spec for spec in models.catalog if spec.kind == "embedding"]
    if not embedders:
        raise NotFound("the model catalog has no embedding model")
    return next((spec for spec in embedders if models.is_installed(spec.name)), embedders[0])


def embedding_threads(reply_streaming: Callable[[], bool]) -> Callable[[], int]:
    """The cores an embedding batch may use: all of them while no local reply streams, one while one does, so a
    reply never waits on an ingest (asked before every batch)."""
    cores = os.cpu_count() or 1
    return lambda: 1 if reply_streaming() else cores


def open_embedder(
    models: ModelService,
    settings: Settings,
    *,
    log_path: Path | None = None,
    record: Callable[[ModelCall], None] | None = None,
    threads: Callable[[], int] | None = None,
    holds_back: Callable[[int], bool] | None = None,
) -> WorkerEmbedder:
    """An embedder whose worker starts on first use; a missing model says which `models pull` fetches it. With
    `record`, each batch is metered as an embedding call; `threads` is asked for each batch's cores (else the
    generation setting `n_threads`); `holds_back` as in WorkerEmbedder."""
    spec = embedding_spec(models)
    path = models.path_of(spec)
    threads = threads or (lambda: settings.n_threads)
    worker = WorkerClient(
        WorkerConfig(
            model_path=path,
            model_name=spec.name,
            n_ctx=spec.context_length,
            n_threads=settings.n_threads,
            n_threads_batch=settings.n_threads,
            log_path=log_path,
            embedding=True,
            tokenizer_path=models.models_dir / spec.tokenizer.file if spec.tokenizer else None,
            memory_limit_bytes=settings.worker_memory_bytes,
            reply_timeout_s=settings.worker_timeout_s,
        ),
        preflight=lambda: check_model_file(spec, path),
    )

    def meter(tokens: int, seconds: float) -> None:
        if record is not None:
            usage = Usage(prompt_tokens=tokens)
            record(ModelCall(CallPurpose.EMBEDDING, "local", spec.name, usage, Timings(), seconds))

    return WorkerEmbedder(
        worker, model_id=spec.name, dimensions=spec.dimensions, on_batch=meter, threads=threads, holds_back=holds_back
    )
