"""Tool calls on the starter model, and MCP call overhead, measured in one run. Prints figures; asserts nothing.

Over 50 prompts that need a tool and 50 that do not (built-in tools, generic format):
- schema-valid call rate with the grammar forcing a call (goal 100 %), and with the grammar letting the model choose;
- decision accuracy (a call when one is needed, none otherwise) with the grammar against a free-form baseline (the
  same prompt and tool block, no grammar; a call is a `<tool_call>` in the text);
- added latency of a tool turn (tools offered, grammar on) over a plain turn (no tools), as a ratio of medians, and
  the worker's time to first token and tokens per second of the text replies, with and without tools offered;
- MCP call overhead: `McpServers.call` against the same server called directly with the SDK (ratio; goal <= 1.2).

    THREADLOOM_MODELS_DIR=models flock /tmp/threadloom-heavy.lock .venv/bin/python tests/benchmarks/tools.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.domain import (  # noqa: E402
    ChatTurn,
    DoneEvent,
    GenerationRequest,
    Role,
    SamplingParams,
    TokenEvent,
    ToolCallEvent,
)
from app.runtime.client import WorkerClient, WorkerConfig  # noqa: E402
from app.runtime.protocol import tools_to_wire  # noqa: E402
from app.runtime.tool_format import generic_messages, parse_call  # noqa: E402
from app.services.builtin_tools import CALCULATOR, CURRENT_TIME, SEARCH_THREADS  # noqa: E402
from app.services.mcp_servers import McpServers  # noqa: E402
from app.services.models import ModelService  # noqa: E402
from app.services.tools import validation_error  # noqa: E402

TOOLS = (SEARCH_THREADS, CALCULATOR, CURRENT_TIME)
SYSTEM = "You are a helpful assistant."
SERVER = Path(__file__).resolve().parents[1] / "mcp" / "notes_server.py"
ROUND = 10  # MCP calls in a row before the other side takes its turn

NEEDS_TOOL = (
    [f"What is {a} times {b}?" for a, b in [(17, 23), (1234, 5678), (91, 7), (305, 44), (12, 12), (999, 3), (64, 64),
                                            (250, 18), (73, 19), (4096, 2)]]
    + [f"Compute {a} divided by {b}." for a, b in [(100, 7), (355, 113), (22, 7), (1e6, 3), (81, 9)]]
    + [f"What is {n} squared plus {m}?" for n, m in [(3.5, 12), (17, 1), (250, 25), (9, 9), (13, 7)]]
    + ["What time is it now?", "What's today's date?", "What day of the week is it today?", "Is it morning or evening "
       "right now?", "What year is it?", "Tell me the current date and time.", "How late is it?",
       "Which month are we in?", "What is the date today?", "Give me the current time, please."]
    + [f"Did we talk about {topic} before? Search my threads." for topic in
       ["otters", "the budget", "my trip to Lisbon", "the garden", "Python decorators", "the dentist", "my thesis",
        "birthday gifts", "the car repair", "sourdough"]]
    + [f"Find my earlier conversation about {topic}." for topic in
       ["taxes", "the wedding", "running shoes", "the new laptop", "my cat", "the kitchen", "chess openings",
        "the move", "job interviews", "holidays"]]
)  # fmt: skip
NO_TOOL = (
    ["Hello! How are you?", "Write a haiku about the sea.", "Tell me a joke.", "What is the capital of France?",
     "Explain photosynthesis briefly.", "Translate 'good morning' to Spanish.", "Give me a name for a cat.",
     "Why is the sky blue?", "Write a limerick about a frog.", "What is a noun?"]
    + [f"Describe {thing} in one sentence." for thing in
       ["a lighthouse", "autumn", "a violin", "the moon", "a desert", "a library", "rain", "a bicycle", "snow",
        "a market"]]
    + [f"Give me three tips for {goal}." for goal in
       ["sleeping better", "learning French", "public speaking", "saving money", "running", "cooking rice",
        "writing emails", "staying focused", "painting", "gardening"]]
    + [f"What does the word '{word}' mean?" for word in
       ["serendipity", "ephemeral", "ubiquitous", "candid", "frugal", "lucid", "nostalgia", "resilient", "verbose",
        "whimsical"]]
    + [f"Write a short greeting for {who}." for who in
       ["a new colleague", "a neighbour", "my grandmother", "a teacher", "a friend's birthday", "a wedding card",
        "a thank-you note", "a farewell party", "a new year card", "a get-well card"]]
)  # fmt: skip


def request(text: str, *, tools: bool, choice: str = "auto", tokens: int) -> GenerationRequest:
    turns = (ChatTurn(Role.SYSTEM, SYSTEM), ChatTurn(Role.USER, text))
    return GenerationRequest(
        turns, SamplingParams(max_tokens=tokens, seed=1, temperature=0.2), tools=TOOLS if tools else (),
        tool_choice=choice,
    )  # fmt: skip


def run(worker: WorkerClient, req: GenerationRequest, timings: list | None = None) -> tuple[str, list, float]:
    """(text, calls, seconds); the worker's own timings (time to first token, tokens per second) go to `timings`."""
    started = time.perf_counter()
    events = list(worker.generate(req))
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    if timings is not None:
        timings += [e.timings for e in events if isinstance(e, DoneEvent)]
    return text, [e.call for e in events if isinstance(e, ToolCallEvent)], time.perf_counter() - started


def valid(call) -> bool:
    spec = next((t for t in TOOLS if t.name == call.name), None)
    return spec is not None and validation_error(spec, call.arguments) is None


def free_form(worker: WorkerClient, text: str, tokens: int) -> tuple[bool, bool]:
    """(called, valid) with the tool block in the prompt and no grammar."""
    messages = generic_messages(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}], tools_to_wire(TOOLS)
    )
    turns = tuple(ChatTurn(Role(m["role"]), m["content"]) for m in messages)
    reply, _, _ = run(worker, GenerationRequest(turns, SamplingParams(max_tokens=tokens, seed=1, temperature=0.2)))
    parsed = parse_call(reply)
    if parsed is None:
        return False, False
    name, arguments = parsed
    spec = next((t for t in TOOLS if t.name == name), None)
    return True, spec is not None and isinstance(arguments, dict) and validation_error(spec, arguments) is None


def mcp_overhead(calls: int) -> tuple[float, float]:
    """Median seconds of one read_note call through McpServers, and straight through the SDK. The two take turns in
    rounds of ROUND calls, each with its own server running, so a busy machine slows both alike. Ours is called as
    the turn loop calls it, from plain synchronous code; the SDK's session is awaited in its own event loop, which
    runs for its rounds (a call through McpServers runs its connection's loop on the calling thread, which cannot
    be done inside another running loop)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    with tempfile.TemporaryDirectory() as folder:
        notes = Path(folder) / "notes"
        notes.mkdir()
        (notes / "a.txt").write_text("hello")
        servers = McpServers(Path(folder) / "data")
        servers.add("notes", sys.executable, [str(SERVER), str(notes)])
        servers.tools(thread=None)  # started and listed first: only calls are timed
        ours, theirs = [], []

        async def serve(ready: asyncio.Future, closing: asyncio.Event) -> None:
            params = StdioServerParameters(command=sys.executable, args=[str(SERVER), str(notes)])
            with open(os.devnull, "w") as sink:
                async with stdio_client(params, errlog=sink) as streams, ClientSession(*streams) as session:
                    await session.initialize()
                    await session.list_tools()
                    ready.set_result(session)
                    await closing.wait()

        async def sdk_round(session) -> None:
            for _ in range(ROUND):
                started = time.perf_counter()
                await session.call_tool("read_note", {"name": "a.txt"})
                theirs.append(time.perf_counter() - started)

        loop = asyncio.new_event_loop()
        ready, closing = loop.create_future(), asyncio.Event()
        served = loop.create_task(serve(ready, closing))
        try:
            session = loop.run_until_complete(ready)
            for _ in range(0, calls, ROUND):
                for _ in range(ROUND):
                    started = time.perf_counter()
                    servers.call(None, "read_note", {"name": "a.txt"})
                    ours.append(time.perf_counter() - started)
                loop.run_until_complete(sdk_round(session))
        finally:
            closing.set()
            loop.run_until_complete(served)
            loop.close()
            servers.stop_all()
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--mcp-calls", type=int, default=200)
    args = parser.parse_args()
    models = ModelService(Path(os.environ.get("THREADLOOM_MODELS_DIR", "models")))
    spec = models.spec(None)
    worker = WorkerClient(WorkerConfig(models.path_of(spec), spec.name, n_ctx=2048))
    worker.start()
    forced_valid = 0
    auto_right = auto_calls = auto_valid = 0
    free_right = free_calls = free_valid = 0
    plain_times, tool_times = [], []
    plain_timings, tool_timings = [], []  # of the replies that are text (a call's speed is the grammar's)
    for needed, prompts in ((True, NEEDS_TOOL), (False, NO_TOOL)):
        for text in prompts:
            if needed:
                _, calls, _ = run(worker, request(text, tools=True, choice="required", tokens=args.tokens))
                forced_valid += bool(calls) and valid(calls[0])
            timings: list = []
            _, calls, tool_s = run(worker, request(text, tools=True, tokens=args.tokens), timings)
            tool_timings += timings if not calls else []
            auto_calls += bool(calls)
            auto_valid += bool(calls) and valid(calls[0])
            auto_right += bool(calls) == needed
            _, _, plain_s = run(worker, request(text, tools=False, tokens=args.tokens), plain_timings)
            tool_times.append(tool_s)
            plain_times.append(plain_s)
            called, ok = free_form(worker, text, args.tokens)
            free_calls += called
            free_valid += ok
            free_right += called == needed
    worker.shutdown()
    total = len(NEEDS_TOOL) + len(NO_TOOL)
    print(f"model: {spec.name}; {len(NEEDS_TOOL)} prompts need a tool, {len(NO_TOOL)} do not; max {args.tokens} tokens")
    print(f"schema-valid calls, grammar forcing a call: {forced_valid}/{len(NEEDS_TOOL)} "
          f"({100 * forced_valid / len(NEEDS_TOOL):.0f} %)")
    print(f"grammar, model decides: {auto_calls} calls, {auto_valid} schema-valid; decision accuracy "
          f"{auto_right}/{total} ({100 * auto_right / total:.0f} %)")
    print(f"free-form baseline:     {free_calls} calls, {free_valid} schema-valid; decision accuracy "
          f"{free_right}/{total} ({100 * free_right / total:.0f} %)")
    plain, tool = statistics.median(plain_times), statistics.median(tool_times)
    print(f"turn latency, median: plain {plain:.2f} s, with tools {tool:.2f} s (ratio {tool / plain:.2f})")
    for what, pick in (("time to first token", lambda t: t.ttft_s), ("tokens per second", lambda t: t.tokens_per_s)):
        plain_median = statistics.median(pick(t) for t in plain_timings)
        tool_median = statistics.median(pick(t) for t in tool_timings) if tool_timings else float("nan")
        print(f"  {what} of text replies, median: plain {plain_median:.3f}, with tools offered {tool_median:.3f} "
              f"(ratio {tool_median / plain_median:.2f})")
    ours, theirs = mcp_overhead(args.mcp_calls)
    print(f"MCP call, median of {args.mcp_calls}: through Threadloom {1000 * ours:.1f} ms, SDK directly "
          f"{1000 * theirs:.1f} ms (ratio {ours / theirs:.2f})")


if __name__ == "__main__":
    main()
