"""MCP servers over stdio with the official SDK: a real server (tests/mcp/notes_server.py) listing and calling
tools, its side-effect tool waiting for the user's yes, and servers that crash, hang or print garbage failing only
their call."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from fakes import scripted_services

from app.core.domain import MessageStatus, ReplyFinished
from app.core.errors import InvalidInput, NotFound
from app.core.tools import ToolCallRequest, ToolEffect
from app.services.mcp_servers import McpServers

SERVER = str(Path(__file__).parents[1] / "mcp" / "notes_server.py")


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello from the note")
    return folder


@pytest.fixture
def servers(tmp_path: Path):
    made = []

    def make(**kwargs) -> McpServers:
        servers = McpServers(tmp_path / "data", **kwargs)
        made.append(servers)
        return servers

    yield make
    for servers in made:
        servers.stop_all()


def finished(events) -> ReplyFinished:
    return next(e for e in events if isinstance(e, ReplyFinished))


def test_mcp_json_is_edited_and_checked(servers, tmp_path):
    mcp = servers()
    assert mcp.configs() == []
    mcp.add("notes", sys.executable, [SERVER, "/tmp"], {"A": "1"})
    with pytest.raises(InvalidInput, match="already an MCP server named notes"):
        mcp.add("notes", "x", [])
    with pytest.raises(InvalidInput, match="not a server name"):
        mcp.add("bad name", "x", [])
    mcp.set_enabled("notes", False)
    [config] = mcp.configs()
    assert (config.command, config.args, config.env, config.enabled) == (sys.executable, (SERVER, "/tmp"), {"A": "1"}, False)
    assert '"mcpServers"' in mcp.path.read_text()
    mcp.remove("notes")
    assert mcp.configs() == []
    with pytest.raises(NotFound):
        mcp.remove("notes")
    mcp.path.write_text("{not json")
    with pytest.raises(InvalidInput, match="not a valid mcp.json"):
        mcp.configs()


def test_a_real_server_lists_and_runs_its_tools_and_stops_with_the_app(servers, notes):
    mcp = servers()
    mcp.add("notes", sys.executable, [SERVER, str(notes)])
    assert mcp.statuses()[0].state == "stopped"  # lazily: nothing started yet
    specs = {spec.name: spec for spec in mcp.tools(thread=None)}
    assert specs["read_note"].effect == ToolEffect.READ_ONLY and specs["read_note"].server == "notes"
    assert specs["write_note"].effect == ToolEffect.SIDE_EFFECT  # not annotated read-only
    assert specs["write_note"].parameters["required"] == ["name", "text"]
    assert mcp.call(None, "read_note", {"name": "hello.txt"}).content == "hello from the note"
    [status] = mcp.statuses()
    assert status.state == "running" and set(status.tools) == {"read_note", "write_note"}
    assert "notes server starting" in status.log_path.read_text()  # its stderr, in its own log
    mcp.stop_all()
    assert mcp.statuses()[0].state == "stopped"


def test_the_side_effect_tool_of_a_server_waits_for_a_yes(tmp_path, notes):
    mcp = McpServers(tmp_path / "data")
    mcp.add("notes", sys.executable, [SERVER, str(notes)])
    services = scripted_services(tmp_path / "data", tool_providers=[mcp])
    try:
        services.backend().enqueue(
            [ToolCallRequest("c1", "write_note", {"name": "new.txt", "text": "written"})], ["Done."]
        )  # fmt: skip
        thread = services.chat.new_thread()
        reply = finished(list(services.chat.send(thread.id, "write a note"))).reply
        [pending] = services.store.tool_calls(reply.id)
        assert reply.status == MessageStatus.PAUSED and pending.server == "notes"
        assert not (notes / "new.txt").exists()
        resumed = finished(list(services.tools.answer(pending.id, run=True))).reply
        assert (notes / "new.txt").read_text() == "written" and resumed.status == MessageStatus.COMPLETE
        assert services.store.get_tool_call(pending.id).result == "wrote new.txt"
    finally:
        mcp.stop_all()
        services.store.close()


@pytest.mark.parametrize("mode", ["crash", "hang", "garbage"])
def test_a_misbehaving_server_fails_only_its_call(servers, notes, mode):
    mcp = servers(call_timeout_s=2.0)
    mcp.add("notes", sys.executable, [SERVER, str(notes), mode])
    assert {spec.name for spec in mcp.tools(thread=None)} == {"read_note", "write_note"}
    started = time.monotonic()
    outcome = mcp.call(None, "read_note", {"name": "hello.txt"})
    if mode == "garbage":  # the SDK skips lines that are not JSON-RPC; the call itself may still succeed
        assert outcome.error is None or "\n" not in outcome.error
    else:
        assert outcome.error is not None and "\n" not in outcome.error
        assert ("did not answer" in outcome.error) if mode == "hang" else ("stopped" in outcome.error or "failed" in outcome.error), outcome
        assert time.monotonic() - started < 15  # a bound on waiting, not a speed assertion
    # The next use starts it afresh: listing works again.
    assert {spec.name for spec in mcp.tools(thread=None)} == {"read_note", "write_note"}


def test_a_call_from_inside_a_running_event_loop_works_too(servers, notes):
    """As from the GUI thread, where qasync runs a loop: a thread cannot run the connection's loop inside its own."""
    mcp = servers()
    mcp.add("notes", sys.executable, [SERVER, str(notes)])

    async def from_a_coroutine() -> str:
        return mcp.call(None, "read_note", {"name": "hello.txt"}).content if mcp.tools(thread=None) else ""

    assert asyncio.run(from_a_coroutine()) == "hello from the note"
    mcp.stop_all()
    assert mcp.statuses()[0].state == "stopped"
