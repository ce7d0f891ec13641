"""The composition root shared by the CLI and the window: one data directory's store, settings, models and chat."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.domain import CallPurpose, ModelSpec
from app.platform.locks import ThreadLocks
from app.platform.paths import data_dir as resolve_data_dir
from app.platform.paths import models_dir as resolve_models_dir
from app.platform.secrets import KeyringSecrets
from app.platform.settings import Settings, load_settings
from app.runtime.client import WorkerClient, WorkerConfig
from app.runtime.embedder import WorkerEmbedder
from app.runtime.kvcache import StateFiles
from app.services.assistants import AssistantService
from app.services.attachments import AttachmentService
from app.services.builtin_tools import BuiltinTools
from app.services.changes import ChangeBroadcast
from app.services.chat import ChatService
from app.services.context import ContextBuilder
from app.services.embedding import embedding_threads, open_embedder
from app.services.insights import InsightsService
from app.services.mcp_servers import McpServers
from app.services.memory import MemoryService
from app.services.memory_tools import MemoryTools
from app.services.models import ModelService, check_model_file
from app.services.personalization import BranchSystemPrompt, ThreadStart
from app.services.providers import ProviderService
from app.services.routing import LocalWorkers, Router
from app.services.search import SearchService
from app.services.settings import SettingsService
from app.services.threads import ThreadService
from app.services.tools import ToolRegistry, ToolService, ToolStepHandler
from app.services.turns import TurnRunner
from app.store import Store, open_store
from app.store.routing import RoutingStore


@dataclass
class Session:
    data_dir: Path
    models_dir: Path
    settings: Settings
    store: Store
    models: ModelService
    router: Router  # the only way to a model: turns, titles, summaries, compaction, token counts
    context: ContextBuilder  # turns a thread's branch into a prompt that fits the route's window
    chat: ChatService
    search: SearchService
    embedder: WorkerEmbedder  # on-device embeddings; its worker starts on first use
    routing: RoutingStore     # privacy rules, providers and the ledger
    providers: ProviderService
    attachments: AttachmentService  # files and knowledge folders; passages for each turn
    kv_cache_dir: Path | None  # where the threads' model states are saved; None: saving is off
    # The window reaches the store and the settings file only through these.
    changes: ChangeBroadcast  # every write publishes what it changed
    threads: ThreadService  # the thread list, pages, tags, metadata, views, privacy rules
    settings_service: SettingsService  # saves and applies what the settings dialog changes
    memory: MemoryService  # long-term memories: extraction, the inbox, recall, forgetting
    thread_start: ThreadStart  # what each thread took at its start: custom instructions, recalled memories
    assistants: AssistantService  # saved set-ups new threads start from
    tools: ToolService  # the tools threads may call, and the user's answers to calls waiting for a yes
    mcp: McpServers  # the MCP servers of mcp.json: their tools, and the file's edits
    insights: InsightsService  # ratings of replies, usage figures

    def close(self) -> None:
        self.mcp.stop_all()
        self.router.unload_models()
        self.embedder.shutdown()
        self.store.close()


def open_session(data_dir: str | Path | None = None, models_dir: str | Path | None = None) -> Session:
    data = resolve_data_dir(data_dir)
    models_path = resolve_models_dir(data, models_dir)
    store = open_store(data)
    settings = load_settings(data)
    models = ModelService(models_path, offline=lambda: load_settings(data).offline)
    spec = models.spec(settings.default_model)
    kv_cache_dir = data / "kv-cache" if settings.kv_cache_enabled else None

    def make_worker(spec: ModelSpec) -> WorkerClient:
        model_path = models.path_of(spec)
        return WorkerClient(
            WorkerConfig(
                model_path=model_path,
                model_name=spec.name,
                n_ctx=min(settings.n_ctx, spec.context_length),
                n_threads=settings.n_threads,
                n_threads_batch=settings.n_threads_batch,
                log_path=data / "worker.log",
                kv_cache_dir=kv_cache_dir,
                kv_cache_budget_bytes=settings.kv_cache_budget_mb * 1024 * 1024,
                memory_limit_bytes=settings.worker_memory_bytes,
                reply_timeout_s=settings.worker_timeout_s,
            ),
            preflight=lambda: check_model_file(spec, model_path),
        )

    def current_settings() -> Settings:
        return load_settings(data)

    routing = RoutingStore(store)
    providers = ProviderService(routing, KeyringSecrets(scope=str(data)))
    workers = LocalWorkers(make_worker, limit=lambda: current_settings().max_local_models)
    router = Router(
        rows=routing,
        models=models,
        providers=providers,
        workers=workers,
        settings=current_settings,
        default_model=spec.name,
        record=store.record_call,
        forget_saved_states=StateFiles(kv_cache_dir).forget if kv_cache_dir is not None else None,
    )
    embedder = open_embedder(
        models, settings, log_path=data / "embedder.log", record=store.record_call,
        threads=embedding_threads(router.local_activity.busy), holds_back=router.local_activity.holds_back,
    )  # fmt: skip
    router.local_activity.on_change(embedder.retarget)
    search = SearchService(store, embedder)
    attachments = AttachmentService(
        store, files_dir=data / "attachments", embedder=embedder,
        summarise_with=lambda request: router.complete(request, purpose=CallPurpose.SUMMARY),
        max_bytes=settings.attachment_max_mb * 1024 * 1024,
    )  # fmt: skip
    models.sweep_scratch()  # what a copy killed last time left behind
    attachments.sweep_scratch()
    changes = ChangeBroadcast()
    memory = MemoryService(store, router, routing, embedder=embedder, settings=current_settings, changes=changes)
    thread_start = ThreadStart(store, memory, current_settings)
    builder = ContextBuilder(
        store, router, system=[], branch=[BranchSystemPrompt(store), thread_start], messages=[attachments],
        passage_share=lambda: current_settings().passage_share,
    )  # fmt: skip
    runner = TurnRunner(store, router, builder, max_steps=lambda: current_settings().max_steps)
    mcp = McpServers(data)
    registry = ToolRegistry(
        store, [BuiltinTools(search, attachments), MemoryTools(store, routing, memory, current_settings), mcp]
    )
    builder.offer_tools = registry.offered
    runner.handlers.append(ToolStepHandler(store, registry, stopping=runner.stopping))
    chat = ChatService(
        store, router, runner, sampling=spec.sampling, locks=ThreadLocks(data / "locks"), changes=changes
    )
    threads = ThreadService(store, routing, chat=chat, changes=changes)
    settings_service = SettingsService(data, attachments=attachments, changes=changes)
    assistants = AssistantService(store, routing, chat, attachments, changes)
    return Session(
        data, models_path, settings, store, models, router, builder, chat, search, embedder, routing, providers,
        attachments, kv_cache_dir, changes, threads, settings_service, memory, thread_start, assistants,
        ToolService(store, registry, chat.resume), mcp,
        InsightsService(store, changes=changes),
    )
