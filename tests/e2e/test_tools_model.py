"""Tool calls on the real starter model (grammar-constrained, through the worker) and on the hosted stand-in
(llama_cpp.server's native `tools`, on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.domain import (
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    Role,
    SamplingParams,
    TokenEvent,
    ToolCallEvent,
)
from app.core.tools import ToolCallRequest
from app.runtime.client import WorkerClient, WorkerConfig
from app.runtime.hosted import HostedBackend
from app.runtime.protocol import tools_to_wire
from app.runtime.tool_format import HERMES, LLAMA, MISTRAL, MISTRAL_V11, call_grammar, held_call
from app.services.builtin_tools import (
    CALCULATOR,
    CURRENT_TIME,
    READ_PAGE,
    SEARCH_DOCUMENTS,
    SEARCH_THREADS,
)
from app.services.models import load_catalog
from app.services.tools import validation_error
from tests.servers import CountingProxy, start_llama_server, stop

pytestmark = pytest.mark.slow

BUILTINS = (SEARCH_THREADS, SEARCH_DOCUMENTS, READ_PAGE, CALCULATOR, CURRENT_TIME)
ASKS = ("What is 1234 times 5678?", "Find where I wrote about the garden.", "What is on page 2 of report.pdf?")


@pytest.fixture(scope="module")
def worker(models_dir: Path, tmp_path_factory):
    spec = load_catalog()[0]
    log = tmp_path_factory.mktemp("tools-worker") / "worker.log"
    worker = WorkerClient(WorkerConfig(models_dir / spec.file, spec.name, n_ctx=2048, log_path=log))
    yield worker
    worker.shutdown()


def _ask(text: str, tools, choice: str, seed: int) -> GenerationRequest:
    turns = (ChatTurn(Role.SYSTEM, "You are a helpful assistant."), ChatTurn(Role.USER, text))
    return GenerationRequest(turns, SamplingParams(max_tokens=96, seed=seed), tools=tuple(tools), tool_choice=choice)


def test_grammar_forced_calls_on_the_starter_model_have_schema_valid_arguments(worker):
    finished = 0
    for seed in (1, 2, 3):
        for text in ASKS:
            events = list(worker.generate(_ask(text, BUILTINS, "required", seed)))
            assert not [e for e in events if isinstance(e, TokenEvent)]  # a call's text is not streamed as a reply
            [call] = [e.call for e in events if isinstance(e, ToolCallEvent)]
            if events[-1].finish_reason == "length":  # cut by max_tokens inside a string: it goes back as text
                assert call.name == "" and isinstance(call.arguments, str)
                continue
            finished += 1
            spec = next(s for s in BUILTINS if s.name == call.name)
            assert validation_error(spec, call.arguments) is None, (text, call)
    assert finished >= 5  # 8 of 9 on this machine; the rest ran out of tokens


def test_with_tools_offered_a_plain_reply_streams_as_text_and_a_result_goes_back(worker):
    events = list(worker.generate(_ask("Say hello in one short sentence.", [CALCULATOR], "auto", 4)))
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert (text.strip() and not calls) or (calls and not text), events
    # A second step: the call and its result in the prompt (generic format), the model answers from it.
    turns = (
        ChatTurn(Role.USER, "What is 12 times 11?"),
        ChatTurn(Role.ASSISTANT, "", tool_calls=(ToolCallRequest("c1", "calculator", {"expression": "12 * 11"}),)),
        ChatTurn(Role.TOOL, "132", tool_call_id="c1"),
    )
    request = GenerationRequest(turns, SamplingParams(max_tokens=32, seed=5, temperature=0.0), tools=(CALCULATOR,))
    after = list(worker.generate(request))
    assert isinstance(after[-1], DoneEvent) and after[-1].usage.prompt_tokens > 60  # the tool block and the result


@pytest.fixture(scope="module")
def tool_server(models_dir: Path, api_key: str, tmp_path_factory) -> int:
    """The hosted stand-in with llama-cpp-python's function-calling chat format (native `tools`)."""
    log = tmp_path_factory.mktemp("tool-server") / "server.log"
    process, port = start_llama_server(
        models_dir / load_catalog()[0].file, api_key, log, "--chat_format", "chatml-function-calling"
    )
    yield port
    stop(process)


def test_a_hosted_model_calls_a_tool_natively_and_takes_its_result(tool_server: int, api_key: str):
    proxy = CountingProxy(tool_server)
    try:
        backend = HostedBackend(provider="stand-in", base_url=proxy.url, model="smollm2", api_key=api_key)
        request = _ask("What is 1234 times 5678?", [CALCULATOR], "required", 7)
        events = list(backend.generate(request))
        [call] = [e.call for e in events if isinstance(e, ToolCallEvent)]
        assert call.name == "calculator" and call.call_key
        assert validation_error(CALCULATOR, call.arguments) is None, call
        result = ChatTurn(Role.TOOL, "7006652", tool_call_id=call.call_key)
        follow = GenerationRequest(
            request.turns + (ChatTurn(Role.ASSISTANT, "", tool_calls=(call,)), result),
            SamplingParams(max_tokens=24, seed=7),
        )
        answered = list(backend.generate(follow))
        assert isinstance(answered[-1], DoneEvent) and answered[-1].usage.prompt_tokens > 0
        assert proxy.connections == 2  # one request per step, nothing else
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def llm(models_dir: Path):
    from llama_cpp import Llama

    return Llama(model_path=str(models_dir / load_catalog()[0].file), n_ctx=512, verbose=False)


@pytest.mark.parametrize(
    ("style", "start"),
    [(HERMES, '<tool_call>{"name"'), (LLAMA, '{"name"'), (MISTRAL, '[TOOL_CALLS] [{"name"'),
     (MISTRAL_V11, "[TOOL_CALLS]calculator[ARGS]{")],
)  # fmt: skip
def test_a_forced_call_on_the_real_model_comes_in_each_templates_own_syntax_and_is_read_back(llm, style, start):
    """The grammar the worker uses for a Llama 3.1+ or Mistral template, run by llama.cpp on the starter model."""
    import llama_cpp
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    tools = tools_to_wire((CALCULATOR, CURRENT_TIME))
    grammar = LlamaGrammar.from_string(
        call_grammar(tools, json_schema_to_gbnf, required=True, style=style), verbose=False
    )
    prompt = llm.tokenize(b"<|im_start|>user\nWhat is 17 times 23?<|im_end|>\n<|im_start|>assistant\n", special=True)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    generated: list[int] = []
    for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0, grammar=grammar):
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(generated) >= 96:
            break
        generated.append(token)
    text = llm.detokenize(generated, special=True).decode("utf-8")
    assert text.replace(" ", "").startswith(start.replace(" ", "")), text
    name, arguments = held_call(text, style)
    spec = {"calculator": CALCULATOR, "current_time": CURRENT_TIME}[name]
    assert validation_error(spec, arguments) is None, (text, arguments)
