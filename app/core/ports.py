"""What the services need from the outside world, as protocols the store and runtime implement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from app.core.domain import (
    BackendCapabilities,
    ChatTurn,
    GenerationRequest,
    StreamEvent,
)
from app.core.tools import ToolSpec


class ChatBackend(Protocol):
    """Something that streams a reply: the local worker or a hosted endpoint. It says what it can do
    (`capabilities`) and counts a prompt in its own tokens, so callers never probe it."""

    name: str

    def capabilities(self) -> BackendCapabilities: ...
    def count_tokens(self, turns: tuple[ChatTurn, ...], tools: tuple[ToolSpec, ...] = ()) -> int: ...
    def generate(self, request: GenerationRequest) -> Iterator[StreamEvent]: ...
    def cancel(self) -> None: ...


class Embedder(Protocol):
    """Turns texts into vectors on the device. One interface for message search and attachment retrieval."""

    model_id: str  # stored next to each vector, so vectors from different models are never compared
    dimensions: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class SecretStore(Protocol):
    """Where API keys live: the OS keyring. Raises SecretStoreUnavailable rather than keep a key anywhere else."""

    def set_secret(self, name: str, secret: str) -> None: ...
    def get_secret(self, name: str) -> str | None: ...
    def delete_secret(self, name: str) -> None: ...
