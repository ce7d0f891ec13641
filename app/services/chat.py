"""ChatService: one turn of a thread, from the user's message to the stored, streamed reply."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from app.core.errors import (
    ConsentRequired,
    EmptyMessage,
    GenerationFailed,
    HostedError,
    ModelUnavailable,
    NotFound,
    OfflineMode,
    PromptTooLong,
    WorkerDied,
)
from app.core.models import (
    ChatEvent,
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    Message,
    MessageStatus,
    ReplyFinished,
    ReplyStarted,
    Role,
    SamplingParams,
    StreamEvent,
    Thread,
    ThreadCompacted,
    ThreadRetitled,
    ThreadSummary,
    TokenEvent,
)
from app.core.ports import ChatBackend
from app.core.routing import RouteReason
from app.services.routing import Route, Router
from app.store import Store

NEW_THREAD_TITLE = "New thread"
TITLE_LENGTH = 60


TITLE_SYSTEM_PROMPT = "You are a helpful assistant that writes concise titles."
TITLE_WORDS = 8


SUMMARY_PREFIX = "Summary of the earlier conversation: "
COMPACTION_PROMPT = (
    "Summarize the conversation below in one short paragraph. Keep names, numbers, dates, decisions and open "
    "questions."
)
KEEP_RECENT_MESSAGES = 4  # the newest turns always go to the model verbatim
SUMMARY_MAX_TOKENS = 256
FOLDED_MESSAGE_CHARS = 2000
MAX_FOLDS_PER_TURN = 4


def clean_title(text: str) -> str:
    """The model's title as a plain one-liner: first line, no quotes or label, the part before a subtitle, no
    trailing punctuation, at most a few words."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = line.removeprefix("Title:").removeprefix("title:").strip().strip("\"'“”‘’*#` ")
    head, colon, _ = line.partition(":")
    if colon and len(head.split()) >= 2:
        line = head
    words = line.rstrip(".!?:;,").split()[:TITLE_WORDS]
    return title_from(" ".join(words).strip("\"'“”‘’*#` "))


def thread_cache_key(thread_id: int) -> str:
    """The key under which the model worker keeps and saves a thread's model state (see app.runtime.kvcache)."""
    return f"thread-{thread_id}"


def title_from(text: str) -> str:
    """A provisional title: the first line of the first message, cut at a word."""
    line = " ".join(text.strip().split())
    if len(line) <= TITLE_LENGTH:
        return line
    return line[:TITLE_LENGTH].rsplit(" ", 1)[0] + "…"


class ChatService:
    """Sends messages and streams replies into the store.

    `send` is a generator meant for a background thread; `stop` may be called from any thread while it runs.
    The reply is appended to its stored message every `flush_interval_s`, so a crash loses at most that much text.
    """

    def __init__(
        self,
        store: Store,
        backend: ChatBackend,
        *,
        model_name: str,
        sampling: SamplingParams,
        flush_interval_s: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
        forget_cached: Callable[[str], None] | None = None,
        router: Router | None = None,
    ) -> None:
        """With a `router`, each turn runs where it routes (the thread's model, a fallback, an upgrade) and
        `backend` is only the default model's worker; without one, every turn uses `backend`."""
        self.store = store
        self.backend = backend
        self.router = router
        self._active_backend: ChatBackend = backend  # the one streaming now, for `stop`
        self.model_name = model_name
        self.sampling = sampling
        self._flush_interval_s = flush_interval_s
        self._monotonic = monotonic
        self._forget_cached = forget_cached  # deletes the saved model states of a cache key
        # How a user message reads in the prompt; the attachment service sets it to put the retrieved passages
        # with the message. It must give the same text for a message every time (the prompt stays append-only).
        self.user_prompt: Callable[[Thread, Message], str] | None = None

    def new_thread(self, title: str = NEW_THREAD_TITLE) -> Thread:
        return self.store.create_thread(title, model=self.model_name)

    def delete_thread(self, thread_id: int) -> None:
        """Soft-delete a thread (restorable until purged) and drop what was cached for it."""
        self.store.delete_thread(thread_id)
        if self._forget_cached is not None:
            self._forget_cached(thread_cache_key(thread_id))

    def send(
        self, thread_id: int, text: str, *, model: str | None = None, allow_hosted: bool = False
    ) -> Iterator[ChatEvent]:
        """Add a user message at the end of the thread's current branch and stream the reply to it.

        `model` answers this turn instead of the thread's own; `allow_hosted` is the user's yes for this turn on a
        thread that asks before its content leaves the machine. A hosted model the thread does not allow raises
        ConsentRequired (or OfflineMode) before anything is written."""
        if not text.strip():
            raise EmptyMessage()
        thread = self.store.get_thread(thread_id)
        route = self._route(thread, model, allow_hosted, RouteReason.THREAD)
        if thread.current_leaf_id is None and thread.title == NEW_THREAD_TITLE:
            self.store.rename_thread(thread_id, title_from(text), source="provisional")
        user = self.store.add_message(thread_id, parent_id=thread.current_leaf_id, role=Role.USER, content=text)
        yield from self._reply_to(thread, user, route)

    def edit(self, message_id: int, text: str) -> Iterator[ChatEvent]:
        """"Actually, I meant…": the edited text becomes a sibling of the user message, on a new branch that gets
        its own reply. The old message and everything under it are kept."""
        if not text.strip():
            raise EmptyMessage()
        original = self.store.get_message(message_id)
        if original.role != Role.USER:
            raise NotFound(f"message {message_id} is not a user message; only your own messages can be edited")
        thread = self.store.get_thread(original.thread_id)
        route = self._route(thread, None, False, RouteReason.THREAD)
        user = self.store.add_message(thread.id, parent_id=original.parent_id, role=Role.USER, content=text)
        yield from self._reply_to(thread, user, route)

    def regenerate(
        self, message_id: int, *, model: str | None = None, allow_hosted: bool = False
    ) -> Iterator[ChatEvent]:
        """A new reply to the same user message, as a sibling of the assistant reply `message_id`.

        With `model` this is an upgrade ("ask a stronger model"): that model answers, on the new branch only."""
        original = self.store.get_message(message_id)
        if original.role != Role.ASSISTANT or original.parent_id is None:
            raise NotFound(f"message {message_id} is not an assistant reply")
        thread = self.store.get_thread(original.thread_id)
        route = self._route(thread, model, allow_hosted, RouteReason.UPGRADE if model else RouteReason.THREAD)
        yield from self._reply_to(thread, self.store.get_message(original.parent_id), route)

    def _route(self, thread: Thread, model: str | None, allow_hosted: bool, reason: RouteReason) -> Route | None:
        if self.router is None:
            return None
        return self.router.route(thread, model=model, consent=allow_hosted, reason=reason)

    def _reply_to(self, thread: Thread, user: Message, route: Route | None = None) -> Iterator[ChatEvent]:
        reply = self.store.add_message(
            thread.id,
            parent_id=user.id,
            role=Role.ASSISTANT,
            content="",
            status=MessageStatus.STREAMING,
            model=route.model if route else self.model_name,
        )
        yield ReplyStarted(user_message=user, reply=reply)
        try:
            summary, request = self._compact_if_needed(thread, reply, route)
        except (WorkerDied, GenerationFailed, ModelUnavailable):
            summary, request = None, self.build_request(thread, reply)  # the reply's own attempt reports the failure
        if summary is not None:
            yield ThreadCompacted(summary)
        finished = None
        for event in self._stream(thread, reply, request, route):
            finished = event if isinstance(event, ReplyFinished) else finished
            yield event
        named = self.store.get_thread(thread.id).title_source != "provisional"
        if finished.reply.status == MessageStatus.COMPLETE and not named:
            retitled = self._name_thread(thread.id)
            if retitled is not None:
                yield ThreadRetitled(retitled)

    def _name_thread(self, thread_id: int) -> Thread | None:
        """Ask the model for a short title for the thread's first request; keep the provisional one if it cannot.
        (Only the request, not the reply: small models title a request well and a transcript badly.)"""
        first_message = self.store.current_path(thread_id)[0].content[:1000]
        request = GenerationRequest(
            turns=(
                ChatTurn(Role.SYSTEM, TITLE_SYSTEM_PROMPT),
                ChatTurn(Role.USER, f'Write a short title for this request: "{first_message}"'),
            ),
            sampling=SamplingParams(temperature=0.2, max_tokens=16, repeat_penalty=self.sampling.repeat_penalty),
        )
        try:
            text = "".join(e.text for e in self.backend.generate(request) if isinstance(e, TokenEvent))
        except (WorkerDied, GenerationFailed, ModelUnavailable):
            return None
        title = clean_title(text)
        return self.store.rename_thread(thread_id, title, source="generated") if title else None

    def stop(self) -> None:
        self._active_backend.cancel()

    def build_request(self, thread: Thread, reply: Message) -> GenerationRequest:
        """The prompt for `reply`, append-only: the system prompt, the summary of folded turns if any, then the
        branch above the reply, oldest first."""
        turns = []
        if thread.system_prompt:
            turns.append(ChatTurn(Role.SYSTEM, thread.system_prompt))
        summary, path = self._summarised_path(thread.id, reply.parent_id)
        if summary is not None:
            turns.append(ChatTurn(Role.SYSTEM, SUMMARY_PREFIX + summary.content))
        for message in path:
            if message.content and message.role in (Role.USER, Role.ASSISTANT):
                content = message.content
                if message.role == Role.USER and self.user_prompt is not None:
                    content = self.user_prompt(thread, message)
                turns.append(ChatTurn(message.role, content))
        return GenerationRequest(turns=tuple(turns), sampling=self.sampling, cache_key=thread_cache_key(thread.id))

    def _summarised_path(self, thread_id: int, leaf_id: int) -> tuple[ThreadSummary | None, list[Message]]:
        """The newest summary in force on the branch to `leaf_id`, and the messages after the turns it folds."""
        path = self.store.path_to(leaf_id)
        summary = self.store.summary_on_branch(thread_id, path)
        if summary is None:
            return None, path
        return summary, path[[m.id for m in path].index(summary.up_to_message_id) + 1 :]

    def _compact_if_needed(
        self, thread: Thread, reply: Message, route: Route | None
    ) -> tuple[ThreadSummary | None, GenerationRequest]:
        """Fold older turns into a summary until the prompt and the reply fit the local model's window; returns the
        new summary (if any) and the request for the reply as it now stands.

        The user is never stopped by a full window: the newest turns stay verbatim, the folded ones stay stored
        and searchable, and the summary can be edited or undone."""
        request = self.build_request(thread, reply)
        count_tokens = getattr(self.backend, "count_tokens", None)
        if count_tokens is None or (route is not None and route.hosted):
            return None, request
        summary = None
        for _ in range(MAX_FOLDS_PER_TURN):
            tokens, window = count_tokens(request.turns)
            if tokens + self.sampling.max_tokens <= window:
                break
            folded = self._fold_older_turns(thread, reply, window)
            if folded is None:  # nothing left to fold: the worker keeps the newest turns that fit
                break
            summary = folded
            request = self.build_request(thread, reply)
        return summary, request

    def _fold_older_turns(self, thread: Thread, reply: Message, window: int) -> ThreadSummary | None:
        previous, unsummarised = self._summarised_path(thread.id, reply.parent_id)
        foldable = unsummarised[:-KEEP_RECENT_MESSAGES]
        if not foldable:
            return None
        budget_chars = max(1000, (window - SUMMARY_MAX_TOKENS - 200) * 3)  # ~3 characters a token, with room
        transcript = [f"Summary so far: {previous.content}"] if previous else []
        folded: list[Message] = []
        for message in foldable:
            line = f"{message.role}: {message.content[:FOLDED_MESSAGE_CHARS]}"
            if folded and sum(len(t) for t in transcript) + len(line) > budget_chars:
                break
            transcript.append(line)
            folded.append(message)
        request = GenerationRequest(
            turns=(ChatTurn(Role.USER, COMPACTION_PROMPT + "\n\n".join(transcript)),),
            sampling=SamplingParams(
                temperature=0.2, max_tokens=SUMMARY_MAX_TOKENS, repeat_penalty=self.sampling.repeat_penalty
            ),
        )
        events = list(self.backend.generate(request))
        text = "".join(e.text for e in events if isinstance(e, TokenEvent)).strip()
        if not text or (isinstance(events[-1], DoneEvent) and events[-1].finish_reason == "cancelled"):
            return None
        return self.store.add_summary(thread.id, up_to_message_id=folded[-1].id, content=text)

    def _events(
        self, thread: Thread, reply: Message, request: GenerationRequest, route: Route | None, used: list[Route]
    ) -> Iterator[StreamEvent]:
        """The stream for `reply`. A local model that cannot serve before its first token (missing, fails to load,
        its worker died twice, the prompt outgrows its window) hands the turn to the fallback the router allows;
        `used` ends with the route that actually answered."""
        if self.router is None or route is None:
            self._active_backend = self.backend
            yield from self.backend.generate(request)
            return
        while True:
            used.append(route)
            started = False
            try:
                self._active_backend = self.router.backend_for(route, thread_id=thread.id, message_id=reply.id)
                for event in self._active_backend.generate(request):
                    started = True
                    yield event
                self.router.note_served(route)
                return
            except (ModelUnavailable, PromptTooLong, WorkerDied) as exc:
                self.router.note_failure(route, exc)
                if started or route.hosted:
                    raise
                route = self.router.recover(thread, route, exc)
                if route.model != used[-1].model:
                    self.router.record_model(reply.id, route.model)

    def _stream(
        self, thread: Thread, reply: Message, request: GenerationRequest, route: Route | None = None
    ) -> Iterator[ChatEvent]:
        used: list[Route] = []

        def backend_name() -> str:
            return used[-1].backend_name if used else "local"

        pending: list[str] = []
        last_flush = self._monotonic()
        finished: ReplyFinished | None = None

        def flush() -> None:
            if pending:
                self.store.append_to_message(reply.id, "".join(pending))
                pending.clear()

        try:
            for event in self._events(thread, reply, request, route, used):
                if isinstance(event, TokenEvent):
                    pending.append(event.text)
                    if self._monotonic() - last_flush >= self._flush_interval_s:
                        flush()
                        last_flush = self._monotonic()
                    yield event
                elif isinstance(event, DoneEvent):
                    flush()
                    cancelled = event.finish_reason == "cancelled"
                    stored = self.store.finish_message(
                        reply.id,
                        status=MessageStatus.INTERRUPTED if cancelled else MessageStatus.COMPLETE,
                        usage=event.usage,
                        timings=event.timings,
                        error="stopped" if cancelled else None,
                        backend=backend_name(),
                    )
                    finished = ReplyFinished(stored, event.finish_reason)
        except (WorkerDied, GenerationFailed, ModelUnavailable, HostedError, ConsentRequired, OfflineMode) as exc:
            flush()
            died = isinstance(exc, WorkerDied)
            stored = self.store.finish_message(
                reply.id, status=MessageStatus.INTERRUPTED if died else MessageStatus.ERROR, error=str(exc)
            )
            finished = ReplyFinished(stored, "error")
        finally:
            if finished is None:  # the consumer stopped iterating (or a store write failed): keep what we have
                self._active_backend.cancel()
                try:
                    flush()
                    self.store.finish_message(reply.id, status=MessageStatus.INTERRUPTED, error="stopped")
                except Exception:  # noqa: BLE001 - the store is failing too; the next open marks it interrupted
                    pass
        yield finished
