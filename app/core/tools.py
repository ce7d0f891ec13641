"""Tools a model may call in a thread: what a tool declares, what a call returns, and the stored record of a call.

A `ToolProvider` offers tools per thread (the built-ins, memory, each MCP server) and runs their calls; the turn
loop's tool handler (`app.services.tools`) asks the registry of providers what to offer and runs what the model
asks for. Every call is stored as a `ToolCall`, part of the thread's history like its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
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
    def tools(self, thread: Thread) -> list[ToolSpec]: ...     # what this provider offers in this thread (may be [])
    def call(self, thread: Thread, name: str, arguments: dict) -> ToolOutcome: ...


class ToolCallStatus(StrEnum):
    PENDING = "pending-approval"  # a side-effect call waits for the user's Run / Always / Don't
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"             # the tool failed, or the model's arguments were not valid
    REFUSED = "refused"           # the user said Don't; the model hears "the user declined"


DECLINED = "the user declined"  # what a refused call tells the model


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call a reply made, stored in the thread: `offset` is where in the reply's text it happened (the card sits
    there), `approved_by` who let a side-effect call run ("user", "always for this thread"; None: nobody had to)."""

    id: int
    thread_id: int
    message_id: int
    call_key: str                # the model's id for the call (hosted `tool_calls[].id`), echoed with the result
    name: str
    server: str
    arguments: dict[str, Any] | str  # a str: what the model sent was not a JSON object
    status: ToolCallStatus
    effect: ToolEffect
    offset: int
    created_at: datetime
    result: str | None = None
    error: str | None = None
    duration_ms: int | None = None
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """What the model asked for in one step: a tool by name with arguments (a str when they were not JSON)."""

    call_key: str
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
