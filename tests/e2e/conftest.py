"""Fixtures for the routing tests: the hosted stand-in behind a counting relay, keyrings."""

from __future__ import annotations

import secrets
from pathlib import Path

import keyring
import pytest

from servers import CountingProxy, MemoryKeyring, start_llama_server, start_secret_service, stop


@pytest.fixture(scope="session")
def api_key() -> str:
    return "sk-threadloom-" + secrets.token_hex(16)


@pytest.fixture(scope="session")
def hosted_server(models_dir: Path, api_key: str, tmp_path_factory) -> int:
    """`python -m llama_cpp.server` on the starter model with an API key; its port."""
    from app.services.models import load_catalog

    log = tmp_path_factory.mktemp("hosted") / "server.log"
    process, port = start_llama_server(models_dir / load_catalog()[0].file, api_key, log)
    yield port
    stop(process)


@pytest.fixture
def hosted(hosted_server: int) -> CountingProxy:
    """A fresh relay in front of the hosted stand-in: `connections` counts what this test sent."""
    proxy = CountingProxy(hosted_server)
    yield proxy
    proxy.close()


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory) -> dict[str, str]:
    """The environment of a private D-Bus session with gnome-keyring's Secret Service running."""
    env, processes = start_secret_service(tmp_path_factory.mktemp("keyring-home"))
    yield env
    for process in processes:
        stop(process)
