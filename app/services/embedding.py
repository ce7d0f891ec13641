"""Wiring for the on-device embedder: which catalog model, which worker settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.domain import CallPurpose, ModelCall, ModelSpec, Timings, Usage
from app.core.errors import NotFound
from app.platform.settings import Settings
from app.runtime.client import WorkerClient, WorkerConfig
from app.runtime.embedder import WorkerEmbedder
from app.services.models import ModelService, check_model_file


def embedding_spec(models: ModelService) -> ModelSpec:
    """The catalog's first embedding model (the starter is all-MiniLM-L6-v2)."""
    for spec in models.catalog:
        if spec.kind == "embedding":
            return spec
    raise NotFound("the model catalog has no embedding model")


def open_embedder(
    models: ModelService,
    settings: Settings,
    *,
    log_path: Path | None = None,
    record: Callable[[ModelCall], None] | None = None,
) -> WorkerEmbedder:
    """An embedder whose worker starts on first use; a missing model says which `models pull` fetches it. With
    `record`, each batch is metered as an embedding call."""
    spec = embedding_spec(models)
    path = models.path_of(spec)
    # Measured on a busy 2-core machine: 1 thread embedded 3x faster than 2, whose spin-waits stall when another
    # process holds a core (as with generation, see ARCHITECTURE.md). The generation setting fits.
    threads = settings.n_threads
    worker = WorkerClient(
        WorkerConfig(
            model_path=path,
            model_name=spec.name,
            n_ctx=spec.context_length,
            n_threads=threads,
            n_threads_batch=threads,
            log_path=log_path,
            embedding=True,
            memory_limit_bytes=settings.worker_memory_bytes,
            reply_timeout_s=settings.worker_timeout_s,
        ),
        preflight=lambda: check_model_file(spec, path),
    )

    def meter(tokens: int, seconds: float) -> None:
        if record is not None:
            usage = Usage(prompt_tokens=tokens)
            record(ModelCall(CallPurpose.EMBEDDING, "local", spec.name, usage, Timings(), seconds))

    return WorkerEmbedder(worker, model_id=spec.name, dimensions=spec.dimensions, on_batch=meter)
