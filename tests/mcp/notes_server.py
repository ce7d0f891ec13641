"""A real MCP server for the tests, written with the official SDK, run over stdio: `python tests/mcp/notes_server.py
FOLDER [MODE]`. `read_note` is read-only (annotated so), `write_note` writes a file into FOLDER (a side effect).
MODE makes it misbehave: `crash` exits in the middle of a call, `hang` never answers a call, `garbage` prints
non-protocol lines on stdout before and during a call."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

FOLDER = Path(sys.argv[1])
MODE = sys.argv[2] if len(sys.argv) > 2 else "ok"

server = MCPServer("notes")


def misbehave() -> None:
    if MODE == "crash":
        os._exit(3)
    if MODE == "hang":
        time.sleep(3600)
    if MODE == "garbage":
        sys.stdout.write("this is not JSON-RPC\n{\"half\": \n")
        sys.stdout.flush()


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def read_note(name: str) -> str:
    """Read the note called NAME."""
    misbehave()
    path = FOLDER / Path(name).name
    return path.read_text() if path.exists() else f"no note called {name}"


@server.tool()
def write_note(name: str, text: str) -> str:
    """Write TEXT to the note called NAME."""
    misbehave()
    (FOLDER / Path(name).name).write_text(text)
    return f"wrote {Path(name).name}"


if __name__ == "__main__":
    print("notes server starting", file=sys.stderr)
    server.run("stdio")
