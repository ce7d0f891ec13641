"""`threadloom sql`: any SELECT over the database, and nothing else.

Three locks, each enough on its own for the common case: the connection is opened read-only (the file cannot be
written through it), `query_only` refuses writes SQLite would otherwise allow (a temp table), and an authorizer
allows only reading (SELECT, reading columns, functions other than load_extension, recursive CTEs and a few
read-only schema PRAGMAs), so ATTACH, `PRAGMA writable_schema` and extension loading are refused before they run.
A progress handler stops a query after its time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import apsw

from app.core.errors import InvalidInput, NotFound

QUERY_SECONDS = 10.0
# Schema PRAGMAs that only read, whatever their argument.
_READ_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "foreign_key_list"}
_ALLOWED = {apsw.SQLITE_SELECT, apsw.SQLITE_READ, apsw.SQLITE_RECURSIVE}
_REFUSED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
# Action codes as the one-line refusal names them.
_ACTION_NAMES = {
    getattr(apsw, name): name.removeprefix("SQLITE_").replace("_", " ").lower()
    for name in dir(apsw)
    if name.startswith("SQLITE_")
    and name.removeprefix("SQLITE_").split("_")[0] in {"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER",
                                                         "ATTACH", "DETACH", "PRAGMA", "TRANSACTION", "REINDEX",
                                                         "ANALYZE", "SAVEPOINT", "FUNCTION"}
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


class ReadOnlyRefused(InvalidInput):
    """The statement would do more than read."""


def run_readonly(database: Path, sql: str, *, seconds: float = QUERY_SECONDS) -> QueryResult:
    """Run `sql` (one or more statements) on a read-only connection; the last statement's rows."""
    if not Path(database).exists():
        raise NotFound(f"no database at {database}")
    if not sql.strip():
        raise InvalidInput("no SQL given")
    connection = apsw.Connection(str(database), flags=apsw.SQLITE_OPEN_READONLY)
    refusal: list[str] = []
    try:
        connection.set_busy_timeout(10_000)
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(lambda *request: _authorize(refusal, *request))
        deadline = time.monotonic() + seconds
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
        cursor = connection.cursor()
        columns: list[str] = []

        def note_columns(statement_cursor: apsw.Cursor, _sql: str, _bindings) -> bool:
            """Called as each statement starts: its columns, known even when it returns no row."""
            columns[:] = [name for name, _type in statement_cursor.get_description()]
            return True

        cursor.exec_trace = note_columns
        try:
            rows = list(cursor.execute(sql))
        except apsw.InterruptError as exc:
            raise InvalidInput(f"the query ran longer than {seconds:g} s and was stopped") from exc
        except apsw.Error as exc:
            if refusal:
                raise ReadOnlyRefused(f"`threadloom sql` only reads: {refusal[-1]}") from exc
            raise InvalidInput(f"SQL error: {_first_line(exc)}") from exc
        return QueryResult(columns, rows)
    finally:
        connection.close()


def _authorize(refusal: list[str], action: int, first: str | None, second: str | None, _db, _trigger) -> int:
    if action in _ALLOWED:
        return apsw.SQLITE_OK
    if action == apsw.SQLITE_FUNCTION and (second or "").lower() not in _REFUSED_FUNCTIONS:
        return apsw.SQLITE_OK
    if action == apsw.SQLITE_PRAGMA and (first or "").lower() in _READ_PRAGMAS:
        return apsw.SQLITE_OK
    what = _ACTION_NAMES.get(action, f"action {action}")
    detail = f"{second}()" if action == apsw.SQLITE_FUNCTION else " ".join(part for part in (first, second) if part)
    refusal.append(f"{what} {detail}".strip() + " is refused")
    return apsw.SQLITE_DENY


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0].removeprefix("SQLError: ")
