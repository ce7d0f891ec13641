"""`threadloom search`: one search over every thread, archived ones included, deleted ones not."""

from __future__ import annotations

import argparse

from app.cli.output import print_json, shown
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    search = commands.add_parser("search", help='search all threads: words, "phrases" and prefix*')
    search.add_argument("query")
    search.add_argument("--tag", help="only threads with this tag")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=run)


def run(args: argparse.Namespace, session: Session) -> int:
    session.search.index_pending()  # messages written since the last search get their vectors first
    hits = session.search.search(args.query, tag=args.tag, limit=args.limit)
    if args.json:
        print_json(
            [
                {
                    "thread_id": hit.thread_id,
                    "thread_title": hit.thread_title,
                    "message_id": hit.message_id,
                    "role": str(hit.role),
                    "snippet": hit.snippet,
                    "score": hit.score,
                    "created_at": hit.created_at.isoformat(),
                    "archived": hit.archived,
                }
                for hit in hits
            ]
        )
    else:
        for hit in hits:
            print(f"{hit.thread_id:>6}  #{hit.message_id:<6} {shown(hit.thread_title)}\n        {shown(hit.snippet)}")
    return 0
