"""The tools CLI on the real starter model and a real MCP server: a side-effect call makes `chat` exit 3 with the
call in its JSON, and nothing is written until `approve` (a new process: the pause survives the restart)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SERVER = str(Path(__file__).parents[1] / "mcp" / "notes_server.py")
CALL_FIELDS = {"id", "name", "server", "arguments", "result", "error", "status", "duration_ms"}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    return folder


def test_a_pending_call_exits_3_and_approve_runs_it(cli, notes):
    added = cli("mcp", "add", "notes", "--json", "--", sys.executable, SERVER, str(notes))
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["enabled"] is True
    listed = json.loads(cli("tools", "list", "--json").stdout)
    assert {"name": "write_note", "server": "notes", "effect": "side-effect"}.items() <= next(
        t for t in listed if t["name"] == "write_note"
    ).items()

    chat = cli("chat", "--new", "--json", "--tools", "write_note", "--require-tool", "Write a note saying hello.")
    assert chat.returncode == 3, chat.stderr
    out = json.loads(chat.stdout)
    [call] = out["tool_calls"]
    assert set(call) == CALL_FIELDS
    assert (out["status"], call["status"], call["name"], call["server"]) == ("paused", "pending-approval", "write_note", "notes")
    assert f"threadloom approve {call['id']}" in chat.stderr
    assert list(notes.iterdir()) == []  # nothing ran without a yes

    approved = cli("approve", str(call["id"]), "--json")
    after = json.loads(approved.stdout)
    # The reply goes on; the model may answer, or call the tool again (that call waits for its own yes: exit 3).
    assert (approved.returncode, after["status"]) in ((0, "complete"), (3, "paused")), approved.stderr
    ran = after["tool_calls"][0]
    assert ran["status"] in ("done", "failed") and ran["duration_ms"] >= 0 and after["message_id"] == out["message_id"]
    if ran["status"] == "done":  # the model chose the name; a name the server cannot write fails the call alone
        assert ran["result"].startswith("wrote ") and len(list(notes.iterdir())) == 1
    else:
        assert ran["error"] and "\n" not in ran["error"]
    assert all(c["status"] == "pending-approval" for c in after["tool_calls"][1:])

    again = cli("deny", str(call["id"]))
    assert again.returncode == 1 and "is not waiting for an answer" in again.stderr


def test_deny_tells_the_model_and_writes_nothing(cli, notes):
    cli("mcp", "add", "notes", "--", sys.executable, SERVER, str(notes))
    chat = cli("chat", "--new", "--json", "--tools", "write_note", "--require-tool", "Save a note called x.")
    assert chat.returncode == 3, chat.stderr
    [call] = json.loads(chat.stdout)["tool_calls"]
    denied = cli("deny", str(call["id"]), "--json")
    assert denied.returncode in (0, 3), denied.stderr
    refused = json.loads(denied.stdout)["tool_calls"][0]
    assert (refused["status"], refused["result"]) == ("refused", "the user declined")
    assert list(notes.iterdir()) == []
    shown = json.loads(cli("mcp", "list", "--json").stdout)
    assert shown[0]["name"] == "notes" and shown[0]["status"] == "stopped"  # this process started nothing
