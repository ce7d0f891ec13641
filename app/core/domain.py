"""Domain values that cross every boundary: repositories return them, services pass them, the GUI shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from app.core.tools import ToolCall, ToolCallRequest, ToolSpec

MetaValue = str | float | int | bool | date


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"  # a tool's result, in a prompt only (calls are stored as `ToolCall`s, not messages)


class MessageStatus(StrEnum):
    STREAMING = "streaming"      # a reply being written right now
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # stopped by the user, a dead worker or a killed process; partial text kept
    PAUSED = "paused"            # a chain of model calls waits for the user's answer (`ChatService.resume`)
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    pinned: bool = False
    archived: bool = False
    model: str | None = None
    system_prompt: str | None = None
    current_leaf_id: int | None = None
    title_source: str = "provisional"  # "provisional" (from the first message), "generated" (by the model), "user"
    deleted_at: datetime | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    incognito: bool = False  # reads and writes no long-term memory; left out of training exports


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    """Which threads a list shows. `where` pairs must all match; archived threads only when asked for."""

    tag: str | None = None
    where: tuple[tuple[str, MetaValue], ...] = ()
    include_archived: bool = False
    archived_only: bool = False
    deleted_only: bool = False
    rated: str | None = None  # "up" or "down": only threads holding a reply rated so


@dataclass(frozen=True, slots=True)
class SavedView:
    id: int
    name: str
    filter: ThreadFilter


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """Older turns of a thread folded into one text, so the thread fits the model's window."""

    id: int
    thread_id: int
    up_to_message_id: int
    content: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    thread_id: int
    thread_title: str
    message_id: int
    role: Role
    snippet: str  # the hit in context, matches wrapped in [ ]
    score: float  # fused reciprocal-rank score, higher is better
    created_at: datetime
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the model's cache instead of being processed again


@dataclass(frozen=True, slots=True)
class Timings:
    ttft_s: float = 0.0        # request sent to first generated token
    tokens_per_s: float = 0.0  # generation speed after the first token


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    thread_id: int
    parent_id: int | None
    role: Role
    content: str
    status: MessageStatus
    created_at: datetime
    model: str | None = None
    error: str | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    reasoning: str | None = None  # a reasoning model's thinking, apart from `content` (app.core.reasoning)
    reasoning_s: float | None = None  # how long it thought


class CallPurpose(StrEnum):
    """Why a model was called: every call is metered under one of these."""

    TURN = "turn"              # a reply in a thread
    TITLE = "title"            # naming a thread after its first exchange
    SUMMARY = "summary"        # summarising an attachment
    COMPACTION = "compaction"  # folding older turns so the thread fits the window
    EMBEDDING = "embedding"    # vectors for search
    MEMORY = "memory"          # proposing long-term memories from a thread


@dataclass(frozen=True, slots=True)
class BackendCapabilities:
    """What a backend can do, declared by the backend rather than probed by its callers."""

    context_window: int | None  # tokens of prompt plus reply; None: not known (a hosted endpoint)
    hosted: bool = False        # the request leaves this machine
    native_tools: bool = False  # takes tool definitions and returns structured calls
    json_grammar: bool = False  # can be forced to emit JSON by a grammar


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One metered model call: a usage row."""

    purpose: CallPurpose
    backend: str  # "local" or "hosted"
    model: str | None  # None: not known (an imported reply)
    usage: Usage
    timings: Timings | None        # None: not known (an imported reply)
    seconds: float | None = None   # wall time of the whole call
    thread_id: int | None = None
    message_id: int | None = None  # the reply a turn wrote, else None


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One message as the model sees it."""

    role: Role
    content: str
    tool_calls: tuple[ToolCallRequest, ...] = ()  # an assistant turn that called tools
    tool_call_id: str | None = None               # a TOOL turn: the call it answers


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    turns: tuple[ChatTurn, ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    cache_key: str | None = None  # whose saved model states may serve this prompt (one per thread); None: none
    json_schema: dict | None = None  # the reply must be JSON of this schema (a grammar where the backend has one)
    tools: tuple[ToolSpec, ...] = ()  # what the model may call in this step; () : plain chat
    tool_choice: str = "auto"  # "auto": a reply or a call, as the model decides; "required": a call


# Stream events: what a backend yields while it answers one request.


@dataclass(frozen=True, slots=True)
class TokenEvent:
    text: str


@dataclass(frozen=True, slots=True)
class DoneEvent:
    usage: Usage
    timings: Timings
    finish_reason: str  # "stop", "length" or "cancelled"


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """The model called a tool (its text of the call is not streamed as tokens)."""

    call: ToolCallRequest


StreamEvent = TokenEvent | ToolCallEvent | DoneEvent


# Chat events: what ChatService yields for one turn, around the backend's stream.


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    user_message: Message
    reply: Message  # empty, status STREAMING


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    reply: Message  # as stored: final text, status, usage, timings, error
    finish_reason: str  # "stop", "length", "cancelled", "paused" or "error"
    confirm_model: str | None = None  # a hosted model that may answer this turn once the user says yes (a fallback)


@dataclass(frozen=True, slots=True)
class ThreadRetitled:
    """The model named the thread after its first exchange."""

    thread: Thread


@dataclass(frozen=True, slots=True)
class ThreadCompacted:
    """Older turns were folded into a summary so the thread fits the model's window (the originals are kept)."""

    summary: ThreadSummary


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Something the context builder kept out of a prompt so it fits the window."""

    what: str                      # "passages" (retrieved for a message), "messages" (older turns)
    tokens: int                    # about how many tokens it would have taken
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContextReport:
    """How a turn's prompt was fitted to the route's window: its size, what was folded, what was left out."""

    tokens: int                          # the prompt, in the route's tokens (estimated for a hosted route)
    window: int | None                   # the route's window; None: not known
    folded: tuple[int, ...] = ()         # messages standing in the prompt as a summary, not verbatim
    left_out: tuple[LeftOut, ...] = ()
    passages: int = 0                    # attachment passages in the prompt (of every message not left out)


@dataclass(frozen=True, slots=True)
class ContextBuilt:
    """The prompt of a reply is ready (sent once per model call, before its first token)."""

    report: ContextReport


@dataclass(frozen=True, slots=True)
class ToolCallsChanged:
    """A reply's tool calls as stored now (one was made, ran, failed, or waits for the user)."""

    calls: tuple[ToolCall, ...]


ChatEvent = (
    ReplyStarted | TokenEvent | ReplyFinished | ThreadRetitled | ThreadCompacted | ContextBuilt | ToolCallsChanged
)


@dataclass(frozen=True, slots=True)
class CompanionFile:
    """A file a model needs beside its weights (an ONNX model's tokenizer.json), fetched and checked with it."""

    file: str
    sha256: str
    size_bytes: int
    source: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model from the catalog (models/catalog.toml), installed or not."""

    name: str
    file: str
    sha256: str
    size_bytes: int
    license: str
    context_length: int
    quantization: str
    source: str
    sampling: SamplingParams
    description: str = ""
    kind: str = "chat"   # "chat" or "embedding"
    dimensions: int = 0  # an embedding model's vector size
    tokenizer: CompanionFile | None = None  # an ONNX embedding model's tokenizer.json (a GGUF holds its own)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    spec: ModelSpec
    path: str
    installed: bool


# Threads coming in from an export file (ours, ChatGPT's, Open WebUI's): keys are the file's own ids.


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    key: str
    parent_key: str | None
    role: Role
    content: str
    created_at: datetime
    status: MessageStatus = MessageStatus.COMPLETE
    model: str | None = None
    error: str | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    backend: str = "local"
    tool_calls: tuple[ToolCall, ...] = ()  # their ids, thread and message are the file's, replaced on import
    rating: tuple[str, str | None, datetime] | None = None  # (up or down, note, rated at), from our own export
    reasoning: str | None = None  # a reasoning model's thinking (Message.reasoning), from our own export
    reasoning_s: float | None = None


@dataclass(frozen=True, slots=True)
class ImportedThread:
    title: str
    created_at: datetime
    updated_at: datetime
    messages: tuple[ImportedMessage, ...]  # parents before children
    current_key: str | None = None
    title_source: str = "user"
    pinned: bool = False
    archived: bool = False
    model: str | None = None
    system_prompt: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    summaries: tuple[tuple[str, str, datetime], ...] = ()  # (up_to_key, content, created_at)
