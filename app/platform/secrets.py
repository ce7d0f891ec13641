"""API keys in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker) and nowhere else.

When the machine has no usable keyring (a headless Linux box picks keyring's `fail.Keyring`), storing a key is
refused with a message that says what to install. Plaintext backends (keyrings.alt) are refused too, even when
installed: a key in a file next to the database is exactly what this module exists to prevent.
"""

from __future__ import annotations

import threading

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import chainer, fail

from app.core.errors import SecretStoreUnavailable

SERVICE = "threadloom"
HOW_TO_FIX = (
    "install and unlock an OS keyring (on Linux: gnome-keyring or KWallet with a D-Bus session); "
    "Threadloom never writes API keys to a file"
)


_handed_out: set[str] = set()  # every key this process read or stored, so the log can scrub it (app.platform.logs)
_handed_out_lock = threading.Lock()


def _remember(secret: str | None) -> str | None:
    if secret:
        with _handed_out_lock:
            _handed_out.add(secret)
    return secret


def handed_out_secrets() -> tuple[str, ...]:
    """The keys that passed through this module in this process, longest first (a key may contain another)."""
    with _handed_out_lock:
        return tuple(sorted(_handed_out, key=len, reverse=True))


def _usable_backend(backend: keyring.backend.KeyringBackend) -> bool:
    if isinstance(backend, fail.Keyring) or type(backend).__module__.startswith("keyrings.alt"):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable_backend(inner) for inner in backend.backends)
    return True


def describe(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


class KeyringSecrets:
    """`app.core.ports.SecretStore` over `keyring`. `scope` keeps the keys of different data directories apart."""

    def __init__(self, scope: str, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._scope = scope
        self._backend = backend

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend or keyring.get_keyring()

    def available(self) -> bool:
        return _usable_backend(self.backend)

    def _checked_backend(self) -> keyring.backend.KeyringBackend:
        backend = self.backend
        if not _usable_backend(backend):
            raise SecretStoreUnavailable(f"no usable OS keyring (found {describe(backend)}): {HOW_TO_FIX}")
        return backend

    def _username(self, name: str) -> str:
        return f"{self._scope}:{name}"

    def set_secret(self, name: str, secret: str) -> None:
        _remember(secret)
        try:
            self._checked_backend().set_password(SERVICE, self._username(name), secret)
        except keyring.errors.KeyringError as exc:
            # The backend's message is about the keyring, never the secret; keep only its type to be sure.
            raise SecretStoreUnavailable(
                f"the OS keyring refused to store the key ({type(exc).__name__}): {HOW_TO_FIX}"
            ) from None

    def get_secret(self, name: str) -> str | None:
        try:
            return _remember(self._checked_backend().get_password(SERVICE, self._username(name)))
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"the OS keyring could not be read ({type(exc).__name__}): {HOW_TO_FIX}"
            ) from None

    def delete_secret(self, name: str) -> None:
        try:
            self._checked_backend().delete_password(SERVICE, self._username(name))
        except keyring.errors.PasswordDeleteError:
            pass  # nothing stored under that name: already gone
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"the OS keyring could not remove the key ({type(exc).__name__}): {HOW_TO_FIX}"
            ) from None
