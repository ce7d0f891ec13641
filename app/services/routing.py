"""The router: which backend answers a turn, and whether the thread's content may leave the machine for it.

Per turn it picks the thread's model (or the one the user chose for this turn: an upgrade), and a hosted
**fallback** when the local model cannot serve: not installed, fails to load, its worker died twice in a row, or the
prompt is larger than its window. Every hosted use passes `permit` — the global offline switch, then the thread's
privacy rule — and every hosted request is written to the privacy ledger before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from app.core.errors import ConsentRequired, ModelUnavailable, NotFound, OfflineMode, WorkerDied
from app.core.models import DoneEvent, GenerationRequest, ModelSpec, StreamEvent, Thread
from app.core.ports import ChatBackend
from app.core.routing import ModelRef, PrivacyRule, Provider, RouteReason
from app.platform.settings import Settings
from app.runtime.client import LocalWorker
from app.runtime.hosted import HostedBackend
from app.services.models import ModelService
from app.services.providers import ProviderService
from app.store.routing import RoutingStore

CRASHES_BEFORE_FALLBACK = 2


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


class LocalWorkers:
    """One local model in memory at a time: asking for another stops the worker of the previous one."""

    def __init__(self, make_worker: Callable[[ModelSpec], LocalWorker], first: LocalWorker | None = None) -> None:
        self._make_worker = make_worker
        self._current = first

    def worker_for(self, spec: ModelSpec) -> LocalWorker:
        if self._current is None or self._current.config.model_name != spec.name:
            if self._current is not None:
                self._current.shutdown()
            self._current = self._make_worker(spec)
        return self._current

    def shutdown(self) -> None:
        if self._current is not None:
            self._current.shutdown()


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
    ) -> None:
        """`settings` is read on every decision, so flipping the offline switch takes effect on the next turn."""
        self._rows = rows
        self._models = models
        self._providers = providers
        self._workers = workers
        self._settings = settings
        self._default_model = default_model
        self._crashes: dict[str, int] = {}  # local model → worker deaths in a row

    def offline(self) -> bool:
        return self._settings().offline

    # Choosing

    def route(
        self, thread: Thread, *, model: str | None = None, consent: bool = False, reason: RouteReason | None = None
    ) -> Route:
        """The route for a turn of `thread`, with `model` for this turn only. Raises before anything is written
        when the turn would need a hosted model the thread does not allow."""
        ref = ModelRef.parse(model or thread.model or self._default_model)
        reason = reason or RouteReason.THREAD
        if ref.hosted:
            self.permit(thread, consent)
            return self._hosted_route(ref, reason, consent)
        if self._crashes.get(ref.name, 0) >= CRASHES_BEFORE_FALLBACK:
            try:
                return self.fallback(
                    thread, consent, WorkerDied(f"the worker of {ref.name} died {CRASHES_BEFORE_FALLBACK} times in a row")
                )
            except (ConsentRequired, OfflineMode, NotFound, WorkerDied):
                pass  # nowhere else to go: try the local model again with a fresh worker
        return Route(model=ref.name, reason=reason, consent=consent)

    def check_model(self, model: str) -> None:
        """Raise NotFound unless `model` names a known local model or an added provider."""
        ref = ModelRef.parse(model)
        if ref.hosted:
            self._providers.get(ref.provider)
        else:
            self._models.spec(ref.name)

    def permit(self, thread: Thread, consent: bool) -> None:
        """Raise unless this thread's content may go to a hosted model now."""
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
            raise ConsentRequired(
                f"thread {thread.id} asks before its content leaves this machine: confirm this turn "
                f"(--allow-hosted on the command line)"
            )

    def fallback(self, thread: Thread, consent: bool, problem: Exception) -> Route:
        """The hosted route that stands in for a local model that cannot serve, or a ConsentRequired/OfflineMode
        that says both what went wrong locally and why no hosted model was asked. With no provider set up at all,
        the local problem is raised as it is: there was never a fallback to speak of."""
        if self._settings().fallback_provider is None and not self._providers.list():
            raise problem
        try:
            self.permit(thread, consent)
            provider = self._fallback_provider()
        except (ConsentRequired, OfflineMode, NotFound) as refusal:
            raise type(refusal)(f"{problem}; no fallback was used: {refusal}") from None
        return self._hosted_route(ModelRef(name=provider.model, provider=provider.name), RouteReason.FALLBACK, consent)

    def recover(self, thread: Thread, route: Route, problem: Exception) -> Route:
        """After a local failure before the first token: the same model once more after a single worker death,
        else the fallback (which raises when the thread does not allow it)."""
        if isinstance(problem, WorkerDied) and self._crashes.get(route.model, 0) < CRASHES_BEFORE_FALLBACK:
            return route
        return self.fallback(thread, route.consent, problem)

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

    def backend_for(self, route: Route, *, thread_id: int, message_id: int) -> ChatBackend:
        if not route.hosted:
            try:
                spec = self._models.spec(route.model)
            except NotFound as exc:
                raise ModelUnavailable(f"{exc}: pick an installed model for this thread") from None
            return self._workers.worker_for(spec)
        assert route.provider is not None
        return LedgeredBackend(
            rows=self._rows,
            route=route,
            thread_id=thread_id,
            message_id=message_id,
            api_key=self._providers.api_key(route.provider.name),
            offline=self.offline,
        )

    def record_model(self, message_id: int, model: str) -> None:
        """The reply is answered by another model than it started with (a fallback): say so on the message."""
        self._rows.set_message_model(message_id, model)

    def note_served(self, route: Route) -> None:
        if not route.hosted:
            self._crashes.pop(route.model, None)

    def note_failure(self, route: Route, problem: Exception) -> None:
        if not route.hosted and isinstance(problem, WorkerDied):
            self._crashes[route.model] = self._crashes.get(route.model, 0) + 1

    def shutdown(self) -> None:
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
        message_id: int,
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
