"""Long-term memory: facts about the user proposed from threads by the local model, reviewed in an inbox, recalled
into new threads, searched, edited and forgotten for good.

Every memory keeps the messages it came from. A new fact is compared with similar ones (embedding and key words):
a duplicate only adds its sources to the existing memory; a contradiction waits in the inbox beside the memory it
contradicts, for the user to choose (`approve(..., replace=True)` keeps the new one, `reject` the old one). An
incognito thread is never read, and a memory keeps the strictest privacy rule of its source threads: only a memory
whose every source allows hosted use may go to a hosted model.
"""

from __future__ import annotations

import json
import logging
import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from app.core.domain import (
    CallPurpose,
    ChatTurn,
    GenerationRequest,
    Message,
    Role,
    SamplingParams,
    Thread,
)
from app.core.errors import GenerationFailed, InvalidInput, ModelUnavailable, WorkerDied
from app.core.memory import (
    ExtractionReport,
    Likeness,
    Memory,
    MemorySource,
    MemoryStatus,
    compare,
    digest,
    estimated_tokens,
    key_words,
    normalised,
)
from app.core.ports import Embedder
from app.core.routing import PrivacyRule
from app.core.search import reciprocal_rank_fusion
from app.platform.settings import Settings
from app.retrieval.search import any_word_query, content_words, vector_bytes
from app.services.changes import ChangeBroadcast, Changes
from app.services.context import thread_cache_key
from app.services.routing import Router
from app.store import Store
from app.store.memories import strictest
from app.store.routing import RoutingStore

log = logging.getLogger(__name__)

SIMILAR_CANDIDATES = 5
SEARCH_CANDIDATES = 50
# By meaning alone, a memory (or its source message) farther than this from the query is not a match
# (all-MiniLM-L6-v2: unrelated sentences sit at a cosine similarity of about 0 to 0.2, related ones from about 0.35).
MAX_SEARCH_DISTANCE = 0.7
# Extraction: one short call per user message that speaks of the user, under a JSON schema (a llama.cpp grammar).
FACTS_SCHEMA = {
    "type": "object",
    "properties": {
        "facts": {"type": "array", "items": {"type": "string", "minLength": 8, "maxLength": 160}, "maxItems": 3}
    },
    "required": ["facts"],
}
EXTRACTION_PROMPT = "Extract facts about the user (the writer of the message). Reply with JSON."
EXTRACTION_EXAMPLES = (
    ("I'm vegetarian and I work night shifts.", '{"facts": ["The user is vegetarian", "The user works night shifts"]}'),
    ("Can you explain how rainbows form?", '{"facts": []}'),
    ("My sister Ana is a doctor.", '{"facts": ["The user\'s sister Ana is a doctor"]}'),
    ("I have two cats and I live in Lisbon.", '{"facts": ["The user has two cats", "The user lives in Lisbon"]}'),
)
EXTRACTION_MAX_TOKENS = 128
MESSAGE_CHARS = 1500
# A message that never speaks of its writer holds no fact about them: it is not sent to the model at all.
_FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|i'd|i'll|me|my|mine|myself|we|our|us)\b", re.IGNORECASE)
# A fact's other sources: messages that hold its key words (GROUNDED_SHARE) and are this close to it in meaning.
MIN_SUPPORT_SIMILARITY = 0.5
GROUNDED_SHARE = 0.5  # of a proposed fact's key words, the share its message must contain (else it is made up)
# A message the model proposed no fact from is kept in its own words when it tells something (see `statements`).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STATEMENT_CHARS = 160
STATEMENT_KEY_WORDS = 4
IDLE_LOOKBACK = timedelta(days=7)
RECALL_HEADER = "What you remember about the user from earlier conversations (use it only where it helps):"


@dataclass(frozen=True, slots=True)
class AddOutcome:
    memory: Memory | None  # None: the user forgot or rejected this fact from these messages before
    likeness: Likeness = Likeness.DIFFERENT  # DUPLICATE: merged into `memory`; CONTRADICTION: `memory` asks


@dataclass
class IdleReport:
    threads: list[int] = field(default_factory=list)
    report: ExtractionReport = field(default_factory=ExtractionReport)


class MemoryService:
    def __init__(
        self,
        store: Store,
        router: Router,
        routing: RoutingStore,
        *,
        embedder: Embedder | None,
        settings: Callable[[], Settings],
        changes: ChangeBroadcast | None = None,
    ) -> None:
        self._store = store
        self._router = router
        self._routing = routing
        self._embedder = embedder
        self._settings = settings
        self._changes = changes or ChangeBroadcast()

    # Review and management

    def list_memories(self, status: MemoryStatus | None = None) -> list[Memory]:
        return self._store.memories(status)

    def inbox(self) -> list[Memory]:
        return self._store.memories(MemoryStatus.INBOX)

    def get(self, memory_id: int) -> Memory:
        return self._store.get_memory(memory_id)

    def add(
        self,
        text: str,
        *,
        sources: list[MemorySource] = (),
        status: MemoryStatus | None = None,
        privacy: PrivacyRule | None = None,
        vector: bytes | None = None,
    ) -> AddOutcome:
        """Add a fact (to the inbox unless `status` or the auto-approve setting says otherwise), or merge it into
        the memory it duplicates. Its privacy is the strictest rule of its source threads (`privacy` when it has
        none; local-only by default). `vector`: the fact's embedding when the caller has it already."""
        text = normalised(text)
        if not text:
            raise InvalidInput("a memory cannot be empty")
        sources = list(sources)
        if self._store.is_tombstoned(digest(text), [s.message_id for s in sources]):
            return AddOutcome(None)
        rules = [self._routing.privacy_rule(s.thread_id) for s in {s.thread_id: s for s in sources}.values()]
        privacy = strictest(*rules) if rules else (privacy or PrivacyRule.LOCAL_ONLY)
        vector = vector or self._embed(text)
        for other, similarity in self._similar(text, vector):
            likeness = compare(text, other.text, similarity)
            if likeness == Likeness.DUPLICATE:
                merged = self._store.merge_sources(other.id, sources, privacy)
                self._publish()
                return AddOutcome(merged, Likeness.DUPLICATE)
            if likeness == Likeness.CONTRADICTION:
                memory = self._store.add_memory(
                    text, status=MemoryStatus.INBOX, privacy=privacy, sources=sources, conflicts_with=other.id,
                    vector=vector, vector_model=self._model_id,
                )  # fmt: skip
                self._publish()
                return AddOutcome(memory, Likeness.CONTRADICTION)
        if status is None:
            status = MemoryStatus.APPROVED if self._settings().memory_auto_approve else MemoryStatus.INBOX
        memory = self._store.add_memory(
            text, status=status, privacy=privacy, sources=sources, vector=vector, vector_model=self._model_id
        )
        self._publish()
        return AddOutcome(memory)

    def approve(self, memory_id: int, *, replace: bool = False) -> Memory:
        """Approve a memory; with `replace`, the memory it contradicts is forgotten (else both are kept)."""
        memory = self._store.get_memory(memory_id)
        if replace and memory.conflicts_with is not None:
            self.forget(memory.conflicts_with)
        approved = self._store.update_memory(memory_id, status=MemoryStatus.APPROVED)
        self._publish()
        return approved

    def reject(self, memory_id: int) -> None:
        """Reject a proposed memory: it is forgotten, and not proposed again from the same messages."""
        self.forget(memory_id)

    def edit(self, memory_id: int, text: str | None = None, *, privacy: PrivacyRule | None = None) -> Memory:
        """Change a memory's text (threads that recalled it keep what they took) or its privacy rule (the user's
        say-so that a memory may go to hosted models, or may not)."""
        new_text = None if text is None else normalised(text)
        vector = self._embed(new_text) if new_text else None
        memory = self._store.update_memory(
            memory_id, text=new_text, privacy=privacy, vector=vector, vector_model=self._model_id if vector else None
        )
        self._publish()
        return memory

    def forget(self, memory_id: int) -> None:
        """Gone for good: from recall, the database (text, vector, keyword index, free pages, log) and the saved
        model states of the threads that recalled it; a tombstone keeps it from being proposed again."""
        memory = self._store.get_memory(memory_id)
        for thread_id in self._store.forget_memory(memory_id, digest=digest(memory.text)):
            self._router.forget_cached(thread_cache_key(thread_id))
        self._publish()

    def search(self, query: str, *, limit: int = 10, for_hosted: bool = False) -> list[Memory]:
        """Approved memories that match `query`, best first (reciprocal rank fusion); `for_hosted` keeps only those
        that may go to a hosted model.

        A memory that came from messages is ranked by what the user said there (its sources' words, counted twice,
        and their meaning), a memory without a source by its own words and meaning. The model's few words name the
        speaker more than the fact: ranked by them, a made-up "Gina is a doctor" came first for any question about
        Gina. Memories found only by their own words (words the model or the user's edit added) follow."""
        match = any_word_query(content_words(query))
        vector = self._embed(query)
        by_source = self._store.memory_source_ranking(match, limit=SEARCH_CANDIDATES) if match else []
        by_source_meaning = (
            self._store.memory_source_vector_ranking(
                vector, model=self._model_id, limit=SEARCH_CANDIDATES, max_distance=MAX_SEARCH_DISTANCE
            )
            if vector else []
        )  # fmt: skip
        keyword = self._store.memory_keyword_ranking(match, limit=SEARCH_CANDIDATES) if match else []
        nearest = self._store.memory_vector_ranking(vector, limit=SEARCH_CANDIDATES) if vector else []
        by_meaning = [memory_id for memory_id, distance in nearest if distance <= MAX_SEARCH_DISTANCE]
        sourced = self._store.sourced_among({*keyword, *by_meaning})
        unsourced = [[memory_id for memory_id in ids if memory_id not in sourced] for ids in (keyword, by_meaning)]
        first = reciprocal_rank_fusion(by_source, by_source, by_source_meaning, *unsourced)
        then = reciprocal_rank_fusion(keyword, by_meaning)
        ranked = list(dict.fromkeys(memory_id for memory_id, _ in [*first, *then]))
        found = spread_over_sources(self._store.memories(MemoryStatus.APPROVED, ids=ranked))
        if for_hosted:
            found = [m for m in found if may_go_hosted(m)]
        return found[:limit]

    def recall_for_start(self, thread: Thread, query: str) -> list[Memory]:
        """The approved memories relevant to a thread starting with `query`, best first, within the token budget
        (none for an incognito thread)."""
        if thread.incognito:
            return []
        budget = self._settings().memory_budget_tokens
        chosen, spent = [], estimated_tokens(RECALL_HEADER)
        for memory in self.search(query, limit=SEARCH_CANDIDATES):
            cost = estimated_tokens(f"- {memory.text}\n")
            if spent + cost > budget:
                break
            chosen.append(memory)
            spent += cost
        return chosen

    def note_used(self, memories: list[Memory]) -> None:
        self._store.note_memories_used([m.id for m in memories])

    # Extraction

    def extract(self, thread_id: int) -> ExtractionReport:
        """Propose memories from the thread's user messages not read before, by the local model (never a hosted
        one). An incognito thread is not read."""
        thread = self._store.get_thread(thread_id)
        report = ExtractionReport()
        if thread.incognito:
            return report
        start = self._store.memory_scan_position(thread_id)
        unread = [m for m in self._store.messages(thread_id) if m.id > start]
        said = [m for m in unread if m.role == Role.USER]
        vectors = self._embed_many([m.content for m in said])
        if vectors:  # the same vectors search makes: it need not embed these messages again
            self._store.store_embeddings([(m.id, v) for m, v in zip(said, vectors, strict=True)], model=self._model_id)
        covered: set[int] = set()  # messages some proposed fact came from (or that the user forgot one from)
        for message in said:
            if _FIRST_PERSON.search(message.content):
                report.messages += 1
                facts = [normalised(fact) for fact in self._facts(thread, message)]
                covered |= self._propose(thread_id, message, facts, said, vectors, report)
        for message in said:  # what the model kept nothing of: an informative message is kept in its own words
            if message.id not in covered and (told := statements(message.content)):
                self._propose(thread_id, message, [told], said, vectors, report)
        if unread:
            self._store.set_memory_scan_position(thread_id, max(m.id for m in unread))
        return report

    def _propose(
        self,
        thread_id: int,
        message: Message,
        facts: list[str],
        said: list[Message],
        vectors: list[bytes] | None,
        report: ExtractionReport,
    ) -> set[int]:
        """Add the facts proposed from `message` (each sourced from every message that says it), noting each
        outcome in `report`; returns the ids of the messages they came from."""
        sources_of: set[int] = set()
        fact_vectors = self._embed_many(facts) or [None] * len(facts)
        for fact, fact_vector in zip(facts, fact_vectors, strict=True):
            sources = [message, *self._also_said(fact, fact_vector, message, said, vectors)]
            sources_of |= {m.id for m in sources}
            outcome = self.add(fact, sources=[MemorySource(thread_id, m.id) for m in sources], vector=fact_vector)
            if outcome.memory is None:
                report.skipped_forgotten += 1
            elif outcome.likeness == Likeness.DUPLICATE:
                report.merged.append(outcome.memory.id)
            elif outcome.likeness == Likeness.CONTRADICTION:
                report.conflicts.append(outcome.memory.id)
            else:
                report.added.append(outcome.memory.id)
        return sources_of

    def extract_idle(self, *, limit: int = 1) -> IdleReport:
        """Read up to `limit` threads left idle for the setting's minutes (none when it is 0). Only threads active in
        the last IDLE_LOOKBACK are read: a long history is not all read at once on the first start."""
        minutes = self._settings().memory_idle_minutes
        idle = IdleReport()
        if minutes <= 0:
            return idle
        idle_for = timedelta(minutes=minutes)
        for thread_id in self._store.threads_to_scan(idle_for=idle_for, active_within=IDLE_LOOKBACK, limit=limit):
            report = self.extract(thread_id)
            idle.threads.append(thread_id)
            for name in ("added", "merged", "conflicts"):
                getattr(idle.report, name).extend(getattr(report, name))
            idle.report.messages += report.messages
            idle.report.skipped_forgotten += report.skipped_forgotten
        return idle

    def _facts(self, thread: Thread, message: Message) -> list[str]:
        """What the local model proposes from one message, keeping only facts grounded in it."""
        turns = [ChatTurn(Role.SYSTEM, EXTRACTION_PROMPT)]
        for example, answer in EXTRACTION_EXAMPLES:
            turns += [ChatTurn(Role.USER, example), ChatTurn(Role.ASSISTANT, answer)]
        turns.append(ChatTurn(Role.USER, message.content[:MESSAGE_CHARS]))
        request = GenerationRequest(
            turns=tuple(turns),
            sampling=SamplingParams(temperature=0.0, max_tokens=EXTRACTION_MAX_TOKENS),
            json_schema=FACTS_SCHEMA,
        )
        route = self._router.utility_route(thread)
        if route.hosted:
            route = self._router.utility_route(None)
        text = self._router.complete(request, purpose=CallPurpose.MEMORY, thread=thread, route=route)
        try:
            facts = json.loads(text)["facts"] if text else []
        except (ValueError, KeyError, TypeError):
            log.info("memory extraction from message %s gave no JSON (%s characters)", message.id, len(text))
            return []
        return [fact for fact in facts if isinstance(fact, str) and grounded(fact, message.content)]

    def _also_said(
        self, fact: str, fact_vector: bytes | None, origin: Message, said: list[Message], vectors: list[bytes] | None
    ) -> list[Message]:
        """The other messages just read that say the fact too (its key words and, with vectors, its meaning): the
        model sees one message at a time, and a fact the user told over several turns keeps them all."""
        also = []
        for index, message in enumerate(said):
            if message.id == origin.id or not grounded(fact, message.content):
                continue
            if fact_vector is None or vectors is None or cosine(fact_vector, vectors[index]) >= MIN_SUPPORT_SIMILARITY:
                also.append(message)
        return also

    # Helpers

    @property
    def _model_id(self) -> str | None:
        return self._embedder.model_id if self._embedder is not None else None

    def _embed(self, text: str) -> bytes | None:
        """The text's vector, or None when the embedding model cannot run (keywords alone then)."""
        vectors = self._embed_many([text])
        return vectors[0] if vectors else None

    def _embed_many(self, texts: list[str]) -> list[bytes] | None:
        """The texts' vectors in one call, or None when the embedding model cannot run."""
        if self._embedder is None or not texts:
            return None
        try:
            return [vector_bytes(vector) for vector in self._embedder.embed(texts)]
        except (ModelUnavailable, WorkerDied, GenerationFailed) as exc:
            log.info("no vectors (keywords only): %s", exc)
            return None

    def _similar(self, text: str, vector: bytes | None) -> list[tuple[Memory, float]]:
        """Stored memories close to `text` by meaning or key words, with their cosine similarity (0 unknown)."""
        similarity: dict[int, float] = {}
        if vector is not None:
            for memory_id, distance in self._store.memory_vector_ranking(vector, limit=SIMILAR_CANDIDATES):
                similarity[memory_id] = 1.0 - distance
        match = any_word_query(sorted(key_words(text)))
        for memory_id in self._store.memory_keyword_ranking(match, limit=SIMILAR_CANDIDATES) if match else []:
            if memory_id not in similarity:
                other = self._store.memory_vector(memory_id)
                similarity[memory_id] = cosine(vector, other) if vector and other else 0.0
        ranked = sorted(similarity, key=lambda i: -similarity[i])
        return [(memory, similarity[memory.id]) for memory in self._store.memories(ids=ranked)]

    def _publish(self) -> None:
        self._changes.publish(Changes(memories=True))


def may_go_hosted(memory: Memory) -> bool:
    """Only a memory whose every source thread allows hosted use (or that the user allowed) leaves the machine."""
    return memory.privacy == PrivacyRule.ALLOWED


def spread_over_sources(ranked: list[Memory]) -> list[Memory]:
    """The ranking with each memory that only repeats the messages of memories above it moved after those that
    bring a new one: a message the model drew three facts from does not fill the first places alone."""
    seen: set[int] = set()
    new, repeats = [], []
    for memory in ranked:
        messages = {source.message_id for source in memory.sources}
        (repeats if messages and messages <= seen else new).append(memory)
        seen |= messages
    return new + repeats


def statements(message: str) -> str:
    """What a message tells, in its own words: its sentences that are not questions, up to STATEMENT_CHARS (cut at
    a word), or "" when they hold fewer than STATEMENT_KEY_WORDS key words ("Thanks!", "How are you?")."""
    told = normalised(" ".join(s for s in _SENTENCE_END.split(message.strip()) if not s.endswith("?")))
    if len(key_words(told)) < STATEMENT_KEY_WORDS:
        return ""
    return told if len(told) <= STATEMENT_CHARS else told[:STATEMENT_CHARS].rsplit(" ", 1)[0]


def grounded(fact: str, message: str) -> bool:
    """Whether most of a proposed fact's key words are in its message (a word matches by its first five letters,
    so "allergy" is grounded in "allergic"): small models otherwise make facts up."""
    words = key_words(fact)
    if not words:
        return False
    stems = {word[:5] for word in key_words(message)}
    return sum(word[:5] in stems for word in words) / len(words) >= GROUNDED_SHARE


def cosine(a: bytes, b: bytes) -> float:
    x, y = array("f", a), array("f", b)
    dot = sum(p * q for p, q in zip(x, y, strict=True))
    norm = math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y))
    return dot / norm if norm else 0.0
