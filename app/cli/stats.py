"""`threadloom stats`: the usage rows (every model call) summed by day, model, thread or purpose."""

from __future__ import annotations

import argparse
from datetime import date

from app.cli.tables import add_format_options, print_rows
from app.core.errors import InvalidInput
from app.core.insights import StatsKey
from app.services.session import Session

COLUMNS = (
    "calls", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds", "mean_ttft_s", "mean_tokens_per_s",
)  # fmt: skip
# The key's column name in the output, per --by.
KEY_COLUMN = {StatsKey.DAY: "day", StatsKey.MODEL: "model", StatsKey.THREAD: "thread_id", StatsKey.PURPOSE: "purpose"}


def register(commands: argparse._SubParsersAction) -> None:
    stats = commands.add_parser("stats", help="tokens, calls and timings of every model call, summed")
    stats.add_argument("--by", choices=[str(key) for key in StatsKey], default=str(StatsKey.DAY))
    stats.add_argument("--since", metavar="YYYY-MM-DD", help="only calls on or after this day (UTC)")
    add_format_options(stats)
    stats.set_defaults(handler=run_stats)


def parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--since {text!r} is not a date (YYYY-MM-DD)") from None


def run_stats(args: argparse.Namespace, session: Session) -> int:
    key = StatsKey(args.by)
    since = parse_day(args.since)
    totals = session.insights.usage_totals(key, since=since)
    key_column = KEY_COLUMN[key]
    rows = []
    for each in totals:
        shown_key = int(each.key) if key == StatsKey.THREAD and each.key is not None else each.key
        rows.append((shown_key, each.calls, each.prompt_tokens, each.completion_tokens, each.cached_tokens,
                     round(each.seconds, 6), each.mean_ttft_s, each.mean_tokens_per_s))  # fmt: skip
    if not rows and not (args.json or args.csv):
        print(f"no model calls recorded{f' since {since}' if since else ''}")
        return 0
    print_rows((key_column, *COLUMNS), rows, args)
    return 0
