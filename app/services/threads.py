"""Threads as the window organises them: the list (with tags and saved views), one thread's page, its privacy rule,
and the writes that change them. Every write publishes what it changed (app.services.changes).

Reads and writes are separate calls, so the window can run each on its own lane: a listing never waits behind a
write, and a read never writes (showing another branch is `switch_branch`, then `page`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.domain import Message, SavedView, Thread, ThreadFilter, ThreadSummary
from app.core.errors import NotFound
from app.core.metadata import MetaValue
from app.core.routing import PrivacyRule
from app.services.changes import ChangeBroadcast, Changes, of_thread
from app.services.chat import ChatService
from app.services.transfer import ImportReport, export_json, export_markdown, import_file
from app.store import Store
from app.store.routing import RoutingStore


@dataclass(frozen=True, slots=True)
class ThreadListing:
    threads: list[Thread]  # those the filter lets through, pinned first, then most recently active
    tags: list[str]  # every tag in use, for the filter chips
    views: list[SavedView]


@dataclass(frozen=True, slots=True)
class BranchPosition:
    """The message is alternative `index` (0-based) of `sibling_ids`, oldest first."""

    index: int
    sibling_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.sibling_ids)


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """What the conversation shows for a thread: its current branch and where each forked message sits."""

    thread_id: int
    messages: list[Message]
    positions: dict[int, BranchPosition]  # only messages that have alternatives
    summary: ThreadSummary | None = None  # older turns of this branch folded to fit the model's window
    thread: Thread | None = None  # as stored when the page was read: title, model, tags, metadata


@dataclass(frozen=True, slots=True)
class PrivacyState:
    thread_id: int
    rule: PrivacyRule
    hosted_calls: int  # how many times any of the thread was sent to a hosted model


def branch_positions(path: Sequence[Message], every_message: Sequence[Message]) -> dict[int, BranchPosition]:
    """For each message on `path` that has siblings in `every_message` (the whole tree), its position among them.

    One pass over the tree instead of a `store.siblings` query per message: a long thread opens as fast as a short one.
    """
    children: dict[int | None, list[int]] = {}
    for message in sorted(every_message, key=lambda each: each.id):
        children.setdefault(message.parent_id, []).append(message.id)
    positions = {}
    for message in path:
        siblings = children.get(message.parent_id, [message.id])
        if len(siblings) > 1:
            positions[message.id] = BranchPosition(siblings.index(message.id), tuple(siblings))
    return positions


class ThreadService:
    """`chat` makes and deletes threads (a new thread takes its model; a deleted one's saved model states go)."""

    def __init__(self, store: Store, routing: RoutingStore, *, chat: ChatService, changes: ChangeBroadcast) -> None:
        self._store = store
        self._routing = routing
        self._chat = chat
        self._changes = changes

    # Reads

    def listing(self, filter: ThreadFilter | None = None) -> ThreadListing:
        return ThreadListing(self._store.list_threads(filter), self._store.all_tags(), self._store.saved_views())

    def is_listed(self, thread_id: int) -> bool:
        """Whether the thread is in the default listing: it exists, is not deleted and not archived."""
        try:
            return not self._store.get_thread(thread_id).archived
        except NotFound:
            return False

    def page(self, thread_id: int) -> ThreadPage:
        """The thread's current branch, with the positions of forked messages and the summary fold on it."""
        store = self._store
        messages = store.current_path(thread_id)
        every_message = store.messages(thread_id) if messages else []
        summary = store.summary_on_branch(thread_id, messages) if messages else None
        thread = store.get_thread(thread_id)
        return ThreadPage(thread_id, messages, branch_positions(messages, every_message), summary, thread)

    def privacy(self, thread_id: int) -> PrivacyState:
        return PrivacyState(thread_id, self._routing.privacy_rule(thread_id), len(self._routing.ledger(thread_id)))

    # Writes

    def create(self) -> Thread:
        return self._chat.new_thread()  # which publishes the new thread

    def switch_branch(self, message_id: int) -> int:
        """Make the branch through `message_id` the thread's current one; returns the thread's id. Publishes
        nothing: it is the user's own navigation, and the view that asked for it shows the page."""
        return self._store.show_branch(message_id)[0].thread_id

    def rename(self, thread_id: int, title: str) -> Thread:
        return self._published(self._store.rename_thread(thread_id, title))

    def set_pinned(self, thread_id: int, pinned: bool) -> Thread:
        return self._published(self._store.set_pinned(thread_id, pinned))

    def set_archived(self, thread_id: int, archived: bool) -> Thread:
        return self._published(self._store.set_archived(thread_id, archived))

    def set_tags(self, thread_id: int, tags: list[str]) -> Thread:
        """Make the thread's tags exactly `tags`."""
        with self._store.writing():
            old = self._store.get_thread(thread_id).tags
            removed = [tag for tag in old if tag not in tags]
            added = [tag for tag in tags if tag not in old]
            if removed:
                self._store.remove_tags(thread_id, removed)
            if added:
                self._store.add_tags(thread_id, added)
        return self._published(self._store.get_thread(thread_id))

    def set_metadata(self, thread_id: int, pairs: dict[str, MetaValue]) -> Thread:
        """Make the thread's metadata exactly `pairs`."""
        with self._store.writing():
            removed = [key for key in self._store.get_thread(thread_id).metadata if key not in pairs]
            self._store.set_metadata(thread_id, pairs)
            if removed:
                self._store.remove_metadata(thread_id, removed)
        return self._published(self._store.get_thread(thread_id))

    def save_view(self, name: str, filter: ThreadFilter) -> SavedView:
        view = self._store.save_view(name, filter)
        self._changes.publish(Changes(thread_list=True))
        return view

    def delete_view(self, view_id: int) -> None:
        self._store.delete_view(view_id)
        self._changes.publish(Changes(thread_list=True))

    def delete(self, thread_id: int) -> None:
        """Soft delete: restorable until purged."""
        self._chat.delete_thread(thread_id)
        self._changes.publish(Changes(thread_list=True))

    def restore(self, thread_ids: list[int]) -> list[Thread]:
        restored = [self._store.restore_thread(thread_id) for thread_id in thread_ids]
        self._changes.publish(Changes(thread_list=True))
        return restored

    def fork(self, message_id: int) -> Thread:
        """A new thread holding a copy of the branch up to `message_id`."""
        return self._published(self._store.fork(message_id))

    def edit_summary(self, thread_id: int, summary_id: int, text: str) -> None:
        self._store.edit_summary(summary_id, text)
        self._changes.publish(of_thread(thread_id, messages=True, listed=False))

    def undo_summary(self, thread_id: int, summary_id: int) -> None:
        self._store.undo_summary(summary_id)
        self._changes.publish(of_thread(thread_id, messages=True, listed=False))

    def set_model(self, thread_id: int, model: str) -> Thread:
        """The thread's replies come from `model` (a local name or PROVIDER/MODEL) from its next turn on; NotFound
        for a model that is not installed or a provider that was not added. Whether a hosted one may be sent the
        thread is still its privacy rule's, turn by turn."""
        self._chat.router.check_model(model)
        self._routing.set_thread_model(thread_id, model)
        return self._published(self._store.get_thread(thread_id))

    def import_file(self, path: Path, *, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """A Threadloom, ChatGPT or Open WebUI export (app.services.transfer); the list shows what arrived."""
        report = import_file(self._store, path, progress=progress)
        if report.imported:
            self._changes.publish(Changes(thread_list=True))
        return report

    def export(self, thread_id: int | None, fmt: str) -> tuple[str, int]:
        """The thread (None: every thread, archived ones included, oldest first) as "md" or "json" text, and how
        many threads it holds."""
        if thread_id is None:
            ids = [thread.id for thread in reversed(self._store.list_threads(ThreadFilter(include_archived=True)))]
        else:
            ids = [self._store.get_thread(thread_id).id]
        if fmt == "json":
            return json.dumps(export_json(self._store, ids), ensure_ascii=False, indent=2) + "\n", len(ids)
        return export_markdown(self._store, ids), len(ids)

    def thread(self, thread_id: int) -> Thread:
        return self._store.get_thread(thread_id)

    def set_system_prompt(self, thread_id: int, text: str | None) -> Thread:
        """The thread's own system prompt (None or blank: none), for the branches that begin from now on: those
        there are keep theirs, so their saved model state stays valid."""
        self._store.set_thread_system_prompt(thread_id, text)
        return self._published(self._store.get_thread(thread_id))

    def set_privacy_rule(self, thread_id: int, rule: PrivacyRule) -> PrivacyState:
        self._routing.set_privacy_rule(thread_id, rule)
        self._changes.publish(of_thread(thread_id, privacy=True, listed=False))
        return self.privacy(thread_id)

    def _published(self, thread: Thread) -> Thread:
        self._changes.publish(of_thread(thread.id))
        return thread
