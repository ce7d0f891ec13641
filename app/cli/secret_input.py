"""Secrets typed by the user (API keys, document passwords): asked for without echo in a terminal, else one line of
standard input. Never an argument: the command line of a process is visible to every user of the machine."""

from __future__ import annotations

import getpass
import sys

from app.core.errors import InvalidInput


def read_secret(what: str, *, prompt: bool = True) -> str:
    """`what` (e.g. "API key") from a prompt when standard input is a terminal and `prompt` is set, else its first
    line."""
    if prompt and sys.stdin.isatty():
        return getpass.getpass(f"{what} (not shown): ")
    line = sys.stdin.readline()
    if not line.strip():
        raise InvalidInput(f"no {what} on standard input: pipe it in, or run in a terminal to be asked for it")
    return line.rstrip("\r\n")
