"""`threadloom export` and `threadloom import`: history in and out of the app."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.memory import memory_json
from app.cli.output import print_json, shown, thread_json
from app.core.errors import InvalidInput
from app.services.session import Session
from app.services.transfer import export_json, export_markdown, import_file


def register(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export a thread or all threads as Markdown or lossless JSON")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="the thread to export")
    which.add_argument("--all", action="store_true", help="every thread, archived ones included")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    export.set_defaults(handler=run_export)

    imports = commands.add_parser("import", help="import a Threadloom, ChatGPT or Open WebUI JSON export")
    imports.add_argument("path", type=Path)
    imports.add_argument("--json", action="store_true")
    imports.set_defaults(handler=run_import)


def run_export(args: argparse.Namespace, session: Session) -> int:
    from app.core.domain import ThreadFilter

    store = session.store
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
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {args.output}: {exc.strerror}") from exc
    print(f"exported {len(ids)} thread(s) to {args.output}", file=sys.stderr)
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
