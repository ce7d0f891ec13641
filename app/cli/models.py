"""`threadloom models`: the catalog and the user's own models; fetch, add, remove, choose the default.
Opens no database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import print_json
from app.core.domain import ModelSpec
from app.platform.paths import data_dir, models_dir
from app.platform.settings import load_settings, save_settings
from app.services.download import DownloadProgress, format_eta
from app.services.models import ModelService


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list and fetch models").add_subparsers(dest="action", required=True)
    listing = models.add_parser("list", help="the catalog, with what is installed")
    listing.add_argument("--json", action="store_true")
    pull = models.add_parser("pull", help="fetch a model's weights (the starter model by default)")
    pull.add_argument("name", nargs="?")
    add = models.add_parser("add", help="add a .gguf file: checked, then copied into the models directory")
    add.add_argument("path")
    remove = models.add_parser("remove", help="delete a model's weights")
    remove.add_argument("name")
    default = models.add_parser("default", help="the model new threads use")
    default.add_argument("name")
    for parser in (pull, add, remove, default):
        parser.add_argument("--json", action="store_true")
    for parser in (listing, pull, add, remove, default):
        parser.set_defaults(handler=run, needs_session=False)


def spec_json(service: ModelService, spec: ModelSpec, default_name: str) -> dict:
    path = service.path_of(spec)
    return {
        "name": spec.name,
        "installed": path.is_file(),
        "path": str(path),
        "size_bytes": spec.size_bytes,
        "quantization": spec.quantization,
        "context_length": spec.context_length,
        "license": spec.license,
        "source": spec.source,
        "default": spec.name == default_name,
    }


def _show_download(progress: DownloadProgress) -> None:
    if sys.stderr.isatty():
        print(
            f"\rdownload {progress.fraction:>4.0%}  {progress.bytes_per_s / 1e6:5.1f} MB/s  ETA {format_eta(progress.eta_s)}",
            end="",
            file=sys.stderr,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    folder = data_dir(args.data_dir)
    service = ModelService(models_dir(folder, args.models_dir), offline=lambda: load_settings(folder).offline)
    settings = load_settings(folder)
    default_name = service.spec(settings.default_model).name
    if args.action == "add":
        spec = service.add(Path(args.path))
        _report(args, service, spec, default_name, f"added {spec.name} ({spec.quantization}, {spec.license})")
        return 0
    if args.action == "remove":
        spec = service.remove(args.name)
        if settings.default_model == spec.name:  # new threads go back to the catalog's default
            save_settings(folder, settings.with_changes(default_model=None))
            default_name = service.spec(None).name
        _report(args, service, spec, default_name, f"removed {spec.name}; new threads use {default_name}")
        return 0
    if args.action == "default":
        spec = service.default_candidate(args.name)
        folder.mkdir(parents=True, exist_ok=True)
        save_settings(folder, settings.with_changes(default_model=spec.name))
        _report(args, service, spec, spec.name, f"new threads use {spec.name}")
        return 0
    if args.action == "list":
        rows = service.installed()
        if args.json:
            print_json([spec_json(service, row.spec, default_name) for row in rows])
        else:
            for row in rows:
                state = "installed" if row.installed else "not installed"
                marker = "*" if row.spec.name == default_name else " "
                print(
                    f"{marker} {row.spec.name:<28} {row.spec.size_bytes / 1e6:>6.0f} MB  {row.spec.quantization:<8} "
                    f"{row.spec.context_length:>6} ctx  {row.spec.license:<12} {state}  {row.spec.source}"
                )
        return 0
    shown = [-1]

    def progress(done: int, total: int, phase: str) -> None:
        percent = int(100 * done / total) if total else 0
        if percent != shown[0] and sys.stderr.isatty():
            print(f"\r{phase} {percent}%", end="", file=sys.stderr, flush=True)
        shown[0] = percent

    path = service.pull(args.name, progress, download_progress=_show_download)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print_json(spec_json(service, service.spec(args.name), default_name))
    else:
        print(path)
    return 0


def _report(args: argparse.Namespace, service: ModelService, spec: ModelSpec, default_name: str, text: str) -> None:
    if args.json:
        print_json(spec_json(service, spec, default_name))
    else:
        print(text)
