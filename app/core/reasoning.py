"""A reasoning model's thinking, told apart from its answer.

Reasoning models write their thinking between markers before the answer: `<think>…</think>` (DeepSeek-R1, Qwen3,
QwQ), `<thinking>…</thinking>`, `[THINK]…[/THINK]` (Magistral). Some chat templates open the section in the prompt
itself, so the reply starts inside it and only the closing marker shows. Following those templates, the thinking is
kept apart: it is not part of the reply's text, its title, search, or the next turn's prompt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MARKERS = (("<think>", "</think>"), ("<thinking>", "</thinking>"), ("[THINK]", "[/THINK]"))
LONGEST_MARKER = max(len(close) for _open, close in MARKERS)


@dataclass(frozen=True, slots=True)
class Reasoned:
    answer: str
    reasoning: str | None  # None: the reply has no thinking section
    thinking: bool = False  # the section is still open (the model is thinking now)


def split_reasoning(text: str, *, streaming: bool = False) -> Reasoned:
    """The thinking and the answer of a reply's raw text. While `streaming`, a reply that is only the start of an
    opening marker ("<thi") counts as thinking, so the marker never flashes up as text."""
    start = text.lstrip()
    for opening, closing in MARKERS:
        if start.startswith(opening):
            body = start[len(opening) :]
            end = body.find(closing)
            if end < 0:
                return Reasoned("", body.strip(), thinking=True)
            return Reasoned(body[end + len(closing) :].lstrip(), body[:end].strip())
    for opening, closing in MARKERS:
        end = text.find(closing)
        if end >= 0 and opening not in text[:end]:  # the template opened the section in the prompt
            return Reasoned(text[end + len(closing) :].lstrip(), text[:end].strip())
    if streaming and start and any(opening.startswith(start) for opening, _closing in MARKERS):
        return Reasoned("", "", thinking=True)
    return Reasoned(text, None)


class ReasoningTimer:
    """How long a streamed reply thought: from its first text to the closing marker (or to its last text when it
    never closed). Fed each streamed piece; it looks only at the last few characters, so it costs nothing per
    token."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._tail = ""
        self._started: float | None = None
        self._ended: float | None = None
        self._last: float | None = None

    def feed(self, text: str) -> None:
        now = self._last = self._monotonic()
        if self._started is None:
            self._started = now
        if self._ended is None:
            self._tail = (self._tail + text)[-(LONGEST_MARKER + len(text)) :]
            if any(closing in self._tail for _opening, closing in MARKERS):
                self._ended = now

    def seconds(self) -> float | None:
        if self._started is None:
            return None
        return (self._ended if self._ended is not None else self._last) - self._started
