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

from app.cli.output import shown
from app.core.errors import ThreadloomError
from app.platform.logs import setup_logging
from app.platform.paths import data_dir
from app.platform.settings import load_settings, settings_notice

log = logging.getLogger(__name__)

# Global options that take a value, for telling a command name from a file path (see `with_default_command`).
GLOBAL_VALUE_OPTIONS = ("--data-dir", "--models-dir")
COMMAND_MODULES = (
    "app.cli.chat", "app.cli.threads", "app.cli.models", "app.cli.search", "app.cli.transfer",
    "app.cli.providers", "app.cli.routing", "app.cli.attach", "app.cli.memory", "app.cli.assistants",
    "app.cli.rate", "app.cli.stats", "app.cli.sql",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadloom", description="A local-first chat app where the thread is the product."
    )
    parser.add_argument("--data-dir", help="where the database and caches live (env THREADLOOM_HOME)")
    parser.add_argument("--models-dir", help="where model weights live (env THREADLOOM_MODELS_DIR)")
    parser.add_argument("--version", action="version", version=f"threadloom {_version()}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation in a temporary data folder (SQLite, the models, a reply, search) and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the window (the default); FILEs are attached to a new thread")
    gui.add_argument("files", nargs="*", metavar="FILE", help="files to attach to a new thread")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("threadloom")
    except PackageNotFoundError:
        return "unknown"


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name for action in parser._actions if isinstance(action, argparse._SubParsersAction) for name in action.choices
    ]


def with_default_command(argv: Sequence[str], commands: Sequence[str]) -> list[str]:
    """`threadloom FILE…` means `threadloom gui FILE…`: what a launcher runs for files dropped on it
    (Exec=threadloom %F in resources/threadloom.desktop). A first word that is neither a command nor a path is left
    to argparse, so a mistyped command is still reported as one."""
    argv = list(argv)
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in GLOBAL_VALUE_OPTIONS:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            if word not in commands and (os.sep in word or os.path.exists(word)):
                argv.insert(index, "gui")
            break
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_default_command(sys.argv[1:] if argv is None else argv, command_names(parser)))
    command = args.command or "gui"
    log_file = _start_log(args)
    try:
        return _dispatch(args)
    except ThreadloomError as exc:
        log.warning("%s: %s", command, exc)
        print(f"threadloom: error: {shown(exc)}", file=sys.stderr)
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
    """The log in the data directory the command uses; a folder that cannot be written is the command's to report.
    The self-test leaves every data folder alone (it works in a temporary one)."""
    if args.self_test:
        return None
    data = data_dir(args.data_dir)
    try:
        return setup_logging(data, level=load_settings(data).log_level)
    except OSError:
        return None


def _dispatch(args: argparse.Namespace) -> int:
    if args.self_test:
        from app.cli.selftest import run_self_test

        return run_self_test(args)
    notice = settings_notice(data_dir(args.data_dir))
    if notice:
        print(f"threadloom: warning: {shown(notice)}", file=sys.stderr)
    if not getattr(args, "needs_session", True):
        return args.handler(args)
    from app.services.session import open_session

    session = open_session(args.data_dir, args.models_dir)
    if args.command in (None, "gui"):
        from app.gui.main import run_gui

        return run_gui(session, files=[os.path.abspath(path) for path in getattr(args, "files", [])])
    try:
        return args.handler(args, session)
    finally:
        session.close()
