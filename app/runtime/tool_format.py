"""How a local model is offered tools and how its calls are read back: the prompt side and the grammar side.

A call is written in the syntax of the model's own chat template (`call_style`): Hermes / Qwen 2.5–3
`<tool_call>{"name": …, "arguments": {…}}</tool_call>` (also the generic format's), Llama 3.1+ bare
`{"name": …, "parameters": {…}}`, Mistral `[TOOL_CALLS] [{"name": …, "arguments": {…}}]` (v3–v7) or
`[TOOL_CALLS]name[ARGS]{…}` (v11+). All are read back (`parse_call`).

Generation runs under a GBNF grammar that allows either a plain reply (any text not starting the way a call does)
or exactly one call in that syntax whose JSON matches one tool's schema, so a call is always well-formed and its
arguments schema-valid; plain text after a call is not allowed, the call ends the step. A call cut short by
max_tokens is closed where it was cut (`held_call`).

The prompt side: a model whose chat template knows tools (it mentions `tools`) gets them and the calls and results
through its own template. Any other model gets the **generic format**: a system block listing each tool's name,
description and JSON schema and the call syntax above; an earlier call in the prompt is rendered as the assistant's
`<tool_call>` text and its result as a user turn `<tool_response>…</tool_response>`.
"""

from __future__ import annotations

import json
import re
from typing import Any

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
PYTHON_TAG = "<|python_tag|>"  # Llama 3.1+: a call follows
MISTRAL_CALLS, MISTRAL_ARGS, MISTRAL_CALL_ID = "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"
CALL_MARKERS = (CALL_OPEN, PYTHON_TAG, MISTRAL_CALLS)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")  # a tool's name as models write it
CALL_KEYS = ("name", "arguments", "parameters", "id")  # of a call written as bare JSON
FIRST_KEY = re.compile(r'\{\s*(?:"([A-Za-z_]*)(")?)?')

GENERIC_INSTRUCTIONS = (
    "You can call tools. To call one, reply with only this, nothing before or after:\n"
    f'{CALL_OPEN}{{"name": "<tool name>", "arguments": {{<arguments as JSON>}}}}{CALL_CLOSE}\n'
    "The result comes back as <tool_response>…</tool_response>. Call a tool only when the request needs it; "
    "otherwise answer in plain text. The tools:"
)


def template_knows_tools(template: str) -> bool:
    return "tools" in template


HERMES, LLAMA, MISTRAL, MISTRAL_V11 = "hermes", "llama", "mistral", "mistral-v11"  # call syntaxes (`call_style`)
CALL_START = {HERMES: "<", LLAMA: "{", MISTRAL: "[", MISTRAL_V11: "["}  # how a call's text starts, marker aside


def call_style(template: str) -> str:
    """The call syntax a tool-aware chat template renders an assistant's call in, which the grammar then writes:
    Mistral `[TOOL_CALLS] [{"name": …, "arguments": …}]` (v3–v7) or `[TOOL_CALLS]name[ARGS]{…}` (v11+), Llama 3.1+
    bare `{"name": …, "parameters": …}`, else ours (Hermes / Qwen `<tool_call>…</tool_call>`, the generic format)."""
    if MISTRAL_CALLS in template:
        return MISTRAL_V11 if MISTRAL_ARGS in template else MISTRAL
    if CALL_OPEN not in template and ('"parameters": ' in template or PYTHON_TAG in template):
        return LLAMA
    return HERMES


def wire_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as OpenAI-style chat templates expect it."""
    return {"type": "function", "function": tool}


def native_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a template that renders calls and results itself (OpenAI shape, arguments as objects)."""
    out = []
    for message in messages:
        if message.get("tool_calls"):
            calls = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in message["tool_calls"]
            ]
            out.append({"role": "assistant", "content": message["content"], "tool_calls": calls})
        elif message["role"] == "tool":
            out.append({"role": "tool", "content": message["content"], "tool_call_id": message.get("tool_call_id")})
        else:
            out.append({"role": message["role"], "content": message["content"]})
    return out


def generic_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Messages in the generic format, for a template that knows only system, user and assistant turns."""
    listing = "\n".join(
        f"- {t['name']}: {t['description']} Arguments (JSON schema): {json.dumps(t['parameters'])}" for t in tools
    )
    block = f"{GENERIC_INSTRUCTIONS}\n{listing}"
    out: list[dict[str, str]] = []
    if tools:  # (none: only earlier steps' calls and results to render, nothing to call now)
        if messages and messages[0]["role"] == "system":
            out.append({"role": "system", "content": f"{messages[0]['content']}\n\n{block}"})
            messages = messages[1:]
        else:
            out.append({"role": "system", "content": block})
    for message in messages:
        if message.get("tool_calls"):
            calls = "".join(call_text(c["name"], c["arguments"]) for c in message["tool_calls"])
            out.append({"role": "assistant", "content": message["content"] + calls})
        elif message["role"] == "tool":
            out.append({"role": "user", "content": f"<tool_response>\n{message['content']}\n</tool_response>"})
        else:
            out.append({"role": message["role"], "content": message["content"]})
    return _merge_same_role(out)


def _merge_same_role(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Adjacent turns of one role as one (several results in a row; templates expect alternation)."""
    merged: list[dict[str, str]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"] and message["role"] != "system":
            merged[-1] = {"role": message["role"], "content": f"{merged[-1]['content']}\n{message['content']}"}
        else:
            merged.append(message)
    return merged


def call_text(name: str, arguments: Any) -> str:
    return f"{CALL_OPEN}{json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=False)}{CALL_CLOSE}"


def call_schema(tools: list[dict[str, Any]], arguments: str = "arguments") -> dict[str, Any]:
    """The JSON schema of one call of any of `tools`: its name, and arguments valid for that tool (under the key
    `arguments`; Llama's templates say "parameters")."""
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {"name": {"const": t["name"]}, arguments: _closed(t["parameters"])},
                "required": ["name", arguments],
            }
            for t in tools
        ]
    }


def _closed(schema: Any) -> Any:
    """A tool's parameters as the grammar writes them: objects closed (a grammar with open objects lets a small
    model ramble in made-up keys). Only the grammar is tightened; validation uses the tool's own schema. (Strings
    are not bounded by length here: llama.cpp's grammar of a bounded string grows with the bound and stalls.)"""
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) if key in ("items", "not") else value for key, value in schema.items()}
    if "properties" in schema:
        closed["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            closed[key] = [_closed(sub) for sub in schema[key]]
    if schema.get("type") == "object":
        closed.setdefault("additionalProperties", False)
    return closed


def call_grammar(
    tools: list[dict[str, Any]], json_schema_to_gbnf, *, required: bool = False, style: str = HERMES
) -> str:
    """GBNF: a plain reply or one call of one of `tools` (`required`: only a call), in the call syntax `style`
    (`call_style`). A plain reply cannot start the way a call does: with "<" (ours), "{" (Llama), "[TOOL_CALLS]"
    (Mistral: a reply may start with "[" but not spell the marker). `json_schema_to_gbnf` is llama.cpp's converter
    (passed in so this module imports no model runtime)."""
    key = "parameters" if style == LLAMA else "arguments"
    call_rules = json_schema_to_gbnf(json.dumps(call_schema(tools, key)), prop_order=["name", key])
    call_rules = call_rules.replace("root ::=", "tool-call ::=", 1)
    # JSON strings hold no raw control characters (llama-cpp-python's converter allows them; llama.cpp's does not),
    # and here no "<" or "}" either, nor start with a bracket, ")", ";" or ",": a small model that means to end its
    # call writes "}}", ")}}" or "}</tool_call>" inside the string and rambles on in it (the starter model did so in
    # 16 of 50 forced calls). All stay writable as JSON escapes (\u007d).
    call_rules = call_rules.replace('char ::= [^"\\\\]', 'char ::= [^"\\\\<}\\x7F\\x00-\\x1F]')
    escape = '"\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
    call_rules = (
        call_rules.replace('"\\"" char* "\\""', '"\\"" (string-start char*)? "\\""')
        .replace('"\\"" char+ "\\""', '"\\"" string-start char* "\\""')  # a required string (minLength 1)
        + f'\nstring-start ::= [^"\\\\<{{}}\\x5B\\x5D);,\\x7F\\x00-\\x1F] | {escape}'
    )
    if style == LLAMA:
        call, plain = "tool-call", "[^{] .*"
    elif style == MISTRAL:
        call, plain = f'"{MISTRAL_CALLS}" space "[" tool-call "]"', '[^\\x5B] .* | "[" [^T] .*'
    elif style == MISTRAL_V11:  # the name, then that tool's arguments (the converter's rule for them)
        pairs = " | ".join(f'"{t["name"]}" "{MISTRAL_ARGS}" alternative-{i}-arguments' for i, t in enumerate(tools))
        call, plain = f'"{MISTRAL_CALLS}" ({pairs})', '[^\\x5B] .* | "[" [^T] .*'
    else:
        call, plain = f'"{CALL_OPEN}" tool-call "{CALL_CLOSE}"', "[^<] .*"
    reply = "" if required else f" | plain-reply\nplain-reply ::= {plain}"
    return f"{call_rules}\nroot ::= {call}{reply}\n"


def may_start_call(text: str) -> bool:
    """Whether a reply that begins with `text` may still be a call, in ours or the model's own syntax: such a reply is
    held back until it is known, and streams as soon as it can no longer be one (`<b>`, `[1]`, `{"city": …`).
    (Llama's `<|python_tag|>` and Mistral's `[TOOL_CALLS]` are special tokens, often detokenized to nothing, so their
    JSON may come bare: an object whose first key is a call's, or a list of such objects.)"""
    stripped = text.lstrip()
    if any(stripped.startswith(marker) or marker.startswith(stripped) for marker in CALL_MARKERS):
        return True  # (as is a reply of nothing but spaces so far)
    body = stripped[1:].lstrip() if stripped.startswith("[") else stripped
    if not body.startswith("{"):
        return not body
    try:
        json.JSONDecoder().raw_decode(stripped)
    except ValueError:  # unfinished: its keys so far are a call's, and so is its name
        first = FIRST_KEY.match(body)
        key, quoted = first.group(1), first.group(2)
        if key is None or not quoted:  # `{`, `{"na`: a call's key may follow; `{ x`, `{"na me`: none can
            return first.end() == len(body) and any(known.startswith(key or "") for known in CALL_KEYS)
        so_far = json.loads(closed_json(body) or "{}")
        name = so_far.get("name", "")
        return set(so_far) <= set(CALL_KEYS) and isinstance(name, str) and (not name or bool(NAME.fullmatch(name)))
    return parse_call(stripped) is not None


def parse_call(text: str) -> tuple[str, Any] | None:
    """(name, arguments) of the (first) call written in `text`, or None if it holds none. Read: ours (Hermes / Qwen)
    `<tool_call>{"name": …, "arguments": {…}}</tool_call>`; Llama 3.1+ `<|python_tag|>{"name": …, "parameters": {…}}`
    or that JSON bare; Mistral `[TOOL_CALLS] [{"name": …, "arguments": {…}, "id": …}]` (v3–v7) or
    `[TOOL_CALLS]name[ARGS]{…}` (v11+). After a call marker, arguments that are not a JSON object come back as the
    raw text, so the caller can tell the model what was wrong; bare JSON that is not a call is a plain reply."""
    stripped = text.strip()
    start = stripped.find(CALL_OPEN)
    if start >= 0:
        return _call_json(stripped[start + len(CALL_OPEN) :].strip(), marked=True)
    if stripped.startswith(PYTHON_TAG):
        return _call_json(stripped[len(PYTHON_TAG) :].strip(), marked=True)
    if stripped.startswith(MISTRAL_CALLS):
        body = stripped[len(MISTRAL_CALLS) :].strip()
        if body.startswith(("[", "{")):
            return _call_json(body, marked=True)
        name, found, rest = body.partition(MISTRAL_ARGS)
        name = name.split(MISTRAL_CALL_ID)[0].strip()
        if not found or not NAME.fullmatch(name):
            return ("", body)
        try:
            arguments, _ = json.JSONDecoder().raw_decode(rest.strip())
        except ValueError:
            return (name, rest.strip())
        return (name, arguments if isinstance(arguments, dict) else json.dumps(arguments))
    if stripped.startswith(("{", "[")):
        return _call_json(stripped, marked=False)
    return None


def held_call(held: str, style: str = HERMES) -> tuple[str, Any] | None:
    """What a reply held back under the tool grammar (`may_start_call`) was: a call (name, arguments), or None for
    plain text to send as it is. Under the grammar a reply that starts like a call of `style` (`CALL_START`) is one,
    and what it wrote is a prefix of a valid call: one cut short by max_tokens (a small model rambling in a string)
    is closed where it was cut (`closed_json`), and its arguments are validated like any others. One cut before its
    name is a call with no name: the model hears that it was not one."""
    parsed = parse_call(held)
    stripped = held.lstrip()
    for marker in CALL_MARKERS:
        stripped = stripped.removeprefix(marker).lstrip()
    is_call = held.lstrip().startswith(CALL_START[style])
    if is_call and (parsed is None or not parsed[0] or isinstance(parsed[1], str)):
        name, found, rest = stripped.partition(MISTRAL_ARGS)
        if found:  # Mistral v11: the name is whole, the arguments may not be
            closed = closed_json(rest)
            parsed = (name.strip(), json.loads(closed)) if closed else parsed
        elif (closed := closed_json(stripped)) and (whole := _call_json(closed, marked=True)):
            if json.dumps(whole[0]) in stripped:  # (a name cut short is no tool's: not taken)
                parsed = whole
    return parsed or (("", held) if is_call else None)


def closed_json(prefix: str) -> str | None:
    """`prefix`, the start of a JSON object or array, made whole: an open value string is closed where it was cut,
    and an unfinished key, number or literal is dropped back to the last complete value; then the open objects and
    arrays are closed. None if no part of it is whole (or it was not JSON)."""
    cuts: list[tuple[int, str]] = []  # (end, closers): prefix[:end] + closers may be whole JSON, latest last
    stack: list[str] = []
    string_at = None  # where the open string's quote is
    clean_end = 0  # in a string: where its text so far ends, without a half-written escape
    position = 0
    while position < len(prefix):
        char = prefix[position]
        if string_at is not None:
            if char == "\\":
                position += 6 if prefix[position + 1 : position + 2] == "u" else 2
                if position <= len(prefix):
                    clean_end = position
                continue
            if char == '"':
                string_at = None
            else:
                clean_end = position + 1
        elif char == '"':
            string_at, clean_end = position, position + 1
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None
        position += 1
        if string_at is None:
            cuts.append((position, "".join(reversed(stack))))
    if string_at is not None:
        cuts.append((clean_end, '"' + "".join(reversed(stack))))
    for end, closers in reversed(cuts):
        candidate = prefix[:end] + closers
        try:
            json.loads(candidate)
        except ValueError:
            continue
        return candidate
    return None


def _call_json(body: str, *, marked: bool) -> tuple[str, Any] | None:
    """The first call in `body`: a JSON object with a name and arguments (or Llama's parameters), or a list of them.
    Not a call: ("", body) after a call marker, None for bare JSON."""
    try:
        data, _ = json.JSONDecoder().raw_decode(body)
    except ValueError:
        return ("", body) if marked else None
    if isinstance(data, list) and data:
        data = data[0]
    keys = set(data) if isinstance(data, dict) else set()
    arguments_key = "arguments" if "arguments" in keys else "parameters"
    if marked and not (isinstance(data, dict) and isinstance(data.get("name"), str)):
        return ("", body)
    if not marked and not (
        {"name", arguments_key} <= keys <= {"name", arguments_key, "id"} and NAME.fullmatch(str(data["name"]))
    ):
        return None  # JSON the user asked for, not a call
    arguments = data.get(arguments_key, {})
    if isinstance(arguments, str):  # some templates write the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return (data["name"], arguments)
    return (data["name"], arguments if isinstance(arguments, dict) else json.dumps(arguments))
