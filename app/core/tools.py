"""Tools a model may call in a thread: what each offers (a spec) and what a call gives back (an outcome).

The interface shared with the tool registry (issue 12); providers (built-in tools, memory, MCP servers) each say
which tools they offer in a thread and run the calls to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.core.domain import Thread


class ToolEffect(StrEnum):
    READ_ONLY = "read-only"      # runs at once
    SIDE_EFFECT = "side-effect"  # pauses the turn for the user's yes
    NETWORK = "network"          # obeys offline mode and the thread's privacy rule, writes to the privacy ledger


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str                    # unique in a thread's tool set, [a-z0-9_]+
    description: str
    parameters: dict             # a JSON schema ("type": "object", ...)
    effect: ToolEffect
    server: str = "builtin"      # "builtin", "memory", or the MCP server's name


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    content: str                 # what goes back to the model
    error: str | None = None     # one line; the call failed (the turn goes on)


class ToolProvider(Protocol):
    def tools(self, thread: Thread) -> list[ToolSpec]: ...
    def call(self, thread: Thread, name: str, arguments: dict) -> ToolOutcome: ...
