"""`threadloom tools list`, `approve CALL_ID [--always]` and `deny CALL_ID`: the tools threads may call, and the
user's answer to a call that waits for it (the paused reply then goes on, printed as `chat` prints it)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from app.cli.chat import report_turn
from app.cli.output import print_json
from app.core.domain import Thread
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    tools = commands.add_parser("tools", help="the tools a model may call in a thread")
    actions = tools.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every tool, its server, effect and whether the thread is offered it")
    listing.add_argument("--thread", type=int, metavar="ID", help="for this thread (else: what a new thread gets)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_tools)
    for name, help_text in (("approve", "run a tool call that waits for your yes"), ("deny", "refuse it")):
        answer = commands.add_parser(name, help=help_text)
        answer.add_argument("call_id", type=int, metavar="CALL_ID")
        if name == "approve":
            answer.add_argument("--always", action="store_true", help="and let this tool run in this thread from now on")
        answer.add_argument("--json", action="store_true", help="print the resumed reply as `chat --json` does")
        answer.set_defaults(handler=approve if name == "approve" else deny)


def list_tools(args: argparse.Namespace, session: Session) -> int:
    if args.thread is not None:
        thread = session.store.get_thread(args.thread)
    else:  # a thread not made yet: no attachments, no choice of its own
        now = datetime.now(UTC)
        thread = Thread(id=0, title="", created_at=now, updated_at=now)
    tools = session.tools.tools(thread)
    if args.json:
        print_json(
            [
                {
                    "name": spec.name, "server": spec.server, "effect": str(spec.effect),
                    "description": spec.description, "parameters": spec.parameters, "offered": offered,
                }
                for spec, offered in tools
            ]
        )  # fmt: skip
        return 0
    for spec, offered in tools:
        mark = "" if offered else "  (not offered in this thread)"
        print(f"{spec.name}  [{spec.server}, {spec.effect}]  {spec.description}{mark}")
    return 0


def approve(args: argparse.Namespace, session: Session) -> int:
    call = session.tools.pending(args.call_id)
    return report_turn(args, session, call.thread_id, session.tools.answer(call.id, run=True, always=args.always))


def deny(args: argparse.Namespace, session: Session) -> int:
    call = session.tools.pending(args.call_id)
    return report_turn(args, session, call.thread_id, session.tools.answer(call.id, run=False))
