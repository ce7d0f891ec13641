"""A full disk or a read-only folder: the attachment copy and the settings file fail in one line, leave no temp file
behind, and keep what was there before. Uses small tmpfs mounts (root only; skipped elsewhere)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from app.core.errors import SetupError, StorageFull
from app.platform.settings import Settings, load_settings, save_settings
from app.services.attachments import AttachmentService
from app.services.session import open_session


def mounted(folder: Path, options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    return folder


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs holding one file that leaves 8 KiB free."""
    folder = mounted(tmp_path / "full", "size=256k")
    (folder / "filler").write_bytes(b"\0" * (248 * 1024))
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only(tmp_path):
    folder = mounted(tmp_path / "ro", "size=256k")
    save_settings(folder, Settings(theme="dark"))
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp")


def test_attaching_onto_a_full_disk_says_so_and_leaves_no_partial_copy(store, canary, tmp_path, full_disk):
    service = AttachmentService(store, files_dir=full_disk / "attachments", embedder=None)
    big = tmp_path / "big.txt"
    big.write_text("otters " * 50_000, encoding="utf-8")
    with pytest.raises(StorageFull):
        service.attach(store.create_thread("t").id, [big], summarise=False)
    assert leftovers(full_disk) == []


def test_attaching_into_a_read_only_folder_refuses_that_file_in_one_line(store, canary, tmp_path, read_only):
    service = AttachmentService(store, files_dir=read_only / "attachments", embedder=None)
    note = tmp_path / "note.txt"
    note.write_text("otters", encoding="utf-8")
    [result] = service.attach(store.create_thread("t").id, [note], summarise=False)
    assert result.attachment is None and "cannot be copied" in result.error and "\n" not in result.error
    assert leftovers(read_only) == []


def test_saving_settings_on_a_full_disk_keeps_the_old_file(full_disk):
    (full_disk / "filler").unlink()
    save_settings(full_disk, Settings(theme="dark"))
    (full_disk / "filler").write_bytes(b"\0" * (252 * 1024))
    with pytest.raises(SetupError, match="cannot save the settings"):
        save_settings(full_disk, Settings(theme="light", fallback_provider="x" * 20_000))
    assert load_settings(full_disk).theme == "dark" and leftovers(full_disk) == []


def test_saving_settings_in_a_read_only_folder_is_one_line(read_only):
    with pytest.raises(SetupError, match="cannot save the settings") as caught:
        save_settings(read_only, Settings(theme="light"))
    assert "\n" not in str(caught.value) and load_settings(read_only).theme == "dark"


def test_opening_a_session_sweeps_the_partial_copies_a_killed_attach_or_model_add_left(tmp_path):
    data, models = tmp_path / "data", tmp_path / "models"
    models.mkdir(parents=True)
    (data / "attachments" / "ab").mkdir(parents=True)
    hour_ago = time.time() - 3600
    killed = [data / "attachments" / "ab" / ".copy-k1lled", models / ".add-big.gguf-k1lled"]
    live = [data / "attachments" / "ab" / ".copy-l1ve", models / ".add-big.gguf-l1ve"]
    kept = data / "attachments" / "ab" / "ab12.pdf"  # a stored attachment, however old
    for path in (*killed, *live, kept):
        path.write_bytes(b"partial")
    for path in (*killed, kept):
        os.utime(path, (hour_ago, hour_ago))
    open_session(data, models).close()
    assert not any(path.exists() for path in killed)
    assert all(path.exists() for path in (*live, kept))
