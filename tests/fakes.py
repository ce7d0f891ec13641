"""A scripted chat backend and the services wired around it, for fast tests of the turn loop.

`ScriptedBackend` is a real `ChatBackend` (it declares capabilities, counts tokens, streams, cancels) fed scripted
replies, like llm's MockModel: what it says is queued with `enqueue`, what it was asked is kept in `requests`. It
stands in for the local model's worker behind the real router, context builder, turn loop and store.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.domain import (
    BackendCapabilities,
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    StreamEvent,
    Timings,
    TokenEvent,
    Usage,
)
from app.core.ports import Embedder
from app.platform.locks import ThreadLocks
from app.platform.settings import Settings, save_settings
from app.services.chat import ChatService
from app.services.context import ContextBuilder, MessageContributor
from app.services.memory import MemoryService
from app.services.models import ModelService, load_catalog
from app.services.personalization import BranchSystemPrompt, ThreadStart
from app.services.providers import ProviderService
from app.services.routing import LocalWorkers, Router
from app.services.turns import TurnRunner
from app.store import Store, open_store
from app.store.routing import RoutingStore

SECOND_MODEL = "second-chat-model"  # a second local chat model in the scripted catalog
WORDS_PER_TURN_OVERHEAD = 4  # what a chat template adds around each turn, in the scripted tokenizer


class ScriptedBackend:
    """Streams the queued replies in order (a reply is a list of token strings, or an exception to raise before
    the first token); with nothing queued it says "ok". One token is one word in its tokenizer."""

    name = "local"

    def __init__(self, *, window: int = 4096, pid: int = 4242) -> None:
        self.window = window
        self.requests: list[GenerationRequest] = []
        self.cancelled = threading.Event()
        self.started = threading.Event()  # set when the first token of a reply is out
        self.shut_down = False
        self.forgotten: list[str] = []
        self._pid = pid
        self._script: deque[list[str] | Exception] = deque()

    def enqueue(self, *replies: list[str] | Exception) -> ScriptedBackend:
        self._script.extend(replies)
        return self

    @property
    def pid(self) -> int | None:
        return None if self.shut_down else self._pid

    def capabilities(self) -> BackendCapabilities:
        return BackendCapabilities(context_window=self.window)

    def count_tokens(self, turns: tuple[ChatTurn, ...]) -> int:
        return sum(len(turn.content.split()) + WORDS_PER_TURN_OVERHEAD for turn in turns)

    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        self.requests.append(request)
        self.cancelled.clear()
        reply = self._script.popleft() if self._script else ["ok"]
        if isinstance(reply, Exception):
            raise reply
        said = 0
        finish_reason = "stop"
        for text in reply:
            if self.cancelled.is_set():
                finish_reason = "cancelled"
                break
            said += 1
            yield TokenEvent(text)
            self.started.set()
        if self.cancelled.is_set():
            finish_reason = "cancelled"
        yield DoneEvent(
            Usage(self.count_tokens(request.turns), said, cached_tokens=1), Timings(0.05, 100.0), finish_reason
        )

    def cancel(self) -> None:
        self.cancelled.set()

    def forget_cached(self, cache_key: str) -> None:
        self.forgotten.append(cache_key)

    def shutdown(self) -> None:
        self.shut_down = True


@dataclass
class ScriptedServices:
    store: Store
    routing: RoutingStore
    router: Router
    builder: ContextBuilder
    runner: TurnRunner
    chat: ChatService
    backends: dict[str, ScriptedBackend]  # by model name, as the router asked for them
    data_dir: Path
    make_backend: Callable[[ModelSpec], ScriptedBackend]
    memory: MemoryService
    thread_start: ThreadStart

    def backend(self, model: str | None = None) -> ScriptedBackend:
        """The scripted backend the router uses for `model` (the default one when None), made now if need be."""
        return self.make_backend(self.router.local_spec(model or self.router.default_model))


def scripted_services(
    data_dir: Path,
    *,
    window: int = 4096,
    settings: Settings | None = None,
    contributors: list[MessageContributor] | None = None,
    embedder: Embedder | None = None,
) -> ScriptedServices:
    """The real store, router, context builder, turn loop, chat and memory services, with a ScriptedBackend made
    for each local model the router loads (the catalog's models, no weights needed). Memory compares by key words
    alone unless an `embedder` is given."""
    store = open_store(data_dir)
    if settings is not None:
        save_settings(data_dir, settings)
    backends: dict[str, ScriptedBackend] = {}

    def make_backend(spec: ModelSpec) -> ScriptedBackend:
        backend = backends.get(spec.name)
        if backend is None or backend.shut_down:
            backend = backends[spec.name] = ScriptedBackend(window=window, pid=4000 + len(backends))
        return backend

    from app.platform.settings import load_settings

    starter, *others = load_catalog()
    models = ModelService(data_dir / "models", catalog=[starter, replace(starter, name=SECOND_MODEL), *others])
    routing = RoutingStore(store)
    current = lambda: load_settings(data_dir)  # noqa: E731
    router = Router(
        rows=routing,
        models=models,
        providers=ProviderService(routing, secrets=None),  # no hosted provider in these tests
        workers=LocalWorkers(make_backend, limit=lambda: current().max_local_models),
        settings=current,
        default_model=models.spec(None).name,
        record=store.record_call,
    )
    memory = MemoryService(store, router, routing, embedder=embedder, settings=current)
    thread_start = ThreadStart(store, memory, current)
    builder = ContextBuilder(
        store, router, system=[], branch=[BranchSystemPrompt(store), thread_start], messages=contributors or []
    )
    runner = TurnRunner(store, router, builder, max_steps=lambda: current().max_steps, flush_interval_s=0.0)
    chat = ChatService(
        store, router, runner, sampling=SamplingParams(max_tokens=64), locks=ThreadLocks(data_dir / "locks")
    )
    return ScriptedServices(
        store, routing, router, builder, runner, chat, backends, data_dir, make_backend, memory, thread_start
    )
