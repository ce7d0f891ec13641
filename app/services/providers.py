"""Hosted providers: OpenAI-compatible endpoints the user added, each with its API key in the OS keyring."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from app.core.errors import InvalidInput, NotFound
from app.core.ports import SecretStore
from app.core.routing import Provider
from app.store.routing import RoutingStore

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_SECRET_PARAMETER = re.compile(r"key|token|secret|password|auth", re.IGNORECASE)


def check_base_url(base_url: str) -> str:
    """An https URL, or http to this machine only: a key sent in clear over a network is a key given away."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"base URL {base_url!r} is not an http(s) URL: give one like https://api.example.com/v1")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "the base URL holds a user name or password, which would be stored and shown as is: "
            "give the URL without them; the API key is asked for separately and kept in the OS keyring"
        )
    if any(_SECRET_PARAMETER.search(name) for name, _ in parse_qsl(parts.query, keep_blank_values=True)):
        raise InvalidInput(
            "the base URL carries a key or token in its query, which would be stored and shown as is: "
            "remove it; the API key is asked for separately and kept in the OS keyring"
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidInput(
            f"base URL {base_url!r} is plain http to another machine, which would send the API key unencrypted: "
            f"use https"
        )
    return base_url.strip().rstrip("/")


class ProviderService:
    def __init__(self, rows: RoutingStore, secrets: SecretStore) -> None:
        self._rows = rows
        self._secrets = secrets

    def add(self, name: str, *, base_url: str, model: str, api_key: str) -> Provider:
        """Store the key in the keyring first: with no keyring, nothing at all is saved."""
        if not NAME_PATTERN.fullmatch(name):
            raise InvalidInput(
                f"provider name {name!r} must be lower-case letters, digits, '.', '-' or '_' (no '/'), up to 40"
            )
        url = check_base_url(base_url)
        if not model.strip():
            raise InvalidInput("the model name is empty: give the endpoint's model id with --model")
        api_key = api_key.strip()
        if not api_key:
            raise InvalidInput("the API key is empty: nothing was saved")
        if any(provider.name == name for provider in self._rows.providers()):
            raise InvalidInput(f"a provider named {name!r} exists already: remove it first to change it")
        self._secrets.set_secret(name, api_key)
        try:
            return self._rows.add_provider(name, url, model.strip())
        except BaseException:
            self._secrets.delete_secret(name)
            raise

    def list(self) -> list[Provider]:
        return self._rows.providers()

    def get(self, name: str) -> Provider:
        return self._rows.provider(name)

    def remove(self, name: str) -> Provider:
        provider = self._rows.provider(name)
        self._secrets.delete_secret(name)
        self._rows.remove_provider(name)
        return provider

    def api_key(self, name: str) -> str:
        key = self._secrets.get_secret(name)
        if not key:
            raise NotFound(
                f"the OS keyring has no API key for provider {name!r}: "
                f"run `threadloom providers remove {name}` and add it again"
            )
        return key
