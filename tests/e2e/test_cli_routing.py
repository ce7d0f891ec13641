"""The routing commands as subprocesses, with the key in a real Secret Service (gnome-keyring on a private D-Bus):
providers, route, chat --model, ledger, models add/remove/default; the key never lands in a file or an output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run(data_dir: Path, models_dir: Path, *args: str, env: dict | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--models-dir", str(models_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_a_hosted_turn_from_the_cli_keeps_the_key_in_the_secret_service_only(
    data_dir: Path, models_dir: Path, hosted, api_key: str, secret_service: dict, tmp_path: Path
):
    outputs = []

    def cli(*args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
        result = run(data_dir, models_dir, *args, env=secret_service, stdin=stdin)
        outputs.append(result.stdout + result.stderr)
        assert (result.returncode == 0) == ok, result.stderr
        return result

    added = json.loads(cli("providers", "add", "stand-in", "--base-url", hosted.url, "--model", "smollm2", "--json",
                           stdin=api_key + "\n").stdout)  # fmt: skip
    assert added["name"] == "stand-in" and "key" not in json.dumps(added).lower()
    stored = subprocess.run(
        [sys.executable, "-c", f"import keyring; print(keyring.get_password('threadloom', {str(data_dir)!r} + ':stand-in'))"],
        capture_output=True, text=True, env={**os.environ, **secret_service},
    )  # fmt: skip
    assert stored.stdout.strip() == api_key  # in the Secret Service, where the app put it

    first = json.loads(cli("chat", "--new", "--json", "Name a fruit.").stdout)
    thread = str(first["thread_id"])
    refused = cli("chat", "--thread", thread, "--model", "stand-in/smollm2", "Hello", ok=False)
    assert "local only" in refused.stderr and hosted.connections == 0

    route = json.loads(cli("route", thread, "--privacy", "allowed", "--json").stdout)
    assert route == {"thread_id": int(thread), "model": "smollm2-135m-instruct", "privacy": "allowed",
                     "left_machine": False, "hosted_calls": 0}  # fmt: skip
    upgraded = json.loads(cli("chat", "--regenerate", str(first["message_id"]), "--model", "stand-in/smollm2",
                              "--json").stdout)  # fmt: skip
    assert upgraded["status"] == "complete" and upgraded["model"] == "stand-in/smollm2"
    assert hosted.connections == 1

    ledger = json.loads(cli("ledger", "--thread", thread, "--json").stdout)
    assert ledger["left_machine"] is True
    [call] = ledger["calls"]
    assert (call["provider"], call["model"], call["reason"], call["message_id"]) == (
        "stand-in", "smollm2", "upgrade", upgraded["message_id"]
    )
    assert "left this machine in 1 hosted call" in cli("route", thread).stdout

    # A refused key goes through the error path too: it must not leak either.
    wrong_key = "sk-wrong-" + api_key[::-1]
    cli("providers", "add", "wrong", "--base-url", hosted.url, "--model", "smollm2", stdin=wrong_key + "\n")
    failed = json.loads(cli("chat", "--thread", thread, "--model", "wrong/smollm2", "--json", "Hi", ok=False).stdout)
    assert "HTTP 401" in failed["error"]

    export = tmp_path / "export.json"
    cli("export", thread, "--format", "json", "-o", str(export))
    cli("threads", "show", thread, "--json")
    cli("providers", "list", "--json")
    scanned = [path for path in data_dir.rglob("*") if path.is_file()] + [export]
    assert any(path.name == "threadloom.sqlite3" for path in scanned)
    for secret in (api_key, wrong_key):
        for path in scanned:
            assert secret.encode() not in path.read_bytes(), f"the API key is in {path}"
        for output in outputs:
            assert secret not in output

    removed = cli("providers", "remove", "stand-in")
    assert "removed stand-in" in removed.stdout
    assert json.loads(cli("ledger", "--json").stdout)["calls"]  # the record outlives the provider


def test_without_a_keyring_the_key_is_refused_and_nothing_is_saved(data_dir: Path, models_dir: Path):
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = run(data_dir, models_dir, "providers", "add", "acme", "--base-url", "https://api.acme.test/v1",
                 "--model", "big", env=env, stdin="sk-never-stored\n")  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("threadloom: error: no usable OS keyring") and "never writes API keys to a file" in line
    assert json.loads(run(data_dir, models_dir, "providers", "list", "--json", env=env).stdout) == []


def test_models_add_default_and_remove_from_the_cli(data_dir: Path, models_dir: Path, tmp_path: Path):
    own_models = tmp_path / "models"
    shutil.copytree(models_dir, own_models, ignore=shutil.ignore_patterns("added-models.json", ".*"))
    truncated = tmp_path / "broken.gguf"
    with open(own_models / "SmolLM2-135M-Instruct.Q4_1.gguf", "rb") as reader:
        truncated.write_bytes(reader.read(10_000_000))
    refused = run(data_dir, own_models, "models", "add", str(truncated))
    assert refused.returncode == 1 and str(truncated) in refused.stderr and "truncated" in refused.stderr

    mine = tmp_path / "Tiny-Chat.gguf"
    shutil.copy(own_models / "SmolLM2-135M-Instruct.Q4_1.gguf", mine)
    added = json.loads(run(data_dir, own_models, "models", "add", str(mine), "--json").stdout)
    assert added["name"] == "tiny-chat" and added["installed"] and added["quantization"] == "Q4_1"
    chosen = json.loads(run(data_dir, own_models, "models", "default", "tiny-chat", "--json").stdout)
    assert chosen["default"] is True
    listed = {m["name"]: m for m in json.loads(run(data_dir, own_models, "models", "list", "--json").stdout)}
    assert listed["tiny-chat"]["default"] and not listed["smollm2-135m-instruct"]["default"]
    reply = json.loads(run(data_dir, own_models, "chat", "--json", "Say hi.").stdout)
    assert reply["model"] == "tiny-chat" and reply["status"] == "complete"

    assert run(data_dir, own_models, "models", "remove", "tiny-chat").returncode == 0
    assert "tiny-chat" not in {m["name"] for m in json.loads(run(data_dir, own_models, "models", "list", "--json").stdout)}
