"""`threadloom --self-test` as a user runs it: on the real models every check passes with its time; without the
model the run fails with a one-line reason per check and a one-line summary, and the user's data folder is never
touched either way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CHECKS = ["data folder", "sqlite-vec", "fts5", "chat model", "reply", "embedding", "retrieval", "window"]
LINE = re.compile(r"^(ok|FAIL|SKIP) +(\S+(?: \S+)?) +(\d+\.\d\d) s  (.+)$")


def check_lines(stdout: str) -> dict[str, tuple[str, str]]:
    """{check name: (verdict, detail)} from the one-line-per-check output."""
    found = {}
    for line in stdout.splitlines():
        if match := LINE.match(line):
            found[match[2]] = (match[1], match[4])
    return found


def test_self_test_passes_on_the_real_models(cli, data_dir: Path, models_dir: Path):
    result = cli("--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = check_lines(result.stdout)
    assert list(lines) == CHECKS
    assert all(verdict == "ok" for verdict, _ in lines.values()), result.stdout
    assert str(models_dir) in lines["chat model"][1]
    assert "lighthouse passage" in lines["retrieval"][1]
    assert re.search(rf"^all {len(CHECKS)} checks passed in \d+\.\d\d s$", result.stdout, re.MULTILINE)
    assert not data_dir.exists()  # a temporary data folder was used, not the given one


def test_self_test_without_the_model_fails_with_the_reason(tmp_path: Path):
    empty = tmp_path / "no-models"
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(tmp_path / "data"), "--models-dir", str(empty), "--self-test"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    lines = check_lines(result.stdout)
    assert list(lines) == CHECKS
    verdict, reason = lines["chat model"]
    assert verdict == "FAIL"
    assert "smollm2-135m-instruct is not installed" in reason and "models pull" in reason and str(empty) in reason
    assert lines["reply"][0] == "SKIP" and lines["retrieval"][0] == "SKIP"
    assert lines["embedding"][0] == "FAIL" and "all-minilm-l6-v2" in lines["embedding"][1]
    assert [lines[name][0] for name in ("data folder", "sqlite-vec", "fts5", "window")] == ["ok"] * 4
    [summary] = result.stderr.splitlines()
    assert summary.startswith("threadloom: error: self-test failed")
    assert summary.endswith(": chat model, reply, embedding, retrieval")
    assert not empty.exists() and not (tmp_path / "data").exists()
