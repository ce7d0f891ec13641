"""The layer rules, checked on the source: the domain imports no framework, Qt lives only in the GUI, and the model
runtime is imported only inside worker processes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
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
