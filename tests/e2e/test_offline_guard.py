"""The offline guarantee's own check: under tests/offline.sh (as `make test` runs this suite) no process reaches
beyond loopback, while loopback (the hosted stand-in, the keyring's D-Bus) still works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("THREADLOOM_TEST_OFFLINE"), reason="only under tests/offline.sh (make test runs e2e there)"
)

PROBE = """
import socket, sys
try:
    socket.create_connection(("192.0.2.1", 443), timeout=3)  # TEST-NET-1: documentation only, never a real host
except OSError as exc:
    print("refused", type(exc).__name__)
else:
    print("connected")
try:
    socket.getaddrinfo("pypi.org", 443)
except OSError as exc:
    print("refused", type(exc).__name__)
else:
    print("resolved")
"""


def test_no_process_of_the_run_reaches_beyond_loopback():
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    said = probe.stdout.splitlines()
    assert len(said) == 2 and all(line.startswith("refused") for line in said), probe.stdout + probe.stderr


def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
