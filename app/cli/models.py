"""`threadloom models`: the catalog and fetching weights. Opens no database."""

from __future__ import annotations

import argparse
import sys

from app.cli.output import print_json
from app.platform.paths import data_dir, models_dir
from app.services.models import ModelService


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list and fetch models").add_subparsers(dest="action", required=True)
    listing = models.add_parser("list", help="the catalog, with what is installed")
    listing.add_argument("--json", action="store_true")
    pull = models.add_parser("pull", help="fetch a model's weights (the starter model by default)")
    pull.add_argument("name", nargs="?")
    for parser in (listing, pull):
        parser.set_defaults(handler=run, needs_session=False)


def run(args: argparse.Namespace) -> int:
    service = ModelService(models_dir(data_dir(args.data_dir), args.models_dir))
    if args.action == "list":
        rows = service.installed()
        if args.json:
            print_json(
                [
                    {
                        "name": row.spec.name,
                        "installed": row.installed,
                        "path": row.path,
                        "size_bytes": row.spec.size_bytes,
                        "quantization": row.spec.quantization,
                        "context_length": row.spec.context_length,
                        "license": row.spec.license,
                        "source": row.spec.source,
                    }
                    for row in rows
                ]
            )
        else:
            for row in rows:
                state = "installed" if row.installed else "not installed"
                print(f"{row.spec.name:<28} {row.spec.size_bytes / 1e6:>6.0f} MB  {row.spec.license:<12} {state}")
        return 0
    shown = [-1]

    def progress(done: int, total: int, phase: str) -> None:
        percent = int(100 * done / total) if total else 0
        if percent != shown[0] and sys.stderr.isatty():
            print(f"\r{phase} {percent}%", end="", file=sys.stderr, flush=True)
        shown[0] = percent

    path = service.pull(args.name, progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(path)
    return 0
