"""A reasoning model's thinking is kept apart from its answer: in the store, the next prompt, search and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fakes import scripted_services

from app.cli.chat import ThinkingApart, reasoning_json
from app.core.domain import ReplyFinished, Role
from app.core.reasoning import Reasoned, ReasoningTimer, split_reasoning


def test_the_thinking_section_and_the_answer_are_told_apart():
    assert split_reasoning("<think>Greet them.</think>\n\nHello!") == Reasoned("Hello!", "Greet them.")
    assert split_reasoning("  [THINK]hm[/THINK]Yes") == Reasoned("Yes", "hm")
    assert split_reasoning("Greet them.\n</think>\nHello!") == Reasoned("Hello!", "Greet them.")  # opened by the template
    assert split_reasoning("No thinking here.") == Reasoned("No thinking here.", None)
    assert split_reasoning("Use <think> tags like this") == Reasoned("Use <think> tags like this", None)


def test_while_streaming_an_open_section_or_half_a_marker_is_thinking():
    assert split_reasoning("<think>Let me see", streaming=True) == Reasoned("", "Let me see", thinking=True)
    assert split_reasoning("<thi", streaming=True) == Reasoned("", "", thinking=True)
    assert split_reasoning("<thi") == Reasoned("<thi", None)  # a finished reply that says "<thi" says it


def test_plain_chat_streams_the_thinking_apart_and_the_answer_alone_to_stdout():
    answer, thinking = io.StringIO(), io.StringIO()
    streamed = ThinkingApart(answer, thinking)
    for piece in ["<th", "ink>", "They say hi", ". Greet", " them.</", "think>", "\n\nHel", "lo!"]:
        streamed.feed(piece)
        assert "<" not in thinking.getvalue() and "think" not in answer.getvalue()  # no marker, not even half
    streamed.finish()
    assert answer.getvalue() == "Hello!"
    assert thinking.getvalue() == "Thinking…\nThey say hi. Greet them.\n"


def test_plain_chat_writes_a_reply_without_thinking_as_it_comes_and_flushes_an_unclosed_section():
    answer, thinking = io.StringIO(), io.StringIO()
    plain = ThinkingApart(answer, thinking)
    plain.feed("Use <think> tags")
    assert answer.getvalue() == "Use <think> tags" and thinking.getvalue() == ""
    answer, thinking = io.StringIO(), io.StringIO()
    cut_short = ThinkingApart(answer, thinking)
    cut_short.feed("<think>Still working on it")
    cut_short.finish()
    assert thinking.getvalue() == "Thinking…\nStill working on it" and answer.getvalue() == ""


def test_the_timer_runs_from_the_first_text_to_the_closing_marker():
    clock = iter([10.0, 11.0, 12.5, 20.0])
    timer = ReasoningTimer(lambda: next(clock))
    assert timer.seconds() is None
    for piece in ("<think>", "hm", "</thi", "nk>answer"):
        timer.feed(piece)
    assert timer.seconds() == pytest.approx(10.0)  # the marker closed in the fourth piece, split over two


@pytest.fixture
def services(tmp_path: Path):
    services = scripted_services(tmp_path / "data")
    yield services
    services.store.close()


def test_the_stored_reply_next_prompt_and_search_hold_only_the_answer(services):
    thread = services.chat.new_thread("Greeting")
    backend = services.backend()
    backend.enqueue(["<think>", "The user ", "greets me; ", "zebracorn.", "</think>", "\n\nHello ", "there!"])
    events = list(services.chat.send(thread.id, "Hi"))
    reply = next(event for event in events if isinstance(event, ReplyFinished)).reply
    assert reply.content == "Hello there!"
    assert reply.reasoning == "The user greets me; zebracorn."
    assert reply.reasoning_s is not None and reply.reasoning_s >= 0
    assert services.store.get_message(reply.id).content == "Hello there!"  # as stored, not only as returned

    list(services.chat.send(thread.id, "And now?"))
    prompt = backend.requests[-1].turns
    assert (Role.ASSISTANT, "Hello there!") in [(turn.role, turn.content) for turn in prompt]
    assert not any("zebracorn" in turn.content for turn in prompt)
    assert services.store.keyword_ranking('"zebracorn"') == []  # not found by search
    assert services.store.keyword_ranking('"there"') == [reply.id]

    assert reasoning_json(reply) == {"text": "The user greets me; zebracorn.", "seconds": reply.reasoning_s}
    assert reasoning_json(services.store.get_message(reply.parent_id)) is None  # no thinking: null


def test_a_reply_stopped_while_thinking_keeps_the_thought_and_no_answer(services):
    thread = services.chat.new_thread("Cut")
    services.backend().enqueue(["<think>", "Long ", "thought"])  # ends before the section closes (a length stop)
    events = list(services.chat.send(thread.id, "Think hard"))
    reply = next(event for event in events if isinstance(event, ReplyFinished)).reply
    assert reply.content == "" and reply.reasoning == "Long thought"

