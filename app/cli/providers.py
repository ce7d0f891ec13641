"""`threadloom providers`: hosted OpenAI-compatible endpoints. The API key is read from a prompt or standard input,
never from an argument (other users can read a process's arguments), and is kept in the OS keyring only."""

from __future__ import annotations

import argparse

from app.cli.output import print_json
from app.cli.secret_input import read_secret
from app.core.routing import Provider
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    providers = commands.add_parser("providers", help="hosted models (OpenAI-compatible endpoints)").add_subparsers(
        dest="action", required=True
    )
    add = providers.add_parser(
        "add", help="add an endpoint; the API key is asked for (or read from standard input when it is not a terminal)"
    )
    add.add_argument("name", help="a short name, used as PROVIDER in --model PROVIDER/MODEL")
    add.add_argument("--base-url", required=True, help="the endpoint's base URL, e.g. https://api.example.com/v1")
    add.add_argument("--model", required=True, help="the model id to ask by default")
    add.add_argument("--json", action="store_true")
    listing = providers.add_parser("list", help="the endpoints added (never their keys)")
    listing.add_argument("--json", action="store_true")
    remove = providers.add_parser("remove", help="remove an endpoint and its key from the keyring")
    remove.add_argument("name")
    remove.add_argument("--json", action="store_true")
    for parser in (add, listing, remove):
        parser.set_defaults(handler=run)


def provider_json(provider: Provider) -> dict:
    return {
        "name": provider.name,
        "base_url": provider.base_url,
        "model": provider.model,
        "created_at": provider.created_at.isoformat(),
    }


def run(args: argparse.Namespace, session: Session) -> int:
    providers = session.providers
    if args.action == "add":
        provider = providers.add(args.name, base_url=args.base_url, model=args.model, api_key=read_secret("API key"))
        if args.json:
            print_json(provider_json(provider))
        else:
            print(f"added {provider.name} ({provider.base_url}, model {provider.model}); its key is in the OS keyring")
        return 0
    if args.action == "remove":
        provider = providers.remove(args.name)
        if args.json:
            print_json(provider_json(provider))
        else:
            print(f"removed {provider.name} and its key")
        return 0
    rows = providers.list()
    if args.json:
        print_json([provider_json(provider) for provider in rows])
    else:
        for provider in rows:
            print(f"{provider.name:<16} {provider.model:<28} {provider.base_url}")
    return 0
