"""The desktop integration files in resources/: the launcher entry and the AppStream metainfo validate with the
freedesktop tools, the entry claims only file types a thread can attach (and all the document kinds), and the
committed icon PNGs are what the SVG renders to."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app.ingest.extract import KINDS, kind_of

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
DESKTOP = RESOURCES / "threadloom.desktop"
METAINFO = RESOURCES / "threadloom.metainfo.xml"
# A file name suffix for each type the entry may claim (as shared-mime-info's globs name them).
SUFFIX_OF_MIME = {
    "application/pdf": ".pdf", "text/plain": ".txt", "text/markdown": ".md", "text/x-rst": ".rst",
    "text/html": ".html", "application/xhtml+xml": ".xhtml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/csv": ".csv", "text/tab-separated-values": ".tsv", "text/x-log": ".log",
    "text/x-python": ".py", "text/x-python3": ".py", "application/javascript": ".js", "text/x-java": ".java",
    "text/x-csrc": ".c", "text/x-chdr": ".h", "text/x-c++src": ".cpp", "text/x-go": ".go", "text/rust": ".rs",
    "application/x-ruby": ".rb", "application/x-shellscript": ".sh", "application/json": ".json",
    "application/toml": ".toml", "application/x-yaml": ".yaml", "application/xml": ".xml", "text/css": ".css",
    "text/x-tex": ".tex", "application/sql": ".sql",
}  # fmt: skip


def tool(name: str) -> str:
    """The validator's path; CI installs it (.ci/run), so only a developer's machine may go without."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


def entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_desktop_entry_validates():
    result = subprocess.run([tool("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_metainfo_validates_and_launches_the_desktop_entry():
    result = subprocess.run(
        [tool("appstreamcli"), "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'<launchable type="desktop-id">{DESKTOP.name}</launchable>' in METAINFO.read_text(encoding="utf-8")


def test_the_entry_opens_dropped_files_and_names_the_shipped_icon():
    fields = entry()
    assert fields["Exec"] == "threadloom %F"  # %F: any number of local files, as attachments of a new thread
    assert fields["TryExec"] == "threadloom"
    assert fields["Terminal"] == "false"
    icon = fields["Icon"]
    assert (RESOURCES / "icons" / f"{icon}.svg").is_file()
    assert (RESOURCES / "icons" / "hicolor" / "48x48" / "apps" / f"{icon}.png").is_file()


def test_the_entry_claims_only_attachable_types_and_every_document_kind():
    claimed = [mime for mime in entry()["MimeType"].split(";") if mime]
    unknown = [mime for mime in claimed if mime not in SUFFIX_OF_MIME]
    assert unknown == [], "add the new type's suffix to SUFFIX_OF_MIME"
    refused = [mime for mime in claimed if kind_of(Path("file" + SUFFIX_OF_MIME[mime])) is None]
    assert refused == []
    claimed_kinds = {kind_of(Path("file" + SUFFIX_OF_MIME[mime])) for mime in claimed}
    assert set(KINDS.values()) | {"code"} <= claimed_kinds
    assert len(claimed) == len(set(claimed))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_icon_pngs_have_their_folders_sizes_and_match_the_svg():
    pngs = sorted((RESOURCES / "icons" / "hicolor").glob("*/apps/threadloom.png"))
    sizes = {int(path.parts[-3].split("x")[0]) for path in pngs}
    assert {16, 24, 32, 48, 64, 128, 256, 512} <= sizes
    for path in pngs:
        width, height = png_size(path)
        assert f"{width}x{height}" == path.parts[-3]
    assert sum(path.stat().st_size for path in pngs) < 100_000  # small enough to commit
    check = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "render-icons.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
