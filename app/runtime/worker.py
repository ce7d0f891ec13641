"""The model worker process: owns one llama.cpp model and serves the protocol in `app.runtime.protocol`.

Run as `python -m app.runtime.worker`. One request runs at a time; a reader thread watches stdin so a cancel
arrives while tokens are being generated, and an end of stdin (the parent is gone) ends the process at once.

KV-cache reuse: llama-cpp-python's `generate` already reuses the longest common token prefix with what the context
holds (`Llama._input_ids`). On top of that, after each reply the worker makes the context hold exactly the tokens
the thread's next prompt starts with (the conversation including the reply as it will be rendered next time) and,
when the load request enabled it, saves that state to disk under the request's `cache_key` (`app.runtime.kvcache`).
Before a generate, a saved state of that key that shares a longer prefix with the prompt than the warm context
does is loaded, so a thread switch or a restart costs a file read instead of a full prefill. A one-off request
(a title, a summary: no `cache_key`) puts the thread's context back when it is done.
"""

from __future__ import annotations

import codecs
import ctypes
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.runtime.kvcache import StateFiles, common_prefix, file_sha256, namespace_for
from app.runtime.protocol import ERROR_OUT_OF_MEMORY, ERROR_PROMPT_TOO_LONG, decode, encode
from app.runtime.tool_format import (
    CALL_START,
    HERMES,
    call_grammar,
    call_style,
    generic_messages,
    held_call,
    may_start_call,
    native_messages,
    template_knows_tools,
    wire_tool,
)

# Tokens kept free at the end of the window so a reply always has room to start.
MIN_REPLY_TOKENS = 16
# A saved state is worth writing, and reading back, only when it spares at least this many prompt tokens.
MIN_STATE_TOKENS = 32
# After a reply, at most this many tokens are decoded to line the context up with the next prompt (the reply's
# end-of-turn marker, and any stretch where the reply's text tokenizes differently from how it was sampled).
MAX_SETTLE_TOKENS = 256
# A prompt whose uncached part is at most this long (a typed message and its template) is processed on the generation
# thread count, like generation itself: on a busy two-core machine a small batch on two threads was measured to stall
# for seconds (9 tokens after 1,430 cached: 5.5 s on two threads, 0.1 s on one). Larger prefills use n_threads_batch.
SMALL_BATCH_TOKENS = 64
# A one-off request (a title, a summary) borrows the context: the thread's state is copied aside first and put back
# after, so its next turn (and the shared system prompt of the next new thread) stays warm. Only contexts up to this
# many tokens are copied (about 23 KB a token with the starter model; a few ms each way).
KEEP_WARM_MAX_TOKENS = 4096
# After a shutdown (or the parent's death) the request in hand may finish, up to this long.
EXIT_GRACE_S = 4.0


class WindowTooSmall(ValueError):
    """The prompt does not fit even with the oldest turns left out; the router may hand the turn to a bigger model."""

    kind = ERROR_PROMPT_TOO_LONG


class OverMemoryCap(MemoryError):
    """A load or request needed more memory than the worker's cap (`memory_limit_bytes`) allows."""

    kind = ERROR_OUT_OF_MEMORY


def limit_memory(limit_bytes: int) -> None:
    """Cap this process's address space (the soft limit; where RLIMIT_AS exists)."""
    try:
        import resource
    except ImportError:  # Windows: no cap
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def address_space_bytes() -> int:
    """This process's mapped address space now (VmSize), 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def log(message: str) -> None:
    print(f"worker: {message}", file=sys.stderr, flush=True)


class Worker:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._out_lock = threading.Lock()
        self._cancel = threading.Event()
        self._cancelled_ids: set[int] = set()  # cancels that may arrive before their generate is read
        self._running_id: int | None = None
        self._llm = None
        self._formatter = None
        self._history_formatter = None  # renders a conversation that ends with a reply, without a generation prompt
        self._kv_root: Path | None = None
        self._states: StateFiles | None = None
        self._onnx = None  # an int8 ONNX embedding model (app.runtime.onnx_embedding), instead of `_llm`
        self._embed_threads = 1  # an embed request's threads when it names none
        self._llm_threads = 1  # what the llama.cpp embedding context runs on now
        # Set by the stdin reader when a reply starts or ends in the app ("threads" op): an ONNX embed in progress
        # changes its cores from the next text on, so a reply never waits for the batch in hand. Once set it wins
        # over a request's own count (which may have been decided before the change, still queued).
        self.embed_threads_now: int | None = None
        # Set by the stdin reader when another embed waits in the app ("make_way" op): the ONNX embed in hand answers
        # with the vectors so far (its current text stopped); cleared once an embed has answered.
        self.embed_make_way = threading.Event()

    def send(self, message: dict[str, Any]) -> None:
        with self._out_lock:
            self._out.write(encode(message))
            self._out.flush()

    def make_way(self) -> None:
        """Another embed waits in the app: the ONNX embed in hand answers now with the vectors it has (from the
        stdin reader's thread, while the embed runs)."""
        self.embed_make_way.set()
        if self._onnx is not None:
            self._onnx.interrupt()

    def request_cancel(self, request_id: int | None = None) -> None:
        """Stop generation `request_id` (whether running or still queued), or whatever runs now if None."""
        if request_id is not None:
            self._cancelled_ids.add(request_id)
            if request_id != self._running_id:
                return
        self._cancel.set()

    def handle(self, request: dict[str, Any]) -> None:
        op = request.get("op")
        request_id = request.get("id")
        try:
            if op == "load":
                self._load(request)
            elif op == "generate":
                self._generate(request)
            elif op == "forget":
                self._forget(request)
            elif op == "embed":
                self._embed(request)
            elif op == "ping":
                self.send({"event": "pong", "id": request_id})
            elif op == "count":
                messages, tools, _ = self._with_tools(request["messages"], request.get("tools") or [], "auto")
                tokens = self._tokenize(messages, tools=tools)
                self.send({"event": "count", "id": request_id, "tokens": len(tokens), "n_ctx": self._llm.n_ctx()})
            else:
                self.send({"event": "error", "id": request_id, "message": f"unknown op {op!r}"})
        except Exception as exc:  # report and stay usable: one bad request must not end the worker
            self.send(
                {
                    "event": "error",
                    "id": request_id,
                    "message": f"{type(exc).__name__}: {exc}",
                    "kind": ERROR_OUT_OF_MEMORY if isinstance(exc, MemoryError) else getattr(exc, "kind", None),
                }
            )

    def _load(self, request: dict[str, Any]) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llm = None
        self._onnx = None
        self._states = None
        if request.get("memory_limit_bytes"):
            limit_memory(request["memory_limit_bytes"])
        if request.get("embedding"):
            self._load_embedding(request)
            return
        kv_cache = request.get("kv_cache")
        self._kv_root = Path(kv_cache["dir"]) if kv_cache else None
        model_sha: list[str] = []
        hashing = None
        if self._kv_root is not None:  # hash the model file while llama.cpp loads it (once per file: memoised)
            memo = self._kv_root / "model-hashes.json"
            hashing = threading.Thread(
                target=lambda: model_sha.append(file_sha256(Path(request["path"]), memo)), daemon=True
            )
            hashing.start()
        llm = _within_cap(
            request,
            lambda: Llama(
                model_path=request["path"],
                n_ctx=request["n_ctx"],
                n_threads=request["n_threads"],
                n_threads_batch=request["n_threads_batch"],
                verbose=False,
            ),
        )
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the model has no chat template")
        eos = llm._model.token_get_text(llm.token_eos())
        bos = llm._model.token_get_text(llm.token_bos())
        self._native_tools = template_knows_tools(template)
        self._call_style = call_style(template) if self._native_tools else HERMES  # what the grammar writes
        self._grammars: dict[str, Any] = {}
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
        self._history_formatter = Jinja2ChatFormatter(
            template=template, eos_token=eos, bos_token=bos, add_generation_prompt=False
        )
        if hashing is not None:
            hashing.join()
            if model_sha:
                self._states = StateFiles(
                    self._kv_root,
                    namespace=namespace_for(self._identity(llm, model_sha[0])),
                    budget_bytes=int(kv_cache["budget_bytes"]),
                )
            else:
                log("cannot hash the model file; saved KV-cache states are off")
        self._llm = llm
        self.send({"event": "loaded", "id": request["id"], "n_ctx": llm.n_ctx(), "chat_template": True})

    def _load_embedding(self, request: dict[str, Any]) -> None:
        if request["path"].endswith(".onnx"):
            from app.runtime.onnx_embedding import MAX_TOKENS, OnnxEmbeddingModel

            if not request.get("tokenizer_path"):
                raise ValueError("an ONNX embedding model needs its tokenizer.json (tokenizer_path)")
            self._onnx = OnnxEmbeddingModel(Path(request["path"]), Path(request["tokenizer_path"]))
            self._embed_threads = request["n_threads"]
            self.send({"event": "loaded", "id": request["id"], "n_ctx": MAX_TOKENS, "n_embd": self._onnx.dimensions})
            return
        from llama_cpp import Llama

        llm = _within_cap(
            request,
            lambda: Llama(
                model_path=request["path"],
                embedding=True,
                n_ctx=request["n_ctx"],
                n_batch=request["n_ctx"],  # a text must fit one batch: embedding models attend both ways
                n_ubatch=request["n_ctx"],
                n_threads=request["n_threads"],
                n_threads_batch=request["n_threads_batch"],
                verbose=False,
            ),
        )
        self._llm = llm
        self._embed_threads = self._llm_threads = request["n_threads"]
        self.send({"event": "loaded", "id": request["id"], "n_ctx": llm.n_ctx(), "n_embd": llm.n_embd()})

    def _embed(self, request: dict[str, Any]) -> None:
        """`threads` (optional) is the cores this batch may use: all while no reply streams, one while one does."""
        started = time.perf_counter()
        texts = request["texts"]
        threads = request.get("threads") or self._embed_threads
        if self._onnx is not None:
            vectors, tokens = self._onnx.embed(
                texts, threads=lambda: self.embed_threads_now or threads, make_way=self.embed_make_way.is_set
            )
        elif self._llm is not None:
            if threads != self._llm_threads:
                import llama_cpp

                llama_cpp.llama_set_n_threads(self._llm.ctx, threads, threads)
                self._llm_threads = threads
            vectors = self._llm.embed(texts, normalize=True, truncate=True)
            n_ctx = self._llm.n_ctx()
            tokens = sum(min(n_ctx, len(self._llm.tokenize(text.encode("utf-8")))) for text in texts)
        else:
            raise RuntimeError("no model loaded")
        self.embed_make_way.clear()  # whoever asked is next in line now
        self.send(
            {
                "event": "embeddings",
                "id": request["id"],
                "vectors": vectors,
                "tokens": tokens,
                "seconds": time.perf_counter() - started,
            }
        )

    @staticmethod
    def _identity(llm, model_sha256: str) -> dict[str, Any]:
        """Everything a saved state's validity depends on besides its tokens."""
        import llama_cpp

        params = llm.context_params
        return {
            "model_sha256": model_sha256,
            "n_ctx": llm.n_ctx(),
            "type_k": int(params.type_k),
            "type_v": int(params.type_v),
            "n_seq_max": int(params.n_seq_max),
            "swa_full": bool(getattr(params, "swa_full", False)),
            "llama_cpp": llama_cpp.__version__,
        }

    def _tokenize(self, messages: list[dict[str, Any]], formatter=None, tools=None) -> list[int]:
        rendered = (formatter or self._formatter)(messages=messages, tools=tools)
        return self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)

    def _check_fits(self, messages: list[dict[str, Any]], max_tokens: int, tools=None) -> list[int]:
        """The prompt's tokens, if prompt and reply fit the window. The caller's context builder fits the prompt;
        the worker never leaves turns out on its own (that would break the append-only prompt unseen)."""
        n_ctx = self._llm.n_ctx()
        tokens = self._tokenize(messages, tools=tools)
        if len(tokens) + max(max_tokens, MIN_REPLY_TOKENS) > n_ctx:
            raise WindowTooSmall(
                f"the prompt does not fit the model's window ({len(tokens)} tokens and {max_tokens} for the reply, "
                f"window {n_ctx})"
            )
        return tokens

    def _generate(self, request: dict[str, Any]) -> None:
        import llama_cpp

        if self._llm is None:
            raise RuntimeError("no model loaded")
        llm = self._llm
        request_id = request["id"]
        sampling = request["sampling"]
        started = time.perf_counter()
        self._running_id = request_id  # order matters against request_cancel on the reader thread
        self._cancel.clear()
        if request_id in self._cancelled_ids:
            self._cancel.set()
        messages, render_tools, grammar = self._with_tools(
            request["messages"], request.get("tools") or [], request.get("tool_choice", "auto")
        )
        max_tokens = sampling["max_tokens"]
        tokens = self._check_fits(messages, max_tokens, render_tools)
        cache_key = request.get("cache_key")
        borrowed = None if cache_key else self._copy_aside()
        if cache_key and self._states is not None:
            try:
                self._restore(cache_key, tokens)
            except Exception as exc:  # noqa: BLE001 - fall back to a normal prefill
                log(f"cannot restore the KV-cache state for {cache_key}: {type(exc).__name__}: {exc}")
                llm._ctx.kv_cache_clear()
                llm.reset()
        cached = min(llm.longest_token_prefix(llm._input_ids.tolist(), tokens), len(tokens) - 1)
        self._batch_threads(small=len(tokens) - cached <= SMALL_BATCH_TOKENS)
        prefilled = self._prefill(request_id, tokens, cached)
        if sampling.get("seed") is not None:
            llm.set_seed(sampling["seed"])
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        generated: list[int] = []
        reply: list[str] = []
        first_token_at = None
        finish_reason = "length" if prefilled else "cancelled"
        calling = False  # under a tool grammar, a reply that may be a call is held back; a call is sent as one event
        schema = request.get("json_schema")
        if schema:  # the whole reply is held to the schema
            sampled = self._tokens(tokens, sampling, self._grammar(schema))
        else:
            sampled = self._sampled(tokens, sampling, grammar)
        for token in sampled if prefilled else ():  # cancelled mid-prefill: generate() would process the rest
            if self._cancel.is_set():
                finish_reason = "cancelled"
                break
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish_reason = "stop"
                break
            if first_token_at is None:
                first_token_at = time.perf_counter()
            # (in what may be a call, special tokens are text: Mistral's [TOOL_CALLS] and [ARGS] are part of it)
            maybe_call = calling or (grammar is not None and not reply)
            piece = llm.detokenize([token], prev_tokens=tokens + generated, special=maybe_call)
            generated.append(token)
            text = decoder.decode(piece)
            if text:
                reply.append(text)
                if calling or (grammar is not None and len(reply) == 1):
                    calling = may_start_call(held := "".join(reply))
                    if not calling:  # it cannot be a call (any more): what was held streams on
                        self.send({"event": "token", "id": request_id, "text": held})
                else:
                    self.send({"event": "token", "id": request_id, "text": text})
            if len(generated) >= max_tokens:
                break
        tail = decoder.decode(b"", final=True)
        if tail:
            reply.append(tail)
            if not calling:
                self.send({"event": "token", "id": request_id, "text": tail})
        if calling and finish_reason != "cancelled":
            held = "".join(reply)
            parsed = held_call(held, self._call_style)
            if parsed is None:  # it only began like a call (JSON the user asked for): the plain reply it is
                self.send({"event": "token", "id": request_id, "text": held})
            else:
                name, arguments = parsed
                self.send({"event": "tool_call", "id": request_id, "name": name, "arguments": arguments})
                finish_reason = "stop" if name else finish_reason
        finished = time.perf_counter()
        decode_time = finished - first_token_at if first_token_at else 0.0
        self.send(
            {
                "event": "done",
                "id": request_id,
                "finish_reason": finish_reason,
                "usage": {
                    "prompt_tokens": len(tokens),
                    "completion_tokens": len(generated),
                    "cached_tokens": cached,
                },
                "timings": {
                    "ttft_s": (first_token_at or finished) - started,
                    "tokens_per_s": (len(generated) - 1) / decode_time if len(generated) > 1 and decode_time else 0.0,
                },
            }
        )
        # The reply is out; what follows is off the critical path (the next request waits in the queue meanwhile).
        # It must not raise: the client has finished with this request and would read an error as the next one's.
        try:
            if cache_key:  # a thread's turn (not a one-off such as a title): line up for its next turn, and save
                self._settle(messages + [{"role": "assistant", "content": "".join(reply)}])
                if self._states is not None:
                    self._save(cache_key)
            elif borrowed is not None:
                self._load_state(*borrowed)
        except Exception as exc:  # noqa: BLE001 - forget the context rather than trust it
            log(f"cannot keep the KV cache after a reply: {type(exc).__name__}: {exc}")
            llm._ctx.kv_cache_clear()
            llm.reset()

    def _grammar(self, schema: dict[str, Any]):
        """The llama.cpp grammar that holds a reply to `schema` (compiled once per schema)."""
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def _sampled(self, tokens: list[int], sampling: dict[str, Any], grammar) -> Iterator[int]:
        """The reply's tokens. Under a tool grammar only the first token decides (a call starts as `CALL_START`
        says): a plain reply goes on without the grammar, which costs about 40 % of generation speed on the starter
        model. A call is sampled without the repetition penalty: JSON repeats its quotes and braces by nature, and
        penalised they kept the starter model from closing its argument strings (it rambled on to max_tokens)."""
        if grammar is None:
            yield from self._tokens(tokens, sampling)
            return
        constrained = self._tokens(tokens, {**sampling, "repeat_penalty": 1.0}, grammar)
        first = next(constrained, None)
        if first is None:
            return
        yield first
        piece = self._llm.detokenize([first], prev_tokens=tokens, special=True).decode("utf-8", errors="replace")
        if piece.lstrip().startswith(CALL_START[self._call_style]) or not piece.strip():
            yield from constrained  # a call (or not decided yet: whitespace) stays under the grammar
            return
        constrained.close()
        yield from self._tokens(tokens + [first], sampling)

    def _tokens(self, prompt: list[int], sampling: dict[str, Any], grammar=None) -> Iterator[int]:
        return self._llm.generate(
            prompt, temp=sampling["temperature"], top_p=sampling["top_p"], top_k=sampling["top_k"],
            min_p=sampling["min_p"], repeat_penalty=sampling["repeat_penalty"], reset=True, grammar=grammar,
        )  # fmt: skip

    def _with_tools(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], choice: str):
        """(messages, tools for the template, grammar): the prompt in the model's own tool format if its template has
        one, else in the generic one; and the grammar that makes the reply text or one valid call."""
        from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

        has_tool_turns = any(m.get("tool_calls") or m["role"] == "tool" for m in messages)
        if not tools and not has_tool_turns:
            return messages, None, None
        if self._native_tools:
            messages, render_tools = native_messages(messages), [wire_tool(t) for t in tools] or None
        else:
            messages, render_tools = generic_messages(messages, tools), None
        if not tools:
            return messages, render_tools, None
        key = json.dumps([tools, choice], sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            if len(self._grammars) >= 8:
                self._grammars.clear()
            grammar = self._grammars[key] = LlamaGrammar.from_string(
                call_grammar(tools, json_schema_to_gbnf, required=choice == "required", style=self._call_style),
                verbose=False,
            )
        return messages, render_tools, grammar
    def _prefill(self, request_id: int, tokens: list[int], cached: int) -> bool:
        """Process the prompt after its `cached` prefix, but for its last token (generate() samples from that one),
        one llama.cpp batch (n_batch tokens) at a time, as eval() would, but with a cancel check and a progress event
        (the client's sign of life during a long prefill) after each. False: cancelled before the end."""
        llm = self._llm
        llm.n_tokens = cached  # eval() drops whatever the context holds past this
        end = len(tokens) - 1
        for start in range(cached, end, llm.n_batch):
            if self._cancel.is_set():
                return False
            llm.eval(tokens[start : min(end, start + llm.n_batch)])
            self.send({"event": "prefill", "id": request_id, "done": llm.n_tokens, "total": len(tokens)})
        return not self._cancel.is_set()

    # KV-cache states

    def _settle(self, conversation: list[dict[str, str]]) -> None:
        """Make the context hold exactly the tokens the next prompt of this conversation will start with.

        The context holds the prompt and the sampled reply, less its last token; the next prompt renders the reply
        as text, ends it with the template's end-of-turn marker, and may tokenize it differently. Cut the context
        back to the common prefix and decode the rest, so the next turn only processes the new message.
        """
        llm = self._llm
        try:
            target = self._tokenize(conversation, self._history_formatter)
        except Exception as exc:  # noqa: BLE001 - a template that cannot render this: keep the context as it is
            log(f"cannot render the conversation to settle the cache: {exc}")
            return
        target = target[: llm.n_ctx() - 1]
        keep = common_prefix(llm._input_ids.tolist(), target)
        if len(target) - keep > MAX_SETTLE_TOKENS:
            target = target[:keep]
        if keep < llm.n_tokens:
            llm._ctx.kv_cache_seq_rm(-1, keep, -1)
            llm.n_tokens = keep
        if len(target) > keep and keep > 0:
            self._batch_threads(small=True)  # off the critical path; small batches on two threads stall
            llm.eval(target[keep:])

    def _batch_threads(self, *, small: bool) -> None:
        """Process the next batches on the generation thread count if they are small, else on n_threads_batch."""
        import llama_cpp

        params = self._llm.context_params
        llama_cpp.llama_set_n_threads(
            self._llm._ctx.ctx, params.n_threads, params.n_threads if small else params.n_threads_batch
        )

    def _state_bytes(self) -> memoryview | None:
        """A copy of the context's KV state (sequence 0), or None when llama.cpp cannot give one."""
        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        if not 0 < written <= size:
            log(f"cannot copy the KV-cache state ({written} of {size} bytes)")
            return None
        return memoryview(buffer)[:written]

    def _load_state(self, tokens: Sequence[int], payload: memoryview) -> bool:
        """Make the context hold `tokens` from a state copied by `_state_bytes`; on refusal, leave it empty."""
        import llama_cpp

        llm = self._llm
        llm._ctx.kv_cache_clear()
        llm.reset()
        buffer = (ctypes.c_uint8 * payload.nbytes).from_buffer(payload)
        loaded = llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, payload.nbytes, 0)
        del buffer
        if loaded != payload.nbytes:
            llm._ctx.kv_cache_clear()
            llm.reset()
            return False
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True  # the logits are not restored: generate() replays a token when it needs them
        return True

    def _copy_aside(self) -> tuple[list[int], memoryview] | None:
        """The context's tokens and state, for `_load_state` after a one-off request (see KEEP_WARM_MAX_TOKENS)."""
        llm = self._llm
        if not MIN_STATE_TOKENS <= llm.n_tokens <= KEEP_WARM_MAX_TOKENS:
            return None
        payload = self._state_bytes()
        return (llm._input_ids.tolist(), payload) if payload is not None else None

    def _save(self, cache_key: str) -> None:
        """Write the context's state for `cache_key` (a failure to write only costs speed later)."""
        llm = self._llm
        if llm.n_tokens < MIN_STATE_TOKENS:
            return
        started = time.perf_counter()
        payload = self._state_bytes()
        if payload is None:
            return
        try:
            path = self._states.write(cache_key, llm._input_ids.tolist(), payload)
        except OSError as exc:
            log(f"cannot save the KV-cache state for {cache_key}: {exc}")
            return
        log(
            f"saved {llm.n_tokens} tokens for {cache_key} ({payload.nbytes / 1e6:.1f} MB) in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms" + ("" if path else " — over the budget, not kept")
        )

    def _restore(self, cache_key: str, tokens: list[int]) -> None:
        """Load the saved state of `cache_key` that best matches `tokens`, if it beats what the context holds."""
        llm = self._llm
        warm = common_prefix(llm._input_ids.tolist(), tokens)
        match = self._states.best_match(cache_key, tokens)
        if match is None or match[1] < MIN_STATE_TOKENS or match[1] <= warm + MIN_STATE_TOKENS:
            return
        state, shared = match
        started = time.perf_counter()
        payload = self._states.read(state)
        if payload is None:
            log(f"discarded a damaged KV-cache state for {cache_key}: {state.path.name}")
            return
        if not self._load_state(state.tokens, payload):
            self._states.discard(state.path)
            log(f"llama.cpp refused the KV-cache state {state.path.name} for {cache_key}; discarded it")
            return
        log(
            f"restored {len(state.tokens)} tokens for {cache_key} ({shared} match the prompt) in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )

    def _forget(self, request: dict[str, Any]) -> None:
        if self._kv_root is not None:
            StateFiles(self._kv_root).forget(request["cache_key"])


def _within_cap(request: dict[str, Any], load):
    """`load()` (a llama.cpp model and context); a failure that the memory cap explains is raised as OverMemoryCap.

    llama-cpp-python says only "Failed to create llama_context" (whose buffers are the big allocation after the
    model) or "Failed to load model from file" (the cap explains that one when the mapped file did not fit)."""
    limit = request.get("memory_limit_bytes")
    before = address_space_bytes()
    try:
        return load()
    except ValueError as exc:
        if not limit:
            raise
        context = "llama_context" in str(exc)
        mapped = before + os.path.getsize(request["path"]) > limit
        if not (context or mapped):
            raise
        raise OverMemoryCap(
            f"the model needs more memory than the worker may use ({limit // 2**20} MB)"
        ) from exc


def _protocol_stdout() -> TextIO:
    """Keep the real stdout for protocol lines and point fd 1 at stderr, so nothing llama.cpp prints corrupts it."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


def main() -> None:
    worker = Worker(_protocol_stdout())
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    stopping = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            message = decode(line)
            if message.get("op") == "cancel":
                worker.request_cancel(message.get("id"))
            elif message.get("op") == "threads":
                worker.embed_threads_now = message.get("threads")
            elif message.get("op") == "make_way":
                worker.make_way()
            elif message.get("op") == "shutdown":
                break
            else:
                requests.put(message)
        # Shutdown, or stdin closed (the parent is gone): stop the reply in progress, let the request in hand finish
        # (it may be saving a KV-cache state), skip queued ones, and exit; at the latest after EXIT_GRACE_S.
        stopping.set()
        worker.request_cancel()
        requests.put(None)
        timer = threading.Timer(EXIT_GRACE_S, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    threading.Thread(target=read_stdin, name="stdin-reader", daemon=True).start()
    worker.send({"event": "ready", "pid": os.getpid()})
    while True:
        request = requests.get()
        if stopping.is_set() or request is None:
            # Skip queued work, but not a forget: a deleted thread's states must not outlive a save that ran late.
            while request is not None or not requests.empty():
                if request is not None and request.get("op") == "forget":
                    worker.handle(request)
                request = None if requests.empty() else requests.get()
            os._exit(0)
        try:
            worker.handle(request)
        except OSError:  # stdout is gone with the parent
            os._exit(0)


if __name__ == "__main__":
    main()
