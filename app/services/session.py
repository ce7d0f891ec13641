"""The composition root shared by the CLI and the window: one data directory's store, settings, models and chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.core.models import ModelSpec
from app.platform.paths import data_dir as resolve_data_dir
from app.platform.paths import models_dir as resolve_models_dir
from app.platform.secrets import KeyringSecrets
from app.platform.settings import Settings, load_settings
from app.runtime.client import LocalWorker, WorkerConfig
from app.runtime.embedder import WorkerEmbedder
from app.services.attachments import AttachmentService
from app.services.changes import ChangeBroadcast
from app.services.chat import ChatService
from app.services.embedding import open_embedder
from app.services.models import ModelService, check_model_file
from app.services.providers import ProviderService
from app.services.routing import LocalWorkers, Router
from app.services.search import SearchService
from app.services.settings import SettingsService
from app.services.threads import ThreadService
from app.store import Store, open_store
from app.store.routing import RoutingStore


@dataclass
class Session:
    data_dir: Path
    models_dir: Path
    settings: Settings
    store: Store
    models: ModelService
    worker: LocalWorker
    chat: ChatService
    search: SearchService
    embedder: WorkerEmbedder | None = field(default=None)  # on-device embeddings; its worker starts on first use
    routing: RoutingStore | None = None  # privacy rules, providers and the ledger
    providers: ProviderService | None = None
    router: Router | None = None
    attachments: AttachmentService | None = None  # files and knowledge folders; retrieval for each turn
    # The window's services (issue 10): it reaches the store and the settings file only through these.
    changes: ChangeBroadcast = field(default_factory=ChangeBroadcast)  # every write publishes what it changed
    threads: ThreadService | None = None  # the thread list, pages, tags, metadata, views, privacy rules
    settings_service: SettingsService | None = None  # saves and applies what the settings dialog changes

    def close(self) -> None:
        if self.router is not None:
            self.router.shutdown()  # the worker of whichever local model ran last
        self.worker.shutdown()
        if self.embedder is not None:
            self.embedder.shutdown()
        self.store.close()


def open_session(data_dir: str | Path | None = None, models_dir: str | Path | None = None) -> Session:
    data = resolve_data_dir(data_dir)
    models_path = resolve_models_dir(data, models_dir)
    store = open_store(data)
    settings = load_settings(data)
    models = ModelService(models_path, offline=lambda: load_settings(data).offline)
    spec = models.spec(settings.default_model)

    def make_worker(spec: ModelSpec) -> LocalWorker:
        model_path = models.path_of(spec)
        return LocalWorker(
            WorkerConfig(
                model_path=model_path,
                model_name=spec.name,
                n_ctx=min(settings.n_ctx, spec.context_length),
                n_threads=settings.n_threads,
                n_threads_batch=settings.n_threads_batch,
                log_path=data / "worker.log",
                kv_cache_dir=data / "kv-cache" if settings.kv_cache_enabled else None,
                kv_cache_budget_bytes=settings.kv_cache_budget_mb * 1024 * 1024,
            ),
            preflight=lambda: check_model_file(spec, model_path),
        )

    worker = make_worker(spec)
    routing = RoutingStore(store)
    providers = ProviderService(routing, KeyringSecrets(scope=str(data)))
    router = Router(
        rows=routing,
        models=models,
        providers=providers,
        workers=LocalWorkers(make_worker, worker),
        settings=lambda: load_settings(data),
        default_model=spec.name,
    )
    chat = ChatService(
        store, worker, model_name=spec.name, sampling=spec.sampling, router=router, forget_cached=worker.forget_cached
    )
    embedder = open_embedder(models, settings, log_path=data / "embedder.log")
    search = SearchService(store, embedder)
    attachments = AttachmentService(
        store, files_dir=data / "attachments", embedder=embedder, summariser=worker,
        max_bytes=settings.attachment_max_mb * 1024 * 1024,
    )  # fmt: skip
    chat.user_prompt = attachments.prompt_for
    changes = ChangeBroadcast()
    threads = ThreadService(store, routing, chat=chat, changes=changes)
    settings_service = SettingsService(data, attachments=attachments, changes=changes)
    return Session(
        data, models_path, settings, store, models, worker, chat, search, embedder=embedder,
        routing=routing, providers=providers, router=router, attachments=attachments,
        changes=changes, threads=threads, settings_service=settings_service,
    )  # fmt: skip
