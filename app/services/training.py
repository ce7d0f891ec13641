"""Training sets from the history: chat fine-tuning lines and preference pairs, one JSON object per line.

Fine-tuning (`finetune`): OpenAI's chat format, `{"messages": [{role, content}, …]}` of the branch each thread shows,
cut before its first message that is not complete and after its last reply. A reply not to learn from (rated
down; with `rated_up_only`, not rated up; with `model`, written by another model) keeps its place in the
conversation with `"weight": 0`, as the format allows.

Preference (`preference`): `{"prompt": [messages…], "chosen": [reply], "rejected": [reply]}` (TRL's conversational
form) from sibling replies to one message — regenerations, upgrades, the replies to an edit's branches. Chosen: a
reply rated up, else the reply the thread shows if another is rated down. Rejected: each sibling rated down, and,
beside a reply rated up, each unrated sibling the user did not keep on the shown branch.

Incognito threads, and threads whose content went to a hosted model (the privacy ledger), are left out unless asked.
A reply that called tools is split where it called them, as the format has it: the text up to a call is an assistant
turn carrying `tool_calls`, each call's result (or error, or "the user declined") a `tool` turn after it, then the
rest of the reply. A call that never finished (waiting, or cut off) ends the reply there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby
from typing import Any

from app.core.domain import Message, MessageStatus, Role, Thread, ThreadFilter
from app.core.insights import Rating, RatingValue
from app.core.tools import DECLINED, ToolCall, ToolCallStatus
from app.store import Store
from app.store.routing import RoutingStore

# Calls whose outcome the model heard (a waiting or running one has none yet).
_FINISHED_CALLS = (ToolCallStatus.DONE, ToolCallStatus.FAILED, ToolCallStatus.REFUSED)
# Statuses whose text the model saw as part of the conversation (an interrupted reply keeps its partial text).
_IN_PROMPT = {MessageStatus.COMPLETE, MessageStatus.INTERRUPTED}


@dataclass(frozen=True, slots=True)
class TrainingFilter:
    tag: str | None = None
    rated_up_only: bool = False  # only threads (and replies) rated up
    since: date | None = None  # threads active on or after this day (UTC)
    model: str | None = None  # only replies this model wrote count
    include_hosted: bool = False
    include_incognito: bool = False


def training_threads(store: Store, wanted: TrainingFilter) -> list[Thread]:
    """The threads a training export reads, oldest first."""
    threads = store.list_threads(
        ThreadFilter(tag=wanted.tag, include_archived=True, rated=str(RatingValue.UP) if wanted.rated_up_only else None)
    )
    hosted = set() if wanted.include_hosted else {call.thread_id for call in RoutingStore(store).ledger(None)}
    return [
        thread
        for thread in reversed(threads)
        if (wanted.include_incognito or not thread.incognito)
        and thread.id not in hosted
        and (wanted.since is None or thread.updated_at.date() >= wanted.since)
    ]


def finetune_lines(store: Store, wanted: TrainingFilter) -> Iterator[dict[str, Any]]:
    for thread in training_threads(store, wanted):
        path = _complete_prefix(store.current_path(thread.id))
        while path and path[-1].role != Role.ASSISTANT:
            path.pop()
        ratings = store.ratings(m.id for m in path)
        weights = {m.id: _learn_from(m, ratings.get(m.id), wanted) for m in path if m.role == Role.ASSISTANT}
        if not any(weights.values()):
            continue  # nothing in this thread to learn from
        turns = _system(store, thread, path[-1].id)
        for message in path:
            turns += _turns(store, message, weights.get(message.id, True))
        yield {"messages": turns}


def preference_lines(store: Store, wanted: TrainingFilter) -> Iterator[dict[str, Any]]:
    for thread in training_threads(store, wanted):
        every = store.messages(thread.id)
        shown = {m.id for m in store.current_path(thread.id)}
        ratings = store.ratings(m.id for m in every)
        replies_to: dict[int, list[Message]] = {}
        for message in every:
            if message.role == Role.ASSISTANT and message.status == MessageStatus.COMPLETE and message.parent_id:
                replies_to.setdefault(message.parent_id, []).append(message)
        for parent_id, siblings in replies_to.items():
            for chosen, rejected in _pairs(siblings, ratings, shown, wanted):
                prompt = [m for m in store.path_to(parent_id) if m.status in _IN_PROMPT]
                yield {
                    "prompt": _system(store, thread, chosen.id) + [_turn(m) for m in prompt],
                    "chosen": [_turn(chosen)],
                    "rejected": [_turn(rejected)],
                }


def _pairs(
    siblings: list[Message], ratings: dict[int, Rating], shown: set[int], wanted: TrainingFilter
) -> Iterator[tuple[Message, Message]]:
    if len(siblings) < 2:
        return
    value = {m.id: ratings[m.id].value if m.id in ratings else None for m in siblings}
    down = [m for m in siblings if value[m.id] == RatingValue.DOWN]
    up = [m for m in siblings if value[m.id] == RatingValue.UP]
    if up:
        for chosen in up:
            for rejected in siblings:
                unwanted = value[rejected.id] == RatingValue.DOWN or (
                    value[rejected.id] is None and rejected.id not in shown
                )
                if unwanted and _by_model(wanted, chosen, rejected):
                    yield chosen, rejected
    elif down and not wanted.rated_up_only:
        for chosen in (m for m in siblings if m.id in shown and value[m.id] is None):
            for rejected in down:
                if _by_model(wanted, chosen, rejected):
                    yield chosen, rejected


def _by_model(wanted: TrainingFilter, *replies: Message) -> bool:
    return wanted.model is None or any(reply.model == wanted.model for reply in replies)


def _learn_from(reply: Message, rating: Rating | None, wanted: TrainingFilter) -> bool:
    if rating is not None and rating.value == RatingValue.DOWN:
        return False
    if wanted.rated_up_only and (rating is None or rating.value != RatingValue.UP):
        return False
    return wanted.model is None or reply.model == wanted.model


def _complete_prefix(path: list[Message]) -> list[Message]:
    for index, message in enumerate(path):
        if message.status != MessageStatus.COMPLETE:
            return path[:index]
    return list(path)


def _system(store: Store, thread: Thread, reply_id: int) -> list[dict[str, Any]]:
    """The system prompt the reply was written under (a thread's prompt is kept per branch)."""
    versioned, prompt = store.system_prompt_for_reply(thread.id, reply_id)
    prompt = prompt if versioned else thread.system_prompt
    return [{"role": "system", "content": prompt}] if prompt else []


def _turns(store: Store, message: Message, learn: bool) -> list[dict[str, Any]]:
    """The message as fine-tuning turns: one, or for a reply that called tools, its text and calls in order."""
    calls = store.tool_calls(message.id) if message.role == Role.ASSISTANT else []
    if not calls:
        return [_turn(message, learn)]
    turns: list[dict[str, Any]] = []
    said_up_to = 0
    for offset, group in groupby(sorted(calls, key=lambda call: (call.offset, call.id)), key=lambda call: call.offset):
        group = list(group)
        turn = _turn(replace(message, content=message.content[said_up_to:offset]), learn)
        said_up_to = offset
        if any(call.status not in _FINISHED_CALLS for call in group):
            turns.append(turn)  # no outcome to learn from: the reply ends before these calls
            return turns
        turns.append({**turn, "tool_calls": [_call(call) for call in group]})
        turns += [{"role": "tool", "tool_call_id": call.call_key, "content": _call_result(call)} for call in group]
    turns.append(_turn(replace(message, content=message.content[said_up_to:]), learn))
    return turns


def _call(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
    return {"id": call.call_key, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def _call_result(call: ToolCall) -> str:
    if call.status == ToolCallStatus.REFUSED:
        return DECLINED
    return call.result if call.status == ToolCallStatus.DONE else f"error: {call.error}"


def _turn(message: Message, learn: bool = True) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": str(message.role), "content": message.content}
    if message.role == Role.ASSISTANT and not learn:
        turn["weight"] = 0
    return turn
