"""The `threadloom` command: the window by default, and headless commands over the same services.

Commands and their JSON fields are a public interface (people script them): keep them stable and in the README.
Exit status is 0 on success and 1 with a one-line `threadloom: error: …` on stderr otherwise (130 on Ctrl+C).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.core.errors import ThreadloomError
from app.core.models import Message, MessageStatus, ReplyFinished, ReplyStarted, Thread, TokenEvent


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "title": thread.title,
        "created_at": _iso(thread.created_at),
        "updated_at": _iso(thread.updated_at),
        "pinned": thread.pinned,
        "archived": thread.archived,
        "model": thread.model,
        "current_leaf_id": thread.current_leaf_id,
    }


def message_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": str(message.role),
        "content": message.content,
        "status": str(message.status),
        "created_at": _iso(message.created_at),
        "model": message.model,
        "error": message.error,
    }
    if message.usage is not None:
        data["usage"] = {
            "prompt_tokens": message.usage.prompt_tokens,
            "completion_tokens": message.usage.completion_tokens,
            "cached_tokens": message.usage.cached_tokens,
        }
    if message.timings is not None:
        data["timings"] = {"ttft_s": message.timings.ttft_s, "tokens_per_s": message.timings.tokens_per_s}
    return data


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadloom", description="A local-first chat app where the thread is the product.")
    parser.add_argument("--data-dir", help="where the database and caches live (env THREADLOOM_HOME)")
    parser.add_argument("--models-dir", help="where model weights live (env THREADLOOM_MODELS_DIR)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("gui", help="open the window (the default)")

    chat = commands.add_parser("chat", help="send a message and stream the reply to stdout")
    target = chat.add_mutually_exclusive_group()
    target.add_argument("--thread", type=int, metavar="ID", help="continue this thread")
    target.add_argument("--new", action="store_true", help="start a new thread (the default)")
    chat.add_argument("--json", action="store_true", help="print one JSON object when the reply is done")
    chat.add_argument("message", help="the message to send")

    threads = commands.add_parser("threads", help="list and show threads").add_subparsers(dest="action", required=True)
    listing = threads.add_parser("list", help="list threads, most recent first")
    listing.add_argument("--json", action="store_true")
    show = threads.add_parser("show", help="show a thread with all its messages")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="list and fetch models").add_subparsers(dest="action", required=True)
    models_list = models.add_parser("list", help="the catalog, with what is installed")
    models_list.add_argument("--json", action="store_true")
    pull = models.add_parser("pull", help="fetch a model's weights (the starter model by default)")
    pull.add_argument("name", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ThreadloomError as exc:
        print(f"threadloom: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("threadloom: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "models":
        return _models(args)
    from app.services.session import open_session

    session = open_session(args.data_dir, args.models_dir)
    if args.command in (None, "gui"):
        from app.gui.main import run_gui

        return run_gui(session)
    try:
        if args.command == "chat":
            return _chat(session, args)
        return _threads(session, args)
    finally:
        session.close()


def _chat(session, args: argparse.Namespace) -> int:
    thread_id = args.thread if args.thread is not None else session.chat.new_thread().id
    started: ReplyStarted | None = None
    finished: ReplyFinished | None = None
    for event in session.chat.send(thread_id, args.message):
        if isinstance(event, ReplyStarted):
            started = event
        elif isinstance(event, TokenEvent) and not args.json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, ReplyFinished):
            finished = event
    assert started is not None and finished is not None
    reply = finished.reply
    if args.json:
        usage = reply.usage
        timings = reply.timings
        _print_json(
            {
                "thread_id": thread_id,
                "message_id": reply.id,
                "user_message_id": started.user_message.id,
                "reply": reply.content,
                "status": str(reply.status),
                "finish_reason": finished.finish_reason,
                "error": reply.error,
                "usage": {
                    "prompt_tokens": usage.prompt_tokens if usage else 0,
                    "completion_tokens": usage.completion_tokens if usage else 0,
                    "cached_tokens": usage.cached_tokens if usage else 0,
                },
                "timings": {
                    "ttft_s": timings.ttft_s if timings else None,
                    "tokens_per_s": timings.tokens_per_s if timings else None,
                },
            }
        )
    else:
        print()
    if reply.status in (MessageStatus.ERROR, MessageStatus.INTERRUPTED):
        print(f"threadloom: error: {reply.error}", file=sys.stderr)
        return 1
    return 0


def _threads(session, args: argparse.Namespace) -> int:
    if args.action == "list":
        threads = session.store.list_threads()
        if args.json:
            _print_json([thread_json(thread) for thread in threads])
        else:
            for thread in threads:
                print(f"{thread.id:>6}  {thread.updated_at:%Y-%m-%d %H:%M}  {thread.title}")
        return 0
    thread = session.store.get_thread(args.id)
    messages = session.store.messages(thread.id)
    if args.json:
        _print_json({**thread_json(thread), "messages": [message_json(m) for m in messages]})
    else:
        print(f"# {thread.title}")
        for message in session.store.current_path(thread.id):
            marker = "" if message.status == MessageStatus.COMPLETE else f" [{message.status}]"
            print(f"\n## {message.role}{marker}\n\n{message.content}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from app.platform.paths import data_dir, models_dir
    from app.services.models import ModelService

    service = ModelService(models_dir(data_dir(args.data_dir), args.models_dir))
    if args.action == "list":
        rows = service.installed()
        if args.json:
            _print_json(
                [
                    {
                        "name": row.spec.name,
                        "installed": row.installed,
                        "path": row.path,
                        "size_bytes": row.spec.size_bytes,
                        "quantization": row.spec.quantization,
                        "context_length": row.spec.context_length,
                        "license": row.spec.license,
                        "source": row.spec.source,
                    }
                    for row in rows
                ]
            )
        else:
            for row in rows:
                state = "installed" if row.installed else "not installed"
                print(f"{row.spec.name:<28} {row.spec.size_bytes / 1e6:>6.0f} MB  {row.spec.license:<12} {state}")
        return 0
    shown = [-1]

    def progress(done: int, total: int, phase: str) -> None:
        percent = int(100 * done / total) if total else 0
        if percent != shown[0] and sys.stderr.isatty():
            print(f"\r{phase} {percent}%", end="", file=sys.stderr, flush=True)
        shown[0] = percent

    path = service.pull(args.name, progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(path)
    return 0
