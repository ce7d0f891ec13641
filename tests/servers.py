"""Real servers on 127.0.0.1 for the routing and download tests, and keyring backends.

- `CountingProxy`: a TCP relay in front of a server that counts the connections it accepts and keeps the bytes sent
  through it, so a test can prove that nothing (or what) was sent without trusting the client under test.
- `GgufServer`: an HTTP server that serves one file with Range support and can cut a response midway.
- `start_llama_server`: `python -m llama_cpp.server` with the starter model and an API key (the hosted stand-in).
- `MemoryKeyring`: a real `keyring` backend that keeps secrets in this process.
- `start_secret_service`: a private D-Bus session with gnome-keyring's Secret Service, unlocked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

READY_TIMEOUT_S = 120  # a bound on waiting for a server, not a speed assertion


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingProxy:
    """Relays 127.0.0.1:port to an upstream port and counts accepted connections."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self.sent = bytearray()  # every byte the clients sent upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, sink, record in ((client, upstream, self.sent), (upstream, client, None)):
                threading.Thread(target=self._pump, args=(source, sink, record), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if record is not None:
                    record.extend(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def start_llama_server(model_path: Path, api_key: str, log_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed by the caller's teardown through the process
    process = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--api_key", api_key,
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {api_key}"}).is_success:
                return process, port
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"llama_cpp.server did not answer within {READY_TIMEOUT_S} s; see {log_path}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class GgufServer:
    """Serves `path` at /model.gguf with Range support. `cut_after` bytes into the next full response, the
    connection is dropped (once). `requests` records each request's Range header (None for none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.cut_after: int | None = None
        self.requests: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(self.headers.get("Range"))
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    if start >= len(server.data):
                        self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                        self.end_headers()
                        return
                    self.send_response(HTTPStatus.PARTIAL_CONTENT)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}")
                else:
                    self.send_response(HTTPStatus.OK)
                body = server.data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut, server.cut_after = server.cut_after, None
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # mid-body: the client sees a cut connection
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/model.gguf"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in memory (for tests in one process)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError("no such secret")


def start_secret_service(home: Path) -> tuple[dict[str, str], list[subprocess.Popen]]:
    """A private session bus with gnome-keyring's Secret Service, unlocked with an empty password.
    Returns the environment a client needs and the processes to stop."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: install the Debian packages gnome-keyring dbus-x11 (.ci/run does)")
    runtime = home / "run"
    runtime.mkdir(parents=True, mode=0o700, exist_ok=True)
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "XDG_DATA_HOME": str(home / "data")}
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    daemon.stdin.write("\n")  # the login keyring's (empty) password
    daemon.stdin.close()
    probe = [
        sys.executable, "-c",
        "import secretstorage; c = secretstorage.get_default_collection(secretstorage.dbus_init()); "
        "assert not c.is_locked()",
    ]  # fmt: skip
    deadline = time.monotonic() + 30
    while subprocess.run(probe, env={**os.environ, **env}, capture_output=True).returncode != 0:
        if time.monotonic() > deadline or daemon.poll() is not None:
            for process in (daemon, bus):
                stop(process)
            raise RuntimeError("gnome-keyring's Secret Service did not come up on the private bus")
        time.sleep(0.2)
    return env, [daemon, bus]
