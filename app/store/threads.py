"""Threads: create, list, organise (pin, archive, tags, typed metadata, saved views), delete and purge."""

from __future__ import annotations

import json
from datetime import datetime

from peewee import SQL

from app.core import metadata
from app.core.domain import MetaValue, SavedView, Thread, ThreadFilter
from app.core.errors import InvalidInput, NotFound
from app.store.database import Database, _iso
from app.store.values import thread_value


class ThreadRecords(Database):
    """The thread rows of the store and what labels them."""

    def create_thread(
        self,
        title: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        title_source: str = "provisional",
        created_at: datetime | None = None,
        incognito: bool = False,
    ) -> Thread:
        now = _iso(created_at or self._clock())
        with self.writing():
            row = self._rows.Thread.create(
                title=title,
                created_at=now,
                updated_at=now,
                model=model,
                system_prompt=system_prompt,
                title_source=title_source,
                incognito=incognito,
            )
        return self.get_thread(row.id)

    def get_thread(self, thread_id: int, *, include_deleted: bool = False) -> Thread:
        T = self._rows.Thread
        condition = T.id == thread_id
        if not include_deleted:
            condition &= T.deleted_at.is_null()
        row = T.get_or_none(condition)
        if row is None:
            raise NotFound(f"no thread with id {thread_id}")
        return self._labelled([row])[0]

    def list_threads(self, filter: ThreadFilter | None = None) -> list[Thread]:
        """Threads matching `filter` (default: live, unarchived), pinned first, then most recently active."""
        filter = filter or ThreadFilter()
        clauses, params = [], []
        clauses.append("deleted_at IS NOT NULL" if filter.deleted_only else "deleted_at IS NULL")
        if filter.archived_only:
            clauses.append("archived = 1")
        elif not filter.include_archived and not filter.deleted_only:
            clauses.append("archived = 0")
        if filter.tag:
            clauses.append(
                "id IN (SELECT thread_id FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id WHERE tag.name = ?)"
            )
            params.append(filter.tag)
        if filter.rated:
            clauses.append("id IN (SELECT thread_id FROM message JOIN rating ON rating.message_id = message.id "
                           "WHERE rating.value = ?)")
            params.append(filter.rated)
        for key, value in filter.where:
            kind, text = metadata.encode(value)
            clauses.append("id IN (SELECT thread_id FROM thread_meta WHERE key = ? AND type = ? AND value = ?)")
            params += [key, kind, text]
        T = self._rows.Thread
        query = (
            T.select()
            .where(SQL(" AND ".join(clauses), params))
            .order_by(T.pinned.desc(), T.updated_at.desc(), T.id.desc())
        )
        return self._labelled(query.namedtuples())

    def rename_thread(self, thread_id: int, title: str, *, source: str = "user") -> Thread:
        if not title.strip():
            raise InvalidInput("a thread title cannot be empty")
        return self._update_thread(thread_id, title=title.strip(), title_source=source)

    def set_pinned(self, thread_id: int, pinned: bool) -> Thread:
        return self._update_thread(thread_id, pinned=pinned)

    def set_archived(self, thread_id: int, archived: bool) -> Thread:
        return self._update_thread(thread_id, archived=archived)

    def set_system_prompt(self, thread_id: int, system_prompt: str | None) -> Thread:
        return self._update_thread(thread_id, system_prompt=system_prompt or None)

    def delete_thread(self, thread_id: int) -> None:
        """Soft delete: hidden everywhere and out of search until restored or purged."""
        self._update_thread(thread_id, deleted_at=_iso(self._clock()))

    def restore_thread(self, thread_id: int) -> Thread:
        T = self._rows.Thread
        with self.writing():
            if not T.update(deleted_at=None).where(T.id == thread_id).execute():
                raise NotFound(f"no thread with id {thread_id}")
        return self.get_thread(thread_id)

    def purge_deleted(self, *, deleted_before: datetime | None = None) -> list[int]:
        """Remove soft-deleted threads for good (messages and everything else cascade); returns their ids."""
        T = self._rows.Thread
        condition = T.deleted_at.is_null(False)
        if deleted_before is not None:
            condition &= T.deleted_at < _iso(deleted_before)
        with self.writing():
            ids = [row.id for row in T.select(T.id).where(condition)]
            if ids:
                for table in ("message_vec", "message_bits"):
                    self.db.execute_sql(
                        f"DELETE FROM {table} WHERE message_id IN (SELECT id FROM message WHERE thread_id IN "
                        f"({','.join('?' * len(ids))}))",
                        ids,
                    )
                T.update(current_leaf_id=None).where(T.id.in_(ids)).execute()
                T.delete().where(T.id.in_(ids)).execute()
        return ids

    def set_current_leaf(self, thread_id: int, message_id: int) -> None:
        T = self._rows.Thread
        with self.writing():
            T.update(current_leaf_id=message_id).where(T.id == thread_id).execute()

    def _update_thread(self, thread_id: int, **fields) -> Thread:
        T = self._rows.Thread
        with self.writing():
            self.get_thread(thread_id)
            T.update(**fields).where(T.id == thread_id).execute()
        return self.get_thread(thread_id, include_deleted=True)

    # Tags, metadata and saved views

    def add_tags(self, thread_id: int, tags: list[str]) -> Thread:
        names = [tag.strip() for tag in tags if tag.strip()]
        with self.writing():
            self.get_thread(thread_id)
            for name in names:
                if len(name) > metadata.MAX_KEY_LENGTH:
                    raise InvalidInput(f"tag {name[:20]!r}… is longer than {metadata.MAX_KEY_LENGTH} characters")
                self.db.execute_sql("INSERT OR IGNORE INTO tag (name) VALUES (?)", (name,))
                self.db.execute_sql(
                    "INSERT OR IGNORE INTO thread_tag (thread_id, tag_id) SELECT ?, id FROM tag WHERE name = ?",
                    (thread_id, name),
                )
        return self.get_thread(thread_id)

    def remove_tags(self, thread_id: int, tags: list[str]) -> Thread:
        with self.writing():
            for name in tags:
                self.db.execute_sql(
                    "DELETE FROM thread_tag WHERE thread_id = ? AND tag_id = (SELECT id FROM tag WHERE name = ?)",
                    (thread_id, name),
                )
        return self.get_thread(thread_id)

    def all_tags(self) -> list[str]:
        """Tags in use by live threads, alphabetically."""
        rows = self.db.execute_sql(
            """SELECT DISTINCT tag.name FROM tag JOIN thread_tag ON thread_tag.tag_id = tag.id
               JOIN thread ON thread.id = thread_tag.thread_id WHERE thread.deleted_at IS NULL
               ORDER BY tag.name COLLATE NOCASE"""
        )
        return [row[0] for row in rows]

    def set_metadata(self, thread_id: int, pairs: dict[str, MetaValue]) -> Thread:
        """Add or replace typed key-value pairs, within the limits of `app.core.metadata`."""
        for key, value in pairs.items():
            metadata.validate(key, value)
        with self.writing():
            existing = set(self.get_thread(thread_id).metadata)
            if len(existing | set(pairs)) > metadata.MAX_PAIRS:
                raise InvalidInput(f"a thread holds at most {metadata.MAX_PAIRS} metadata pairs")
            for key, value in pairs.items():
                kind, text = metadata.encode(value)
                self.db.execute_sql(
                    "INSERT OR REPLACE INTO thread_meta (thread_id, key, type, value) VALUES (?, ?, ?, ?)",
                    (thread_id, key, kind, text),
                )
        return self.get_thread(thread_id)

    def remove_metadata(self, thread_id: int, keys: list[str]) -> Thread:
        with self.writing():
            for key in keys:
                self.db.execute_sql("DELETE FROM thread_meta WHERE thread_id = ? AND key = ?", (thread_id, key))
        return self.get_thread(thread_id)

    def save_view(self, name: str, filter: ThreadFilter) -> SavedView:
        if not name.strip():
            raise InvalidInput("a saved view needs a name")
        encoded = json.dumps(
            {
                "tag": filter.tag,
                "where": [[key, *metadata.encode(value)] for key, value in filter.where],
                "include_archived": filter.include_archived,
                "archived_only": filter.archived_only,
                "rated": filter.rated,
            }
        )
        with self.writing():
            self.db.execute_sql(
                "INSERT INTO saved_view (name, filter, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET filter = excluded.filter",
                (name.strip(), encoded, _iso(self._clock())),
            )
        return next(view for view in self.saved_views() if view.name == name.strip())

    def saved_views(self) -> list[SavedView]:
        views = []
        for view_id, name, encoded in self.db.execute_sql("SELECT id, name, filter FROM saved_view ORDER BY name"):
            raw = json.loads(encoded)
            views.append(
                SavedView(
                    view_id,
                    name,
                    ThreadFilter(
                        tag=raw["tag"],
                        where=tuple((key, metadata.decode(kind, text)) for key, kind, text in raw["where"]),
                        include_archived=raw["include_archived"],
                        archived_only=raw["archived_only"],
                        rated=raw.get("rated"),
                    ),
                )
            )
        return views

    def delete_view(self, view_id: int) -> None:
        with self.writing():
            self.db.execute_sql("DELETE FROM saved_view WHERE id = ?", (view_id,))

    def _labelled(self, rows) -> list[Thread]:
        """Thread values with their tags and metadata (two queries for the whole list)."""
        rows = list(rows)
        if not rows:
            return []
        wanted = {row.id for row in rows}
        tags: dict[int, list[str]] = {}
        meta: dict[int, dict[str, MetaValue]] = {}
        scope = "" if len(rows) > 500 else f"WHERE thread_id IN ({','.join(str(i) for i in wanted)})"
        for thread_id, name in self.db.execute_sql(
            f"SELECT thread_id, tag.name FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id {scope} "
            "ORDER BY tag.name COLLATE NOCASE"
        ):
            if thread_id in wanted:
                tags.setdefault(thread_id, []).append(name)
        for thread_id, key, kind, text in self.db.execute_sql(
            f"SELECT thread_id, key, type, value FROM thread_meta {scope} ORDER BY key"
        ):
            if thread_id in wanted:
                meta.setdefault(thread_id, {})[key] = metadata.decode(kind, text)
        return [thread_value(row, tags.get(row.id, ()), meta.get(row.id, {})) for row in rows]
