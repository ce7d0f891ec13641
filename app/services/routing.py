"""The router: the one way to reach a model. Which backend answers a turn (or a title, a summary, a compaction, a
token count), and whether the thread's content may leave the machine for it.

Per turn it picks the thread's model (or the one the user chose for this turn: an upgrade), and a hosted
**fallback** when the local model cannot serve: not installed, fails to load, its worker died twice in a row, or the
prompt is larger than its window. Every hosted use passes `permit` — the global offline switch, then the thread's
privacy rule — and every hosted request is written to the privacy ledger before it is sent. Every call is metered:
one usage row with its purpose (`MeteredBackend`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

from app.core.domain import (
    BackendCapabilities,
    CallPurpose,
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    ModelCall,
    ModelSpec,
    StreamEvent,
    Thread,
    TokenEvent,
)
from app.core.errors import (
    ConfirmationNeeded,
    ConsentRequired,
    GenerationFailed,
    HostedError,
    ModelUnavailable,
    NotFound,
    OfflineMode,
    WorkerDied,
    WorkerHung,
)
from app.core.ports import ChatBackend
from app.core.routing import ConsentCheck, HostedPermission, ModelRef, PrivacyRule, Provider, RouteReason
from app.core.tools import ToolSpec
from app.platform.settings import Settings
from app.runtime.client import WorkerClient
from app.runtime.hosted import HostedBackend, estimate_tokens
from app.services.models import ModelService
from app.services.providers import ProviderService
from app.store.routing import RoutingStore

CRASHES_BEFORE_FALLBACK = 2
# What a utility call (title, summary, compaction) may fail with: it is then skipped, the turn goes on.
UTILITY_FAILURES = (ModelUnavailable, WorkerDied, GenerationFailed, HostedError, ConsentRequired, OfflineMode, NotFound)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """Where one turn runs. `model` is what the reply records: a local name or `provider/model`."""

    model: str
    reason: RouteReason
    provider: Provider | None = None  # None: the local worker
    consent: bool = False             # the user confirmed hosted use for this turn ("ask each time")

    @property
    def hosted(self) -> bool:
        return self.provider is not None

    @property
    def backend_name(self) -> str:
        return "hosted" if self.hosted else "local"

    @property
    def hosted_model(self) -> str:
        return ModelRef.parse(self.model).name


@dataclass(frozen=True, slots=True)
class LoadedModel:
    name: str
    pid: int | None  # None: its worker is starting or has stopped


class LocalWorkers:
    """The owner of the local models' worker processes: at most `limit()` chat models in memory; asking for one
    more stops the least recently used. (The window says it is loading a model by asking `running` first.)"""

    def __init__(
        self,
        make_worker: Callable[[ModelSpec], WorkerClient],
        *,
        limit: Callable[[], int] = lambda: 1,
    ) -> None:
        self._make_worker = make_worker
        self._limit = limit
        self._workers: OrderedDict[str, WorkerClient] = OrderedDict()  # least recently used first

    def worker_for(self, spec: ModelSpec) -> WorkerClient:
        worker = self._workers.get(spec.name)
        if worker is not None:
            self._workers.move_to_end(spec.name)
            return worker
        while self._workers and len(self._workers) >= max(1, self._limit()):
            name, oldest = self._workers.popitem(last=False)
            log.info("unloading %s to make room for %s", name, spec.name)
            oldest.shutdown()
        log.info("loading local model %s", spec.name)
        worker = self._workers[spec.name] = self._make_worker(spec)
        return worker

    def running(self, name: str) -> bool:
        worker = self._workers.get(name)
        return worker is not None and worker.pid is not None

    def most_recent(self) -> str | None:
        return next(reversed(self._workers), None)

    def loaded(self) -> list[LoadedModel]:
        return [LoadedModel(name, worker.pid) for name, worker in self._workers.items()]

    def forget_cached(self, cache_key: str) -> None:
        for worker in self._workers.values():
            worker.forget_cached(cache_key)

    def shutdown(self) -> None:
        """Stop every worker (each finishes saving its thread's state first)."""
        while self._workers:
            _, worker = self._workers.popitem(last=False)
            worker.shutdown()


# A turn holds background embeds (an ingest's) back until its first output at most this long: past it (a long
# prompt's prefill) the ingest goes on beside it, on one core, rather than stall.
FIRST_OUTPUT_HOLD_S = 30.0
# Background model calls (an attachment's summary, proposed memories) start only while no local turn runs on
# another thread, waiting at most this long: the model's lock is not fair, so a summary's next call took the model
# straight back from a waiting reply (in a trial, a question asked as a 10-K's summary began waited for five of its
# seven calls, ~32 s).
YIELD_TO_TURNS_MAX_S = 300.0
BACKGROUND_PURPOSES = frozenset({CallPurpose.SUMMARY, CallPurpose.MEMORY})


class LocalActivity:
    """How many local model calls (replies, titles, summaries) and local turns are generating now, and which turns
    still wait for their first output. The embedder asks it before each batch: it keeps to one core while a call
    runs, and embeds nothing for other threads until a turn's first token, so chat never waits on an ingest (issue
    17). Background model calls (summaries) ask it too, and start only between turns."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._running = 0
        self._awaiting: dict[object, tuple[int, float]] = {}  # a turn's key -> (its thread, since when)
        self._turns: dict[object, int] = {}  # every running turn's key -> its thread
        self._clock = clock
        self._lock = threading.Lock()
        self._turn_ended = threading.Condition(self._lock)
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """`listener()` runs when the first local call starts, when the last one ends, and when a turn starts and
        its first output comes."""
        self._listeners.append(listener)

    @contextmanager
    def generating(self) -> Iterator[None]:
        self._add(1)
        try:
            yield
        finally:
            self._add(-1)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """A local turn: it generates from its start, and embeds for other threads wait until its model's first
        output (`output_began`, from its model call) or its end."""
        key = object()
        with self.generating():
            with self._lock:
                self._awaiting[key] = (threading.get_ident(), self._clock())
                self._turns[key] = threading.get_ident()
            self._tell()
            try:
                yield
            finally:
                with self._lock:
                    del self._turns[key]
                    self._turn_ended.notify_all()
                self._release(lambda turn, _thread: turn is key)

    def yield_to_turns(self, timeout_s: float = YIELD_TO_TURNS_MAX_S) -> None:
        """Wait while a local turn runs on another thread (at most `timeout_s`): background calls go between
        turns, not between a turn and its model."""
        thread = threading.get_ident()
        with self._lock:
            self._turn_ended.wait_for(lambda: all(ident == thread for ident in self._turns.values()), timeout_s)

    def output_began(self) -> None:
        """The turn on this thread has its model's first token or tool call: other threads embed again."""
        thread = threading.get_ident()
        self._release(lambda _turn, turn_thread: turn_thread == thread)

    def _release(self, which: Callable[[object, int], bool]) -> None:
        with self._lock:
            keys = [key for key, (thread, _) in self._awaiting.items() if which(key, thread)]
            for key in keys:
                del self._awaiting[key]
        if keys:
            self._tell()

    def holds_back(self, thread_ident: int) -> bool:
        """A turn on another thread than `thread_ident` has not begun its output yet (for up to
        FIRST_OUTPUT_HOLD_S): work on that thread waits for it."""
        now = self._clock()
        with self._lock:
            return any(
                ident != thread_ident and now - since < FIRST_OUTPUT_HOLD_S for ident, since in self._awaiting.values()
            )

    def _add(self, step: int) -> None:
        with self._lock:
            self._running += step
            changed = self._running == (1 if step > 0 else 0)
        if changed:
            self._tell()

    def _tell(self) -> None:
        for listener in self._listeners:
            listener()

    def busy(self) -> bool:
        return self._running > 0


class MeteredBackend:
    """A backend whose every finished call records one usage row: purpose, model, tokens, cached tokens, TTFT,
    tokens/s and wall time. Everything else is the wrapped backend's."""

    def __init__(
        self,
        inner: ChatBackend,
        *,
        record: Callable[[ModelCall], None],
        purpose: CallPurpose,
        model: str,
        thread_id: int | None = None,
        message_id: int | None = None,
        activity: LocalActivity | None = None,
    ) -> None:
        """`activity` (local models only) counts this call while it generates."""
        self.inner = inner
        self.name = inner.name
        self._activity = activity
        self._record = record
        self._purpose = purpose
        self._model = model
        self._thread_id = thread_id
        self._message_id = message_id

    def capabilities(self) -> BackendCapabilities:
        return self.inner.capabilities()

    def count_tokens(self, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int:
        return self.inner.count_tokens(turns, tools)

    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        if self._activity is not None and self._purpose in BACKGROUND_PURPOSES:
            self._activity.yield_to_turns()
        with self._activity.generating() if self._activity is not None else nullcontext():
            yield from self._metered(request)

    def _metered(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        first = True
        for event in self.inner.generate(request):
            if first and self._activity is not None and self._purpose == CallPurpose.TURN:
                self._activity.output_began()  # before a tool runs, too: a tool that searches must not wait
            first = False
            if isinstance(event, DoneEvent):
                self._record(
                    ModelCall(
                        purpose=self._purpose,
                        backend=self.name,
                        model=self._model,
                        usage=event.usage,
                        timings=event.timings,
                        seconds=time.perf_counter() - started,
                        thread_id=self._thread_id,
                        message_id=self._message_id,
                    )
                )
            yield event

    def cancel(self) -> None:
        self.inner.cancel()


class Router:
    def __init__(
        self,
        *,
        rows: RoutingStore,
        models: ModelService,
        providers: ProviderService,
        workers: LocalWorkers,
        settings: Callable[[], Settings],
        default_model: str,
        record: Callable[[ModelCall], None],
        forget_saved_states: Callable[[str], None] | None = None,
    ) -> None:
        """`settings` is read on every decision, so flipping the offline switch takes effect on the next turn;
        `record` stores the usage row of every model call; `forget_saved_states(cache_key)` deletes the model
        states saved on disk for a key, whether or not a worker runs."""
        self._rows = rows
        self._record = record
        self._forget_saved_states = forget_saved_states
        self._models = models
        self._providers = providers
        self._workers = workers
        self._settings = settings
        self._default_model = default_model
        self._crashes: dict[str, int] = {}  # local model → worker deaths in a row
        self.local_activity = LocalActivity()

    def offline(self) -> bool:
        return self._settings().offline

    @property
    def default_model(self) -> str:
        """The local model new threads get, and utility calls use when no thread says otherwise."""
        return self._default_model

    @default_model.setter
    def default_model(self, name: str) -> None:
        self._default_model = name

    # Choosing

    def route(
        self, thread: Thread, *, model: str | None = None, consent: bool = False, reason: RouteReason | None = None
    ) -> Route:
        """The route for a turn of `thread`, with `model` for this turn only. Raises before anything is written
        when the turn would need a hosted model the thread does not allow."""
        ref = ModelRef.parse(model or thread.model or self._default_model)
        reason = reason or RouteReason.THREAD
        if ref.hosted:
            route = self._hosted_route(ref, reason, consent)
            self.permit(thread, consent, model=route.model)
            return route
        if self._crashes.get(ref.name, 0) >= CRASHES_BEFORE_FALLBACK:
            try:
                return self.fallback(
                    thread, consent, WorkerDied(f"the worker of {ref.name} died {CRASHES_BEFORE_FALLBACK} times in a row")
                )
            except (ConsentRequired, OfflineMode, NotFound, WorkerDied):
                pass  # nowhere else to go: try the local model again with a fresh worker
        return Route(model=ref.name, reason=reason, consent=consent)

    def utility_route(self, thread: Thread | None) -> Route:
        """Where a title, a summary or a compaction runs: the thread's own local model; for a hosted thread, its
        hosted model only where the user allowed hosted utility calls and the thread allows hosted use without
        asking, else a local one; with no thread, the local model in memory (so no other one is loaded for it),
        else the default."""
        if thread is not None:
            ref = ModelRef.parse(thread.model or self._default_model)
            if not ref.hosted:
                return Route(model=ref.name, reason=RouteReason.THREAD)
            if self._settings().hosted_utility and self._rows.privacy_rule(thread.id) == PrivacyRule.ALLOWED:
                try:
                    self.permit(thread, consent=False, model=str(ref))
                    return self._hosted_route(ref, RouteReason.THREAD, consent=False)
                except (ConsentRequired, OfflineMode, NotFound):
                    pass
        return Route(model=self._workers.most_recent() or self._default_model, reason=RouteReason.THREAD)

    def hosted_consent(self, thread: Thread, model: str | None = None) -> ConsentCheck:
        """Whether a turn of `thread` on `model` (the thread's own when None) may run now, needs the user's yes
        first, or cannot go hosted at all — by the rule `route` applies, so the window asks before it sends."""
        ref = ModelRef.parse(model or thread.model or self._default_model)
        if not ref.hosted:
            return ConsentCheck(HostedPermission.NOT_NEEDED)
        try:
            self.permit(thread, consent=False, model=str(ref))
        except ConfirmationNeeded as question:
            return ConsentCheck(HostedPermission.ASK, str(question))
        except OfflineMode as refusal:
            return ConsentCheck(HostedPermission.REFUSED, str(refusal), offline=True)
        except ConsentRequired as refusal:
            return ConsentCheck(HostedPermission.REFUSED, str(refusal))
        return ConsentCheck(HostedPermission.NOT_NEEDED)

    def check_model(self, model: str) -> None:
        """Raise NotFound unless `model` names a known local model or an added provider."""
        ref = ModelRef.parse(model)
        if ref.hosted:
            self._providers.get(ref.provider)
        else:
            self._models.spec(ref.name)

    def permit(self, thread: Thread, consent: bool, *, model: str) -> None:
        """Raise unless this thread's content may go to hosted `model` now: OfflineMode, ConsentRequired (local
        only), or ConfirmationNeeded (the thread asks and `consent` is not this turn's yes)."""
        if self.offline():
            raise OfflineMode(
                "offline mode is on: no hosted model is used and nothing leaves this machine; "
                "turn it off with `threadloom offline off`"
            )
        rule = self._rows.privacy_rule(thread.id)
        if rule == PrivacyRule.LOCAL_ONLY:
            raise ConsentRequired(
                f"thread {thread.id} is local only, so no hosted model may see it: allow hosted models with "
                f"`threadloom route {thread.id} --privacy allowed` (or `ask`)"
            )
        if rule == PrivacyRule.ASK and not consent:
            raise ConfirmationNeeded(
                f"thread {thread.id} asks before its content leaves this machine: confirm this turn "
                f"(--allow-hosted on the command line)",
                model=model,
            )

    def fallback(self, thread: Thread, consent: bool, problem: Exception) -> Route:
        """The hosted route that stands in for a local model that cannot serve, or a refusal that says both what
        went wrong locally and why no hosted model was asked. With no provider set up at all, the local problem is
        raised as it is: there was never a fallback to speak of."""
        if self._settings().fallback_provider is None and not self._providers.list():
            raise problem
        try:
            provider = self._fallback_provider()
            route = self._hosted_route(ModelRef(name=provider.model, provider=provider.name), RouteReason.FALLBACK, consent)
            self.permit(thread, consent, model=route.model)
        except ConfirmationNeeded as refusal:
            raise ConfirmationNeeded(f"{problem}; no fallback was used: {refusal}", model=refusal.model) from None
        except (ConsentRequired, OfflineMode, NotFound) as refusal:
            raise type(refusal)(f"{problem}; no fallback was used: {refusal}") from None
        return route

    def recover(self, thread: Thread, route: Route, problem: Exception) -> Route:
        """After a local failure before the first token: the same model once more after a single worker death (not
        a hang: that would cost the wait again), else the fallback (which raises when the thread does not allow it)."""
        retry = isinstance(problem, WorkerDied) and not isinstance(problem, WorkerHung)
        if retry and self._crashes.get(route.model, 0) < CRASHES_BEFORE_FALLBACK:
            log.warning("the worker of %s died; trying it once more: %s", route.model, problem)
            return route
        fallback = self.fallback(thread, route.consent, problem)
        log.warning("thread %s falls back to %s: %s", thread.id, fallback.model, problem)
        return fallback

    def _fallback_provider(self) -> Provider:
        name = self._settings().fallback_provider
        if name:
            return self._providers.get(name)
        providers = self._providers.list()
        if not providers:
            raise NotFound("no hosted provider is set up (add one with `threadloom providers add`)")
        return providers[0]

    def _hosted_route(self, ref: ModelRef, reason: RouteReason, consent: bool) -> Route:
        provider = self._providers.get(ref.provider)
        ref = ref if ref.name else replace(ref, name=provider.model)
        return Route(model=str(ref), reason=reason, provider=provider, consent=consent)

    # Running

    def backend(
        self, route: Route, *, purpose: CallPurpose, thread_id: int | None = None, message_id: int | None = None
    ) -> MeteredBackend:
        """The metered backend for `route`. A local one is started (or swapped in) on its first request."""
        return MeteredBackend(
            self._bare_backend(route, thread_id=thread_id, message_id=message_id),
            record=self._record,
            purpose=purpose,
            model=route.model,
            thread_id=thread_id,
            message_id=message_id,
            activity=None if route.hosted else self.local_activity,
        )

    def _bare_backend(self, route: Route, *, thread_id: int | None, message_id: int | None) -> ChatBackend:
        if not route.hosted:
            return self._workers.worker_for(self.local_spec(route.model))
        assert route.provider is not None and thread_id is not None  # hosted use is always some thread's
        return LedgeredBackend(
            rows=self._rows,
            route=route,
            thread_id=thread_id,
            message_id=message_id,
            api_key=self._providers.api_key(route.provider.name),
            offline=self.offline,
        )

    def local_spec(self, name: str) -> ModelSpec:
        try:
            spec = self._models.spec(name)
        except NotFound as exc:
            raise ModelUnavailable(f"{exc}: pick an installed model for this thread") from None
        if spec.kind != "chat":
            raise ModelUnavailable(f"{name} is an embedding model and cannot chat: pick a chat model for this thread")
        return spec

    def window(self, route: Route) -> int | None:
        """The route's context window in tokens; None for a hosted model (its endpoint does not say)."""
        if route.hosted:
            return None
        return self._workers.worker_for(self.local_spec(route.model)).capabilities().context_window

    def count_tokens(self, route: Route, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int:
        """`turns` (and the `tools` offered with them) in the route's tokens: the local model's own tokenizer, or an
        estimate for a hosted model."""
        if route.hosted:
            return estimate_tokens(GenerationRequest(turns, tools=tools))
        return self._workers.worker_for(self.local_spec(route.model)).count_tokens(turns, tools)

    def complete(
        self,
        request: GenerationRequest,
        *,
        purpose: CallPurpose,
        thread: Thread | None = None,
        route: Route | None = None,
    ) -> str:
        """A utility call's whole text ("" when it could not run or was stopped: the caller goes on without it).
        It runs on `route`, else on the utility route of `thread`."""
        route = route or self.utility_route(thread)
        thread_id = thread.id if thread is not None else None
        log.debug("%s call on %s (thread %s)", purpose, route.model, thread_id)
        try:
            events = list(self.backend(route, purpose=purpose, thread_id=thread_id).generate(request))
        except UTILITY_FAILURES as exc:
            log.info("%s call on %s skipped: %s", purpose, route.model, exc)
            return ""
        if isinstance(events[-1], DoneEvent) and events[-1].finish_reason == "cancelled":
            return ""
        return "".join(e.text for e in events if isinstance(e, TokenEvent)).strip()

    def preload(self, model: str | None = None) -> None:
        """Load local `model` (the default one when None) now rather than on its first request."""
        self._workers.worker_for(self.local_spec(model or self._default_model)).start()

    def loaded_models(self) -> list[LoadedModel]:
        return self._workers.loaded()

    def is_running(self, model: str) -> bool:
        return self._workers.running(model)

    def forget_cached(self, cache_key: str) -> None:
        """Drop what is saved for `cache_key` (a deleted thread's), on disk and in the running workers."""
        if self._forget_saved_states is not None:
            self._forget_saved_states(cache_key)
        self._workers.forget_cached(cache_key)

    def record_model(self, message_id: int, model: str) -> None:
        """The reply is answered by another model than it started with (a fallback): say so on the message."""
        self._rows.set_message_model(message_id, model)

    def note_served(self, route: Route) -> None:
        if not route.hosted:
            self._crashes.pop(route.model, None)

    def note_failure(self, route: Route, problem: Exception) -> None:
        if not route.hosted and isinstance(problem, WorkerDied):
            self._crashes[route.model] = self._crashes.get(route.model, 0) + 1

    def unload_models(self) -> None:
        """Stop every local model's worker (each saves its thread's state first); the next call starts one again."""
        self._workers.shutdown()


class LedgeredBackend:
    """A hosted backend whose every request is written to the privacy ledger before it leaves the machine."""

    name = "hosted"

    def __init__(
        self,
        *,
        rows: RoutingStore,
        route: Route,
        thread_id: int,
        message_id: int | None,
        api_key: str,
        offline: Callable[[], bool],
    ) -> None:
        assert route.provider is not None
        self._rows = rows
        self._route = route
        self._thread_id = thread_id
        self._message_id = message_id
        self._call_id: int | None = None
        self._hosted = HostedBackend(
            provider=route.provider.name,
            base_url=route.provider.base_url,
            model=route.hosted_model,
            api_key=api_key,
            offline=offline,
            on_request=self._record,
        )

    def capabilities(self) -> BackendCapabilities:
        return BackendCapabilities(context_window=None, hosted=True, native_tools=True)

    def count_tokens(self, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int:
        return estimate_tokens(GenerationRequest(turns, tools=tools))

    def _record(self, estimated_prompt_tokens: int) -> None:
        assert self._route.provider is not None
        self._call_id = self._rows.record_hosted_call(
            thread_id=self._thread_id,
            message_id=self._message_id,
            provider=self._route.provider,
            model=self._route.hosted_model,
            reason=self._route.reason,
            prompt_tokens=estimated_prompt_tokens,
        )

    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        for event in self._hosted.generate(request):
            if isinstance(event, DoneEvent) and self._call_id is not None:
                self._rows.finish_hosted_call(
                    self._call_id,
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                    estimated=self._hosted.usage_estimated,
                )
            yield event

    def cancel(self) -> None:
        self._hosted.cancel()
