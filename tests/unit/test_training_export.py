"""Fine-tuning and preference exports on a history with branches, ratings, an incognito thread, a hosted thread
and an interrupted reply: every line checked against the format's JSON schema, then line by line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest
from history import OTHER, build_history

from app.core.domain import Role
from app.core.insights import RatingValue
from app.core.tools import DECLINED, ToolCallStatus, ToolEffect
from app.services.training import TrainingFilter, finetune_lines, preference_lines
from app.store import open_store

_TURN = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": {"type": "string"}},
    "additionalProperties": False,
}
_ASSISTANT = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {"role": {"const": "assistant"}, "content": {"type": "string"}, "weight": {"enum": [0, 1]}},
    "additionalProperties": False,
}
# An assistant turn that calls tools, and the tool turn that answers one (OpenAI's chat format).
_CALLING = {
    "type": "object",
    "required": ["role", "content", "tool_calls"],
    "properties": {
        "role": {"const": "assistant"},
        "content": {"type": "string"},
        "weight": {"enum": [0, 1]},
        "tool_calls": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "function"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name", "arguments"],
                        "additionalProperties": False,
                        "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
                    },
                },
            },
        },
    },
    "additionalProperties": False,
}
_TOOL = {
    "type": "object",
    "required": ["role", "tool_call_id", "content"],
    "properties": {"role": {"const": "tool"}, "tool_call_id": {"type": "string"}, "content": {"type": "string"}},
    "additionalProperties": False,
}
# OpenAI's chat fine-tuning line: system/user/assistant messages, `weight` only on assistant ones, ending on a reply.
FINETUNE_SCHEMA = {
    "type": "object",
    "required": ["messages"],
    "additionalProperties": False,
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {"anyOf": [_TURN, _ASSISTANT, _CALLING, _TOOL]},
            "contains": {"properties": {"role": {"const": "user"}}},
        }
    },
}
# TRL's conversational preference line: a prompt ending on the user's message, one reply each side.
PREFERENCE_SCHEMA = {
    "type": "object",
    "required": ["prompt", "chosen", "rejected"],
    "additionalProperties": False,
    "properties": {
        "prompt": {"type": "array", "minItems": 1, "items": _TURN},
        "chosen": {"type": "array", "minItems": 1, "maxItems": 1, "items": _ASSISTANT},
        "rejected": {"type": "array", "minItems": 1, "maxItems": 1, "items": _ASSISTANT},
    },
}


def _valid(lines, schema):
    for line in lines:
        jsonschema.validate(line, schema)
        last = line["messages"][-1] if "messages" in line else line["prompt"][-1]
        assert last["role"] == ("assistant" if "messages" in line else "user")
    return lines


@pytest.fixture
def history(store):
    return build_history(store)


def test_finetune_writes_the_shown_branch_of_each_allowed_thread(store, history):
    lines = _valid(list(finetune_lines(store, TrainingFilter())), FINETUNE_SCHEMA)
    assert [line["messages"] for line in lines] == [
        [
            {"role": "system", "content": "You are a patient chef."},
            {"role": "user", "content": "How do I boil an egg?"},
            {"role": "assistant", "content": "Simmer it for 7 minutes, then cool it in cold water."},
            {"role": "user", "content": "And a soft one?"},
            {"role": "assistant", "content": "Five minutes for a runny yolk."},
        ],
        # cut before the interrupted reply, and the question it left unanswered
        [{"role": "user", "content": "Count to three"}, {"role": "assistant", "content": "One, two, three."}],
        [{"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Blue"}],
    ]


def _call(store, history, *, status, offset, result=None, error=None):
    call = store.add_tool_call(
        thread_id=history.recipes, message_id=history.ids["a2"], call_key=f"call-{offset}", name="calculator",
        server="builtin", arguments={"expression": "2*3"}, status=ToolCallStatus.RUNNING,
        effect=ToolEffect.READ_ONLY, offset=offset,
    )  # fmt: skip
    store.update_tool_call(call.id, status=status, result=result, error=error)


def test_a_reply_that_called_tools_is_split_where_it_called_them(store, history):
    _call(store, history, status=ToolCallStatus.DONE, offset=len("Five minutes"), result="6")
    _call(store, history, status=ToolCallStatus.REFUSED, offset=len("Five minutes for"))
    lines = _valid(list(finetune_lines(store, TrainingFilter())), FINETUNE_SCHEMA)
    function = {"name": "calculator", "arguments": '{"expression": "2*3"}'}
    assert lines[0]["messages"][4:] == [
        {"role": "assistant", "content": "Five minutes",
         "tool_calls": [{"id": "call-12", "type": "function", "function": function}]},
        {"role": "tool", "tool_call_id": "call-12", "content": "6"},
        {"role": "assistant", "content": " for",
         "tool_calls": [{"id": "call-16", "type": "function", "function": function}]},
        {"role": "tool", "tool_call_id": "call-16", "content": DECLINED},
        {"role": "assistant", "content": " a runny yolk."},
    ]  # fmt: skip


def test_a_call_still_waiting_ends_the_reply_before_it(store, history):
    _call(store, history, status=ToolCallStatus.PENDING, offset=len("Five minutes"))
    lines = _valid(list(finetune_lines(store, TrainingFilter())), FINETUNE_SCHEMA)
    assert lines[0]["messages"][-1] == {"role": "assistant", "content": "Five minutes"}


def test_incognito_and_hosted_threads_only_when_asked(store, history):
    asked = TrainingFilter(include_incognito=True, include_hosted=True)
    contents = [line["messages"][-1]["content"] for line in finetune_lines(store, asked)]
    assert "A private answer" in contents and "The big model answers" in contents
    by_default = [line["messages"][-1]["content"] for line in finetune_lines(store, TrainingFilter())]
    assert "A private answer" not in by_default and "The big model answers" not in by_default


def test_rated_up_keeps_only_rated_threads_and_weighs_only_rated_replies(store, history):
    lines = _valid(list(finetune_lines(store, TrainingFilter(rated_up_only=True))), FINETUNE_SCHEMA)
    assert len(lines) == 1
    replies = [m for m in lines[0]["messages"] if m["role"] == "assistant"]
    assert replies == [
        {"role": "assistant", "content": "Simmer it for 7 minutes, then cool it in cold water."},
        {"role": "assistant", "content": "Five minutes for a runny yolk.", "weight": 0},
    ]


def test_a_reply_rated_down_stays_in_the_conversation_with_weight_zero(store, history):
    retry = store.add_message(history.recipes, parent_id=history.ids["a1"], role=Role.USER, content="More, please")
    store.add_message(history.recipes, parent_id=retry.id, role=Role.ASSISTANT, content="Simmer for 7 minutes.")
    line = next(line for line in finetune_lines(store, TrainingFilter(tag="cooking")))
    assert [m.get("weight", 1) for m in line["messages"] if m["role"] == "assistant"] == [0, 1]
    assert line["messages"][2] == {"role": "assistant", "content": "Boil it.", "weight": 0}

    store.set_current_leaf(history.recipes, history.ids["a1"])  # only the reply rated down: nothing to learn
    assert list(finetune_lines(store, TrainingFilter(tag="cooking"))) == []


def test_model_tag_and_since_filters(store, history, data_dir):
    other = list(finetune_lines(store, TrainingFilter(model=OTHER)))
    assert len(other) == 1  # only the recipes thread has a reply by the other model on its branch
    weights = [m.get("weight", 1) for m in other[0]["messages"] if m["role"] == "assistant"]
    assert weights == [0, 1]
    assert len(list(finetune_lines(store, TrainingFilter(tag="cooking")))) == 1
    assert list(finetune_lines(store, TrainingFilter(tag="no-such-tag"))) == []

    old = open_store(data_dir, clock=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    try:
        thread = old.create_thread("Last winter")
        question = old.add_message(thread.id, parent_id=None, role=Role.USER, content="Old question")
        old.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="Old answer")
    finally:
        old.close()
    everything = [line["messages"][0]["content"] for line in finetune_lines(store, TrainingFilter())]
    assert "Old question" in everything
    recent = TrainingFilter(since=date.today() - timedelta(days=1))
    assert "Old question" not in [line["messages"][0]["content"] for line in finetune_lines(store, recent)]


def test_preference_pairs_from_sibling_replies(store, history):
    lines = _valid(list(preference_lines(store, TrainingFilter())), PREFERENCE_SCHEMA)
    pairs = [(line["chosen"][0]["content"], line["rejected"][0]["content"]) for line in lines]
    assert pairs == [
        ("Simmer it for 7 minutes, then cool it in cold water.", "Boil it."),  # up over down
        ("Simmer it for 7 minutes, then cool it in cold water.", "Eggs are laid by hens."),  # up over not kept
        ("Blue", "Banana"),  # the reply the thread shows over one rated down
    ]
    assert lines[0]["prompt"] == [
        {"role": "system", "content": "You are a patient chef."},
        {"role": "user", "content": "How do I boil an egg?"},
    ]


def test_preference_filters(store, history):
    rated = [line["rejected"][0]["content"] for line in preference_lines(store, TrainingFilter(rated_up_only=True))]
    assert rated == ["Boil it.", "Eggs are laid by hens."]
    by_other = [line["rejected"][0]["content"] for line in preference_lines(store, TrainingFilter(model=OTHER))]
    assert by_other == ["Eggs are laid by hens."]


def test_no_pair_without_a_preference(store):
    thread = store.create_thread("two unrated replies")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="q")
    for text in ("one", "two"):
        store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content=text)
    assert list(preference_lines(store, TrainingFilter())) == []
    assert list(finetune_lines(store, TrainingFilter())) == [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "two"}]}
    ]


def test_each_reply_is_exported_with_the_system_prompt_its_branch_had(store):
    thread = store.create_thread("Tea", system_prompt="You are a barista.")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="Green or black?")
    first = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="Espresso.")
    store.set_thread_system_prompt(thread.id, "You are a tea master.")  # from the next branch on
    second = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="Green, at 80 °C.")
    store.rate(second.id, RatingValue.UP)

    def system_of_the_line() -> str:
        (line,) = finetune_lines(store, TrainingFilter())
        return line["messages"][0]["content"]

    assert system_of_the_line() == "You are a tea master."
    store.set_current_leaf(thread.id, first.id)
    assert system_of_the_line() == "You are a barista."
    store.rate(first.id, RatingValue.DOWN)
    (pair,) = preference_lines(store, TrainingFilter())
    assert pair["prompt"][0] == {"role": "system", "content": "You are a tea master."}  # the chosen reply's
