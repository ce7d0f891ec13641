"""Values for choosing where a turn runs: privacy rules, hosted providers, model references and the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PrivacyRule(StrEnum):
    """Per thread: may its content be sent to a hosted model?"""

    LOCAL_ONLY = "local-only"  # never (the default)
    ASK = "ask"                # only when the user confirms that turn
    ALLOWED = "allowed"        # yes, for upgrades and fallbacks


class HostedPermission(StrEnum):
    """Whether a turn may go to a hosted model now, by the same rule the router applies."""

    NOT_NEEDED = "not-needed"  # the model is local, or the thread allows hosted use
    ASK = "ask"                # the thread asks first: the user's yes for this turn lets it go
    REFUSED = "refused"        # local only, or offline mode: it cannot go at all


@dataclass(frozen=True, slots=True)
class ConsentCheck:
    permission: HostedPermission
    reason: str = ""       # for ASK and REFUSED: one line a user can act on
    offline: bool = False  # REFUSED because offline mode is on (not by the thread's rule)


class RouteReason(StrEnum):
    THREAD = "thread"      # the thread's own model
    FALLBACK = "fallback"  # the local model could not serve
    UPGRADE = "upgrade"    # the user re-ran a turn with another model


@dataclass(frozen=True, slots=True)
class Provider:
    """An OpenAI-compatible endpoint. Its API key lives in the OS keyring only, never here."""

    name: str
    base_url: str
    model: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model as users name it: `NAME` for a local model, `PROVIDER/MODEL` (or `PROVIDER`) for a hosted one."""

    name: str
    provider: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        provider, slash, model = text.partition("/")
        return cls(name=model, provider=provider) if slash else cls(name=text)

    @property
    def hosted(self) -> bool:
        return self.provider is not None

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}" if self.provider else self.name


@dataclass(frozen=True, slots=True)
class HostedCall:
    """One request whose content left this machine: a row of the privacy ledger."""

    id: int
    thread_id: int
    message_id: int | None
    provider: str
    base_url: str
    model: str
    reason: RouteReason
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool  # the endpoint reported no usage: counted from the text instead
    created_at: datetime
