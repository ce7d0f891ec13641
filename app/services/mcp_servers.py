"""MCP servers as tool providers: the Claude-Desktop-style `mcp.json` in the data folder, and their tools.

`mcp.json` is `{"mcpServers": {"NAME": {"command": …, "args": […], "env": {…}, "enabled": true}}}` (`enabled` is
ours; a server without it counts as enabled). Enabled servers offer their tools in every thread that has not chosen
its own set; a server starts on the first turn that needs its tools and stops with the app. A tool whose annotations
do not say read-only is a side effect: it waits for the user's yes. A server that fails fails only its call.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.core.domain import Thread
from app.core.errors import InvalidInput, NotFound
from app.core.tools import ToolEffect, ToolOutcome, ToolSpec
from app.runtime.mcp_client import McpCommand, McpConnection, McpFailure

log = logging.getLogger(__name__)

CONFIG_FILE = "mcp.json"
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    name: str
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class McpServerStatus:
    config: McpServerConfig
    state: str                   # "stopped", "running", "failed"
    error: str | None
    tools: tuple[str, ...]       # known once it has started
    log_path: Path


def tool_name(name: str) -> str:
    """An MCP tool's name as a thread's tool set spells it ([a-z0-9_]+)."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "tool"


class McpServers:
    """A `ToolProvider` over every enabled server in `mcp.json`, and the edits of that file."""

    def __init__(self, data_dir: Path, *, call_timeout_s: float | None = None) -> None:
        self.data_dir = data_dir
        self.path = data_dir / CONFIG_FILE
        self._call_timeout_s = call_timeout_s
        self._connections: dict[str, McpConnection] = {}
        self._lock = threading.Lock()

    # mcp.json

    def configs(self) -> list[McpServerConfig]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            servers = data.get("mcpServers", {})
            return [
                McpServerConfig(
                    name, str(entry["command"]), tuple(str(a) for a in entry.get("args", [])),
                    {str(k): str(v) for k, v in entry.get("env", {}).items()}, bool(entry.get("enabled", True)),
                )
                for name, entry in servers.items()
            ]  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"{self.path} is not a valid mcp.json ({exc}); fix or remove it") from None

    def add(self, name: str, command: str, args: list[str], env: dict[str, str] | None = None) -> McpServerConfig:
        if not SERVER_NAME.match(name):
            raise InvalidInput(f"{name!r} is not a server name: letters, digits, '_', '.', '-', at most 64")
        if not command.strip():
            raise InvalidInput("give the command that starts the server")
        if any(c.name == name for c in self.configs()):
            raise InvalidInput(f"there is already an MCP server named {name}; remove it first")
        config = McpServerConfig(name, command, tuple(args), dict(env or {}))
        self._save([*self.configs(), config])
        return config

    def remove(self, name: str) -> None:
        self._config(name)
        self._save([c for c in self.configs() if c.name != name])
        self._drop(name)

    def set_enabled(self, name: str, enabled: bool) -> McpServerConfig:
        config = self._config(name)
        changed = McpServerConfig(config.name, config.command, config.args, config.env, enabled)
        self._save([changed if c.name == name else c for c in self.configs()])
        if not enabled:
            self._drop(name)
        return changed

    def statuses(self) -> list[McpServerStatus]:
        statuses = []
        for config in self.configs():
            connection = self._connections.get(config.name)
            if connection is not None and connection.running:
                state, tools = "running", tuple(tool_name(t.name) for t in connection.listed_tools)
            else:
                state, tools = ("failed" if connection and connection.last_error else "stopped"), ()
            error = connection.last_error if connection else None
            statuses.append(McpServerStatus(config, state, error, tools, self._log_path(config.name)))
        return statuses

    def server_tools(self, name: str) -> list[ToolSpec]:
        """Start the server if need be and list its tools (McpFailure if it cannot)."""
        connection = self._connection(self._config(name))
        return [self._spec(name, tool) for tool in connection.tools()]

    def stop_all(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.stop()

    # ToolProvider

    def tools(self, thread: Thread) -> list[ToolSpec]:
        specs = []
        for config in self.configs():
            if not config.enabled:
                continue
            try:
                specs += self.server_tools(config.name)
            except McpFailure as exc:
                log.warning("%s", exc)  # its tools are not offered this turn; the status shows why
        return specs

    def call(self, thread: Thread, name: str, arguments: dict) -> ToolOutcome:
        """Call the tool on the server that listed it. (The servers started this session, not `mcp.json`: reading
        and parsing that file was part of a call's overhead over the SDK's own, and the turn only calls a tool
        `tools` offered, from an enabled server; a server disabled or removed is dropped at once.)"""
        with self._lock:
            connections = list(self._connections.values())
        for connection in connections:
            tool = next((t for t in connection.listed_tools if tool_name(t.name) == name), None)
            if tool is None:
                continue
            try:
                text, is_error = connection.call(tool.name, arguments)
            except McpFailure as exc:
                return ToolOutcome("", error=str(exc))
            if is_error:
                return ToolOutcome(text, error=(text.strip().splitlines() or ["the tool reported an error"])[0][:300])
            return ToolOutcome(text)
        return ToolOutcome("", error=f"no running MCP server offers {name}")

    # inside

    def _spec(self, server: str, tool) -> ToolSpec:
        effect = ToolEffect.READ_ONLY if tool.read_only else ToolEffect.SIDE_EFFECT
        schema = tool.input_schema if tool.input_schema.get("type") == "object" else {"type": "object"}
        return ToolSpec(tool_name(tool.name), tool.description or tool.name, schema, effect, server=server)

    def _config(self, name: str) -> McpServerConfig:
        config = next((c for c in self.configs() if c.name == name), None)
        if config is None:
            raise NotFound(f"no MCP server named {name} (`threadloom mcp list`)")
        return config

    def _connection(self, config: McpServerConfig) -> McpConnection:
        with self._lock:
            connection = self._connections.get(config.name)
            command = McpCommand(config.command, config.args, config.env)
            if connection is None or connection.command != command:
                if connection is not None:
                    connection.stop()
                kwargs = {"call_timeout_s": self._call_timeout_s} if self._call_timeout_s else {}
                connection = McpConnection(config.name, command, log_path=self._log_path(config.name), **kwargs)
                self._connections[config.name] = connection
            return connection

    def _drop(self, name: str) -> None:
        with self._lock:
            connection = self._connections.pop(name, None)
        if connection is not None:
            connection.stop()

    def _log_path(self, name: str) -> Path:
        return self.data_dir / "mcp-logs" / f"{name}.log"

    def _save(self, configs: list[McpServerConfig]) -> None:
        data = {
            "mcpServers": {
                c.name: {"command": c.command, "args": list(c.args), "env": c.env, "enabled": c.enabled}
                for c in configs
            }
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.path)
