"""Calls read back from a local model's reply, in each template's own syntax: ours (Hermes / Qwen 2.5–3), Llama
3.1+ (the JSON its chat template renders for an assistant's call, `{"name": …, "parameters": …}`, after
`<|python_tag|>` or bare once that special token is detokenized away) and Mistral (`[TOOL_CALLS] [{…}]` of the v3–v7
templates, `[TOOL_CALLS]name[ARGS]{…}` of v11+). And the grammar: argument strings a small model cannot ramble in."""

from __future__ import annotations

import pytest
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from app.runtime.tool_format import call_grammar, held_call, may_start_call, parse_call

CALC = {"expression": "17*23"}


@pytest.mark.parametrize(
    "reply",
    [
        '<tool_call>{"name": "calculator", "arguments": {"expression": "17*23"}}</tool_call>',  # Qwen 2.5 / 3
        '<|python_tag|>{"name": "calculator", "parameters": {"expression": "17*23"}}',  # Llama 3.1+ with its tag
        '{"name": "calculator", "parameters": {"expression": "17*23"}}',  # Llama 3.2: the tag detokenized away
        '[TOOL_CALLS] [{"name": "calculator", "arguments": {"expression": "17*23"}, "id": "a1b2c3d4e"}]',  # v3
        '[{"name": "calculator", "arguments": {"expression": "17*23"}}]',  # Mistral, [TOOL_CALLS] detokenized away
        '[TOOL_CALLS]calculator[ARGS]{"expression": "17*23"}',  # Mistral v11+ (Small 3.2, Devstral)
        '[TOOL_CALLS]calculator[CALL_ID]a1b2c3d4e[ARGS]{"expression": "17*23"}',
        '{"name": "calculator", "arguments": "{\\"expression\\": \\"17*23\\"}"}',  # arguments as a JSON string
    ],
)
def test_a_call_in_each_templates_syntax_is_read_back(reply):
    assert may_start_call(reply)
    assert parse_call(reply) == ("calculator", CALC)


@pytest.mark.parametrize(
    "reply",
    [
        "The answer is 391.",
        '{"city": "Paris", "population": 2100000}',  # JSON the user asked for is a reply, not a call
        '{"name": "Ada Lovelace", "born": 1815}',
        '[1, 2, 3]',
        "[the docs](https://example.org) say so",
        '{"name": "calculator", "parameters": {"expression": "1+1"}, "note": "extra"}',
    ],
)
def test_a_plain_reply_is_not_a_call(reply):
    assert parse_call(reply) is None


def test_a_broken_call_after_a_marker_comes_back_as_text_for_the_model_to_hear():
    assert parse_call('<tool_call>{"name": "calculator", "arguments": {"expr') == (
        "",
        '{"name": "calculator", "arguments": {"expr',
    )
    assert parse_call("[TOOL_CALLS]calculator 17*23") == ("", "calculator 17*23")
    assert parse_call('[TOOL_CALLS]calculator[ARGS]{"expression": ') == ("calculator", '{"expression":')


SCHEMA = [{"name": "calculator", "description": "x", "parameters": {
    "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}]  # fmt: skip


def test_the_grammar_keeps_closers_out_of_argument_strings():
    grammar = call_grammar(SCHEMA, json_schema_to_gbnf, required=True)
    LlamaGrammar.from_string(grammar, verbose=False)  # llama.cpp compiles it
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)
    assert rules["string"].startswith('"\\"" (string-start char*)?')
    assert "}" in rules["char"].split("]")[0] and "<" in rules["char"].split("]")[0]  # never inside a string
    assert all(c in rules["string-start"].split("]")[0] for c in "{});,")  # nor first


def test_a_reply_held_back_as_a_possible_call_is_a_call_or_the_text_it_was():
    assert held_call('{"name": "calculator", "parameters": {"expression": "17*23"}}') == ("calculator", CALC)
    assert held_call('{"city": "Paris"}') is None  # sent on as the plain reply it is
    assert held_call("[1] See the first note.") is None
    assert held_call('<tool_call>{"name": "calcul') == ("", '{"name": "calcul')  # cut short: the model hears it
    assert held_call("<tool_ca") == ("", "<tool_ca")
