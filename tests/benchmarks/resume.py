"""Instant resume: time to first token (TTFT) of a thread's next turn, against a fresh short prompt, in one run.

For threads of about 1,500 and 3,000 prompt tokens, the median of N runs of the TTFT of the next turn:
- warm: the same worker answered the thread's previous turn (its context is still there);
- restored: the worker was restarted (model loaded, not timed) and restores the thread's saved state from disk;
- cold: a restarted worker with saved states off (THREADLOOM_KV_CACHE=off) processes the whole thread again;
- regenerate: a new reply to the last message, in the warm worker (and, for information, after a restart);
each divided by the TTFT of a fresh ~20-token prompt in a new thread on a restarted worker with states off.

The thread keeps its size: each "next turn" is a new user message under the same last reply (an edit of the
previous one), with a different text each time. TTFT runs from the ChatService call to the first streamed token
(store writes, the worker process and any restore included). Between turns the benchmark waits for the worker to
save the state, as a person typing the next message would. Threads are fixed: n_threads=1, n_threads_batch=2.
Asserts nothing.

    THREADLOOM_MODELS_DIR=models .venv/bin/python tests/benchmarks/resume.py [--runs 5] [--sizes 1500 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.domain import ReplyFinished, ReplyStarted, Role, TokenEvent  # noqa: E402
from app.platform.settings import KV_CACHE_ENV  # noqa: E402
from app.services.session import open_session  # noqa: E402

FRESH_PROMPT = "Write one sentence about a lighthouse keeper who counts the waves at night."  # ~20 tokens
QUESTIONS = [
    "Go on.",
    "What did the keeper eat that winter?",
    "Describe the storm in one sentence.",
    "Who visited the island that year?",
    "Why did the lamp fail?",
    "What was written in the log book?",
    "How did the ships answer the light?",
    "Which season was the hardest?",
    "Tell me about the keeper's dog.",
    "What did the inspector say?",
    "Where did the supply boat come from?",
    "How tall was the tower?",
]
WIND = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
SKY = ["clear", "overcast", "foggy", "stormy", "drizzling", "bright", "hazy", "starry"]
WAIT_FOR_SAVE_S = 1.5
THREADS = {"n_threads": 1, "n_threads_batch": 2}


def history_pair(day: int) -> tuple[str, str]:
    user = f"What happened on day {day} at the lighthouse? Keep it to the facts of the log."
    reply = (
        f"On day {day} the wind came from the {WIND[day % 8]} and the sky was {SKY[(day * 3) % 8]}. "
        f"The keeper climbed the {88 + day % 7} steps at dusk, trimmed the wick and wound the clock. "
        f"{3 + day % 5} ships passed before midnight, and one of them signalled twice. "
        f"The barometer read {29 + (day % 10) / 10:.1f} inches; he noted {day % 4 + 1} gulls on the rail and "
        f"a {['calm', 'rough', 'choppy', 'heavy'][day % 4]} sea until the morning watch."
    )
    return user, reply


def build_thread(session, target_tokens: int) -> tuple[int, int, int]:
    """A thread whose next prompt is about `target_tokens` long: (thread id, last reply id, measured tokens)."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model_path = session.models.path_of(session.models.spec(session.chat.model_name))
    vocab = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    formatter = Jinja2ChatFormatter(
        template=vocab.metadata["tokenizer.chat_template"],
        eos_token=vocab._model.token_get_text(vocab.token_eos()),
        bos_token=vocab._model.token_get_text(vocab.token_bos()),
        add_generation_prompt=True,
    )
    store = session.store
    thread = store.create_thread(f"Lighthouse log, {target_tokens} tokens", title_source="user")
    messages: list[dict[str, str]] = []
    parent = None
    day = 0
    while True:
        rendered = formatter(messages=messages + [{"role": "user", "content": QUESTIONS[0]}])
        count = len(vocab.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True))
        if count >= target_tokens:
            return thread.id, parent, count
        day += 1
        user, reply = history_pair(day)
        parent = store.add_message(thread.id, parent_id=parent, role=Role.USER, content=user).id
        parent = store.add_message(thread.id, parent_id=parent, role=Role.ASSISTANT, content=reply).id
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]


def timed(events) -> tuple[float, ReplyFinished, ReplyStarted]:
    """Run one turn; TTFT from the call to the first streamed token."""
    started_at = time.perf_counter()
    first = None
    finished = started = None
    for event in events:
        if isinstance(event, ReplyStarted):
            started = event
        elif isinstance(event, TokenEvent) and first is None:
            first = time.perf_counter()
        elif isinstance(event, ReplyFinished):
            finished = event
    if finished.finish_reason == "error":
        raise RuntimeError(finished.reply.error)
    return (first or time.perf_counter()) - started_at, finished, started


class Bench:
    def __init__(self, data: Path, models_dir: Path, max_tokens: int) -> None:
        os.environ.pop(KV_CACHE_ENV, None)
        self.on = open_session(data, models_dir)
        os.environ[KV_CACHE_ENV] = "off"
        self.off = open_session(data, models_dir)
        os.environ.pop(KV_CACHE_ENV, None)
        assert self.on.kv_cache_dir is not None and self.off.kv_cache_dir is None
        for session in (self.on, self.off):
            session.chat.sampling = replace(session.chat.sampling, max_tokens=max_tokens, seed=1234)
        self.question = 0

    def next_question(self) -> str:
        self.question += 1
        return QUESTIONS[self.question % len(QUESTIONS)]

    @staticmethod
    def restart(session) -> None:
        session.router.unload_models()  # waits for a state being saved
        session.router.preload()

    def turn(self, session, thread_id: int, last_reply_id: int, previous_user_id: int | None):
        """The next turn under `last_reply_id`: a new message, or an edit of the previous next-turn message."""
        if previous_user_id is None:
            session.store.set_current_leaf(thread_id, last_reply_id)
            events = session.chat.send(thread_id, self.next_question())
        else:
            events = session.chat.edit(previous_user_id, self.next_question())
        ttft, finished, started = timed(events)
        time.sleep(WAIT_FOR_SAVE_S)
        return ttft, finished.reply, started.user_message.id

    def fresh(self, runs: int) -> list[tuple[float, int]]:
        results = []
        for _ in range(runs):
            self.restart(self.off)
            thread = self.off.chat.new_thread()
            ttft, finished, _ = timed(self.off.chat.send(thread.id, FRESH_PROMPT))
            results.append((ttft, finished.reply.usage.prompt_tokens))
            self.off.router.unload_models()  # its title request runs after the reply; not part of the next sample
        return results

    def size(self, target: int, runs: int) -> dict[str, list]:
        thread_id, last_reply, tokens = build_thread(self.on, target)
        rows: dict[str, list] = {"tokens": [tokens]}
        self.off.router.unload_models()
        self.restart(self.on)
        _, _, user_id = self.turn(self.on, thread_id, last_reply, None)  # prime: a cold prefill, then saved

        rows["warm"] = []
        for _ in range(runs):
            ttft, reply, user_id = self.turn(self.on, thread_id, last_reply, user_id)
            rows["warm"].append((ttft, reply.usage.prompt_tokens, reply.usage.cached_tokens))

        rows["regenerate"] = []
        for _ in range(runs):
            ttft, finished, _ = timed(self.on.chat.regenerate(reply.id))
            reply = finished.reply
            time.sleep(WAIT_FOR_SAVE_S)
            rows["regenerate"].append((ttft, reply.usage.prompt_tokens, reply.usage.cached_tokens))

        rows["restored"] = []
        for _ in range(runs):
            self.restart(self.on)
            ttft, reply, user_id = self.turn(self.on, thread_id, last_reply, user_id)
            rows["restored"].append((ttft, reply.usage.prompt_tokens, reply.usage.cached_tokens))

        rows["regenerate, restored"] = []
        for _ in range(runs):
            self.restart(self.on)
            ttft, finished, _ = timed(self.on.chat.regenerate(reply.id))
            reply = finished.reply
            time.sleep(WAIT_FOR_SAVE_S)
            rows["regenerate, restored"].append((ttft, reply.usage.prompt_tokens, reply.usage.cached_tokens))
        self.on.router.unload_models()

        rows["cold"] = []
        for _ in range(runs):
            self.restart(self.off)
            ttft, reply, user_id = self.turn(self.off, thread_id, last_reply, user_id)
            rows["cold"].append((ttft, reply.usage.prompt_tokens, reply.usage.cached_tokens))
        self.off.router.unload_models()
        return rows

    def close(self) -> None:
        self.on.close()
        self.off.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1500, 3000])
    parser.add_argument("--max-tokens", type=int, default=8, help="reply length of each measured turn")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    args = parser.parse_args()

    models_dir = Path(os.environ.get("THREADLOOM_MODELS_DIR", Path(__file__).resolve().parents[2] / "models"))
    with tempfile.TemporaryDirectory() as data:
        (Path(data) / "settings.json").write_text(json.dumps(THREADS))
        bench = Bench(Path(data), models_dir, args.max_tokens)
        try:
            spec = bench.on.models.spec(bench.on.chat.model_name)
            print(
                f"model {spec.name}, n_ctx {min(bench.on.settings.n_ctx, spec.context_length)}, threads {THREADS}, median of {args.runs}, "
                f"replies of {args.max_tokens} tokens; load average at start {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs"
            )
            fresh = bench.fresh(args.runs)
            base = statistics.median(t for t, _ in fresh)
            print(f"fresh prompt ({fresh[0][1]} prompt tokens, new thread, restarted worker): TTFT {base:.3f} s")
            raw: dict = {"fresh": fresh}
            print(f"{'thread':>8} {'case':<22}{'TTFT s':>9}{'÷ fresh':>9}{'prompt':>8}{'reused':>8}   goal")
            goals = {"warm": 1.5, "restored": 2.0, "regenerate": 1.5}
            for size in args.sizes:
                rows = bench.size(size, args.runs)
                raw[size] = rows
                for case in ("warm", "restored", "cold", "regenerate", "regenerate, restored"):
                    samples = rows[case]
                    ttft = statistics.median(s[0] for s in samples)
                    prompt = statistics.median(s[1] for s in samples)
                    reused = statistics.median(s[2] for s in samples)
                    goal = f"≤ {goals[case]}×" if case in goals else ""
                    print(
                        f"{rows['tokens'][0]:>8} {case:<22}{ttft:>9.3f}{ttft / base:>8.2f}×{prompt:>8.0f}{reused:>8.0f}"
                        f"   {goal}",
                        flush=True,
                    )
            log = (Path(data) / "worker.log").read_text(errors="replace")
            for what in ("saved", "restored"):  # the worker's own timing of writing / checking + loading a state
                found = re.findall(rf"worker: {what} (\d+) tokens .*?(?:\(([\d.]+) MB\) )?in (\d+) ms", log)
                if found:
                    print(
                        f"{what} states: {len(found)}, median {statistics.median(int(f[2]) for f in found)} ms "
                        f"(largest {max(int(f[0]) for f in found)} tokens)"
                    )
            usage = sum(p.stat().st_size for p in (Path(data) / "kv-cache").rglob("*.kv"))
            print(f"saved states on disk at the end: {usage / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}")
            if args.json:
                args.json.write_text(json.dumps(raw, indent=1))
        finally:
            bench.close()


if __name__ == "__main__":
    main()
