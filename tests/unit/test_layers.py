"""The layer rules, checked on the source: the import-linter contracts in pyproject.toml, the domain imports no
framework, Qt lives only in the GUI, the window reaches no store, worker or routing records through the session, and
the model runtime is imported only inside worker processes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app"
SESSION_NAMES = {"session", "_session"}
PAST_THE_SERVICES = {"store", "worker", "routing", "router"}  # the router: the window asks ChatService
# Reaches that wait for a ChatService method (issue 10, the lead's side): remove each when its method lands.
FRAMEWORKS = {"PySide6", "qasync", "peewee", "playhouse", "apsw", "llama_cpp", "sqlite_vec"}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top(name: str) -> str:
    return name.split(".")[0]


def python_files(folder: str) -> list[Path]:
    return sorted((APP / folder).rglob("*.py")) if (APP / folder).is_dir() else []


@pytest.mark.parametrize("path", python_files("core"), ids=lambda p: p.name)
def test_core_imports_no_framework_and_nothing_else_of_app(path: Path):
    imported = imports_of(path)
    assert not {top(n) for n in imported} & FRAMEWORKS
    assert all(not n.startswith("app.") or n.startswith("app.core") for n in imported)


def test_qt_is_imported_only_in_the_gui_package():
    offenders = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if "gui" not in path.relative_to(APP).parts and {"PySide6", "qasync"} & {top(n) for n in imports_of(path)}
    ]
    assert offenders == []


def test_the_gui_never_opens_the_database_or_the_model_directly():
    offenders = [
        str(path.relative_to(APP))
        for path in python_files("gui")
        if {"peewee", "playhouse", "apsw", "llama_cpp", "sqlite_vec"} & {top(n) for n in imports_of(path)}
        or any(n.startswith(("app.store", "app.runtime.worker")) for n in imports_of(path))
    ]
    assert offenders == []


def test_llama_cpp_is_imported_only_by_the_worker_process():
    importers = [
        str(path.relative_to(APP)) for path in APP.rglob("*.py") if "llama_cpp" in {top(n) for n in imports_of(path)}
    ]
    assert importers == ["runtime/worker.py"]


def test_the_import_contracts_in_pyproject_hold():
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def session_reaches(path: Path) -> list[tuple[str, int]]:
    """`session.store`, `self._session.worker`, …: attributes past the services, read off a session."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Attribute) and node.attr in PAST_THE_SERVICES):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
        if name in SESSION_NAMES:
            found.append((node.attr, node.lineno))
    return sorted(found, key=lambda each: each[1])


def test_the_window_reaches_no_store_worker_or_routing_records_through_the_session():
    offenders = [
        f"{path.relative_to(APP)}:{line} .{attr}"
        for path in python_files("gui")
        for attr, line in session_reaches(path)
    ]
    assert offenders == []


def test_the_session_reach_check_sees_the_usual_spellings(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("a = session.store\nb = self._session.routing.ledger(1)\nc = session.worker.pid\nd = store.x\n")
    assert session_reaches(sample) == [("store", 1), ("routing", 2), ("worker", 3)]
