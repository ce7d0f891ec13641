"""`threadloom mcp list|add NAME -- COMMAND ARGS…|remove NAME|enable NAME|disable NAME [--json]`: the MCP servers
of `mcp.json` in the data folder."""

from __future__ import annotations

import argparse

from app.cli.output import print_json
from app.core.errors import InvalidInput
from app.services.mcp_servers import McpServerConfig, McpServerStatus
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser("mcp", help="MCP servers whose tools threads may call (mcp.json)")
    actions = mcp.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the servers, enabled or not, with their status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_servers)
    add = actions.add_parser("add", help="add a server: threadloom mcp add NAME -- COMMAND ARGS…")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="an environment variable")
    add.add_argument("--json", action="store_true")
    add.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS")
    add.set_defaults(handler=add_server)
    for action, help_text in (
        ("remove", "remove a server"), ("enable", "offer its tools to threads"), ("disable", "stop offering them"),
    ):  # fmt: skip
        sub = actions.add_parser(action, help=help_text)
        sub.add_argument("name", metavar="NAME")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(handler=change_server)


def config_json(config: McpServerConfig) -> dict:
    return {
        "name": config.name, "command": config.command, "args": list(config.args), "env": config.env,
        "enabled": config.enabled,
    }  # fmt: skip


def status_json(status: McpServerStatus) -> dict:
    return config_json(status.config) | {
        "status": status.state, "error": status.error, "tools": list(status.tools), "log": str(status.log_path),
    }  # fmt: skip


def list_servers(args: argparse.Namespace, session: Session) -> int:
    statuses = session.mcp.statuses()
    if args.json:
        print_json([status_json(status) for status in statuses])
        return 0
    for status in statuses:
        state = "enabled" if status.config.enabled else "disabled"
        print(f"{status.config.name}  [{state}]  {status.config.command} {' '.join(status.config.args)}")
    return 0


def add_server(args: argparse.Namespace, session: Session) -> int:
    # Everything after NAME is left to REMAINDER: options given before `--` are read here.
    words = list(args.command)
    before, command = (words[: words.index("--")], words[words.index("--") + 1:]) if "--" in words else ([], words)
    while before:
        option = before.pop(0)
        if option == "--json":
            args.json = True
        elif option == "--env" and before:
            args.env.append(before.pop(0))
        else:
            raise InvalidInput(f"unknown option {option!r} before --")
    if not command:
        raise InvalidInput("give the command after --: threadloom mcp add NAME -- COMMAND ARGS…")
    env = dict(pair.split("=", 1) for pair in args.env if "=" in pair)
    config = session.mcp.add(args.name, command[0], command[1:], env)
    _print(args, config)
    return 0


def change_server(args: argparse.Namespace, session: Session) -> int:
    if args.action == "remove":
        session.mcp.remove(args.name)
        if args.json:
            print_json({"name": args.name, "removed": True})
        else:
            print(f"removed {args.name}")
        return 0
    _print(args, session.mcp.set_enabled(args.name, args.action == "enable"))
    return 0


def _print(args: argparse.Namespace, config: McpServerConfig) -> None:
    if args.json:
        print_json(config_json(config))
    else:
        print(f"{config.name}  [{'enabled' if config.enabled else 'disabled'}]  {config.command} {' '.join(config.args)}")
