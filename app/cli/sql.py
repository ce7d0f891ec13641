"""`threadloom sql`: read-only SQL over the database, meant for the documented views (README, "Read-only SQL")."""

from __future__ import annotations

import argparse

from app.cli.tables import add_format_options, print_rows
from app.core.errors import InvalidInput
from app.services.session import Session
from app.store.readonly import QUERY_SECONDS, run_readonly


def register(commands: argparse._SubParsersAction) -> None:
    sql = commands.add_parser("sql", help="run a read-only SELECT over the documented views (v_threads, v_usage, …)")
    sql.add_argument("query", metavar="SQL")
    sql.add_argument("--timeout", type=float, default=QUERY_SECONDS, metavar="SECONDS", help="stop the query after")
    add_format_options(sql)
    sql.set_defaults(handler=run_sql)


def run_sql(args: argparse.Namespace, session: Session) -> int:
    if not args.timeout > 0:
        raise InvalidInput(f"--timeout is in seconds and above 0, not {args.timeout:g}")
    result = run_readonly(session.store.path, args.query, seconds=args.timeout)
    print_rows(result.columns, result.rows, args)
    return 0
