"""What makes a thread personal, as parts of its system turn (branch contributors of the context builder) and the
commands that change them: the thread's own system prompt, custom instructions, recalled memories.

Each is fixed when it first goes into a branch's prompt, so the prompt stays append-only and the model's saved
state of the thread stays valid: a changed system prompt applies from the next branch, changed custom
instructions from the next thread, and the memories a thread recalls are chosen once, at its start (by its first
message). A hosted route gets only the recalled memories that may leave the machine.
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.domain import Message, Role, Thread
from app.core.memory import Instructions, Memory
from app.core.routing import ModelRef
from app.platform.settings import Settings
from app.services.memory import RECALL_HEADER, MemoryService, may_go_hosted
from app.services.routing import Route
from app.store import Store


class BranchSystemPrompt:
    """The thread's system prompt as it was when the reply's branch began."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def for_reply(self, thread: Thread, reply: Message, route: Route | None) -> str | None:
        versioned, prompt = self._store.system_prompt_for_reply(thread.id, reply.id)
        return prompt if versioned else thread.system_prompt


class ThreadStart:
    """Custom instructions and recalled memories, taken once when the thread gets its first reply."""

    def __init__(self, store: Store, memory: MemoryService, settings: Callable[[], Settings]) -> None:
        self._store = store
        self._memory = memory
        self._settings = settings

    def for_reply(self, thread: Thread, reply: Message, route: Route | None) -> str | None:
        started, instructions = self._store.thread_start(thread.id)
        if not started:
            self._start(thread, reply)
            started, instructions = self._store.thread_start(thread.id)
        recalled = self.recalled(thread, hosted=route is not None and route.hosted)
        memories = "\n".join(f"- {text}" for _, text in recalled)
        parts = [instructions, f"{RECALL_HEADER}\n{memories}" if memories else None]
        return "\n\n".join(part for part in parts if part) or None

    def recalled(self, thread: Thread, *, hosted: bool) -> list[tuple[int, str]]:
        """The (memory id, text) the thread recalled at its start; for a hosted route only those that may go."""
        recalled = self._store.thread_recall(thread.id)
        if not hosted or not recalled:
            return recalled
        allowed = {m.id for m in self._store.memories(ids=[i for i, _ in recalled]) if may_go_hosted(m)}
        return [(memory_id, text) for memory_id, text in recalled if memory_id in allowed]

    def used_by(self, reply: Message) -> list[Memory]:
        """The memories that went into the prompt of `reply` (what it may have used), in prompt order."""
        thread = self._store.get_thread(reply.thread_id)
        hosted = reply.model is not None and ModelRef.parse(reply.model).hosted
        return self._store.memories(ids=[memory_id for memory_id, _ in self.recalled(thread, hosted=hosted)])

    def _start(self, thread: Thread, reply: Message) -> None:
        """A thread that already had replies before this feature existed starts with nothing (its prompt stays)."""
        path = self._store.path_to(reply.id)
        earlier_replies = any(m.role == Role.ASSISTANT and m.id != reply.id for m in self._store.messages(thread.id))
        if earlier_replies:
            self._store.start_thread(thread.id, None, [])
            return
        settings = self._settings()
        instructions = Instructions(settings.about_me, settings.answer_style).as_prompt()
        first = next((m.content for m in path if m.role == Role.USER), "")
        recalled = self._memory.recall_for_start(thread, first) if first else []
        self._store.start_thread(thread.id, instructions, [(m.id, m.text) for m in recalled])
