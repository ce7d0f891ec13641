"""Providers and their keys: the OS keyring or nothing; the database never holds a key."""

from __future__ import annotations

import pytest
from keyring.backends import fail
from servers import MemoryKeyring

from app.core.errors import InvalidInput, SecretStoreUnavailable
from app.platform.secrets import SERVICE, KeyringSecrets
from app.services.providers import ProviderService
from app.store.routing import RoutingStore

KEY = "sk-unit-" + "k" * 32


def _service(store, backend) -> ProviderService:
    return ProviderService(RoutingStore(store), KeyringSecrets("scope", backend=backend))


def test_the_key_goes_to_the_keyring_and_never_into_the_database(store):
    backend = MemoryKeyring()
    providers = _service(store, backend)
    provider = providers.add("acme", base_url="https://api.acme.test/v1/", model="big", api_key=f"  {KEY}\n")
    assert (provider.base_url, provider.model) == ("https://api.acme.test/v1", "big")
    assert backend.secrets == {(SERVICE, "scope:acme"): KEY}
    assert providers.api_key("acme") == KEY
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert KEY.encode() not in store.path.read_bytes()
    providers.remove("acme")
    assert backend.secrets == {} and providers.list() == []


@pytest.mark.parametrize("backend", [fail.Keyring(), None])
def test_with_no_usable_keyring_nothing_is_stored(store, backend, monkeypatch):
    import keyring

    if backend is None:  # what a headless machine picks on its own
        monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    providers = _service(store, backend)
    with pytest.raises(SecretStoreUnavailable, match="no usable OS keyring.*never writes API keys to a file"):
        providers.add("acme", base_url="https://api.acme.test/v1", model="big", api_key=KEY)
    assert providers.list() == []


@pytest.mark.parametrize(
    ("name", "url", "match"),
    [
        ("Acme/2", "https://a.test/v1", "provider name"),
        ("acme", "ftp://a.test", "not an http"),
        ("acme", "http://api.acme.test/v1", "unencrypted"),
    ],
)
def test_bad_provider_settings_are_refused_before_the_key_is_stored(store, name, url, match):
    backend = MemoryKeyring()
    with pytest.raises(InvalidInput, match=match):
        _service(store, backend).add(name, base_url=url, model="m", api_key=KEY)
    assert backend.secrets == {}


def test_a_second_provider_with_the_same_name_keeps_the_first_key(store):
    backend = MemoryKeyring()
    providers = _service(store, backend)
    providers.add("acme", base_url="http://127.0.0.1:9/v1", model="m", api_key=KEY)
    with pytest.raises(InvalidInput, match="exists already"):
        providers.add("acme", base_url="http://127.0.0.1:9/v1", model="m", api_key="other")
    assert providers.api_key("acme") == KEY
