"""LoCoMo through long-term memory (prints figures, asserts nothing).

Each conversation's sessions are replayed in order as threads (every turn a user message "Speaker: text"), and
memory extraction runs after each session on the starter model (auto-approve on). Then for each question
(the adversarial category 5 left out):
  (a) evidence recall@5 and @10: the share of the question's evidence turns among the sources of the first k
      memories recalled for it (within the 600-token budget), against BM25 (FTS5) over the raw turns in the same
      run, and the ratio; the share of evidence turns that are any memory's source (where extraction lost it);
      the same recall counting only each memory's first source (the message it was proposed from: how much comes
      from the other messages that say it too); with the tokens recalled memories put in the prompt against the
      whole history's; `--misses` prints, for each question memory missed, where each evidence turn was lost;
  (b) answer token-F1 with LoCoMo's normalisation, memory vs no memory, on the starter model (a subset);
  (c) extraction time per session and memories per session.

    THREADLOOM_MODELS_DIR=models .venv/bin/python tests/benchmarks/memory.py --data ../shared/data/locomo \\
        --conversations 1 --sessions 4 --answers 20
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.domain import (
    CallPurpose,
    ChatTurn,
    GenerationRequest,
    Role,
    SamplingParams,
)
from app.core.memory import estimated_tokens
from app.platform.settings import Settings, save_settings
from app.retrieval.search import any_word_query, content_words
from app.services.memory import RECALL_HEADER
from app.services.session import open_session

ADVERSARIAL = 5
ANSWER_PROMPT = "Answer the question in a few words."


def normalise(text: str) -> list[str]:
    """LoCoMo's (SQuAD's) answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = str(text).lower().replace(",", "")
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the|and)\b", " ", text)
    return text.split()


def token_f1(prediction: str, gold: str) -> float:
    predicted, truth = normalise(prediction), normalise(gold)
    common = sum((Counter(predicted) & Counter(truth)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def sessions_of(conversation: dict) -> list[list[dict]]:
    numbers = sorted(
        int(key.split("_")[1]) for key in conversation if re.fullmatch(r"session_\d+", key) and conversation[key]
    )
    return [conversation[f"session_{n}"] for n in numbers]


def coverage(evidence: list[str], found: list[set[str]], k: int) -> float:
    """The share of the evidence turns among the turns the first k results came from."""
    seen = set().union(*found[:k]) if found else set()
    return sum(turn in seen for turn in evidence) / len(evidence)


def print_miss(question: dict, sourced: set[str], by_memory: list[set[str]], by_bm25: list[set[str]]) -> None:
    """Where each evidence turn was lost: never any memory's source, or recalled at which rank (vs BM25's)."""

    def rank(found: list[set[str]], turn: str) -> str:
        return next((str(i + 1) for i, turns in enumerate(found) if turn in turns), "-")

    lost = ", ".join(
        f"{turn}: " + (f"memory rank {rank(by_memory, turn)}" if turn in sourced else "no memory's source")
        + f", BM25 rank {rank(by_bm25, turn)}"
        for turn in question["evidence"]
    )  # fmt: skip
    print(f"  missed {question['question']!r}: {lost}", flush=True)


def generate(session, turns: tuple[ChatTurn, ...]) -> str:
    request = GenerationRequest(turns=turns, sampling=SamplingParams(temperature=0.0, max_tokens=24))
    return session.router.complete(request, purpose=CallPurpose.TURN)


def run(args: argparse.Namespace) -> None:
    samples = json.loads((Path(args.data) / "locomo3.json").read_text())[: args.conversations]
    names = ("mem5", "mem10", "bm5", "bm10", "first5", "first10", "reachable", "mem_tokens", "history", "f1_mem",
             "f1_none", "extract_s", "per_session")  # fmt: skip
    figures: dict[str, list[float]] = {name: [] for name in names}
    for sample in samples:
        data = Path(tempfile.mkdtemp(prefix="locomo-"))
        save_settings(data, Settings(memory_auto_approve=True, kv_cache=False))
        session = open_session(data, args.models_dir)
        store, memory = session.store, session.memory
        turn_of: dict[int, str] = {}
        sessions = sessions_of(sample["conversation"])[: args.sessions]
        history_chars = 0
        for number, turns in enumerate(sessions, start=1):
            thread = store.create_thread(f"{sample['sample_id']} session {number}")
            parent = None
            for turn in turns:
                text = f"{turn['speaker']}: {turn['text']}"
                history_chars += len(text)
                parent = store.add_message(thread.id, parent_id=parent, role=Role.USER, content=text).id
                turn_of[parent] = turn["dia_id"]
            before = len(memory.list_memories())
            started = time.perf_counter()
            memory.extract(thread.id)
            figures["extract_s"].append(time.perf_counter() - started)
            figures["per_session"].append(len(memory.list_memories()) - before)
            print(f"session {number}: {len(turns)} turns, {figures['per_session'][-1]} memories, "
                  f"{figures['extract_s'][-1]:.1f} s", flush=True)  # fmt: skip
        in_scope = {turn_of[m] for m in turn_of}
        questions = [q for q in sample["qa"] if q.get("category") != ADVERSARIAL and q.get("evidence")
                     and all(e in in_scope for e in q["evidence"])]  # fmt: skip
        sourced = {turn_of.get(s.message_id) for m in memory.list_memories() for s in m.sources}
        probe = store.create_thread("probe")
        answered = 0
        for question in questions:
            recalled = memory.recall_for_start(probe, question["question"])
            by_memory = [{turn_of.get(s.message_id) for s in m.sources} for m in recalled]
            match = any_word_query(content_words(question["question"]))
            hits = store.db.execute_sql(
                "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rank LIMIT 10", (match,)
            ).fetchall() if match else []  # fmt: skip
            by_bm25 = [{turn_of.get(row[0])} for row in hits]
            by_first_source = [{turn_of.get(m.sources[0].message_id)} if m.sources else set() for m in recalled]
            figures["reachable"].append(coverage(question["evidence"], [sourced], 1))
            for k in (5, 10):
                figures[f"mem{k}"].append(coverage(question["evidence"], by_memory, k))
                figures[f"bm{k}"].append(coverage(question["evidence"], by_bm25, k))
                figures[f"first{k}"].append(coverage(question["evidence"], by_first_source, k))
            if args.misses and figures["mem10"][-1] < 1:
                print_miss(question, sourced, by_memory, by_bm25)
            lines = "\n".join(f"- {m.text}" for m in recalled)
            figures["mem_tokens"].append(estimated_tokens(f"{RECALL_HEADER}\n{lines}") if recalled else 0)
            figures["history"].append(history_chars // 4)
            if answered < args.answers:
                answered += 1
                gold = str(question["answer"])
                ask = ChatTurn(Role.USER, question["question"])
                with_memory = (ChatTurn(Role.SYSTEM, f"{ANSWER_PROMPT}\n{RECALL_HEADER}\n{lines}"), ask)
                without = (ChatTurn(Role.SYSTEM, ANSWER_PROMPT), ask)
                figures["f1_mem"].append(token_f1(generate(session, with_memory), gold))
                figures["f1_none"].append(token_f1(generate(session, without), gold))
        asked = len(questions)
        here = {name: statistics.fmean(figures[name][-asked:]) if asked else float("nan") for name in names[:4]}
        print(f"{sample['sample_id']}: {len(sessions)} sessions, {len(turn_of)} turns, {asked} questions, "
              f"{len(memory.list_memories())} memories; recall@5 memory {here['mem5']:.3f} BM25 {here['bm5']:.3f}, "
              f"@10 memory {here['mem10']:.3f} BM25 {here['bm10']:.3f}", flush=True)  # fmt: skip
        session.close()

    def mean(name: str) -> float:
        return statistics.fmean(figures[name]) if figures[name] else float("nan")

    def ratio(a: str, b: str) -> str:
        return f"{mean(a) / mean(b):.2f}" if mean(b) else "n/a"

    print()
    print(f"(a) evidence recall@5:  memory {mean('mem5'):.3f}  BM25 over raw turns {mean('bm5'):.3f}  "
          f"ratio {ratio('mem5', 'bm5')}")  # fmt: skip
    print(f"    evidence recall@10: memory {mean('mem10'):.3f}  BM25 over raw turns {mean('bm10'):.3f}  "
          f"ratio {ratio('mem10', 'bm10')}")  # fmt: skip
    print(f"    counting only each memory's first source: @5 {mean('first5'):.3f}, @10 {mean('first10'):.3f}")
    print(f"    evidence turns that are some memory's source (the most recall can find): {mean('reachable'):.3f}")
    print(f"    prompt tokens: recalled memories {mean('mem_tokens'):.0f} (budget 600) vs whole history "
          f"{mean('history'):.0f}")  # fmt: skip
    print(f"(b) answer token-F1 on {len(figures['f1_mem'])} questions: with memory {mean('f1_mem'):.3f}, "
          f"without {mean('f1_none'):.3f}")  # fmt: skip
    print(f"(c) extraction per session: {mean('extract_s'):.1f} s (median "
          f"{statistics.median(figures['extract_s']) if figures['extract_s'] else float('nan'):.1f}), "
          f"memories per session {mean('per_session'):.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the folder holding locomo3.json")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--conversations", type=int, default=1)
    parser.add_argument("--sessions", type=int, default=1000, help="the first N sessions of each conversation")
    parser.add_argument("--answers", type=int, default=20, help="questions answered by the model (slow)")
    parser.add_argument("--misses", action="store_true", help="print where each missed question's evidence was lost")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
