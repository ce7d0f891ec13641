"""The log: a rotating threadloom.log in the data directory, its level from the setting or THREADLOOM_LOG, every key the
keyring handed out (and anything shaped like a key) scrubbed before it is written, and the CLI's last-resort handler
that puts an unexpected error's traceback there and tells the user in one line."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app import cli
from app.platform.logs import LOG_FILE, chosen_level, log_path

REPO = Path(__file__).resolve().parents[2]


def test_a_canary_key_never_reaches_the_log_file(tmp_path: Path):
    """In a fresh process, as the app runs: the key is stored and read through the keyring, then logged every way
    a careless line could (message, argument, exception, traceback, an Authorization header)."""
    canary = "canary-" + "7f3a9c" * 6
    script = textwrap.dedent(
        f"""
        import logging, sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        import keyring
        from servers import MemoryKeyring
        from app.platform.logs import setup_logging
        from app.platform.secrets import KeyringSecrets

        keyring.set_keyring(MemoryKeyring())
        setup_logging({str(tmp_path)!r}, level="debug")
        secrets = KeyringSecrets(scope="test")
        secrets.set_secret("acme", {canary!r})
        key = secrets.get_secret("acme")
        log = logging.getLogger("app.test")
        log.info("calling acme with key %s", key)
        log.debug("headers: %s", {{"Authorization": "Bearer " + key}})
        log.warning("a key typed by hand: sk-live0123456789abcdef and Bearer abc.def-ghi")
        try:
            raise RuntimeError("the endpoint refused " + key)
        except RuntimeError:
            log.exception("request failed")
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=60)
    written = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    assert canary not in written
    assert "sk-live0123456789abcdef" not in written and "abc.def-ghi" not in written
    assert written.count("[secret]") >= 5
    assert "Traceback" in written and "RuntimeError: the endpoint refused [secret]" in written


def test_the_environment_wins_over_the_setting(monkeypatch):
    monkeypatch.delenv("THREADLOOM_LOG", raising=False)
    assert chosen_level(None) == logging.INFO
    assert chosen_level("warning") == logging.WARNING
    monkeypatch.setenv("THREADLOOM_LOG", "DEBUG")
    assert chosen_level("warning") == logging.DEBUG
    monkeypatch.setenv("THREADLOOM_LOG", "loud")  # not a level: the setting decides
    assert chosen_level("error") == logging.ERROR


def test_an_unexpected_cli_error_goes_to_the_log_with_its_traceback_and_one_line_to_the_user(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture
):
    def broken(_args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(cli, "_dispatch", broken)
    assert cli.main(["--data-dir", str(tmp_path / "data"), "search", "anything"]) == 1
    err = capsys.readouterr().err
    where = log_path()  # the process's log (the first set-up wins in a test run)
    assert err == f"threadloom: error: `search` failed unexpectedly (TypeError); the details are in {where}\n"
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = where.read_text(encoding="utf-8")
    assert "`search` failed unexpectedly" in written and 'raise TypeError("unsupported operand")' in written
