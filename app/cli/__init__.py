"""The `threadloom` command: the window by default, and headless commands over the same services.

Each command lives in its own module with a `register(commands)` that adds its parser and sets `handler` (and
`needs_session=False` for commands that do not open the database). Commands and their JSON fields are a public
interface (people script them): keep them stable and in the README. Exit status is 0 on success and 1 with a
one-line `threadloom: error: …` on stderr otherwise (130 on Ctrl+C).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from app.cli.output import shown
from app.core.errors import ThreadloomError

COMMAND_MODULES = (
    "app.cli.chat", "app.cli.threads", "app.cli.models", "app.cli.search", "app.cli.transfer",
    "app.cli.providers", "app.cli.routing", "app.cli.attach",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadloom", description="A local-first chat app where the thread is the product."
    )
    parser.add_argument("--data-dir", help="where the database and caches live (env THREADLOOM_HOME)")
    parser.add_argument("--models-dir", help="where model weights live (env THREADLOOM_MODELS_DIR)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("gui", help="open the window (the default)")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ThreadloomError as exc:
        print(f"threadloom: error: {shown(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("threadloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`threadloom … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    from app.platform.paths import data_dir
    from app.platform.settings import settings_notice

    notice = settings_notice(data_dir(args.data_dir))
    if notice:
        print(f"threadloom: warning: {shown(notice)}", file=sys.stderr)
    if not getattr(args, "needs_session", True):
        return args.handler(args)
    from app.services.session import open_session

    session = open_session(args.data_dir, args.models_dir)
    if args.command in (None, "gui"):
        from app.gui.main import run_gui

        return run_gui(session)
    try:
        return args.handler(args, session)
    finally:
        session.close()
