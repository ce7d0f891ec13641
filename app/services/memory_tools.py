"""The `remember` and `recall` tools: long-term memory as a tool provider (app.core.tools) for the tool registry.

`remember` proposes a fact from the thread's newest user message. With review on it only lands in the inbox —
the user's approval there is the yes — so it runs at once; with auto-approve on it is recalled at once, so the
turn pauses for the user's yes first. `recall` searches approved memories mid-thread; in a thread whose content
may go to a hosted model it finds only memories that may go there too. An incognito thread gets neither tool.
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.domain import Role, Thread
from app.core.errors import InvalidInput
from app.core.memory import Likeness, MemorySource
from app.core.routing import PrivacyRule
from app.core.tools import ToolEffect, ToolOutcome, ToolSpec
from app.platform.settings import Settings
from app.services.memory import MemoryService
from app.store import Store
from app.store.routing import RoutingStore

RECALL_LIMIT = 5
MAX_RECALL_LIMIT = 20


class MemoryTools:
    def __init__(
        self, store: Store, routing: RoutingStore, memory: MemoryService, settings: Callable[[], Settings]
    ) -> None:
        self._store = store
        self._routing = routing
        self._memory = memory
        self._settings = settings

    def tools(self, thread: Thread) -> list[ToolSpec]:
        if thread.incognito:
            return []
        effect = ToolEffect.SIDE_EFFECT if self._settings().memory_auto_approve else ToolEffect.READ_ONLY
        return [
            ToolSpec(
                name="remember",
                description="Save one short fact about the user (from what they said) for later conversations.",
                parameters={
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "the fact, one short sentence"}},
                    "required": ["text"],
                },
                effect=effect,
                server="memory",
            ),
            ToolSpec(
                name="recall",
                description="Search what you remember about the user from earlier conversations.",
                parameters={
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "what to look for"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RECALL_LIMIT},
                    },
                    "required": ["query"],
                },
                effect=ToolEffect.READ_ONLY,
                server="memory",
            ),
        ]

    def call(self, thread: Thread, name: str, arguments: dict) -> ToolOutcome:
        if thread.incognito:
            return ToolOutcome("", error="this thread is incognito: it neither reads nor writes memory")
        try:
            if name == "remember":
                return self._remember(thread, _text_argument(arguments, "text"))
            if name == "recall":
                return self._recall(thread, _text_argument(arguments, "query"), arguments.get("limit", RECALL_LIMIT))
        except InvalidInput as exc:
            return ToolOutcome("", error=str(exc))
        return ToolOutcome("", error=f"the memory tools have no tool named {name!r}")

    def _remember(self, thread: Thread, text: str) -> ToolOutcome:
        path = self._store.current_path(thread.id)
        said = next((m for m in reversed(path) if m.role == Role.USER), None)
        sources = [MemorySource(thread.id, said.id)] if said is not None else []
        outcome = self._memory.add(text, sources=sources, privacy=self._routing.privacy_rule(thread.id))
        if outcome.memory is None:
            return ToolOutcome("The user asked to forget this before; it was not saved.")
        if outcome.likeness == Likeness.DUPLICATE:
            return ToolOutcome(f"Already remembered: {outcome.memory.text}")
        if outcome.likeness == Likeness.CONTRADICTION:
            return ToolOutcome("This contradicts something remembered before; the user will choose which to keep.")
        return ToolOutcome(f"Saved ({outcome.memory.status}): {outcome.memory.text}")

    def _recall(self, thread: Thread, query: str, limit: object) -> ToolOutcome:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_RECALL_LIMIT:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_RECALL_LIMIT}")
        may_go_hosted = self._routing.privacy_rule(thread.id) != PrivacyRule.LOCAL_ONLY
        found = self._memory.search(query, limit=limit, for_hosted=may_go_hosted)
        self._memory.note_used(found)
        if not found:
            return ToolOutcome("Nothing remembered matches.")
        return ToolOutcome("\n".join(f"- {memory.text}" for memory in found))


def _text_argument(arguments: dict, name: str) -> str:
    value = arguments.get(name) if isinstance(arguments, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"`{name}` must be a non-empty string")
    return value
