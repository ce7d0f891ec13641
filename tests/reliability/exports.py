"""Exports as ChatGPT and Open WebUI write them, built at test time, for the hostile-input suite to bend."""

from __future__ import annotations

import json
from pathlib import Path


def chatgpt(title: str, turns: list[tuple[str, str]], *, conversation_id: str | None = None, **extra) -> dict:
    """A ChatGPT conversation as its export has it: a root node, then one node per (role, text), in a chain."""
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": ["n0"] if turns else []}}
    for index, (role, text) in enumerate(turns):
        mapping[f"n{index}"] = {
            "id": f"n{index}",
            "parent": "root" if index == 0 else f"n{index - 1}",
            "children": [f"n{index + 1}"] if index + 1 < len(turns) else [],
            "message": {"author": {"role": role}, "create_time": 1714585031.0 + index,
                        "content": {"content_type": "text", "parts": [text]}, "status": "finished_successfully"},
        }  # fmt: skip
    return {"title": title, "id": conversation_id or title, "create_time": 1714585031.0, "update_time": 1714585099.0,
            "mapping": mapping, "current_node": f"n{len(turns) - 1}", **extra}  # fmt: skip


def openwebui(title: str, turns: list[tuple[str, str]], **chat) -> dict:
    messages, parent = {}, None
    for index, (role, text) in enumerate(turns):
        messages[f"m{index}"] = {"id": f"m{index}", "parentId": parent, "role": role, "content": text,
                                 "timestamp": 1714585031 + index}  # fmt: skip
        parent = f"m{index}"
    history = {"messages": messages, "currentId": parent}
    return {"id": title, "title": title, "created_at": 1714585031, "updated_at": 1714585099,
            "chat": {"title": title, "history": {**history, **chat.pop("history", {})}, **chat}}  # fmt: skip


GOOD = [("user", "hello"), ("assistant", "hi")]


def write(tmp_path: Path, entries, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(entries if isinstance(entries, str) else json.dumps(entries), encoding="utf-8")
    return path
