"""`threadloom assistants`: saved set-ups that `chat --new --assistant NAME` starts a thread from."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.output import print_json, shown
from app.core.memory import Assistant
from app.core.routing import PrivacyRule
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    assistants = commands.add_parser("assistants", help="saved set-ups new threads start from")
    actions = assistants.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the assistants")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_assistants)
    for name, help, handler in (("add", "save a set-up", add), ("edit", "change a set-up", edit)):
        parser = actions.add_parser(name, help=help)
        parser.add_argument("name")
        parser.add_argument("--system", metavar="TEXT", help="the system prompt of its threads")
        parser.add_argument("--model", help="a local model's name or PROVIDER/MODEL")
        parser.add_argument("--tool", action="append", metavar="NAME", help="a tool its threads may use (repeat)")
        parser.add_argument("--folder", action="append", metavar="PATH", help="a knowledge folder (repeat)")
        parser.add_argument("--privacy", choices=[str(rule) for rule in PrivacyRule])
        if name == "edit":
            parser.add_argument("--rename", metavar="NAME")
        parser.add_argument("--json", action="store_true")
        parser.set_defaults(handler=handler)
    remove = actions.add_parser("remove", help="delete a set-up (its threads stay as they are)")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_assistant)


def assistant_json(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.id,
        "name": assistant.name,
        "system_prompt": assistant.system_prompt,
        "model": assistant.model,
        "tools": list(assistant.tools),
        "folders": list(assistant.folders),
        "privacy": str(assistant.privacy_rule),
        "created_at": assistant.created_at.isoformat() if assistant.created_at else None,
    }


def _print(assistants: list[Assistant], as_json: bool, *, one: bool = False) -> int:
    if as_json:
        print_json(assistant_json(assistants[0]) if one else [assistant_json(a) for a in assistants])
        return 0
    for a in assistants:
        print(f"{shown(a.name)}  model {a.model or '(default)'}  {a.privacy_rule}  {shown(a.system_prompt or '')}")
    return 0


def list_assistants(args: argparse.Namespace, session: Session) -> int:
    return _print(session.assistants.list(), args.json)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if args.system is not None:
        fields["system_prompt"] = args.system.strip() or None
    if args.model is not None:
        fields["model"] = args.model or None
    if args.tool is not None:
        fields["tools"] = tuple(args.tool)
    if args.folder is not None:
        fields["folders"] = tuple(args.folder)
    if args.privacy is not None:
        fields["privacy_rule"] = PrivacyRule(args.privacy)
    return fields


def add(args: argparse.Namespace, session: Session) -> int:
    return _print([session.assistants.add(Assistant(0, args.name, **_given(args)))], args.json, one=True)


def edit(args: argparse.Namespace, session: Session) -> int:
    fields = _given(args) | ({"name": args.rename} if args.rename else {})
    return _print([session.assistants.edit(args.name, **fields)], args.json, one=True)


def remove_assistant(args: argparse.Namespace, session: Session) -> int:
    session.assistants.remove(args.name)
    print(f"assistant {shown(args.name)} removed")
    return 0
