"""One broadcast after every write: what changed, so each view refreshes what concerns it and nothing else.

Anki's pattern (`CollectionOp` → `operation_did_execute(changes)`): a service that writes publishes a `Changes`
once its transaction has committed; subscribers never hear about a write that did not happen. Plain Python: the
window re-delivers the changes on its GUI thread (app.gui.change_relay), the CLI subscribes to nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.domain import ChatEvent, ReplyFinished, ReplyStarted, ThreadCompacted, ThreadRetitled

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a write changed. Thread-id sets name the threads concerned; an empty `Changes` changed nothing."""

    thread_list: bool = False  # which threads exist, their titles, order, pins, archive, tags, metadata; saved views
    messages: frozenset[int] = field(default_factory=frozenset)  # threads whose messages, branch or summaries changed
    attachments: frozenset[int] = field(default_factory=frozenset)  # their attachments (nobody publishes it yet)
    privacy: frozenset[int] = field(default_factory=frozenset)  # threads whose privacy rule or hosted ledger changed
    settings: bool = False
    models: bool = False  # installed models, the default model, providers
    memories: bool = False  # long-term memories: the inbox, approvals, edits, forgetting

    def __bool__(self) -> bool:
        return any(
            (self.thread_list, self.messages, self.attachments, self.privacy, self.settings, self.models, self.memories)
        )


def of_thread(thread_id: int, *, messages: bool = False, privacy: bool = False, listed: bool = True) -> Changes:
    """The usual shape of a change to one thread."""
    ids = frozenset({thread_id})
    return Changes(
        thread_list=listed, messages=ids if messages else frozenset(), privacy=ids if privacy else frozenset()
    )


def after_chat_event(event: ChatEvent) -> Changes:
    """What the store holds anew once a turn has reported `event` (empty for streamed tokens)."""
    if isinstance(event, ReplyStarted):
        return of_thread(event.reply.thread_id, messages=True)
    if isinstance(event, ReplyFinished):  # a hosted reply (an upgrade, a fallback) also adds to the ledger
        return of_thread(event.reply.thread_id, messages=True, privacy=True)
    if isinstance(event, ThreadCompacted):
        return of_thread(event.summary.thread_id, messages=True, listed=False)
    if isinstance(event, ThreadRetitled):
        return Changes(thread_list=True)
    return Changes()


Subscriber = Callable[[Changes], None]


class ChangeBroadcast:
    """Subscribers are called on the publishing thread, in subscription order; one that fails is logged and the
    others still hear the change."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Returns the call that unsubscribes `callback`."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, changes: Changes) -> None:
        if not changes:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(changes)
            except Exception:  # noqa: BLE001 - a broken view must not undo or hide a committed write
                log.exception("a subscriber failed on %s", changes)
