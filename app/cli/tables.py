"""Rows of named columns printed as aligned text, JSON (a list of objects) or CSV: `stats` and `sql` share it."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence

from app.cli.output import print_json, shown


def add_format_options(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="a JSON list of objects")
    formats.add_argument("--csv", action="store_true", help="CSV with a header row")


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[object]], args: argparse.Namespace) -> None:
    if args.json:
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        cells = [list(columns), *([_cell(value) for value in row] for row in rows)]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        for line in cells:
            print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return shown(value)
