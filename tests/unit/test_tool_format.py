"""Calls read back from a local model's reply, in each template's own syntax: ours (Hermes / Qwen 2.5–3), Llama
3.1+ (the JSON its chat template renders for an assistant's call, `{"name": …, "parameters": …}`, after
`<|python_tag|>` or bare once that special token is detokenized away) and Mistral (`[TOOL_CALLS] [{…}]` of the v3–v7
templates, `[TOOL_CALLS]name[ARGS]{…}` of v11+). And the grammar: argument strings a small model cannot ramble in."""

from __future__ import annotations

import pytest
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from app.runtime.tool_format import (
    HERMES,
    LLAMA,
    MISTRAL,
    MISTRAL_V11,
    call_grammar,
    call_style,
    closed_json,
    held_call,
    may_start_call,
    parse_call,
)

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


def test_a_required_argument_string_cannot_start_with_a_closer_either():
    schema = [{"name": "calculator", "description": "x", "parameters": {"type": "object", "properties": {
        "expression": {"type": "string", "minLength": 1}}, "required": ["expression"]}}]  # fmt: skip
    grammar = call_grammar(schema, json_schema_to_gbnf, required=True)
    LlamaGrammar.from_string(grammar, verbose=False)
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)
    string_rule = next(rule for name, rule in rules.items() if name.endswith("-expression"))
    assert string_rule.startswith('"\\"" string-start char*')  # minLength 1: one character, and not a closer


def test_a_call_cut_short_by_max_tokens_is_closed_where_it_was_cut():
    assert held_call('<tool_call>{"name": "calculator", "arguments": {"expression": "17 * 23; 17 * 23; 1') == (
        "calculator",
        {"expression": "17 * 23; 17 * 23; 1"},
    )
    assert held_call('<tool_call>{"name": "calculator", "arguments": {"expression": "17 \\u00') == (
        "calculator",
        {"expression": "17 "},  # a half-written escape is dropped
    )
    # an unfinished key is dropped: the arguments then fail validation and go back to the model
    assert held_call('<tool_call>{"name": "calculator", "arguments": {"expr') == ("calculator", {})
    assert held_call('<tool_call>{"name": "read_page", "arguments": {"file": "a.pdf", "page": 1') == (
        "read_page",
        {"file": "a.pdf", "page": 1},
    )


@pytest.mark.parametrize(
    ("prefix", "closed"),
    [
        ('{"a": [1, 2, 3', '{"a": [1, 2, 3]}'),
        ('{"a": {"b": "c"}, ', '{"a": {"b": "c"}}'),
        ('{"a": tru', "{}"),
        ('{"a": "x\\', '{"a": "x"}'),
        ('{"a": "}{', '{"a": "}{"}'),  # brackets inside a string are text
        ("[", "[]"),
        ("not json", None),
        ('{"a": 1]', None),
    ],
)
def test_a_json_prefix_is_made_whole_by_dropping_back_to_its_last_complete_value(prefix, closed):
    assert closed_json(prefix) == closed


@pytest.mark.parametrize(
    ("reply", "streams_from"),
    [
        ('{"city": "Paris", "population": 2100000}', '{"c'),  # JSON the user asked for: no call has that key
        ('{"name": "Ada Lovelace", "born": 1815}', '{"name": "Ada '),  # no tool's name has a space
        ('{"name": "Ada", "born": 1815}', '{"name": "Ada", "born": 1'),
        ("[1, 2, 3]", "[1"),
        ("[the docs](https://example.org) say so", "[t"),
        ("<b>bold</b> text", "<b"),
        ("{ this is prose in braces }", "{ t"),
        ("  Hello", "  H"),
    ],
)
def test_a_reply_that_only_began_like_a_call_streams_as_soon_as_it_cannot_be_one(reply, streams_from):
    prefixes = [reply[:end] for end in range(1, len(reply) + 1)]
    assert next(p for p in prefixes if not may_start_call(p)) == streams_from


@pytest.mark.parametrize(
    "call",
    [
        '<tool_call>{"name": "calculator", "arguments": {"expression": "17*23"}}</tool_call>',
        '<|python_tag|>{"name": "calculator", "parameters": {"expression": "17*23"}}',
        '{"name": "calculator", "parameters": {"expression": "17*23"}}',
        '[{"name": "calculator", "arguments": {"expression": "17*23"}, "id": "a1b2c3d4e"}]',
        '[TOOL_CALLS]calculator[ARGS]{"expression": "17*23"}',
    ],
)
def test_a_call_is_held_back_all_the_way(call):
    assert all(may_start_call(call[:end]) for end in range(1, len(call) + 1))


# How each family's chat template renders an assistant's call (the lines that write it, as in the models' own
# templates): the grammar then writes the call the same way.
QWEN_TEMPLATE = """{%- for tool_call in message.tool_calls %}{{- '<tool_call>\\n{"name": "' }}{{- tool_call.name }}
{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}{%- endfor %}"""
LLAMA_31_TEMPLATE = """{%- if tools is not none %}{{- "Environment: ipython\\n" }}{%- endif %}
{%- if builtin_tools is defined %}{{- '<|python_tag|>' + tool_call.name + '.call(' }}{%- else %}
{{- '{"name": "' + tool_call.name + '", ' }}{{- '"parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}"""
MISTRAL_V3_TEMPLATE = """{%- if tools is not none %}{{- "[AVAILABLE_TOOLS] [" }}{%- endif %}
{{- "[TOOL_CALLS] [" }}{%- for tool_call in message.tool_calls %}{{- tool_call.function|tojson }}{%- endfor %}"""
MISTRAL_V11_TEMPLATE = """{%- if tools %}[AVAILABLE_TOOLS]{{ tools|tojson }}[/AVAILABLE_TOOLS]{%- endif %}
{%- for tool in message['tool_calls'] %}{{- '[TOOL_CALLS]' + tool['function']['name'] + '[ARGS]' + arguments }}"""


@pytest.mark.parametrize(
    ("template", "style"),
    [
        (QWEN_TEMPLATE, HERMES),
        (LLAMA_31_TEMPLATE, LLAMA),
        (MISTRAL_V3_TEMPLATE, MISTRAL),
        (MISTRAL_V11_TEMPLATE, MISTRAL_V11),
        ("{% for message in messages %}{{ message.content }}{% endfor %}", HERMES),  # none: the generic format
    ],
)
def test_the_call_syntax_is_the_one_the_template_renders(template, style):
    assert call_style(template) == style


TOOLS = [
    {"name": "calculator", "description": "x", "parameters": {"type": "object", "properties": {
        "expression": {"type": "string", "minLength": 1}}, "required": ["expression"]}},
    {"name": "current_time", "description": "y", "parameters": {"type": "object", "properties": {}}},
]  # fmt: skip


@pytest.mark.parametrize(
    ("style", "root"),
    [
        (HERMES, 'root ::= "<tool_call>" tool-call "</tool_call>" | plain-reply'),
        (LLAMA, "root ::= tool-call | plain-reply"),
        (MISTRAL, 'root ::= "[TOOL_CALLS]" space "[" tool-call "]" | plain-reply'),
        (
            MISTRAL_V11,
            'root ::= "[TOOL_CALLS]" ("calculator" "[ARGS]" alternative-0-arguments | "current_time" "[ARGS]" '
            "alternative-1-arguments) | plain-reply",
        ),
    ],
)
def test_the_grammar_writes_a_call_in_the_templates_own_syntax(style, root):
    grammar = call_grammar(TOOLS, json_schema_to_gbnf, style=style)
    LlamaGrammar.from_string(grammar, verbose=False)  # llama.cpp compiles it
    assert root in grammar.splitlines()
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)
    assert ('"\\"parameters\\""' in rules["alternative-0-parameters-kv"]) if style == LLAMA else (
        "alternative-0-arguments" in rules
    )


@pytest.mark.parametrize(
    ("style", "cut"),
    [
        (HERMES, '<tool_call>{"name": "calculator", "arguments": {"expression": "17*23; 17*'),
        (LLAMA, '{"name": "calculator", "parameters": {"expression": "17*23; 17*'),
        (MISTRAL, '[TOOL_CALLS] [{"name": "calculator", "arguments": {"expression": "17*23; 17*'),
        (MISTRAL_V11, '[TOOL_CALLS]calculator[ARGS]{"expression": "17*23; 17*'),
    ],
)
def test_a_call_cut_short_is_closed_in_each_syntax(style, cut):
    assert held_call(cut, style) == ("calculator", {"expression": "17*23; 17*"})
    assert may_start_call(cut)
