"""`threadloom threads`: list and show threads."""

from __future__ import annotations

import argparse

from app.cli.output import message_json, print_json, thread_json
from app.core.models import MessageStatus
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    threads = commands.add_parser("threads", help="list and show threads").add_subparsers(dest="action", required=True)
    listing = threads.add_parser("list", help="list threads, most recent first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run)
    show = threads.add_parser("show", help="show a thread with all its messages")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run)


def run(args: argparse.Namespace, session: Session) -> int:
    if args.action == "list":
        threads = session.store.list_threads()
        if args.json:
            print_json([thread_json(thread) for thread in threads])
        else:
            for thread in threads:
                print(f"{thread.id:>6}  {thread.updated_at:%Y-%m-%d %H:%M}  {thread.title}")
        return 0
    thread = session.store.get_thread(args.id)
    messages = session.store.messages(thread.id)
    if args.json:
        print_json({**thread_json(thread), "messages": [message_json(m) for m in messages]})
    else:
        print(f"# {thread.title}")
        for message in session.store.current_path(thread.id):
            marker = "" if message.status == MessageStatus.COMPLETE else f" [{message.status}]"
            print(f"\n## {message.role}{marker}\n\n{message.content}")
    return 0
