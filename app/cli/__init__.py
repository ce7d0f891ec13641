"""The `threadloom` command: the window by default, and headless commands over the same services.

Each command lives in its own module with a `register(commands)` that adds its parser and sets `handler` (and
`needs_session=False` for commands that do not open the database). Commands and their JSON fields are a public
interface (people script them): keep them stable and in the README. Exit status is 0 on success and 1 with a
one-line `threadloom: error: …` on stderr otherwise (130 on Ctrl+C). An unexpected error's traceback goes to
`threadloom.log` in the data directory, and the line on stderr says where.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.core.errors import ThreadloomError
from app.platform.logs import setup_logging
from app.platform.paths import data_dir
from app.platform.settings import load_settings

log = logging.getLogger(__name__)

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
    command = args.command or "gui"
    log_file = _start_log(args)
    try:
        return _dispatch(args)
    except ThreadloomError as exc:
        log.warning("%s: %s", command, exc)
        print(f"threadloom: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("threadloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`threadloom … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last stop: the traceback goes to the log, one line to the user
        log.exception("`%s` failed unexpectedly", command)
        where = f"the details are in {log_file}" if log_file else "no log could be written"
        print(f"threadloom: error: `{command}` failed unexpectedly ({type(exc).__name__}); {where}", file=sys.stderr)
        return 1


def _start_log(args: argparse.Namespace) -> Path | None:
    """The log in the data directory the command uses; a folder that cannot be written is the command's to report."""
    data = data_dir(args.data_dir)
    try:
        return setup_logging(data, level=load_settings(data).log_level)
    except OSError:
        return None


def _dispatch(args: argparse.Namespace) -> int:
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
