"""Long-term memory and saved set-ups as values, and the plain rules memory follows: how a fact is normalised and
digested (tombstones), and how a new fact compares with a similar one (duplicate, contradiction, or neither)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.core.routing import PrivacyRule

MAX_MEMORY_CHARS = 500
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that say nothing about which fact it is (a duplicate may differ in them, a contradiction may not).
_FILLER = frozenset(
    "a an the is are was were be been am i im i'm my me mine user user's users they their them he she his her "
    "it its of to in on at for with and or as by from that this has have had do does likes like really very also "
    "s t".split()
)
_NEGATIONS = frozenset("not no never dont don't doesnt doesn't isnt isn't arent aren't cannot cant can't".split())
DUPLICATE_SIMILARITY = 0.9   # cosine similarity above which two facts with the same key words are one
SHARED_WORDS_RELATED = 0.5   # share of key words two facts about the same thing have in common


class MemoryStatus(StrEnum):
    INBOX = "inbox"        # proposed, waiting for the user's approval; never recalled
    APPROVED = "approved"  # recalled into new threads and by the recall tool


@dataclass(frozen=True, slots=True)
class MemorySource:
    thread_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Memory:
    id: int
    text: str
    status: MemoryStatus
    privacy: PrivacyRule  # the strictest rule of its source threads: local-only never goes to a hosted model
    created_at: datetime
    updated_at: datetime
    sources: tuple[MemorySource, ...] = ()
    last_used_at: datetime | None = None
    uses: int = 0
    conflicts_with: int | None = None  # the approved memory this one contradicts: the user chooses


@dataclass(frozen=True, slots=True)
class Assistant:
    """A saved set-up that a new thread starts from."""

    id: int
    name: str
    system_prompt: str | None = None
    model: str | None = None
    tools: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    privacy_rule: PrivacyRule = PrivacyRule.LOCAL_ONLY
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Instructions:
    """Custom instructions, applied to every new thread."""

    about: str = ""  # about me
    style: str = ""  # how to answer

    def as_prompt(self) -> str | None:
        parts = []
        if self.about.strip():
            parts.append(f"About the user: {self.about.strip()}")
        if self.style.strip():
            parts.append(f"How to answer: {self.style.strip()}")
        return "\n".join(parts) or None


class Likeness(StrEnum):
    DUPLICATE = "duplicate"          # the same fact: merge its sources into the existing memory
    CONTRADICTION = "contradiction"  # the same subject, a different value: the user chooses
    DIFFERENT = "different"


@dataclass(frozen=True, slots=True)
class Comparison:
    likeness: Likeness
    other_id: int | None = None


def normalised(text: str) -> str:
    """One line, single spaces, no trailing full stop: how a fact is stored."""
    return " ".join(text.split()).strip().rstrip(".").strip()[:MAX_MEMORY_CHARS]


def digest(text: str) -> str:
    """What a tombstone keeps of a forgotten fact: a hash of its lower-cased words, never the text."""
    words = " ".join(w.lower() for w in _WORD.findall(text))
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def key_words(text: str) -> set[str]:
    """The words that say which fact it is: lower-cased, without filler."""
    return {w for w in (w.lower() for w in _WORD.findall(text)) if w not in _FILLER}


def compare(text: str, other: str, similarity: float) -> Likeness:
    """How a new fact stands to a similar stored one (`similarity`: cosine of their embeddings, 0 if unknown).

    The same key words (or nearly the same meaning with nothing new) is a duplicate. Facts about the same thing
    (half the key words of the longer in common) that differ in a negation, or where each names a value the other
    lacks (a name, a number), contradict each other ("my manager is Dana" / "my manager is Sam"); a fact that
    only adds a name to a shorter one ("the user has a shop" / "the user's friend Gina has a shop") does not, nor
    does a "no" in a longer story that shares a word with a fact. Anything else is a different fact."""
    mine, theirs = key_words(text), key_words(other)
    if not mine or not theirs:
        return Likeness.DIFFERENT
    shared = len(mine & theirs) / min(len(mine), len(theirs))
    same_subject = len(mine & theirs) / max(len(mine), len(theirs)) >= SHARED_WORDS_RELATED
    if same_subject and (mine ^ theirs) & _NEGATIONS:
        return Likeness.CONTRADICTION
    if mine == theirs or (similarity >= DUPLICATE_SIMILARITY and mine <= theirs):
        return Likeness.DUPLICATE
    if shared < SHARED_WORDS_RELATED:
        return Likeness.DIFFERENT
    texts = text + " " + other
    if same_subject and all(any(_is_value(word, texts) for word in own) for own in (mine - theirs, theirs - mine)):
        return Likeness.CONTRADICTION
    return Likeness.DUPLICATE if similarity >= DUPLICATE_SIMILARITY else Likeness.DIFFERENT


def _is_value(word: str, texts: str) -> bool:
    """A number, or a word written with a capital (a name, a place) in either text."""
    if word.isdigit():
        return True
    return any(w[:1].isupper() and w.lower() == word for w in _WORD.findall(texts))


def estimated_tokens(text: str) -> int:
    """About how many tokens `text` costs (4 characters a token), for budgets decided before any model is asked."""
    return len(text) // 4 + 1


@dataclass(frozen=True, slots=True)
class ExtractedFact:
    text: str
    message_id: int


@dataclass
class ExtractionReport:
    added: list[int] = field(default_factory=list)        # new memories (in the inbox unless auto-approved)
    merged: list[int] = field(default_factory=list)       # existing memories that gained a source
    conflicts: list[int] = field(default_factory=list)    # new memories that contradict one: the user chooses
    skipped_forgotten: int = 0                            # facts the user forgot or rejected before
    messages: int = 0                                     # user messages read
