"""packaging/install-linux.sh on a stand-in bundle in a temporary HOME: it installs the program, the launcher entry
(running the installed program by its full path), the icons and the metainfo under ~/.local, and `--remove` takes
exactly those away again, never the user's threads and models."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "install-linux.sh"
SIZES = ("16x16", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256", "512x512")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """What packaging/build.sh leaves in dist/threadloom, with a shell script for the program."""
    folder = tmp_path / "dist" / "threadloom"
    shutil.copytree(REPO / "resources", folder / "_internal" / "resources")
    program = folder / "threadloom"
    program.write_text('#!/bin/sh\necho "stand-in threadloom $*"\n')
    program.chmod(0o755)
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env["HOME"] = str(home)
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def installed_files(home: Path) -> list[Path]:
    share = home / ".local" / "share"
    return [
        home / ".local" / "lib" / "threadloom" / "threadloom",
        home / ".local" / "bin" / "threadloom",
        share / "applications" / "threadloom.desktop",
        share / "metainfo" / "threadloom.metainfo.xml",
        share / "icons" / "hicolor" / "scalable" / "apps" / "threadloom.svg",
        *(share / "icons" / "hicolor" / size / "apps" / "threadloom.png" for size in SIZES),
    ]


def test_install_puts_program_entry_icons_and_metainfo_under_local(home: Path, bundle: Path):
    result = run(home, str(bundle))
    assert result.returncode == 0, result.stderr
    assert [path for path in installed_files(home) if not path.exists()] == []
    program = home / ".local" / "lib" / "threadloom" / "threadloom"
    link = home / ".local" / "bin" / "threadloom"
    launched = subprocess.run([str(link), "--version"], capture_output=True, text=True)
    assert launched.stdout == "stand-in threadloom --version\n"
    entry = (home / ".local" / "share" / "applications" / "threadloom.desktop").read_text(encoding="utf-8")
    assert f"\nExec={program} %F\n" in entry and f"\nTryExec={program}\n" in entry
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(
            ["desktop-file-validate", str(home / ".local" / "share" / "applications" / "threadloom.desktop")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout


def test_installing_again_replaces_the_old_bundle(home: Path, bundle: Path):
    assert run(home, str(bundle)).returncode == 0
    stale = home / ".local" / "lib" / "threadloom" / "_internal" / "from-the-old-version"
    stale.write_text("old")
    assert run(home, str(bundle)).returncode == 0
    assert not stale.exists()
    assert [path for path in installed_files(home) if not path.exists()] == []


def test_remove_takes_it_all_away_and_keeps_the_users_data(home: Path, bundle: Path):
    data = home / ".local" / "share" / "threadloom" / "threadloom.sqlite3"
    data.parent.mkdir(parents=True)
    data.write_text("threads")
    assert run(home, str(bundle)).returncode == 0

    result = run(home, "--remove")
    assert result.returncode == 0, result.stderr
    assert [path for path in installed_files(home) if path.exists() or path.is_symlink()] == []
    assert not (home / ".local" / "lib" / "threadloom").exists()
    assert data.read_text() == "threads"
    assert "kept" in result.stdout


def test_remove_leaves_a_folder_that_is_not_a_bundle(home: Path):
    foreign = home / ".local" / "lib" / "threadloom"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    result = run(home, "--remove")
    assert result.returncode == 1
    assert "not a Threadloom bundle" in result.stderr
    assert (foreign / "notes.txt").read_text() == "mine"


def test_install_without_a_bundle_says_how_to_build_one(home: Path, tmp_path: Path):
    result = run(home, str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "packaging/build.sh" in result.stderr
    assert not (home / ".local").exists()
