"""The self-test's parts that need no model: SQLite's checks on a real store (and their clear failure on a
connection without sqlite-vec), the check runner (a failed check skips those that need it, the temporary data
folder goes), the `threadloom FILE…` shorthand, and the bundle entry point's `-m` helper modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from playhouse.apsw_ext import APSWDatabase

from app.cli import build_parser, command_names, with_default_command
from app.core.errors import SetupError
from app.services.selftest import Check, CheckResult, SelfTest
from app.store import Store
from app.store.health import check_full_text_search, check_vector_search

REPO = Path(__file__).resolve().parents[2]


def test_sqlite_checks_pass_on_the_apps_store(store):
    assert check_vector_search(store).startswith("sqlite-vec v")
    assert check_full_text_search(store).startswith("FTS5 on SQLite")
    assert store.integrity_check() == "ok"  # the checks used TEMP tables only


def test_vector_check_fails_clearly_without_sqlite_vec(tmp_path: Path):
    db = APSWDatabase(str(tmp_path / "plain.sqlite3"))  # no extension loaded
    db.connect()
    try:
        with pytest.raises(SetupError, match="sqlite-vec is not usable"):
            check_vector_search(Store(db))
    finally:
        db.close()


def test_a_failed_check_fails_the_run_and_skips_what_needs_it(tmp_path: Path):
    def broken() -> str:
        raise RuntimeError("the frobnicator is missing")

    test = SelfTest(tmp_path / "no-models")
    test.checks = [
        test.checks[0],  # the data folder
        Check("broken", broken, needs=("data folder",)),
        Check("after broken", lambda: "ran", needs=("broken",)),
        Check("independent", lambda: "ran", needs=("data folder",)),
    ]
    reported: list[CheckResult] = []
    results = test.run(reported.append)

    assert reported == results
    assert [(r.name, r.passed, r.skipped) for r in results] == [
        ("data folder", True, False),
        ("broken", False, False),
        ("after broken", False, True),
        ("independent", True, False),
    ]
    assert results[1].detail == "RuntimeError: the frobnicator is missing"
    assert results[1].line().startswith("FAIL broken")
    assert results[2].line().split()[:2] == ["SKIP", "after"] and "needs broken" in results[2].detail
    scratch = Path(results[0].detail.removeprefix("opened a new database in ")).parent
    assert scratch.name.startswith("threadloom-self-test-") and not scratch.exists()  # cleaned up
    assert test.session is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/tmp/a.pdf", "/tmp/b.txt"], ["gui", "/tmp/a.pdf", "/tmp/b.txt"]),
        (["--data-dir", "/d", "--models-dir=/m", "/a.pdf"], ["--data-dir", "/d", "--models-dir=/m", "gui", "/a.pdf"]),
        (["chat", "/tmp/a.pdf"], ["chat", "/tmp/a.pdf"]),
        (["gui", "/tmp/a.pdf"], ["gui", "/tmp/a.pdf"]),
        (["chatt", "hello"], ["chatt", "hello"]),  # a mistyped command stays one (argparse says so)
        (["--self-test"], ["--self-test"]),
        ([], []),
    ],
)
def test_files_given_without_a_command_open_the_window(argv, expected):
    assert with_default_command(argv, command_names(build_parser())) == expected


def test_a_file_in_the_current_folder_counts_as_a_file(tmp_path: Path, monkeypatch):
    (tmp_path / "notes.txt").write_text("hello")
    monkeypatch.chdir(tmp_path)
    assert with_default_command(["notes.txt"], command_names(build_parser())) == ["gui", "notes.txt"]
    args = build_parser().parse_args(["gui", "notes.txt"])
    assert args.command == "gui" and args.files == ["notes.txt"]


def run_entry(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The bundle's program as packaging/entry.py has it, run on this venv's Python."""
    return subprocess.run(
        [sys.executable, str(REPO / "packaging" / "entry.py"), *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, **kwargs,
    )  # fmt: skip


def test_the_entry_point_runs_the_model_worker_for_minus_m():
    result = run_entry("-m", "app.runtime.worker", input="")  # stdin closes at once: the worker says ready, exits
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["event"] == "ready"


def test_the_entry_point_takes_the_isolation_flag_the_app_starts_its_helpers_with():
    result = run_entry("-I", "-m", "app.runtime.worker", input="")
    assert result.returncode == 0 and '"event": "ready"' in result.stdout
    assert run_entry("-I", "-m", "pip", "--version").stdout.startswith("pip ")


def test_the_entry_point_runs_pip_and_nothing_else_for_minus_m():
    assert run_entry("-m", "pip", "--version").stdout.startswith("pip ")
    refused = run_entry("-m", "http.server")
    assert refused.returncode == 2
    assert refused.stderr == "threadloom: error: -m runs only app.runtime.worker, app.ingest.isolated, pip, not http.server\n"


def test_the_entry_point_is_the_threadloom_command_otherwise():
    result = run_entry("--version")
    assert result.returncode == 0 and result.stdout.startswith("threadloom ")
