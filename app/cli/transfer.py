"""`threadloom export` and `threadloom import`: history in and out of the app."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.memory import memory_json
from app.cli.output import print_json, shown, thread_json
from app.cli.stats import parse_day
from app.core.errors import InvalidInput
from app.services.session import Session
from app.services.training import TrainingFilter, finetune_lines, preference_lines
from app.services.transfer import export_json, export_markdown, import_file

TRAINING_FORMATS = {"finetune": finetune_lines, "preference": preference_lines}


def register(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="export threads as Markdown, lossless JSON, or fine-tuning / preference JSONL"
    )
    which = export.add_mutually_exclusive_group()
    which.add_argument("id", type=int, nargs="?", help="the thread to export")
    which.add_argument("--all", action="store_true", help="every thread, archived ones included")
    export.add_argument("--format", choices=("md", "json", *TRAINING_FORMATS), default="md")
    export.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    training = export.add_argument_group("training sets (--format finetune or preference; every thread that matches)")
    training.add_argument("--tag", help="only threads with this tag")
    training.add_argument("--rated", choices=("up",), help="only replies rated up")
    training.add_argument("--since", metavar="YYYY-MM-DD", help="only threads active on or after this day (UTC)")
    training.add_argument("--model", help="only replies this model wrote")
    training.add_argument("--include-hosted", action="store_true", help="threads that went to a hosted model too")
    training.add_argument("--include-incognito", action="store_true", help="incognito threads too")
    export.set_defaults(handler=run_export)

    imports = commands.add_parser("import", help="import a Threadloom, ChatGPT or Open WebUI JSON export")
    imports.add_argument("path", type=Path)
    imports.add_argument("--json", action="store_true")
    imports.set_defaults(handler=run_import)


def run_export(args: argparse.Namespace, session: Session) -> int:
    from app.core.domain import ThreadFilter

    store = session.store
    if args.format in TRAINING_FORMATS:
        lines = list(TRAINING_FORMATS[args.format](store, _training_filter(args)))
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        return _write(args.output, text, f"{len(lines)} line(s)")
    training_options = [option for option in ("tag", "rated", "since", "model") if getattr(args, option)]
    if args.include_hosted or args.include_incognito or training_options:
        raise InvalidInput("--tag, --rated, --since, --model and --include-… go with --format finetune or preference")
    if args.id is None and not args.all:
        raise InvalidInput("say which thread to export (its id), or --all")
    ids = (
        [thread.id for thread in reversed(store.list_threads(ThreadFilter(include_archived=True)))]
        if args.all
        else [store.get_thread(args.id).id]
    )
    memories = session.memory.list_memories() if args.all else []
    if args.format == "json":
        data = export_json(store, ids) | ({"memories": [memory_json(m) for m in memories]} if args.all else {})
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = export_markdown(store, ids) + memories_markdown(memories)
    return _write(args.output, text, f"{len(ids)} thread(s)")


def _training_filter(args: argparse.Namespace) -> TrainingFilter:
    if args.id is not None:
        raise InvalidInput(f"--format {args.format} exports every thread that matches its filters, not one id")
    return TrainingFilter(
        tag=args.tag,
        rated_up_only=args.rated == "up",
        since=parse_day(args.since),
        model=args.model,
        include_hosted=args.include_hosted,
        include_incognito=args.include_incognito,
    )


def _write(output: Path | None, text: str, what: str) -> int:
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {output}: {exc.strerror}") from exc
    print(f"exported {what} to {output}", file=sys.stderr)
    return 0


def memories_markdown(memories: list) -> str:
    """The long-term memories after the threads of `export --all`, one line each with where it came from."""
    if not memories:
        return ""
    lines = ["", "# Memories", ""]
    for memory in reversed(memories):
        where = ", ".join(f"thread {s.thread_id}, message {s.message_id}" for s in memory.sources) or "added by you"
        lines.append(f"- {memory.text} ({memory.status}; {where})")
    return "\n".join(lines) + "\n"


def run_import(args: argparse.Namespace, session: Session) -> int:
    report = import_file(session.store, args.path)
    if args.json:
        print_json(
            {
                "imported": [thread_json(thread) for thread in report.imported],
                "skipped": [{"title": title, "reason": why} for title, why in report.skipped],
            }
        )
    else:
        for thread in report.imported:
            print(f"imported {thread.id}: {shown(thread.title)}")
        for title, why in report.skipped:
            print(f"skipped '{shown(title)}': {shown(why)}", file=sys.stderr)
    return 0
