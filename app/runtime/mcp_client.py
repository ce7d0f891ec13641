"""One MCP server over stdio, driven from any thread, through the official `mcp` SDK (MIT).

The SDK is asyncio; each connection has a private event loop that the calling thread runs for the length of its
call (`run_until_complete`, one caller at a time), so callers (the turn loop's tool handler, the window's background
tasks) stay synchronous and a call costs no hop to another thread: waking a loop thread and back was most of a
call's overhead over the SDK's own on a busy machine. Between calls the loop rests; what the server writes waits in
its pipe. The server process starts on first use and stops with `stop` (the app closes every connection when it
quits; a call in progress then fails at once). Whatever the server does wrong — it exits mid-call, never
answers, prints garbage — raises `McpFailure` for that call only; a connection that failed is started afresh on its
next use. The server's stderr goes to its own log file.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 20.0
CALL_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class McpFailure(Exception):
    """A server could not start, list its tools or answer a call; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class McpTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool  # the server's annotations say so (`readOnlyHint`); anything else counts as a side effect


@dataclass(frozen=True, slots=True)
class McpCommand:
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


class McpConnection:
    def __init__(
        self,
        name: str,
        command: McpCommand,
        *,
        log_path: Path,
        start_timeout_s: float = START_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        self._start_timeout_s = start_timeout_s
        self._call_timeout_s = call_timeout_s
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session = None
        self._closing: asyncio.Event | None = None
        self._served: asyncio.Task | None = None
        self._tools: list[McpTool] | None = None
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._session is not None and self._served is not None and not self._served.done()

    @property
    def listed_tools(self) -> list[McpTool]:
        """The tools listed since it last started, without starting it ([] if none)."""
        return list(self._tools or ())

    def tools(self) -> list[McpTool]:
        """The server's tools (listed once per start)."""
        with self._lock:
            self._ensure_started()
            if self._tools is None:
                listed = self._run(self._session.list_tools(), self._call_timeout_s, "list its tools")
                self._tools = [
                    McpTool(
                        tool.name, tool.description or "", dict(tool.input_schema),
                        bool(tool.annotations and tool.annotations.read_only_hint),
                    )
                    for tool in listed.tools
                ]  # fmt: skip
            return self._tools

    def call(self, tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """(text of the result, whether the tool reported an error)."""
        with self._lock:
            self._ensure_started()
            result = self._run(
                self._session.call_tool(tool, arguments),  # timed out here, not by the SDK: a hung server is stopped
                self._call_timeout_s,
                f"answer the call to {tool}",
            )
        texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
        if not texts and result.structured_content is not None:
            texts = [str(result.structured_content)]
        return "\n".join(texts), bool(result.is_error)

    def stop(self) -> None:
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None and loop.is_running():
            try:
                loop.call_soon_threadsafe(closing.set)  # another thread's call is running it: that call ends now
            except RuntimeError:  # that call ended and closed the loop meanwhile
                pass
        with self._lock:
            self._stop_locked()

    def _ensure_started(self) -> None:
        if self.running:
            return
        self._stop_locked()
        self._loop = asyncio.new_event_loop()
        ready = self._loop.create_future()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        errlog = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed when the server stops
        self._served = self._loop.create_task(self._serve(ready, errlog))
        try:
            self._drive(ready, self._start_timeout_s)
        except TimeoutError:
            self._fail(f"the MCP server {self.name} did not start within {self._start_timeout_s:.0f} s")
        except Exception as exc:  # noqa: BLE001 - whatever the SDK or the process raised
            self._fail(f"the MCP server {self.name} could not start: {_one_line(exc)} (see {self.log_path})")

    async def _serve(self, ready: asyncio.Future, errlog) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        self._closing = asyncio.Event()
        params = StdioServerParameters(
            command=self.command.command, args=list(self.command.args), env=dict(self.command.env) or None
        )
        try:
            async with stdio_client(params, errlog=errlog) as streams, ClientSession(*streams) as session:
                await session.initialize()
                self._session = session
                ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:  # noqa: BLE001 - reported to whoever waits, never raised into the loop
            if not ready.done():
                ready.set_exception(exc)
            self.last_error = _one_line(exc)
        finally:
            self._session = None
            errlog.close()

    def _run(self, coroutine, timeout_s: float, doing: str):
        """Run `coroutine` on this thread (the lock held), at most `timeout_s`."""
        try:
            return self._drive(coroutine, timeout_s)
        except TimeoutError:
            self._stop_locked()  # a hung server is started afresh next time
            raise McpFailure(f"the MCP server {self.name} did not {doing} within {timeout_s:.0f} s") from None
        except Exception as exc:  # noqa: BLE001 - a crash, a closed pipe, a protocol error: this call fails
            if not self.running:
                raise McpFailure(
                    f"the MCP server {self.name} stopped while asked to {doing} (see {self.log_path})"
                ) from None
            raise McpFailure(f"the MCP server {self.name} failed to {doing}: {_one_line(exc)}") from None

    def _fail(self, message: str) -> None:
        self.last_error = message
        self._stop_locked()
        raise McpFailure(message)

    def _stop_locked(self) -> None:
        loop, served, closing = self._loop, self._served, self._closing
        self._loop = self._served = self._closing = self._session = None
        self._tools = None
        if loop is None:
            return
        if closing is not None:
            closing.set()
        if served is not None:
            try:
                self._drive(served, STOP_TIMEOUT_S, loop)
            except (Exception, asyncio.CancelledError):  # it failed or would not stop: the loop goes anyway
                pass
        loop.close()

    def _drive(self, awaitable, timeout_s: float, loop: asyncio.AbstractEventLoop | None = None):
        """Run the connection's loop on this thread until `awaitable` is done, at most `timeout_s`. A thread that
        runs a loop of its own already (qasync's, on the GUI thread) cannot run another: a helper thread does."""
        loop = loop or self._loop
        job = asyncio.wait_for(awaitable, timeout_s)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # none: the usual case
            return loop.run_until_complete(job)
        outcome: dict[str, Any] = {}

        def drive() -> None:
            try:
                outcome["result"] = loop.run_until_complete(job)
            except BaseException as exc:  # noqa: BLE001 - raised on the caller's thread below
                outcome["error"] = exc

        helper = threading.Thread(target=drive, name=f"mcp-{self.name}")
        helper.start()
        helper.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _one_line(exc.exceptions[0])
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
