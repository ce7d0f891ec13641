"""The message tree of each thread: messages and branches, streaming replies, usage rows, forks and imports."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime

from app.core.domain import CallPurpose, ImportedThread, Message, MessageStatus, ModelCall, Role, Thread
from app.core.errors import NotFound
from app.store.database import Database, _iso, pid_alive
from app.store.schema import MessageRow
from app.store.values import message_value


class MessageTree(Database):
    """Messages as a tree per thread; the thread's current leaf picks the branch shown."""

    def add_message(
        self,
        thread_id: int,
        *,
        parent_id: int | None,
        role: Role,
        content: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        model: str | None = None,
    ) -> Message:
        """Add a message under `parent_id` and make it the thread's current leaf."""
        now = _iso(self._clock())
        M, T = self._rows.Message, self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            row = M.create(
                thread_id=thread_id,
                parent_id=parent_id,
                role=str(role),
                content=content,
                status=str(status),
                model=model,
                writer_pid=os.getpid() if status == MessageStatus.STREAMING else None,
                created_at=now,
                updated_at=now,
            )
            T.update(current_leaf_id=row.id, updated_at=now).where(T.id == thread_id).execute()
        return message_value(row)

    def append_to_message(self, message_id: int, text: str) -> None:
        """Append streamed text; called in small batches, so a crash loses at most one batch."""
        M = self._rows.Message
        with self.writing():
            M.update(content=M.content.concat(text), updated_at=_iso(self._clock())).where(M.id == message_id).execute()

    def finish_message(self, message_id: int, *, status: MessageStatus, error: str | None = None) -> Message:
        """Close a streamed reply. Its usage was recorded by the model call that wrote it (`record_call`)."""
        M = self._rows.Message
        with self.writing():
            M.update(status=str(status), error=error, writer_pid=None, updated_at=_iso(self._clock())).where(
                M.id == message_id
            ).execute()
        return self.get_message(message_id)

    def keep_reasoning_apart(self, message_id: int, *, answer: str, reasoning: str, seconds: float | None) -> None:
        """A streamed reply's thinking leaves its text for the `reasoning` column (app.core.reasoning)."""
        M = self._rows.Message
        with self.writing():
            M.update(
                content=answer, reasoning=reasoning, reasoning_s=seconds, updated_at=_iso(self._clock())
            ).where(M.id == message_id).execute()

    def restart_message(self, message_id: int) -> Message:
        """A paused reply streams again (its text so far is kept and the chain appends to it)."""
        M = self._rows.Message
        with self.writing():
            M.update(
                status=str(MessageStatus.STREAMING), error=None, writer_pid=os.getpid(), updated_at=_iso(self._clock())
            ).where(M.id == message_id).execute()
        return self.get_message(message_id)

    def record_call(self, call: ModelCall, *, at: datetime | None = None) -> None:
        """One usage row for one model call, whatever its purpose (a reply's row also serves `Message.usage`);
        `at` is when it happened, if not now (an imported reply)."""
        with self.writing():
            self._rows.UsageEvent.create(
                purpose=str(call.purpose),
                thread_id=call.thread_id,
                message_id=call.message_id,
                backend=call.backend,
                model=call.model,
                prompt_tokens=call.usage.prompt_tokens,
                completion_tokens=call.usage.completion_tokens,
                cached_tokens=call.usage.cached_tokens,
                ttft_s=call.timings.ttft_s if call.timings else None,
                tokens_per_s=call.timings.tokens_per_s if call.timings else None,
                seconds=call.seconds,
                created_at=_iso(at or self._clock()),
            )

    def get_message(self, message_id: int) -> Message:
        row = self._rows.Message.get_or_none(self._rows.Message.id == message_id)
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        return self._with_usage([row])[0]

    def messages(self, thread_id: int) -> list[Message]:
        """Every message of the thread, every branch, in creation order."""
        M = self._rows.Message
        return self._with_usage(list(M.select().where(M.thread_id == thread_id).order_by(M.id)))

    def path_to(self, message_id: int) -> list[Message]:
        """The messages from the root down to `message_id`: the branch a reply is generated from."""
        rows = self.db.execute_sql(
            """WITH RECURSIVE path(id, depth) AS (
                   SELECT id, 0 FROM message WHERE id = ?
                   UNION ALL
                   SELECT message.parent_id, path.depth + 1 FROM message JOIN path ON message.id = path.id
                   WHERE message.parent_id IS NOT NULL
               ) SELECT id FROM path ORDER BY depth DESC""",
            (message_id,),
        ).fetchall()
        ids = [row[0] for row in rows]
        if not ids:
            raise NotFound(f"no message with id {message_id}")
        M = self._rows.Message
        by_id = {row.id: row for row in M.select().where(M.id.in_(ids))}
        return self._with_usage([by_id[i] for i in ids])

    def current_path(self, thread_id: int) -> list[Message]:
        leaf = self.get_thread(thread_id).current_leaf_id
        return [] if leaf is None else self.path_to(leaf)

    def children(self, message_id: int | None, thread_id: int) -> list[Message]:
        M = self._rows.Message
        parent = M.parent_id.is_null() if message_id is None else M.parent_id == message_id
        return self._with_usage(list(M.select().where(parent & (M.thread_id == thread_id)).order_by(M.id)))

    def siblings(self, message_id: int) -> list[Message]:
        """The message and its alternatives (edits, regenerations) under the same parent, oldest first."""
        message = self.get_message(message_id)
        return self.children(message.parent_id, message.thread_id)

    def show_branch(self, message_id: int) -> list[Message]:
        """Make the branch through `message_id` the thread's current one, down to its newest leaf; return the path."""
        message = self.get_message(message_id)
        leaf_id = self.db.execute_sql(
            """WITH RECURSIVE below(id, depth) AS (
                   SELECT ?, 0
                   UNION ALL
                   SELECT (SELECT max(id) FROM message WHERE parent_id = below.id), depth + 1 FROM below
                   WHERE EXISTS (SELECT 1 FROM message WHERE parent_id = below.id)
               ) SELECT id FROM below ORDER BY depth DESC LIMIT 1""",
            (message_id,),
        ).fetchone()[0]
        self.set_current_leaf(message.thread_id, leaf_id)
        return self.path_to(leaf_id)

    def fork(self, message_id: int, *, title: str | None = None) -> Thread:
        """A new thread holding a copy (by value) of the path from the root to `message_id`, with the system prompt
        that path's branch had and what the thread took at its start (instructions, recalled memories): the copied
        conversation goes on under the instructions it was written under."""
        path = self.path_to(message_id)
        source = self.get_thread(path[0].thread_id)
        versioned, branch_prompt = self.system_prompt_for_reply(source.id, message_id)
        M = self._rows.Message
        with self.writing():
            thread = self.create_thread(
                title or f"{source.title} (fork)", model=source.model,
                system_prompt=branch_prompt if versioned else source.system_prompt,
                title_source="user" if title else source.title_source, incognito=source.incognito,
            )  # fmt: skip
            parent_id = None
            for message in path:
                row = M.create(
                    thread_id=thread.id,
                    parent_id=parent_id,
                    role=str(message.role),
                    content=message.content,
                    status=str(message.status),
                    model=message.model,
                    error=message.error,
                    created_at=_iso(message.created_at),
                    updated_at=_iso(message.created_at),
                )
                self.copy_tool_calls(message.id, row.id, thread.id)
                parent_id = row.id
            self.set_current_leaf(thread.id, parent_id)
            if source.tags:
                self.add_tags(thread.id, list(source.tags))
            if source.metadata:
                self.set_metadata(thread.id, source.metadata)
            started, instructions = self.thread_start(source.id)
            if started:
                self.start_thread(thread.id, instructions, self.thread_recall(source.id))
        return self.get_thread(thread.id)

    def insert_thread(self, imported: ImportedThread) -> Thread:
        """Store a whole thread from an export in one transaction: all of it or nothing."""
        M, T = self._rows.Message, self._rows.Thread
        with self.writing():
            row = T.create(
                title=imported.title,
                title_source=imported.title_source,
                created_at=_iso(imported.created_at),
                updated_at=_iso(imported.updated_at),
                pinned=imported.pinned,
                archived=imported.archived,
                model=imported.model,
                system_prompt=imported.system_prompt,
            )
            ids: dict[str, int] = {}
            for message in imported.messages:
                created = _iso(message.created_at)
                message_row = M.create(
                    thread_id=row.id,
                    parent_id=ids[message.parent_key] if message.parent_key is not None else None,
                    role=str(message.role),
                    content=message.content,
                    reasoning=message.reasoning,
                    reasoning_s=message.reasoning_s,
                    status=str(message.status),
                    model=message.model,
                    error=message.error,
                    created_at=created,
                    updated_at=created,
                )
                ids[message.key] = message_row.id
                for tool_call in message.tool_calls:
                    self.insert_tool_call(row.id, message_row.id, tool_call)
                if message.usage is not None:
                    call = ModelCall(CallPurpose.TURN, message.backend, message.model, message.usage, message.timings)
                    self.record_call(replace(call, thread_id=row.id, message_id=message_row.id), at=message.created_at)
                if message.rating is not None:
                    value, note, rated_at = message.rating
                    self.db.execute_sql(
                        "INSERT INTO rating (message_id, value, note, rated_at) VALUES (?, ?, ?, ?)",
                        (message_row.id, str(value), note, _iso(rated_at)),
                    )
            if imported.current_key is not None:
                T.update(current_leaf_id=ids[imported.current_key]).where(T.id == row.id).execute()
            if imported.tags:
                self.add_tags(row.id, list(imported.tags))
            if imported.metadata:
                self.set_metadata(row.id, imported.metadata)
            for up_to_key, content, created_at in imported.summaries:
                self.db.execute_sql(
                    "INSERT INTO thread_summary (thread_id, up_to_message_id, content, created_at) VALUES (?, ?, ?, ?)",
                    (row.id, ids[up_to_key], content, _iso(created_at)),
                )
        return self.get_thread(row.id)

    def recover_interrupted(self) -> int:
        """Mark replies left 'streaming' by a process that is gone (killed, crashed) as interrupted.

        A store opened anew in this process has no reply of its own in flight, so our own pid counts as gone too.
        """
        M = self._rows.Message
        stale = [
            row.id
            for row in M.select(M.id, M.writer_pid).where(M.status == str(MessageStatus.STREAMING))
            if row.writer_pid is None or row.writer_pid == os.getpid() or not pid_alive(row.writer_pid)
        ]
        if stale:
            with self.writing():
                M.update(
                    status=str(MessageStatus.INTERRUPTED),
                    error="the app stopped while this reply was being written",
                    writer_pid=None,
                ).where(M.id.in_(stale)).execute()
        return len(stale)

    def _with_usage(self, rows: list[MessageRow]) -> list[Message]:
        U = self._rows.UsageEvent
        usage = {}
        if rows:
            turns = U.select().where(U.message_id.in_([r.id for r in rows]) & (U.purpose == "turn"))
            for event in turns.order_by(U.id):
                usage[event.message_id] = event
        return [message_value(row, usage.get(row.id)) for row in rows]
