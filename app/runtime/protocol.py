"""The model worker's wire protocol: one JSON object per line over the worker's stdin (requests) and stdout (events).

Requests (parent → worker), each with an integer `id` unless noted:
    {"op": "load", "id", "path", "n_ctx", "n_threads", "n_threads_batch", "kv_cache": {"dir", "budget_bytes"} | null,
     "memory_limit_bytes": int | null}
        → {"event": "loaded", "id", "n_ctx", "chat_template": bool} | {"event": "error", "id", "message", "kind"}
        With `kv_cache`, model states are saved to and restored from that directory (`app.runtime.kvcache`), all of
        them within `budget_bytes`; null (or absent) keeps reuse in memory only. With `memory_limit_bytes` the worker
        caps its own address space first (RLIMIT_AS); a load or request that needs more fails with
        kind "out_of_memory".
    {"op": "generate", "id", "messages": [{"role", "content"}], "sampling": {...SamplingParams}, "cache_key": str|null,
     "json_schema": {...}|null (a JSON schema the reply is held to by a llama.cpp grammar),
     "tools": [{"name", "description", "parameters"}], "tool_choice": "auto"|"required" (both optional)}
        → {"event": "prefill", "id", "done", "total"}* (after each batch of the prompt processed; a cancel is
          honoured between batches, so during a long prefill too), {"event": "token", "id", "text"}* then
          {"event": "done", "id", "finish_reason": "stop"|"length"|"cancelled",
           "usage": {"prompt_tokens", "completion_tokens", "cached_tokens"}, "timings": {"ttft_s", "tokens_per_s"}}
          | {"event": "error", "id", "message", "kind": "prompt_too_long"|null}
        With `tools`, the reply is either text or one call ("required": a call), generated under a grammar (`app.runtime.tool_format`):
        a call comes as {"event": "tool_call", "id", "name", "arguments"} (no tokens) before `done`. A message may
        then carry "tool_calls": [{"id", "name", "arguments"}] (an assistant's call) or be {"role": "tool",
        "content", "tool_call_id"} (its result).
        `cached_tokens` of the prompt were reused (from the warm context or a saved state of `cache_key`), not
        processed again. After `done` the worker saves the state for `cache_key` before it reads the next request.
    {"op": "load", "id", "path", "n_ctx", "n_threads", "n_threads_batch", "embedding": true, "tokenizer_path"}
        loads an embedding model instead (no chat template needed): a GGUF through llama.cpp, or an `.onnx` file
        through onnxruntime with its tokenizer.json at `tokenizer_path`
        → {"event": "loaded", "id", "n_ctx", "n_embd"} | {"event": "error", "id", "message"}
    {"op": "embed", "id", "texts": [str], "threads": int | null}   (after an embedding load) texts longer than the
        window are truncated; `threads`: the cores this batch may use (null: the load's n_threads)
        → {"event": "embeddings", "id", "vectors": [[float]] (unit length, one per text, or for a first part of the
          texts after a `make_way`), "tokens", "seconds"} | {"event": "error", "id", "message"}
    {"op": "make_way"} (no reply) another embed waits: the ONNX embed in progress stops the text it runs and answers
        with the vectors so far (at least one); an embed that answers clears it
    {"op": "threads", "threads": int} (no reply) the cores the ONNX embed in progress uses from its next text on
        (a reply started or ended in the app); once sent it wins over the embed requests' own `threads`
    {"op": "count", "id", "messages": [{"role", "content"}], "tools": [...] (optional, as for generate)}
        → {"event": "count", "id", "tokens", "n_ctx"}: the prompt's length in the model's own tokens, and its window
    {"op": "ping", "id"} → {"event": "pong", "id"} once the worker has finished what it had in hand (liveness)
    {"op": "cancel", "id"?} (no reply) generation `id` ends within a token with finish_reason "cancelled", even if
                         the cancel arrives before the generate request is read; without an id, the one running now
    {"op": "forget", "cache_key"}   (no id, no reply) deletes the saved states of `cache_key`, after earlier requests
    {"op": "shutdown"}   (no id, no reply) the worker stops the reply in progress, finishes the request in hand (and its
                         state save; a few seconds at most), drops queued ones and exits. So does an end of stdin.

The worker starts by printing {"event": "ready", "pid"}. It exits on its own when its stdin closes, so a parent that
dies (even by SIGKILL) never leaves a worker holding the model. Everything llama.cpp prints goes to stderr.

The client (`app.runtime.client`) gives every read a deadline (a worker silent that long is stopped as hung) and
takes any line that is not one JSON object with an `event`, or is cut short, as the worker having failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from app.core.domain import ChatTurn, SamplingParams, Timings, Usage
from app.core.tools import ToolSpec

# The `kind` of an error event whose prompt and reply do not fit the model's window (the worker trims nothing).
ERROR_PROMPT_TOO_LONG = "prompt_too_long"
# The `kind` of an error event whose load or request needed more memory than the worker's cap allows.
ERROR_OUT_OF_MEMORY = "out_of_memory"


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False) + "\n"


def decode(line: str) -> dict[str, Any]:
    return json.loads(line)


def turns_to_wire(turns: tuple[ChatTurn, ...]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for turn in turns:
        message: dict[str, Any] = {"role": str(turn.role), "content": turn.content}
        if turn.tool_calls:
            message["tool_calls"] = [
                {"id": call.call_key, "name": call.name, "arguments": call.arguments} for call in turn.tool_calls
            ]
        if turn.tool_call_id is not None:
            message["tool_call_id"] = turn.tool_call_id
        wire.append(message)
    return wire


def tools_to_wire(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]


def sampling_to_wire(sampling: SamplingParams) -> dict[str, Any]:
    return asdict(sampling)


def usage_from_wire(data: dict[str, int]) -> Usage:
    return Usage(data["prompt_tokens"], data["completion_tokens"], data.get("cached_tokens", 0))


def timings_from_wire(data: dict[str, float]) -> Timings:
    return Timings(data["ttft_s"], data["tokens_per_s"])
