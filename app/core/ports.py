"""What the services need from the outside world, as protocols the store and runtime implement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from app.core.models import (
    GenerationRequest,
    Message,
    MessageStatus,
    Role,
    StreamEvent,
    Thread,
    Timings,
    Usage,
)


class ThreadRepository(Protocol):
    def create_thread(self, title: str, *, model: str | None = None) -> Thread: ...
    def get_thread(self, thread_id: int) -> Thread: ...
    def list_threads(self) -> list[Thread]: ...
    def rename_thread(self, thread_id: int, title: str) -> Thread: ...
    def delete_thread(self, thread_id: int) -> None: ...
    def add_message(
        self,
        thread_id: int,
        *,
        parent_id: int | None,
        role: Role,
        content: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        model: str | None = None,
    ) -> Message: ...
    def append_to_message(self, message_id: int, text: str) -> None: ...
    def finish_message(
        self,
        message_id: int,
        *,
        status: MessageStatus,
        usage: Usage | None = None,
        timings: Timings | None = None,
        error: str | None = None,
    ) -> Message: ...
    def get_message(self, message_id: int) -> Message: ...
    def messages(self, thread_id: int) -> list[Message]: ...
    def path_to(self, message_id: int) -> list[Message]: ...
    def recover_interrupted(self) -> int: ...


class ChatBackend(Protocol):
    """Something that streams a reply: the local worker or a hosted endpoint."""

    name: str

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
