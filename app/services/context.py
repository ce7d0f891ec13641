"""The context builder: the one place that turns a thread's branch into the prompt of a reply and fits it to the
route's window.

The prompt is made of ordered contributors: thread-level text for the system turn (the thread's system prompt;
custom instructions, recalled memories and tool definitions plug in the same way), the summary that folds older
turns, the messages of the branch, and per user message the text that goes with it (attachment passages). What a
contributor gives for a thread or a message must be the same every time, so the prompt stays append-only per branch
and the model's saved state of the thread stays valid.

Fitting, in this order, until prompt and reply fit: fold older turns into a summary (by the thread's own model);
leave out the passages of older messages, then of the newest; shorten the reply to the room that is left. Whatever
was folded or left out is reported (`ContextReport`), never dropped unseen. A prompt that still does not fit raises
PromptTooLong, which the router may answer with a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from app.core.domain import (
    CallPurpose,
    ChatTurn,
    ContextReport,
    GenerationRequest,
    LeftOut,
    Message,
    Role,
    SamplingParams,
    Thread,
    ThreadSummary,
)
from app.core.errors import PromptTooLong
from app.core.tools import ToolSpec
from app.platform.settings import Settings
from app.services.routing import Route, Router
from app.store import Store

log = logging.getLogger(__name__)

SUMMARY_PREFIX = "Summary of the earlier conversation: "
COMPACTION_PROMPT = (
    "Summarize the conversation below in one short paragraph. Keep names, numbers, dates, decisions and open "
    "questions."
)
KEEP_RECENT_MESSAGES = 4  # the newest turns always go to the model verbatim
SUMMARY_MAX_TOKENS = 256
FOLDED_MESSAGE_CHARS = 2000
MAX_FOLDS_PER_TURN = 4
MIN_REPLY_TOKENS = 16  # less room than this for the reply: the prompt does not fit

# Thread-level text for the system turn, in order; None or "" adds nothing.
SystemContributor = Callable[[Thread], str | None]


class BranchContributor(Protocol):
    """Text for the system turn that depends on the reply's branch and route (the thread's system prompt as it
    was when the branch began; what the thread took at its start, of which a hosted route gets less). It goes
    before the thread-level text. `route` is None when the prompt is assembled without one."""

    def for_reply(self, thread: Thread, reply: Message, route: Route | None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What goes with a user message in the prompt: `prefix` goes before the message's own text (passages)."""

    prefix: str
    tokens_hint: int  # about how many tokens the prefix costs, for the report when it is left out
    passages: int = 0  # how many passages the prefix holds, for the report


class MessageContributor(Protocol):
    """Text that goes with one user message, the same every time for that message; `budget_tokens` (None: no
    limit) is the most it may take, decided from the route's window when the message is first answered."""

    def for_message(self, thread: Thread, message: Message, *, budget_tokens: int | None) -> MessageContext | None: ...


@dataclass(frozen=True, slots=True)
class BuiltContext:
    request: GenerationRequest
    report: ContextReport
    new_summary: ThreadSummary | None  # older turns were folded while fitting this prompt


def thread_cache_key(thread_id: int) -> str:
    """The key under which the model worker keeps and saves a thread's model state (see app.runtime.kvcache)."""
    return f"thread-{thread_id}"


def thread_system_prompt(thread: Thread) -> str | None:
    return thread.system_prompt


class ContextBuilder:
    def __init__(
        self,
        store: Store,
        router: Router,
        *,
        system: list[SystemContributor] | None = None,
        branch: list[BranchContributor] | None = None,
        messages: list[MessageContributor] | None = None,
        passage_share: Callable[[], float] = lambda: Settings().passage_share,
    ) -> None:
        """`passage_share` is read per turn: the share of the window left after the thread and the reply's room
        that a message's passages may take."""
        self._store = store
        self._router = router
        self.system: list[SystemContributor] = system if system is not None else [thread_system_prompt]
        self.branch: list[BranchContributor] = branch or []
        self.messages: list[MessageContributor] = messages or []
        self._passage_share = passage_share
        self.offer_tools: Callable[[Thread], list[ToolSpec]] = lambda thread: []  # what the model may call

    def build(self, thread: Thread, reply: Message, route: Route, sampling: SamplingParams) -> BuiltContext:
        """The request for `reply` on `route`, fitted to its window."""
        window = self._router.window(route)
        new_summary = None
        left_out: list[LeftOut] = []
        folds = 0
        tools = tuple(self.offer_tools(thread))  # their descriptions take room in the prompt too
        while True:
            summary, path = self._summarised_path(thread.id, reply.parent_id)
            budget = None
            if window:
                thread_tokens = self._router.count_tokens(
                    route, self._turns(thread, reply, route, summary, path, {}, skip=set()), tools
                )
                budget = int(max(0, window - thread_tokens - sampling.max_tokens) * self._passage_share())
            extras = self._message_extras(thread, path, budget)
            turns = self._turns(thread, reply, route, summary, path, extras, skip=set())
            tokens = self._router.count_tokens(route, turns, tools)
            if window is None or tokens + sampling.max_tokens <= window:
                return self._built(
                    thread, turns, sampling, tokens, window, summary, new_summary, left_out, extras, tools=tools
                )
            folded = self._fold_older_turns(thread, reply, route, window) if folds < MAX_FOLDS_PER_TURN else None
            if folded is None:
                break
            new_summary, folds = folded, folds + 1
        # Nothing more to fold: leave passages out, oldest message first, then shorten the reply.
        skip: set[int] = set()
        for message in [m for m in path if m.id in extras]:
            skip.add(message.id)
            left_out.append(LeftOut("passages", extras[message.id].tokens_hint, message.id))
            turns = self._turns(thread, reply, route, summary, path, extras, skip=skip)
            tokens = self._router.count_tokens(route, turns, tools)
            if tokens + sampling.max_tokens <= window:
                break
        room = window - tokens
        if room < MIN_REPLY_TOKENS:
            raise PromptTooLong(
                f"the thread's newest turns do not fit the model's window ({tokens} tokens, window {window}) even "
                f"with older turns folded: shorten the message, or pick a model with a larger window"
            )
        sampling = replace(sampling, max_tokens=min(sampling.max_tokens, room))
        return self._built(
            thread, turns, sampling, tokens, window, summary, new_summary, left_out, extras, skip, tools=tools
        )

    def assemble(self, thread: Thread, reply: Message) -> tuple[ChatTurn, ...]:
        """The prompt for `reply` as it stands, before any fitting (nothing folded now, nothing left out)."""
        summary, path = self._summarised_path(thread.id, reply.parent_id)
        return self._turns(thread, reply, None, summary, path, self._message_extras(thread, path, None), skip=set())

    def _built(
        self,
        thread: Thread,
        turns: tuple[ChatTurn, ...],
        sampling: SamplingParams,
        tokens: int,
        window: int | None,
        summary: ThreadSummary | None,
        new_summary: ThreadSummary | None,
        left_out: list[LeftOut],
        extras: dict[int, MessageContext],
        skip: set[int] | None = None,
        tools: tuple[ToolSpec, ...] = (),
    ) -> BuiltContext:
        folded = self._folded_ids(summary) if summary is not None else ()
        passages = sum(extra.passages for message_id, extra in extras.items() if message_id not in (skip or ()))
        log.debug("thread %s prompt: %s tokens, window %s, %s messages folded", thread.id, tokens, window, len(folded))
        if left_out:
            log.info("thread %s: left out of the prompt to fit the window: %s", thread.id, left_out)
        return BuiltContext(
            request=GenerationRequest(
                turns=turns, sampling=sampling, cache_key=thread_cache_key(thread.id), tools=tools
            ),
            report=ContextReport(
                tokens=tokens, window=window, folded=folded, left_out=tuple(left_out), passages=passages
            ),
            new_summary=new_summary,
        )

    def _turns(
        self,
        thread: Thread,
        reply: Message,
        route: Route | None,
        summary: ThreadSummary | None,
        path: list[Message],
        extras: dict[int, MessageContext],
        *,
        skip: set[int],
    ) -> tuple[ChatTurn, ...]:
        turns = []
        texts = [contributor.for_reply(thread, reply, route) for contributor in self.branch]
        texts += [contributor(thread) for contributor in self.system]
        system = "\n\n".join(text for text in texts if text)
        if system:
            turns.append(ChatTurn(Role.SYSTEM, system))
        if summary is not None:
            turns.append(ChatTurn(Role.SYSTEM, SUMMARY_PREFIX + summary.content))
        for message in path:
            if not message.content or message.role not in (Role.USER, Role.ASSISTANT):
                continue
            extra = extras.get(message.id)
            if extra is not None and message.id not in skip:
                turns.append(ChatTurn(message.role, extra.prefix + message.content))
            else:
                turns.append(ChatTurn(message.role, message.content))
        return tuple(turns)

    def _message_extras(
        self, thread: Thread, path: list[Message], budget: int | None
    ) -> dict[int, MessageContext]:
        extras: dict[int, MessageContext] = {}
        for message in path:
            if message.role != Role.USER:
                continue
            for contributor in self.messages:
                extra = contributor.for_message(thread, message, budget_tokens=budget)
                if extra is not None and extra.prefix:
                    extras[message.id] = extra
        return extras

    def _summarised_path(self, thread_id: int, leaf_id: int) -> tuple[ThreadSummary | None, list[Message]]:
        """The newest summary in force on the branch to `leaf_id`, and the messages after the turns it folds."""
        path = self._store.path_to(leaf_id)
        summary = self._store.summary_on_branch(thread_id, path)
        if summary is None:
            return None, path
        return summary, path[[m.id for m in path].index(summary.up_to_message_id) + 1 :]

    def _folded_ids(self, summary: ThreadSummary) -> tuple[int, ...]:
        return tuple(m.id for m in self._store.path_to(summary.up_to_message_id))

    def _fold_older_turns(self, thread: Thread, reply: Message, route: Route, window: int) -> ThreadSummary | None:
        """Fold the oldest turns not yet summarised (all but the newest few) into a new summary, by the model whose
        window is being fitted; None when nothing is left to fold or the model could not summarise."""
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
            turns=(ChatTurn(Role.USER, COMPACTION_PROMPT + "\n\n" + "\n\n".join(transcript)),),
            sampling=SamplingParams(temperature=0.2, max_tokens=SUMMARY_MAX_TOKENS),
        )
        text = self._router.complete(request, purpose=CallPurpose.COMPACTION, thread=thread, route=route)
        if not text:
            return None
        return self._store.add_summary(thread.id, up_to_message_id=folded[-1].id, content=text)
