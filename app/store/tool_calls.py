"""Tool calls a reply made, the side-effect tools a thread may run without asking, and each thread's tool choice."""

from __future__ import annotations

import json

from app.core.errors import NotFound
from app.core.tools import ToolCall, ToolCallStatus, ToolEffect
from app.store.database import Database, _iso, _parse

_COLUMNS = (
    "id, thread_id, message_id, call_key, name, server, arguments, status, effect, text_offset, created_at, "
    "result, error, duration_ms, approved_by"
)
_UNSET = object()


def _call_value(row) -> ToolCall:
    arguments = json.loads(row[6])
    return ToolCall(
        id=row[0], thread_id=row[1], message_id=row[2], call_key=row[3], name=row[4], server=row[5],
        arguments=arguments, status=ToolCallStatus(row[7]), effect=ToolEffect(row[8]), offset=row[9],
        created_at=_parse(row[10]), result=row[11], error=row[12], duration_ms=row[13], approved_by=row[14],
    )  # fmt: skip


class ToolCalls(Database):
    def add_tool_call(
        self,
        *,
        thread_id: int,
        message_id: int,
        call_key: str,
        name: str,
        server: str,
        arguments: dict | str,
        status: ToolCallStatus,
        effect: ToolEffect,
        offset: int,
    ) -> ToolCall:
        with self.writing():
            cursor = self.db.execute_sql(
                """INSERT INTO tool_call (thread_id, message_id, call_key, name, server, arguments, status, effect,
                       text_offset, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (thread_id, message_id, call_key, name, server, json.dumps(arguments, ensure_ascii=False),
                 str(status), str(effect), offset, _iso(self._clock())),
            )  # fmt: skip
            call_id = cursor.connection.last_insert_rowid()
        return self.get_tool_call(call_id)

    def update_tool_call(
        self,
        call_id: int,
        *,
        status: ToolCallStatus,
        result: str | None | object = _UNSET,
        error: str | None | object = _UNSET,
        duration_ms: int | None | object = _UNSET,
        approved_by: str | None | object = _UNSET,
    ) -> ToolCall:
        """Set the call's status and whichever other fields are given."""
        fields = {"status": str(status)}
        for column, value in (
            ("result", result), ("error", error), ("duration_ms", duration_ms), ("approved_by", approved_by)
        ):  # fmt: skip
            if value is not _UNSET:
                fields[column] = value
        assignments = ", ".join(f"{column} = ?" for column in fields)
        with self.writing():
            self.db.execute_sql(f"UPDATE tool_call SET {assignments} WHERE id = ?", (*fields.values(), call_id))
        return self.get_tool_call(call_id)

    def get_tool_call(self, call_id: int) -> ToolCall:
        row = self.db.execute_sql(f"SELECT {_COLUMNS} FROM tool_call WHERE id = ?", (call_id,)).fetchone()
        if row is None:
            raise NotFound(f"no tool call with id {call_id}")
        return _call_value(row)

    def tool_calls(self, message_id: int) -> list[ToolCall]:
        """A reply's calls in the order it made them."""
        rows = self.db.execute_sql(f"SELECT {_COLUMNS} FROM tool_call WHERE message_id = ? ORDER BY id", (message_id,))
        return [_call_value(row) for row in rows]

    def thread_tool_calls(self, thread_id: int) -> list[ToolCall]:
        """Every call of every branch of a thread, in the order they were made."""
        rows = self.db.execute_sql(f"SELECT {_COLUMNS} FROM tool_call WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [_call_value(row) for row in rows]

    def copy_tool_calls(self, from_message_id: int, to_message_id: int, thread_id: int) -> None:
        """Copy a reply's calls onto its copy (a fork), by value."""
        with self.writing():
            self.db.execute_sql(
                """INSERT INTO tool_call (thread_id, message_id, call_key, name, server, arguments, status, effect,
                       text_offset, result, error, duration_ms, approved_by, created_at)
                   SELECT ?, ?, call_key, name, server, arguments, status, effect, text_offset, result, error,
                       duration_ms, approved_by, created_at FROM tool_call WHERE message_id = ? ORDER BY id""",
                (thread_id, to_message_id, from_message_id),
            )

    def insert_tool_call(self, thread_id: int, message_id: int, call: ToolCall) -> None:
        """Store a call as it was (an import), under the given thread and message."""
        with self.writing():
            self.db.execute_sql(
                """INSERT INTO tool_call (thread_id, message_id, call_key, name, server, arguments, status, effect,
                       text_offset, result, error, duration_ms, approved_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (thread_id, message_id, call.call_key, call.name, call.server,
                 json.dumps(call.arguments, ensure_ascii=False), str(call.status), str(call.effect), call.offset,
                 call.result, call.error, call.duration_ms, call.approved_by, _iso(call.created_at)),
            )  # fmt: skip

    def tool_call_ranking(self, match: str, *, limit: int = 50) -> list[int]:
        """Replies whose tool calls match an FTS5 expression (name, arguments, result), best BM25 first."""
        rows = self.db.execute_sql(
            """SELECT tool_call.message_id FROM tool_call_fts
               JOIN tool_call ON tool_call.id = tool_call_fts.rowid
               JOIN thread ON thread.id = tool_call.thread_id
               WHERE tool_call_fts MATCH ? AND thread.deleted_at IS NULL
               ORDER BY bm25(tool_call_fts) LIMIT ?""",
            (match, limit),
        )
        return list(dict.fromkeys(row[0] for row in rows))

    def recover_tool_calls(self) -> int:
        """Calls left running by a process that died mid-call fail (their reply was marked interrupted); those
        queued behind a call that waits for the user in a paused reply are kept. How many failed."""
        with self.writing():
            cursor = self.db.execute_sql(
                """UPDATE tool_call SET status = 'failed', error = 'Threadloom stopped while this call ran'
                   WHERE status = 'running'
                     AND message_id IN (SELECT id FROM message WHERE status NOT IN ('paused', 'streaming'))"""
            )
            return cursor.connection.changes()

    # "Always for this thread"

    def grant_tool(self, thread_id: int, server: str, name: str) -> None:
        with self.writing():
            self.db.execute_sql(
                "INSERT OR IGNORE INTO tool_permission (thread_id, server, name, granted_at) VALUES (?, ?, ?, ?)",
                (thread_id, server, name, _iso(self._clock())),
            )

    def tool_granted(self, thread_id: int, server: str, name: str) -> bool:
        row = self.db.execute_sql(
            "SELECT 1 FROM tool_permission WHERE thread_id = ? AND server = ? AND name = ?", (thread_id, server, name)
        ).fetchone()
        return row is not None

    # Which tools a thread may use

    def set_thread_tools(self, thread_id: int, names: list[str] | None) -> None:
        """`names` the thread may use (an empty list: none); None goes back to the default."""
        with self.writing():
            self.db.execute_sql("DELETE FROM thread_tools WHERE thread_id = ?", (thread_id,))
            if names is not None:
                self.db.execute_sql(
                    "INSERT INTO thread_tools (thread_id, names) VALUES (?, ?)", (thread_id, json.dumps(names))
                )

    def thread_tools(self, thread_id: int) -> list[str] | None:
        row = self.db.execute_sql("SELECT names FROM thread_tools WHERE thread_id = ?", (thread_id,)).fetchone()
        return json.loads(row[0]) if row else None
