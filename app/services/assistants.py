"""Assistants: saved set-ups (name, system prompt, model, tools, knowledge folders, privacy rule) that a new thread
starts from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.core.domain import Thread
from app.core.errors import InvalidInput
from app.core.memory import Assistant
from app.services.changes import ChangeBroadcast, Changes
from app.services.chat import NEW_THREAD_TITLE, ChatService
from app.services.knowledge_folders import KnowledgeFolders
from app.store import Store
from app.store.routing import RoutingStore


class AssistantService:
    def __init__(
        self,
        store: Store,
        routing: RoutingStore,
        chat: ChatService,
        folders: KnowledgeFolders,
        changes: ChangeBroadcast,
    ) -> None:
        self._store = store
        self._routing = routing
        self._chat = chat
        self._folders = folders
        self._changes = changes

    def list(self) -> list[Assistant]:
        return self._store.assistants()

    def get(self, name: str) -> Assistant:
        return self._store.get_assistant(name)

    def add(self, assistant: Assistant) -> Assistant:
        return self._store.add_assistant(self._checked(assistant))

    def edit(self, name_or_id: str, **changes) -> Assistant:
        """Change the named fields of an assistant (threads it started keep what they were given)."""
        return self._store.update_assistant(self._checked(replace(self._store.get_assistant(name_or_id), **changes)))

    def remove(self, name: str) -> None:
        self._store.remove_assistant(self._store.get_assistant(name).id)

    def start_thread(self, name: str, *, incognito: bool = False) -> Thread:
        """A new thread set up as the assistant says: its model, system prompt, tools (all of them when it names
        none), privacy rule and knowledge folders (indexed by the next sync)."""
        assistant = self._store.get_assistant(name)
        thread = self._store.create_thread(
            NEW_THREAD_TITLE, model=assistant.model or self._chat.model_name,
            system_prompt=assistant.system_prompt, incognito=incognito,
        )  # fmt: skip
        self._routing.set_privacy_rule(thread.id, assistant.privacy_rule)
        if assistant.tools:  # a name the thread does not have (an MCP server gone) is simply not offered
            self._store.set_thread_tools(thread.id, list(assistant.tools))
        for folder in assistant.folders:
            self._folders.add_folder(folder, thread_id=thread.id)
        self._changes.publish(Changes(thread_list=True))
        return self._store.get_thread(thread.id)

    def _checked(self, assistant: Assistant) -> Assistant:
        """Folders are kept as absolute paths to existing folders; the model must be one the router can use."""
        folders = []
        for folder in assistant.folders:
            path = Path(folder).expanduser().resolve()
            if not path.is_dir():
                raise InvalidInput(f"{folder} is not a folder")
            folders.append(str(path))
        if assistant.model:
            self._chat.router.check_model(assistant.model)
        return replace(assistant, folders=tuple(folders))
