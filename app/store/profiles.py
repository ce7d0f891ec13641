"""What shapes a thread's system turn: its system prompt over time, what it took at its start (custom instructions),
and the saved set-ups (assistants) new threads start from."""

from __future__ import annotations

import json

import apsw
import peewee

from app.core.errors import InvalidInput, NotFound
from app.core.memory import Assistant
from app.core.routing import PrivacyRule
from app.store.database import Database, _iso, _parse

MAX_ASSISTANT_NAME = 64


class ProfileRecords(Database):
    # A thread's system prompt, per branch

    def set_thread_system_prompt(self, thread_id: int, content: str | None) -> None:
        """Set the thread's system prompt for the branches that begin from now on; the branches there are keep
        the one they began with (their first version is the prompt the thread had until now)."""
        content = (content or "").strip() or None
        with self.writing():
            thread = self.get_thread(thread_id)
            now = _iso(self._clock())
            if not self.db.execute_sql(
                "SELECT 1 FROM system_prompt_version WHERE thread_id = ?", (thread_id,)
            ).fetchone():
                self.db.execute_sql(
                    "INSERT INTO system_prompt_version (thread_id, content, from_message_id, created_at) "
                    "VALUES (?, ?, 0, ?)",
                    (thread_id, thread.system_prompt, now),
                )
            newest = self.db.execute_sql("SELECT ifnull(max(id), 0) FROM message").fetchone()[0]
            self.db.execute_sql(
                "INSERT INTO system_prompt_version (thread_id, content, from_message_id, created_at) VALUES (?, ?, ?, ?)",
                (thread_id, content, newest, now),
            )
            self.set_system_prompt(thread_id, content)

    def system_prompt_for_reply(self, thread_id: int, reply_id: int) -> tuple[bool, str | None]:
        """(versioned, the prompt in force when the reply's branch began); not versioned when the thread's prompt
        was never changed here: then the thread's own prompt is the one.

        A branch begins at the newest message on its path with an older sibling (an edit, a regenerated reply),
        else at its first message; the prompt in force is the newest set before that message was written."""
        if not self.db.execute_sql("SELECT 1 FROM system_prompt_version WHERE thread_id = ?", (thread_id,)).fetchone():
            return False, None
        began_at = self.db.execute_sql(
            """WITH RECURSIVE path(id, parent_id) AS (
                   SELECT id, parent_id FROM message WHERE id = ?1
                   UNION ALL SELECT m.id, m.parent_id FROM message m JOIN path ON m.id = path.parent_id
               )
               SELECT ifnull(
                   (SELECT max(p.id) FROM path p WHERE EXISTS (
                       SELECT 1 FROM message s WHERE s.thread_id = ?2 AND s.parent_id IS p.parent_id AND s.id < p.id)),
                   (SELECT min(id) FROM path))""",
            (reply_id, thread_id),
        ).fetchone()[0]
        row = self.db.execute_sql(
            "SELECT content FROM system_prompt_version WHERE thread_id = ? AND from_message_id < ? "
            "ORDER BY from_message_id DESC, id DESC LIMIT 1",
            (thread_id, began_at),
        ).fetchone()
        return (False, None) if row is None else (True, row[0])

    # What a thread took at its start

    def thread_start(self, thread_id: int) -> tuple[bool, str | None]:
        """(started, the custom instructions it took then)."""
        row = self.db.execute_sql("SELECT instructions FROM thread_start WHERE thread_id = ?", (thread_id,)).fetchone()
        return (False, None) if row is None else (True, row[0])

    def start_thread(self, thread_id: int, instructions: str | None, recalled: list[tuple[int, str]]) -> bool:
        """Record what the thread takes at its start — instructions and recalled (memory id, text) — once;
        whether this call did (another turn may have started it first). Each recalled memory counts a use."""
        now = _iso(self._clock())
        with self.writing():
            cursor = self.db.execute_sql(
                "INSERT OR IGNORE INTO thread_start (thread_id, instructions, created_at) VALUES (?, ?, ?)",
                (thread_id, instructions, now),
            )
            if not cursor.connection.changes():
                return False
            for position, (memory_id, text) in enumerate(recalled):
                self.db.execute_sql(
                    "INSERT INTO thread_recall (thread_id, memory_id, position, text) VALUES (?, ?, ?, ?)",
                    (thread_id, memory_id, position, text),
                )
                self.db.execute_sql(
                    "UPDATE memory SET uses = uses + 1, last_used_at = ? WHERE id = ?", (now, memory_id)
                )
        return True

    # Assistants

    def add_assistant(self, assistant: Assistant) -> Assistant:
        name = _checked_name(assistant.name)
        now = _iso(self._clock())
        try:
            with self.writing():
                cursor = self.db.execute_sql(
                    "INSERT INTO assistant (name, system_prompt, model, tools, folders, privacy_rule, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, assistant.system_prompt, assistant.model, json.dumps(list(assistant.tools)),
                     json.dumps(list(assistant.folders)), str(assistant.privacy_rule), now, now),
                )  # fmt: skip
                assistant_id = cursor.connection.last_insert_rowid()
        except (apsw.ConstraintError, peewee.IntegrityError) as exc:
            raise InvalidInput(f"there is already an assistant named {name!r}") from exc
        return self.get_assistant(str(assistant_id))

    def update_assistant(self, assistant: Assistant) -> Assistant:
        name = _checked_name(assistant.name)
        try:
            with self.writing():
                self.db.execute_sql(
                    "UPDATE assistant SET name = ?, system_prompt = ?, model = ?, tools = ?, folders = ?, "
                    "privacy_rule = ?, updated_at = ? WHERE id = ?",
                    (name, assistant.system_prompt, assistant.model, json.dumps(list(assistant.tools)),
                     json.dumps(list(assistant.folders)), str(assistant.privacy_rule), _iso(self._clock()),
                     assistant.id),
                )  # fmt: skip
        except (apsw.ConstraintError, peewee.IntegrityError) as exc:
            raise InvalidInput(f"there is already an assistant named {name!r}") from exc
        return self.get_assistant(str(assistant.id))

    def remove_assistant(self, assistant_id: int) -> None:
        with self.writing():
            self.db.execute_sql("DELETE FROM assistant WHERE id = ?", (assistant_id,))

    def assistants(self) -> list[Assistant]:
        rows = self.db.execute_sql(f"SELECT {_ASSISTANT_COLUMNS} FROM assistant ORDER BY name COLLATE NOCASE")
        return [_assistant(row) for row in rows]

    def get_assistant(self, name_or_id: str) -> Assistant:
        """By name (case-insensitive), else by id."""
        row = self.db.execute_sql(
            f"SELECT {_ASSISTANT_COLUMNS} FROM assistant WHERE name = ? OR CAST(id AS TEXT) = ? "
            "ORDER BY name = ? DESC LIMIT 1",
            (name_or_id, name_or_id, name_or_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no assistant named {name_or_id!r} (see `threadloom assistants list`)")
        return _assistant(row)


_ASSISTANT_COLUMNS = "id, name, system_prompt, model, tools, folders, privacy_rule, created_at"


def _assistant(row: tuple) -> Assistant:
    return Assistant(
        id=row[0], name=row[1], system_prompt=row[2], model=row[3], tools=tuple(json.loads(row[4])),
        folders=tuple(json.loads(row[5])), privacy_rule=PrivacyRule(row[6]), created_at=_parse(row[7]),
    )  # fmt: skip


def _checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("an assistant needs a name")
    if len(name) > MAX_ASSISTANT_NAME:
        raise InvalidInput(f"an assistant's name is at most {MAX_ASSISTANT_NAME} characters")
    return name
