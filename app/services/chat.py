"""ChatService: the commands of a thread (send, edit → branch, regenerate, resume, stop) and what follows a reply.

A reply is run by the turn loop (`app.services.turns`), its prompt made by the context builder
(`app.services.context`), every model call reached through the router (`app.services.routing`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import nullcontext

from app.core.domain import (
    CallPurpose,
    ChatEvent,
    ChatTurn,
    GenerationRequest,
    Message,
    MessageStatus,
    ReplyFinished,
    ReplyStarted,
    Role,
    SamplingParams,
    Thread,
    ThreadRetitled,
)
from app.core.errors import EmptyMessage, InvalidInput, ModelUnavailable, NotFound
from app.core.routing import ConsentCheck, RouteReason
from app.platform.locks import ThreadLocks
from app.services.changes import ChangeBroadcast, Changes, after_chat_event
from app.services.context import thread_cache_key
from app.services.routing import Route, Router
from app.services.turns import TurnRunner
from app.store import Store

log = logging.getLogger(__name__)

NEW_THREAD_TITLE = "New thread"
TITLE_LENGTH = 60

TITLE_SYSTEM_PROMPT = "You are a helpful assistant that writes concise titles."
TITLE_WORDS = 8


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


def title_from(text: str) -> str:
    """A provisional title: the first line of the first message, cut at a word."""
    line = " ".join(text.strip().split())
    if len(line) <= TITLE_LENGTH:
        return line
    return line[:TITLE_LENGTH].rsplit(" ", 1)[0] + "…"


class ChatService:
    """Sends messages and streams replies into the store.

    `send`, `edit`, `regenerate` and `resume` are generators meant for a background thread; `stop` may be called
    from any thread while one runs and ends the whole chain of model calls. Each holds its thread's turn lock from
    before it writes anything to its end, so a second turn on the same thread (another window, a CLI, another
    service) is refused with Busy instead of interleaving with it.
    """

    def __init__(
        self,
        store: Store,
        router: Router,
        runner: TurnRunner,
        *,
        sampling: SamplingParams,
        locks: ThreadLocks,
        changes: ChangeBroadcast | None = None,
    ) -> None:
        """What a turn stores is published on `changes` as it is stored (the window's views refresh from it)."""
        self.store = store
        self.locks = locks
        self.router = router
        self.runner = runner
        self.changes = changes or ChangeBroadcast()
        self.sampling = sampling  # the default model's, for replies of every model (the catalog sets it per model)

    @property
    def model_name(self) -> str:
        """The model new threads get."""
        return self.router.default_model

    def set_default_model(self, name: str) -> None:
        self.router.default_model = name

    def new_thread(self, title: str = NEW_THREAD_TITLE, *, incognito: bool = False) -> Thread:
        """`incognito`: the thread neither reads nor writes long-term memory."""
        thread = self.store.create_thread(title, model=self.model_name, incognito=incognito)
        self.changes.publish(Changes(thread_list=True))
        return thread

    def delete_thread(self, thread_id: int) -> None:
        """Soft-delete a thread (restorable until purged) and drop its saved model states."""
        self.store.delete_thread(thread_id)
        self.router.forget_cached(thread_cache_key(thread_id))

    def hosted_consent(self, thread_id: int, model: str | None = None) -> ConsentCheck:
        """Whether a turn of `thread_id` on `model` (the thread's own when None) may go ahead, needs the user's
        yes first, or cannot run hosted at all. The window asks before it sends."""
        return self.router.hosted_consent(self.store.get_thread(thread_id), model)

    def preload(self) -> None:
        """Load the default model now (in the background), so the first reply does not wait for it; a model that
        is not installed is left to the first reply to report."""
        try:
            self.router.preload()
        except ModelUnavailable as exc:
            log.info("not preloading the default model: %s", exc)

    def model_in_memory(self, model: str) -> bool:
        """Whether local `model` is loaded now (else the next reply starts by loading it)."""
        return self.router.is_running(model)

    def send(
        self, thread_id: int, text: str, *, model: str | None = None, allow_hosted: bool = False,
        require_tool: bool = False,
    ) -> Iterator[ChatEvent]:
        """Add a user message at the end of the thread's current branch and stream the reply to it.

        `model` answers this turn instead of the thread's own; `allow_hosted` is the user's yes for this turn on a
        thread that asks before its content leaves the machine. A hosted model the thread does not allow raises
        ConsentRequired (or OfflineMode) before anything is written. `require_tool`: the reply starts with a call of
        one of the thread's tools."""
        if not text.strip():
            raise EmptyMessage()
        with self.locks.hold(thread_id):
            thread = self.store.get_thread(thread_id)
            route = self.router.route(thread, model=model, consent=allow_hosted, reason=RouteReason.THREAD)
            if thread.current_leaf_id is None and thread.title == NEW_THREAD_TITLE:
                self.store.rename_thread(thread_id, title_from(text), source="provisional")
            user = self.store.add_message(thread_id, parent_id=thread.current_leaf_id, role=Role.USER, content=text)
            yield from self._reply_to(thread, user, route, require_tool=require_tool)

    def edit(self, message_id: int, text: str, *, allow_hosted: bool = False) -> Iterator[ChatEvent]:
        """"Actually, I meant…": the edited text becomes a sibling of the user message, on a new branch that gets
        its own reply. The old message and everything under it are kept."""
        if not text.strip():
            raise EmptyMessage()
        original = self.store.get_message(message_id)
        if original.role != Role.USER:
            raise NotFound(f"message {message_id} is not a user message; only your own messages can be edited")
        with self.locks.hold(original.thread_id):
            thread = self.store.get_thread(original.thread_id)
            route = self.router.route(thread, consent=allow_hosted, reason=RouteReason.THREAD)
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
        with self.locks.hold(original.thread_id):
            thread = self.store.get_thread(original.thread_id)
            reason = RouteReason.UPGRADE if model else RouteReason.THREAD
            route = self.router.route(thread, model=model, consent=allow_hosted, reason=reason)
            yield from self._reply_to(thread, self.store.get_message(original.parent_id), route)

    def resume(self, reply_id: int, *, approved: bool, allow_hosted: bool = False) -> Iterator[ChatEvent]:
        """Continue a paused reply once the user has answered what it waits for (`approved`: their yes)."""
        with self.locks.hold(self.store.get_message(reply_id).thread_id):
            reply = self.store.get_message(reply_id)  # read again under the lock: another process may have resumed it
            if reply.status != MessageStatus.PAUSED:
                raise InvalidInput(f"message {reply_id} is not waiting for an answer (it is {reply.status})")
            thread = self.store.get_thread(reply.thread_id)
            follow_up = None
            for handler in self.runner.handlers:
                follow_up = handler.resume(thread, reply, approved=approved)
                if follow_up is not None:
                    break
            route = self.router.route(thread, model=reply.model, consent=allow_hosted, reason=RouteReason.THREAD)
            reply = self.store.restart_message(reply_id)
            yield from self._run(thread, self.store.get_message(reply.parent_id), reply, route, follow_up)

    def stop(self) -> None:
        self.runner.stop()

    def _reply_to(
        self, thread: Thread, user: Message, route: Route, *, require_tool: bool = False
    ) -> Iterator[ChatEvent]:
        reply = self.store.add_message(
            thread.id, parent_id=user.id, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING,
            model=route.model,
        )  # fmt: skip
        yield from self._run(thread, user, reply, route, None, require_tool=require_tool)

    def _run(
        self, thread: Thread, user: Message, reply: Message, route: Route, follow_up, *, require_tool: bool = False
    ) -> Iterator[ChatEvent]:
        for event in self._turn(thread, user, reply, route, follow_up, require_tool):
            yield event  # the caller hears of the event first, then every subscriber of what it stored
            self.changes.publish(after_chat_event(event))

    def _turn(
        self, thread: Thread, user: Message, reply: Message, route: Route, follow_up, require_tool: bool
    ) -> Iterator[ChatEvent]:
        yield ReplyStarted(user_message=user, reply=reply)
        finished: ReplyFinished | None = None
        # A local turn holds the cores from its start, not from its first model call: building its context (token
        # counts, the query vectors of recall and passages) and processing its prompt are what its first token
        # waits for, and an ingest beside it goes down to one core at once. Until its first output the ingest's
        # embedding waits altogether: on one core beside it, the first token still came 1.35x later than idle
        # (tests/benchmarks/retrieval.py).
        with nullcontext() if route.hosted else self.router.local_activity.turn():
            for event in self.runner.run(thread, reply, route, self.sampling, follow_up, require_tool=require_tool):
                finished = event if isinstance(event, ReplyFinished) else finished
                yield event
        named = self.store.get_thread(thread.id).title_source != "provisional"
        if finished is not None and finished.reply.status == MessageStatus.COMPLETE and not named:
            retitled = self._name_thread(self.store.get_thread(thread.id))
            if retitled is not None:
                yield ThreadRetitled(retitled)

    def _name_thread(self, thread: Thread) -> Thread | None:
        """Ask the thread's model for a short title for its first request; keep the provisional one if it cannot.
        (Only the request, not the reply: small models title a request well and a transcript badly.)"""
        first_message = self.store.current_path(thread.id)[0].content[:1000]
        request = GenerationRequest(
            turns=(
                ChatTurn(Role.SYSTEM, TITLE_SYSTEM_PROMPT),
                ChatTurn(Role.USER, f'Write a short title for this request: "{first_message}"'),
            ),
            sampling=SamplingParams(temperature=0.2, max_tokens=16, repeat_penalty=self.sampling.repeat_penalty),
        )
        title = clean_title(self.router.complete(request, purpose=CallPurpose.TITLE, thread=thread))
        return self.store.rename_thread(thread.id, title, source="generated") if title else None
