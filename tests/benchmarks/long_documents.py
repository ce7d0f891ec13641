"""Answers about long filings: is the evidence page among the passages a turn is given, and among those cited?

    python tests/benchmarks/long_documents.py --data ../shared/data/financebench-dev

Through the app's own services, as a user would: each filing is attached (read, chunked, embedded once: a file is
stored once by content), then each question is asked in a fresh thread with that filing attached, and the starter
model answers. Prints per question and in all: the evidence page among the passages given (recall@passages; the
data's pages are 0-indexed, ours 1-indexed), the page just before it (a near miss), the evidence page among the
cited passages, passages and prompt tokens per turn, and seconds per question. `--no-reply` stops each turn at its
first token (the passages are chosen and the prompt built by then), for a quicker look at retrieval. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.core.domain import ContextBuilt, ReplyFinished, TokenEvent  # noqa: E402
from app.platform.settings import Settings, save_settings  # noqa: E402
from app.services.session import open_session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, default=Path(os.environ.get("THREADLOOM_MODELS_DIR", REPO / "models")))  # noqa: E501
    parser.add_argument("--max-tokens", type=int, default=96, help="reply length of the starter model")
    parser.add_argument("--no-reply", action="store_true", help="stop each reply at its first token")
    parser.add_argument("--passage-share", type=float, help="the setting passage_share (default: the app's)")
    args = parser.parse_args()

    questions = [json.loads(line) for line in open(args.data / "questions.jsonl", encoding="utf-8")]
    data = Path(tempfile.mkdtemp(prefix="long-documents-"))
    if args.passage_share is not None:
        save_settings(data, Settings(passage_share=args.passage_share))
    session = open_session(data, args.models_dir)
    print(f"passage_share {session.settings.passage_share}", flush=True)
    session.chat.sampling = replace(session.chat.sampling, max_tokens=args.max_tokens, seed=1234)
    filings = sorted({q["doc_name"] for q in questions})
    started = time.perf_counter()
    pages = chunks = 0
    for name in filings:
        thread = session.chat.new_thread()
        (result,) = session.attachments.attach(thread.id, [args.data / "pdfs" / f"{name}.pdf"], summarise=False)
        if result.error:
            print(f"{name}: {result.error}", flush=True)
            continue
        pages += result.attachment.document.pages or 0
        chunks += result.attachment.document.chunk_count
    print(f"attached {len(filings)} filings ({pages} pages, {chunks} chunks) in {time.perf_counter() - started:.0f} s",
          flush=True)  # fmt: skip

    rows = []
    for question in questions:
        rows.append(ask(session, args, question))
        row = rows[-1]
        print(
            f"{question['financebench_id']} {question['doc_name']}: evidence p{sorted(row['evidence'])} "
            f"passages p{row['pages']} {'HIT' if row['given'] else ('p-1' if row['before'] else 'miss')}; "
            f"cited p{row['cited']}{' HIT' if row['cited_hit'] else ''}; {row['prompt_tokens']} prompt tokens, "
            f"{row['seconds']:.1f} s",
            flush=True,
        )
    session.close()
    count = len(rows)
    print(
        f"\n{count} questions over {len(filings)} filings: evidence page among the passages given "
        f"{sum(r['given'] for r in rows) / count:.2f} (goal >= 0.8), the page before it instead "
        f"{sum(r['before'] and not r['given'] for r in rows) / count:.2f}; among the cited passages "
        f"{sum(r['cited_hit'] for r in rows) / count:.2f}; "
        f"passages per turn {statistics.mean(r['passages'] for r in rows):.1f}, "
        f"prompt tokens per turn {statistics.mean(r['prompt_tokens'] for r in rows):.0f}, "
        f"seconds per question {statistics.mean(r['seconds'] for r in rows):.1f}"
        + (" (replies stopped at their first token)" if args.no_reply else ""),
        flush=True,
    )


def ask(session, args, question: dict) -> dict:
    """One question in a fresh thread with its filing attached (already ingested: stored once by content)."""
    thread = session.chat.new_thread()
    session.attachments.attach(thread.id, [args.data / "pdfs" / f"{question['doc_name']}.pdf"], summarise=False)
    evidence = {e["evidence_page_num"] + 1 for e in question["evidence"]}  # the data's pages are 0-indexed
    started = time.perf_counter()
    reply = None
    prompt_tokens = 0
    stream = session.chat.send(thread.id, question["question"])
    for event in stream:
        if isinstance(event, ContextBuilt):
            prompt_tokens = event.report.tokens
        if isinstance(event, TokenEvent) and args.no_reply:
            session.chat.stop()
        if isinstance(event, ReplyFinished):
            reply = event.reply
    seconds = time.perf_counter() - started
    user_id = reply.parent_id
    passages = session.attachments.documents.message_passages(user_id) or []
    pages = sorted({p.page for p in passages})
    citations = session.attachments.citations(reply)
    marked = [c for c in citations if f"[{c.number}]" in reply.content]
    cited = sorted({c.page for c in marked})
    return {
        "evidence": evidence,
        "pages": pages,
        "given": bool(evidence & set(pages)),
        "before": bool({page - 1 for page in evidence} & set(pages)),
        "cited": cited,
        "cited_hit": bool(evidence & set(cited)),
        "passages": len(passages),
        "prompt_tokens": prompt_tokens,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
