"""A hosted OpenAI-compatible chat-completions endpoint as a `ChatBackend`: streamed tokens, usage, timings, cancel.

`generate` runs on one thread at a time; `cancel` may be called from any other thread and closes the response, so a
stop is prompt even while the server is thinking. The API key goes into one request header and nowhere else: every
error is written here from the status code and the provider's name, scrubbed of the key, and raised without the
httpx exception chained (its request object holds the headers). httpx is imported by the first request, not at
start: most sessions never make one, and its import is ~0.1 s of a cold start.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from app.core.domain import (
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    StreamEvent,
    Timings,
    TokenEvent,
    ToolCallEvent,
    Usage,
)
from app.core.errors import HostedError, OfflineMode
from app.core.tools import ToolCallRequest

if TYPE_CHECKING:
    import httpx

CHARS_PER_TOKEN = 4  # a rough count for endpoints that report no usage while streaming
ERROR_BODY_LIMIT = 300  # characters of an error body kept in the message, after the key is scrubbed out
ERROR_READ_LIMIT = 64 * 1024  # bytes of it read to scrub: the key is found whole before anything is cut


def estimate_tokens(request: GenerationRequest) -> int:
    tools = sum(len(t.description) + len(json.dumps(t.parameters)) + len(t.name) for t in request.tools)
    return (sum(len(turn.content) for turn in request.turns) + tools) // CHARS_PER_TOKEN + 1


class HostedBackend:
    name = "hosted"

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        model: str,
        api_key: str,
        offline: Callable[[], bool] = lambda: False,
        on_request: Callable[[int], None] | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 300.0,
    ) -> None:
        """`on_request(estimated_prompt_tokens)` runs right before a request leaves the machine (the ledger)."""
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._offline = offline
        self._on_request = on_request
        self._timeouts_s = (read_timeout_s, connect_timeout_s)
        self._cancelled = threading.Event()
        self._response: httpx.Response | None = None
        self.usage_estimated = False  # the last reply's usage was counted here, not reported by the endpoint

    def __repr__(self) -> str:  # never show the key, even in a debugger or a log of objects
        return f"HostedBackend(provider={self.provider!r}, base_url={self.base_url!r}, model={self.model!r})"

    def cancel(self) -> None:
        self._cancelled.set()
        response = self._response
        if response is not None:
            response.close()

    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        if self._offline():
            raise OfflineMode(
                f"offline mode is on: nothing was sent to {self.provider}; turn it off with `threadloom offline off`"
            )
        import httpx  # the first request pays for the import, not the start; before `started`, so TTFT leaves it out

        self._cancelled.clear()
        body = {
            "model": self.model,
            "messages": [_wire_message(turn) for turn in request.turns],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": request.sampling.temperature,
            "top_p": request.sampling.top_p,
            "max_tokens": request.sampling.max_tokens,
        }
        if request.sampling.seed is not None:
            body["seed"] = request.sampling.seed
        if request.tools:  # native tools: the endpoint returns structured calls
            body["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools
            ]
            body["tool_choice"] = request.tool_choice
            if request.tool_choice == "required" and len(request.tools) == 1:  # the named form: widest support
                body["tool_choice"] = {"type": "function", "function": {"name": request.tools[0].name}}
        calls: dict[int, dict[str, str]] = {}  # streamed call pieces by index: id, name, arguments text
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "text/event-stream"}
        if self._on_request:
            self._on_request(estimate_tokens(request))
        started = time.perf_counter()
        first_token_at: float | None = None
        pieces = 0
        usage: Usage | None = None
        finish_reason = "stop"
        read_timeout_s, connect_timeout_s = self._timeouts_s
        try:
            with httpx.Client(timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s)) as client:
                with client.stream("POST", f"{self.base_url}/chat/completions", json=body, headers=headers) as response:
                    self._response = response
                    if response.status_code != 200:
                        raise self._http_error(response)
                    for data in _sse_data(response):
                        if self._cancelled.is_set():
                            finish_reason = "cancelled"
                            break
                        if data == "[DONE]":
                            break
                        chunk = json.loads(data)
                        if chunk.get("usage"):
                            usage = Usage(
                                chunk["usage"].get("prompt_tokens", 0), chunk["usage"].get("completion_tokens", 0)
                            )
                        for choice in chunk.get("choices") or []:
                            delta = choice.get("delta") or {}
                            for piece in delta.get("tool_calls") or []:
                                _add_call_piece(calls, piece)
                            text = delta.get("content")
                            if text:
                                pieces += 1
                                first_token_at = first_token_at or time.perf_counter()
                                yield TokenEvent(text)
                            if choice.get("finish_reason"):
                                finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
        except (httpx.StreamClosed, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            if not self._cancelled.is_set():
                raise self._transport_error(exc) from None
            finish_reason = "cancelled"
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        except ValueError:
            raise HostedError(f"{self.provider} sent a reply that is not OpenAI-compatible JSON") from None
        finally:
            self._response = None
        if self._cancelled.is_set():
            finish_reason = "cancelled"
        else:
            for index in sorted(calls):
                yield ToolCallEvent(_call_request(calls[index]))
        finished = time.perf_counter()
        self.usage_estimated = usage is None
        if usage is None:  # most servers send one content piece per token
            usage = Usage(estimate_tokens(request), pieces)
        decode_time = finished - first_token_at if first_token_at else 0.0
        yield DoneEvent(
            usage=usage,
            timings=Timings(
                ttft_s=(first_token_at or finished) - started,
                tokens_per_s=(pieces - 1) / decode_time if pieces > 1 and decode_time else 0.0,
            ),
            finish_reason=finish_reason,
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[key]") if self._api_key else text

    def _http_error(self, response: httpx.Response) -> HostedError:
        import httpx

        status = response.status_code
        body = b""
        try:
            for block in response.iter_bytes():
                body += block
                if len(body) >= ERROR_READ_LIMIT:
                    break
        except httpx.HTTPError:
            pass
        # Scrub, then cut: cut first, a key straddling the cut would survive in part.
        detail = " ".join(self._scrub(body[:ERROR_READ_LIMIT].decode("utf-8", errors="replace")).split())
        detail = detail[:ERROR_BODY_LIMIT]
        if status in (401, 403):
            hint = (
                f"the API key was refused: store a new one with `threadloom providers remove {self.provider}` "
                f"and `threadloom providers add {self.provider} …`"
            )
        elif status == 404:
            hint = f"check the base URL ({self.base_url}) and the model name ({self.model})"
        elif status == 429:
            hint = "the provider is rate-limiting or out of quota: try again later"
        else:
            hint = "the provider failed this request: try again later"
        shown = f" ({detail})" if detail else ""
        return HostedError(f"{self.provider} answered HTTP {status}{shown}: {hint}")

    def _transport_error(self, exc: httpx.HTTPError) -> HostedError:
        return HostedError(
            f"cannot reach {self.provider} at {self.base_url} ({type(exc).__name__}): "
            f"check the network and the base URL, or turn this thread back to local only"
        )


def _wire_message(turn: ChatTurn) -> dict:
    message: dict = {"role": str(turn.role), "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_key,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
            }
            for call in turn.tool_calls
        ]
    if turn.tool_call_id is not None:
        message["tool_call_id"] = turn.tool_call_id
    return message


def _add_call_piece(calls: dict[int, dict[str, str]], piece: dict) -> None:
    """Streamed calls come in pieces: the first of an index has its id and name (some servers repeat them in every
    piece), the rest add argument text."""
    call = calls.setdefault(piece.get("index", len(calls)), {"id": "", "name": "", "arguments": ""})
    function = piece.get("function") or {}
    call["id"] = call["id"] or piece.get("id") or ""
    call["name"] = call["name"] or function.get("name") or ""
    call["arguments"] += function.get("arguments") or ""


def _call_request(call: dict[str, str]) -> ToolCallRequest:
    """A streamed call as the turn loop takes it; arguments that are not a JSON object stay text (reported back)."""
    try:
        arguments = json.loads(call["arguments"] or "{}")
    except ValueError:
        arguments = call["arguments"]
    if not isinstance(arguments, dict | str):
        arguments = call["arguments"]
    return ToolCallRequest(call["id"] or f"call_{call['name']}", call["name"], arguments)


def _sse_data(response: httpx.Response) -> Iterator[str]:
    """The `data:` payloads of a server-sent event stream."""
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield line[5:].strip()
