"""Rows for routing: each thread's privacy rule and model, hosted providers, and the privacy ledger.

A repository beside `Store`, on the same database and write lock. It returns `app.core` values only. No API key
ever passes through here: providers hold a name, a URL and a model; their keys live in the OS keyring.
"""

from __future__ import annotations

from datetime import datetime

import apsw
import peewee

from app.core.errors import InvalidInput, NotFound
from app.core.routing import HostedCall, PrivacyRule, Provider, RouteReason
from app.store.database import utc_now
from app.store.db import Store


class RoutingStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._store.db.execute_sql(sql, params).fetchall()

    def _write(self, sql: str, params: tuple = ()) -> int:
        """Run one write statement in its own transaction; return the new row's id."""
        with self._store.writing():
            cursor = self._store.db.execute_sql(sql, params)
            return self._store.db.last_insert_id(cursor)

    # Threads

    def privacy_rule(self, thread_id: int) -> PrivacyRule:
        rows = self._query("SELECT privacy_rule FROM thread WHERE id = ?", (thread_id,))
        if not rows:
            raise NotFound(f"no thread with id {thread_id}")
        return PrivacyRule(rows[0][0])

    def set_privacy_rule(self, thread_id: int, rule: PrivacyRule) -> None:
        self.privacy_rule(thread_id)
        self._write("UPDATE thread SET privacy_rule = ? WHERE id = ?", (str(rule), thread_id))

    def set_thread_model(self, thread_id: int, model: str | None) -> None:
        self.privacy_rule(thread_id)
        self._write("UPDATE thread SET model = ? WHERE id = ?", (model, thread_id))

    def set_message_model(self, message_id: int, model: str) -> None:
        """A reply re-routed to a fallback before its first token: record the model that actually answers."""
        self._write("UPDATE message SET model = ? WHERE id = ?", (model, message_id))

    # Providers

    def add_provider(self, name: str, base_url: str, model: str) -> Provider:
        try:
            self._write(
                "INSERT INTO provider (name, base_url, model, created_at) VALUES (?, ?, ?, ?)",
                (name, base_url, model, utc_now().isoformat()),
            )
        except (peewee.IntegrityError, apsw.ConstraintError) as exc:
            raise InvalidInput(f"a provider named {name!r} exists already: remove it first to change it") from exc
        return self.provider(name)

    def providers(self) -> list[Provider]:
        rows = self._query("SELECT name, base_url, model, created_at FROM provider ORDER BY id")
        return [_provider(row) for row in rows]

    def provider(self, name: str) -> Provider:
        rows = self._query("SELECT name, base_url, model, created_at FROM provider WHERE name = ?", (name,))
        if not rows:
            known = ", ".join(p.name for p in self.providers()) or "none yet (add one with `threadloom providers add`)"
            raise NotFound(f"no provider named {name!r}; providers: {known}")
        return _provider(rows[0])

    def remove_provider(self, name: str) -> None:
        self.provider(name)
        self._write("DELETE FROM provider WHERE name = ?", (name,))

    # The privacy ledger

    def record_hosted_call(
        self,
        *,
        thread_id: int,
        message_id: int | None,
        provider: Provider,
        model: str,
        reason: RouteReason,
        prompt_tokens: int,
    ) -> int:
        """Written before the request goes out, so even a call that fails half-way is on record."""
        return self._write(
            """INSERT INTO hosted_call (thread_id, message_id, provider, base_url, model, reason, prompt_tokens,
                   tokens_estimated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)""",
            (
                thread_id, message_id, provider.name, provider.base_url, model, str(reason), prompt_tokens,
                utc_now().isoformat(),
            ),
        )  # fmt: skip

    def finish_hosted_call(self, call_id: int, *, prompt_tokens: int, completion_tokens: int, estimated: bool) -> None:
        self._write(
            "UPDATE hosted_call SET prompt_tokens = ?, completion_tokens = ?, tokens_estimated = ? WHERE id = ?",
            (prompt_tokens, completion_tokens, int(estimated), call_id),
        )

    def ledger(self, thread_id: int | None = None) -> list[HostedCall]:
        sql = """SELECT id, thread_id, message_id, provider, base_url, model, reason, prompt_tokens,
                        completion_tokens, tokens_estimated, created_at FROM hosted_call"""
        rows = (
            self._query(sql + " WHERE thread_id = ? ORDER BY id", (thread_id,))
            if thread_id is not None
            else self._query(sql + " ORDER BY id")
        )
        return [
            HostedCall(
                id=row[0], thread_id=row[1], message_id=row[2], provider=row[3], base_url=row[4], model=row[5],
                reason=RouteReason(row[6]), prompt_tokens=row[7], completion_tokens=row[8],
                tokens_estimated=bool(row[9]), created_at=datetime.fromisoformat(row[10]),
            )
            for row in rows
        ]  # fmt: skip

    def left_machine(self, thread_id: int) -> bool:
        """Did any content of this thread ever go to a hosted model?"""
        return bool(self._query("SELECT 1 FROM hosted_call WHERE thread_id = ? LIMIT 1", (thread_id,)))


def _provider(row: tuple) -> Provider:
    return Provider(name=row[0], base_url=row[1], model=row[2], created_at=datetime.fromisoformat(row[3]))
