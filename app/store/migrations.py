"""Append-only, named schema migrations, each applied in its own transaction and recorded in `migration`.

Never edit or reorder a step that has shipped: add a new one. A database that has steps this build does not know
was written by a newer Threadloom, and is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import apsw
import peewee

from app.core.errors import SetupError

Step = Callable[[peewee.Database], None]
T = TypeVar("T")


def _sql(*statements: str) -> Step:
    def run(db: peewee.Database) -> None:
        for statement in statements:
            db.execute_sql(statement)

    return run


VIEWS_0016 = (
    """CREATE VIEW v_threads AS
       SELECT t.id, t.title, t.created_at, t.updated_at, t.pinned, t.archived, t.model, t.privacy_rule, t.incognito,
           t.current_leaf_id,
           (SELECT group_concat(name, ',') FROM (SELECT tag.name FROM thread_tag JOIN tag ON tag.id = thread_tag.tag_id
               WHERE thread_tag.thread_id = t.id ORDER BY tag.name COLLATE NOCASE)) AS tags,
           (SELECT count(*) FROM message WHERE message.thread_id = t.id) AS message_count,
           EXISTS (SELECT 1 FROM hosted_call WHERE hosted_call.thread_id = t.id) AS left_machine
       FROM thread t WHERE t.deleted_at IS NULL""",
    # path_position: 1 for a thread's first message, n for the n-th message of its branch; sibling_index of
    # sibling_count: the ‹k/n› of an edited or regenerated message; on_shown_branch: on the branch the thread shows.
    """CREATE VIEW v_messages AS
       WITH RECURSIVE depth_of(id, depth) AS (
           SELECT id, 1 FROM message WHERE parent_id IS NULL
           UNION ALL
           SELECT message.id, depth_of.depth + 1 FROM message JOIN depth_of ON message.parent_id = depth_of.id
       ), shown(id) AS (
           SELECT current_leaf_id FROM thread WHERE current_leaf_id IS NOT NULL
           UNION ALL
           SELECT message.parent_id FROM message JOIN shown ON message.id = shown.id WHERE message.parent_id IS NOT NULL
       )
       SELECT m.id, m.thread_id, m.parent_id, m.role, m.content, m.status, m.model, m.error, m.created_at,
           depth_of.depth AS path_position,
           row_number() OVER (PARTITION BY m.thread_id, m.parent_id ORDER BY m.id) AS sibling_index,
           count(*) OVER (PARTITION BY m.thread_id, m.parent_id) AS sibling_count,
           m.id IN (SELECT id FROM shown) AS on_shown_branch
       FROM message m JOIN depth_of ON depth_of.id = m.id JOIN thread t ON t.id = m.thread_id
       WHERE t.deleted_at IS NULL""",
    """CREATE VIEW v_usage AS
       SELECT id, created_at, date(created_at) AS day, purpose, backend, model, thread_id, message_id, prompt_tokens,
           completion_tokens, cached_tokens, ttft_s, tokens_per_s, seconds
       FROM usage_event""",
    """CREATE VIEW v_ratings AS
       SELECT r.message_id, m.thread_id, r.value AS rating, r.note, r.rated_at, m.model, m.content
       FROM rating r JOIN message m ON m.id = r.message_id JOIN thread t ON t.id = m.thread_id
       WHERE t.deleted_at IS NULL""",
    """CREATE VIEW v_citations AS
       SELECT c.id, c.message_id, m.thread_id, c.number, c.file_name, c.page, c.start, c."end", c.text, c.verified
       FROM citation c JOIN message m ON m.id = c.message_id JOIN thread t ON t.id = m.thread_id
       WHERE t.deleted_at IS NULL""",
    """CREATE VIEW v_hosted_calls AS
       SELECT id, created_at, date(created_at) AS day, thread_id, message_id, provider, base_url, model, reason,
           prompt_tokens, completion_tokens, tokens_estimated
       FROM hosted_call""",
)

MIGRATIONS: list[tuple[str, Step]] = [
    (
        "0001_threads_and_messages",
        _sql(
            """CREATE TABLE thread (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                pinned INTEGER NOT NULL DEFAULT 0,
                archived INTEGER NOT NULL DEFAULT 0,
                deleted_at TEXT,
                model TEXT,
                system_prompt TEXT,
                current_leaf_id INTEGER REFERENCES message(id) ON DELETE SET NULL
            )""",
            """CREATE TABLE message (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                parent_id INTEGER REFERENCES message(id) ON DELETE CASCADE,
                role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
                content TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'interrupted', 'error')),
                model TEXT,
                error TEXT,
                writer_pid INTEGER,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX message_thread ON message(thread_id, id)",
            "CREATE INDEX message_parent ON message(parent_id)",
            "CREATE INDEX message_streaming ON message(status) WHERE status = 'streaming'",
            """CREATE TABLE usage_event (
                id INTEGER PRIMARY KEY,
                message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                backend TEXT NOT NULL,
                model TEXT,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cached_tokens INTEGER NOT NULL DEFAULT 0,
                ttft_s REAL,
                tokens_per_s REAL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX usage_event_message ON usage_event(message_id)",
            # Keyword search over messages; kept in step with `message` by triggers.
            """CREATE VIRTUAL TABLE message_fts USING fts5(
                content, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
            )""",
            """CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
                INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
            END""",
            """CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
                INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
            END""",
            """CREATE TRIGGER message_fts_update AFTER UPDATE OF content ON message BEGIN
                INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
                INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
            END""",
        ),
    ),
    (
        "0002_organising_threads",
        _sql(
            # 'provisional' until the model names the thread, 'generated' after, 'user' once the user renames it.
            "ALTER TABLE thread ADD COLUMN title_source TEXT NOT NULL DEFAULT 'provisional'",
            "CREATE INDEX thread_listing ON thread(deleted_at, archived, pinned, updated_at)",
            "CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE)",
            """CREATE TABLE thread_tag (
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                tag_id INTEGER NOT NULL REFERENCES tag(id) ON DELETE CASCADE,
                PRIMARY KEY (thread_id, tag_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX thread_tag_tag ON thread_tag(tag_id)",
            """CREATE TABLE thread_meta (
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('string', 'number', 'bool', 'date')),
                value TEXT NOT NULL,
                PRIMARY KEY (thread_id, key)
            ) WITHOUT ROWID""",
            "CREATE INDEX thread_meta_lookup ON thread_meta(key, value)",
            """CREATE TABLE saved_view (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                filter TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            # Older turns folded into a summary so a long thread fits the model's window. The originals stay.
            """CREATE TABLE thread_summary (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                up_to_message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                content TEXT NOT NULL,
                created_at TEXT NOT NULL,
                undone_at TEXT
            )""",
            "CREATE INDEX thread_summary_thread ON thread_summary(thread_id)",
            # Message embeddings for meaning search; `model` says which embedding model made each vector.
            """CREATE VIRTUAL TABLE message_vec USING vec0(
                message_id INTEGER PRIMARY KEY, embedding float[384] distance_metric=cosine, model TEXT
            )""",
        ),
    ),
    (
        "0003_privacy_providers_ledger",
        _sql(
            # May this thread's content go to a hosted model? Default: never.
            """ALTER TABLE thread ADD COLUMN privacy_rule TEXT NOT NULL DEFAULT 'local-only'
                CHECK (privacy_rule IN ('local-only', 'ask', 'allowed'))""",
            # Hosted OpenAI-compatible endpoints. Their API keys live in the OS keyring, never in this file.
            """CREATE TABLE provider (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                base_url TEXT NOT NULL,
                model TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            # The privacy ledger: one row per hosted request, written before it is sent. Plain ids, no foreign
            # keys: the record that content left the machine outlives the thread it came from.
            """CREATE TABLE hosted_call (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL,
                message_id INTEGER,
                provider TEXT NOT NULL,
                base_url TEXT NOT NULL,
                model TEXT NOT NULL,
                reason TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                tokens_estimated INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX hosted_call_thread ON hosted_call(thread_id, id)",
        ),
    ),
    (
        "0004_attachments_and_retrieval",
        _sql(
            # One row per distinct file content: the copy in the data directory is named by its sha256, so the
            # same file attached twice is stored once. `status` is the ingest's resume point.
            """CREATE TABLE document (
                id INTEGER PRIMARY KEY,
                sha256 TEXT NOT NULL UNIQUE,
                stored_path TEXT NOT NULL,
                kind TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                pages INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'embedding', 'ready', 'needs_password', 'error')),
                error TEXT,
                summary TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX document_status ON document(status)",
            # A folder watched for changes, for one thread or (thread_id NULL) for all of them.
            """CREATE TABLE knowledge_folder (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL,
                thread_id INTEGER REFERENCES thread(id) ON DELETE CASCADE,
                created_at TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX knowledge_folder_unique ON knowledge_folder(path, ifnull(thread_id, 0))",
            # A document as a thread or a folder knows it, under its file name.
            """CREATE TABLE attachment (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER REFERENCES thread(id) ON DELETE CASCADE,
                folder_id INTEGER REFERENCES knowledge_folder(id) ON DELETE CASCADE,
                document_id INTEGER NOT NULL REFERENCES document(id),
                file_name TEXT NOT NULL,
                source_path TEXT,
                created_at TEXT NOT NULL
            )""",
            """CREATE UNIQUE INDEX attachment_in_thread ON attachment(thread_id, document_id)
                WHERE folder_id IS NULL""",
            "CREATE UNIQUE INDEX attachment_in_folder ON attachment(folder_id, source_path) WHERE folder_id IS NOT NULL",
            "CREATE INDEX attachment_document ON attachment(document_id)",
            # Pieces of a document's text, with the page and the character span they came from (for citations).
            """CREATE TABLE chunk (
                id INTEGER PRIMARY KEY,
                document_id INTEGER NOT NULL REFERENCES document(id) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                page INTEGER NOT NULL,
                start INTEGER NOT NULL,
                "end" INTEGER NOT NULL,
                text TEXT NOT NULL
            )""",
            "CREATE INDEX chunk_document ON chunk(document_id, ordinal)",
            """CREATE VIRTUAL TABLE chunk_fts USING fts5(
                text, content='chunk', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
            )""",
            """CREATE TRIGGER chunk_fts_insert AFTER INSERT ON chunk BEGIN
                INSERT INTO chunk_fts(rowid, text) VALUES (new.id, new.text);
            END""",
            """CREATE TRIGGER chunk_fts_delete AFTER DELETE ON chunk BEGIN
                INSERT INTO chunk_fts(chunk_fts, rowid, text) VALUES ('delete', old.id, old.text);
                DELETE FROM chunk_vec WHERE chunk_id = old.id;
            END""",
            # `model` names the embedding model that made each vector: a new model re-embeds, never mixes.
            """CREATE VIRTUAL TABLE chunk_vec USING vec0(
                chunk_id INTEGER PRIMARY KEY, embedding float[384] distance_metric=cosine, model TEXT
            )""",
            # The passages retrieved for a user message, numbered as its prompt shows them: stored so later turns
            # render the same prompt again (append-only, so the model's cache stays valid).
            """CREATE TABLE message_passage (
                message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                chunk_id INTEGER,
                document_id INTEGER REFERENCES document(id) ON DELETE SET NULL,
                file_name TEXT NOT NULL,
                page INTEGER NOT NULL,
                start INTEGER NOT NULL,
                "end" INTEGER NOT NULL,
                text TEXT NOT NULL,
                PRIMARY KEY (message_id, number)
            ) WITHOUT ROWID""",
            # The passages a reply cited, as shown to the user (verified or not).
            """CREATE TABLE citation (
                id INTEGER PRIMARY KEY,
                message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                document_id INTEGER REFERENCES document(id) ON DELETE SET NULL,
                file_name TEXT NOT NULL,
                page INTEGER NOT NULL,
                start INTEGER NOT NULL,
                "end" INTEGER NOT NULL,
                text TEXT NOT NULL,
                verified INTEGER NOT NULL
            )""",
            "CREATE INDEX citation_message ON citation(message_id, number)",
        ),
    ),
    (
        "0005_message_vector_prefilter",
        _sql(
            # Binary-quantised copies of message vectors: a hamming KNN over these picks candidates in a few ms at
            # 100k messages, then the float vectors in message_vec re-rank them exactly.
            """CREATE VIRTUAL TABLE message_bits USING vec0(
                message_id INTEGER PRIMARY KEY, embedding bit[384], model TEXT PARTITION KEY
            )""",
            """INSERT INTO message_bits (message_id, embedding, model)
               SELECT message_id, vec_quantize_binary(embedding), model FROM message_vec""",
        ),
    ),
    (
        "0006_chunk_vector_prefilter",
        _sql(
            # As for messages: binary-quantised chunk vectors pick KNN candidates fast, chunk_vec re-ranks exactly.
            """CREATE VIRTUAL TABLE chunk_bits USING vec0(
                chunk_id INTEGER PRIMARY KEY, embedding bit[384], model TEXT PARTITION KEY
            )""",
            """INSERT INTO chunk_bits (chunk_id, embedding, model)
               SELECT chunk_id, vec_quantize_binary(embedding), model FROM chunk_vec""",
            """CREATE TRIGGER chunk_bits_delete AFTER DELETE ON chunk BEGIN
                DELETE FROM chunk_bits WHERE chunk_id = old.id;
            END""",
        ),
    ),
    (
        "0007_chunk_search_scope",
        _sql(
            # The chunk's document as a vec0 metadata column: a search within a thread's documents filters inside
            # the KNN scan (exact k in scope) instead of over-fetching from every document and filtering after.
            "DROP TRIGGER chunk_bits_delete",
            "DROP TABLE chunk_bits",
            """CREATE VIRTUAL TABLE chunk_bits USING vec0(
                chunk_id INTEGER PRIMARY KEY, embedding bit[384], model TEXT PARTITION KEY, document_id INTEGER
            )""",
            """INSERT INTO chunk_bits (chunk_id, embedding, model, document_id)
               SELECT chunk_vec.chunk_id, vec_quantize_binary(chunk_vec.embedding), chunk_vec.model, chunk.document_id
               FROM chunk_vec JOIN chunk ON chunk.id = chunk_vec.chunk_id""",
            """CREATE TRIGGER chunk_bits_delete AFTER DELETE ON chunk BEGIN
                DELETE FROM chunk_bits WHERE chunk_id = old.id;
            END""",
            # Per-term chunk counts, read to leave words found in most chunks out of a keyword search.
            "CREATE VIRTUAL TABLE chunk_terms USING fts5vocab(chunk_fts, row)",
        ),
    ),
    (
        "0008_vector_model_columns",
        _sql(
            # Which embedding model made each row's vector, next to the row: finding what is left to embed reads
            # this column instead of looking every row up in vec0 (0.4 s at 100k messages, on every reply).
            "ALTER TABLE message ADD COLUMN vector_model TEXT",
            "UPDATE message SET vector_model = (SELECT model FROM message_vec WHERE message_id = message.id)",
            "ALTER TABLE chunk ADD COLUMN vector_model TEXT",
            "UPDATE chunk SET vector_model = (SELECT model FROM chunk_vec WHERE chunk_id = chunk.id)",
        ),
    ),
    (
        "0009_usage_for_every_call",
        _sql(
            # Every model call is metered, not only replies: a title, a summary, a compaction or an embedding
            # batch has no message, so message_id becomes optional, and each row says why the call was made.
            """CREATE TABLE usage_event_new (
                id INTEGER PRIMARY KEY,
                purpose TEXT NOT NULL DEFAULT 'turn',
                thread_id INTEGER REFERENCES thread(id) ON DELETE CASCADE,
                message_id INTEGER REFERENCES message(id) ON DELETE CASCADE,
                backend TEXT NOT NULL,
                model TEXT,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cached_tokens INTEGER NOT NULL DEFAULT 0,
                ttft_s REAL,
                tokens_per_s REAL,
                seconds REAL,
                created_at TEXT NOT NULL
            )""",
            """INSERT INTO usage_event_new (id, purpose, thread_id, message_id, backend, model, prompt_tokens,
                   completion_tokens, cached_tokens, ttft_s, tokens_per_s, created_at)
               SELECT u.id, 'turn', m.thread_id, u.message_id, u.backend, u.model, u.prompt_tokens,
                   u.completion_tokens, u.cached_tokens, u.ttft_s, u.tokens_per_s, u.created_at
               FROM usage_event u LEFT JOIN message m ON m.id = u.message_id""",
            "DROP TABLE usage_event",
            "ALTER TABLE usage_event_new RENAME TO usage_event",
            "CREATE INDEX usage_event_message ON usage_event(message_id)",
            "CREATE INDEX usage_event_thread ON usage_event(thread_id)",
            "CREATE INDEX usage_event_created ON usage_event(created_at)",
        ),
    ),
    ("0010_paused_replies", lambda db: _widen_check(db, "message", "'interrupted', 'error'", "'interrupted', 'error', 'paused'")),
    (
        "0011_folder_file_stamps",
        # A knowledge folder's file as it was when last indexed ("size:mtime_ns"): an unchanged stamp skips
        # hashing the file on every poll; a changed one is hashed, and the hash decides.
        _sql("ALTER TABLE attachment ADD COLUMN source_stamp TEXT"),
    ),
    (
        "0012_import_sources",
        _sql(
            # Which conversation of which export each imported thread came from ("chatgpt:<id>", "openwebui:<id>",
            # "sha256:<digest of the entry>"), so importing a file again skips what is already here.
            """CREATE TABLE import_source (
                source_id TEXT PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                imported_at TEXT NOT NULL
            ) WITHOUT ROWID""",
            "CREATE INDEX import_source_thread ON import_source(thread_id)",
        ),
    ),
    (
        "0013_incognito_threads",
        # An incognito thread neither reads nor writes long-term memory and is left out of training exports.
        _sql("ALTER TABLE thread ADD COLUMN incognito INTEGER NOT NULL DEFAULT 0"),
    ),
    (
        "0014_tool_calls",
        _sql(
            # Each tool call a reply made: part of the thread's history, shown as a card at `text_offset` of the
            # reply's text. A pending call is the reason its reply is paused; it survives a restart.
            """CREATE TABLE tool_call (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                call_key TEXT NOT NULL,
                name TEXT NOT NULL,
                server TEXT NOT NULL,
                arguments TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending-approval', 'running', 'done', 'failed', 'refused')),
                effect TEXT NOT NULL,
                text_offset INTEGER NOT NULL DEFAULT 0,
                result TEXT,
                error TEXT,
                duration_ms INTEGER,
                approved_by TEXT,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX tool_call_message ON tool_call(message_id, id)",
            "CREATE INDEX tool_call_thread ON tool_call(thread_id)",
            # Words of a call (name, arguments, result), for search over everything a thread holds.
            """CREATE VIRTUAL TABLE tool_call_fts USING fts5(
                name, arguments, result, content='tool_call', content_rowid='id', tokenize='unicode61'
            )""",
            """CREATE TRIGGER tool_call_fts_insert AFTER INSERT ON tool_call BEGIN
                INSERT INTO tool_call_fts (rowid, name, arguments, result)
                VALUES (new.id, new.name, new.arguments, coalesce(new.result, ''));
            END""",
            """CREATE TRIGGER tool_call_fts_update AFTER UPDATE ON tool_call BEGIN
                INSERT INTO tool_call_fts (tool_call_fts, rowid, name, arguments, result)
                VALUES ('delete', old.id, old.name, old.arguments, coalesce(old.result, ''));
                INSERT INTO tool_call_fts (rowid, name, arguments, result)
                VALUES (new.id, new.name, new.arguments, coalesce(new.result, ''));
            END""",
            """CREATE TRIGGER tool_call_fts_delete AFTER DELETE ON tool_call BEGIN
                INSERT INTO tool_call_fts (tool_call_fts, rowid, name, arguments, result)
                VALUES ('delete', old.id, old.name, old.arguments, coalesce(old.result, ''));
            END""",
            # "Always for this thread": side-effect tools the user let run without asking again.
            """CREATE TABLE tool_permission (
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                server TEXT NOT NULL,
                name TEXT NOT NULL,
                granted_at TEXT NOT NULL,
                PRIMARY KEY (thread_id, server, name)
            ) WITHOUT ROWID""",
            # Which tools a thread may use, as a JSON list of names; no row: the default (built-ins and the MCP
            # servers enabled for every thread).
            """CREATE TABLE thread_tools (
                thread_id INTEGER PRIMARY KEY REFERENCES thread(id) ON DELETE CASCADE,
                names TEXT NOT NULL
            )""",
        ),
    ),
    (
        "0015_memory",
        _sql(
            # A thread's system prompt as it was set over time: a branch uses the one in force when it began (its
            # newest message with an older sibling, else its first), so changing it never rewrites the prompt of
            # an existing branch. `from_message_id`: the largest message id when it was set.
            """CREATE TABLE system_prompt_version (
                id INTEGER PRIMARY KEY,
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                content TEXT,
                from_message_id INTEGER NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX system_prompt_version_thread ON system_prompt_version(thread_id, from_message_id)",
            # What a thread took at its start and keeps (append-only prompt): the custom instructions then.
            """CREATE TABLE thread_start (
                thread_id INTEGER PRIMARY KEY REFERENCES thread(id) ON DELETE CASCADE,
                instructions TEXT,
                created_at TEXT NOT NULL
            )""",
            # Long-term memory: short facts about the user, each waiting in the inbox until approved. `privacy`
            # is the strictest rule of the threads it came from; `conflicts_with` is a memory it contradicts.
            """CREATE TABLE memory (
                id INTEGER PRIMARY KEY,
                text TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('inbox', 'approved')),
                privacy TEXT NOT NULL DEFAULT 'local-only' CHECK (privacy IN ('local-only', 'ask', 'allowed')),
                conflicts_with INTEGER REFERENCES memory(id) ON DELETE SET NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                last_used_at TEXT,
                uses INTEGER NOT NULL DEFAULT 0,
                vector_model TEXT
            )""",
            "CREATE INDEX memory_status ON memory(status)",
            # The messages a memory came from. Plain ids: a memory outlives a purged thread (the link says gone).
            """CREATE TABLE memory_source (
                memory_id INTEGER NOT NULL REFERENCES memory(id) ON DELETE CASCADE,
                message_id INTEGER NOT NULL,
                thread_id INTEGER NOT NULL,
                PRIMARY KEY (memory_id, message_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX memory_source_message ON memory_source(message_id)",
            """CREATE VIRTUAL TABLE memory_fts USING fts5(
                text, content='memory', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
            )""",
            """CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory BEGIN
                INSERT INTO memory_fts(rowid, text) VALUES (new.id, new.text);
            END""",
            """CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory BEGIN
                INSERT INTO memory_fts(memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
            END""",
            """CREATE TRIGGER memory_fts_update AFTER UPDATE OF text ON memory BEGIN
                INSERT INTO memory_fts(memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
                INSERT INTO memory_fts(rowid, text) VALUES (new.id, new.text);
            END""",
            "CREATE VIRTUAL TABLE memory_vec USING vec0(memory_id INTEGER PRIMARY KEY, embedding float[384] distance_metric=cosine)",
            # A forgotten or rejected memory leaves only a digest of its normalised text per source message, so
            # the same fact is not proposed again from the same messages (and the text is not kept).
            """CREATE TABLE memory_tombstone (
                digest TEXT NOT NULL,
                message_id INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (digest, message_id)
            ) WITHOUT ROWID""",
            # The memories recalled into a thread at its start, as its prompt shows them (append-only).
            """CREATE TABLE thread_recall (
                thread_id INTEGER NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                memory_id INTEGER NOT NULL REFERENCES memory(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                text TEXT NOT NULL,
                PRIMARY KEY (thread_id, memory_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX thread_recall_memory ON thread_recall(memory_id)",
            # How far extraction has read each thread (message ids up to this one were offered to the model).
            """CREATE TABLE memory_scan (
                thread_id INTEGER PRIMARY KEY REFERENCES thread(id) ON DELETE CASCADE,
                up_to_message_id INTEGER NOT NULL,
                scanned_at TEXT NOT NULL
            )""",
            # Saved set-ups a new thread can start from.
            """CREATE TABLE assistant (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                system_prompt TEXT,
                model TEXT,
                tools TEXT NOT NULL DEFAULT '[]',
                folders TEXT NOT NULL DEFAULT '[]',
                privacy_rule TEXT NOT NULL DEFAULT 'local-only' CHECK (privacy_rule IN ('local-only', 'ask', 'allowed')),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        "0016_ratings_and_views",
        _sql(
            # A reply's rating (up or down) with an optional note: one row per rated message; clearing deletes it.
            """CREATE TABLE rating (
                message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                value TEXT NOT NULL CHECK (value IN ('up', 'down')),
                note TEXT,
                rated_at TEXT NOT NULL
            )""",
            "CREATE INDEX rating_value ON rating(value)",
            # Covering indexes for the usage sums per day, model and thread (`threadloom stats`, Insights): a GROUP
            # BY walks one in order, and a period starts at its first day, instead of sorting every usage row.
            *(
                f"""CREATE INDEX usage_event_by_{name} ON usage_event({key}substr(created_at, 1, 10), prompt_tokens,
                       completion_tokens, cached_tokens, seconds, ttft_s, tokens_per_s)"""
                for name, key in (("day", ""), ("model", "model, "), ("thread", "thread_id, "))
            ),
            # The documented views `threadloom sql` reads (README, "Read-only SQL"): a stable interface, so a
            # later migration that changes a table re-creates the views it touches with the same columns.
            *VIEWS_0016,
        ),
    ),
    (
        "0019_message_reasoning",
        # A reasoning model's thinking, kept apart from the reply's text (app.core.reasoning), and how long it took.
        _sql(
            "ALTER TABLE message ADD COLUMN reasoning TEXT",
            "ALTER TABLE message ADD COLUMN reasoning_s REAL",
        ),
    ),
    (
        "0020_tool_call_view",
        # The documented view of the tool calls replies made (README, "Read-only SQL"), beside those of 0016.
        _sql(
            """CREATE VIEW v_tool_calls AS
               SELECT c.id, c.thread_id, c.message_id, c.name, c.server, c.arguments, c.status, c.effect, c.result,
                   c.error, c.duration_ms, c.approved_by, c.text_offset, c.created_at
               FROM tool_call c JOIN thread t ON t.id = c.thread_id
               WHERE t.deleted_at IS NULL"""
        ),
    ),
    (
        "0021_document_chunk_count",
        # Each document's chunk count, kept by triggers: a search sums it over the documents in scope instead of
        # counting their chunks (5-9 ms of each hybrid search at 100k chunks in 5,000 documents, before).
        _sql(
            "ALTER TABLE document ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0",
            "UPDATE document SET chunks = (SELECT count(*) FROM chunk WHERE chunk.document_id = document.id)",
            """CREATE TRIGGER chunk_counted AFTER INSERT ON chunk BEGIN
                UPDATE document SET chunks = chunks + 1 WHERE id = new.document_id;
            END""",
            """CREATE TRIGGER chunk_uncounted AFTER DELETE ON chunk BEGIN
                UPDATE document SET chunks = chunks - 1 WHERE id = old.document_id;
            END""",
        ),
    ),
    (
        "0022_chunk_bits_in_a_plain_table",
        # The chunks' bit vectors move from a vec0 table to a plain one: a search now scans them in memory
        # (app.store.chunk_bits), and reading all 100k back out of vec0 took about 1 s, out of a table 0.1 s. The table
        # keeps the model and document columns it had (written with chunk.vector_model in one transaction; a chunk
        # never changes document) so the load reads it alone: joined to `chunk` instead, 140-170 ms against 110.
        # `chunk_generation` moves whenever any chunk is added or deleted or its vector written (replace_vectors sets
        # chunk.vector_model with it), in whatever process: what a search keeps in memory between searches (those bit
        # vectors, the keyword index's per-word counts, the last scope) is read again once it has moved.
        _sql(
            """CREATE TABLE chunk_bits_plain (
                chunk_id INTEGER PRIMARY KEY REFERENCES chunk(id) ON DELETE CASCADE,
                document_id INTEGER NOT NULL,
                model TEXT NOT NULL,
                embedding BLOB NOT NULL
            )""",
            """INSERT INTO chunk_bits_plain (chunk_id, document_id, model, embedding)
               SELECT chunk_bits.chunk_id, chunk.document_id, chunk_bits.model, chunk_bits.embedding
               FROM chunk_bits JOIN chunk ON chunk.id = chunk_bits.chunk_id""",
            "DROP TRIGGER chunk_bits_delete",
            "DROP TABLE chunk_bits",
            "ALTER TABLE chunk_bits_plain RENAME TO chunk_bits",
            "CREATE TABLE chunk_generation (generation INTEGER NOT NULL)",
            "INSERT INTO chunk_generation (generation) VALUES (0)",
            """CREATE TRIGGER chunk_generation_added AFTER INSERT ON chunk BEGIN
                UPDATE chunk_generation SET generation = generation + 1;
            END""",
            """CREATE TRIGGER chunk_generation_deleted AFTER DELETE ON chunk BEGIN
                UPDATE chunk_generation SET generation = generation + 1;
            END""",
            """CREATE TRIGGER chunk_generation_embedded AFTER UPDATE OF vector_model ON chunk BEGIN
                UPDATE chunk_generation SET generation = generation + 1;
            END""",
        ),
    ),
]


def _widen_check(db: peewee.Database, table: str, old: str, new: str) -> None:
    """Let a CHECK constraint accept more values, by SQLite's documented schema edit (ALTER TABLE, "making other
    kinds of table schema changes"): every stored row still passes, so no row is rewritten, and the table keeps its
    triggers, indexes and the foreign keys that point at it (rebuilding `message` would have to drop them all)."""
    version = db.execute_sql("PRAGMA schema_version").fetchone()[0]
    db.execute_sql("PRAGMA writable_schema = ON")
    try:
        db.execute_sql(
            "UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?", (old, new, table)
        )
        db.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute_sql("PRAGMA writable_schema = OFF")
    if db.execute_sql("PRAGMA integrity_check").fetchone()[0] != "ok":
        raise SetupError(f"the database failed its integrity check after widening {table}; restore a backup")


BUSY_RETRIES = 3  # each waits the connection's busy timeout (10 s) first: then another process holds on too long


def applied_migrations(db: peewee.Database) -> list[str]:
    db.execute_sql("CREATE TABLE IF NOT EXISTS migration (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return [row[0] for row in db.execute_sql("SELECT name FROM migration ORDER BY name")]


def migrate(db: peewee.Database, steps: list[tuple[str, Step]] = MIGRATIONS) -> list[str]:
    """Apply the steps not yet recorded; return their names.

    Several processes may open a new data folder at once: what is applied is read again inside each step's
    BEGIN IMMEDIATE (under SQLite's write lock), so a step another process applied meanwhile is skipped."""
    known = {name for name, _ in steps}
    done = _busy_retried(db, lambda: applied_migrations(db))
    unknown = [name for name in done if name not in known]
    if unknown:
        raise SetupError(
            f"this database was written by a newer Threadloom (migration {unknown[-1]}); update the app to open it"
        )
    newly_applied = []
    for name, step in steps:
        if name in done or not _busy_retried(db, lambda: _apply(db, name, step)):
            continue
        newly_applied.append(name)
    return newly_applied


def _apply(db: peewee.Database, name: str, step: Step) -> bool:
    """Run one step under the write lock unless it is recorded by then; whether this call ran it."""
    with db.atomic("IMMEDIATE"):
        if db.execute_sql("SELECT 1 FROM migration WHERE name = ?", (name,)).fetchone():
            return False
        step(db)
        db.execute_sql("INSERT INTO migration (name, applied_at) VALUES (?, ?)", (name, datetime.now(UTC).isoformat()))
    return True


def _busy_retried(db: peewee.Database, work: Callable[[], T]) -> T:
    """`work`, tried again while another process keeps the database locked, then refused in one line."""
    for attempt in range(1, BUSY_RETRIES + 1):
        try:
            return work()
        except (apsw.BusyError, peewee.OperationalError) as exc:
            if not is_busy(exc):
                raise
            if attempt == BUSY_RETRIES:
                raise busy_error(db.database) from exc


def busy_error(database: object) -> SetupError:
    return SetupError(
        f"the database {database} is busy (another program holds it locked): "
        "close other Threadloom windows or commands, or try again in a moment"
    )


def is_busy(exc: BaseException) -> bool:
    """peewee re-raises apsw's BusyError as an OperationalError; look through to the original."""
    return isinstance(exc, apsw.BusyError) or isinstance(exc.__context__, apsw.BusyError)
