"""Privacy fails closed: a damaged settings file is set aside and keeps the app offline until fixed (said once per
start, in one line); the data folder and database are the user's alone; knowledge folders stay inside themselves."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hostile import run_cli

from app.platform.settings import Settings, damaged_path, load_settings, save_settings, settings_notice
from app.services.attachments import AttachmentService
from app.services.knowledge_folders import LINKS_NOT_FOLLOWED
from app.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "content",
    ['{"offline": true, "theme": "dark",', "[]", '{"offline": "no"}', '{"offline": 0}', '{"n_ctx": "big"}', "\x00"],
    ids=["syntax error", "not an object", "string for a bool", "number for a bool", "string for a number", "binary"],
)
def test_a_damaged_settings_file_is_set_aside_and_offline_stays_on_until_fixed(tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(content, encoding="utf-8")
    assert load_settings(data).offline is True
    assert not (data / "settings.json").exists() and damaged_path(data).read_text(encoding="utf-8") == content
    assert load_settings(data).offline is True  # still, though settings.json is gone now
    notice = settings_notice(data)
    assert notice and "\n" not in notice and "settings.json.damaged" in notice and "offline" in notice
    save_settings(data, load_settings(data).with_changes(offline=False))  # the user's own choice fixes it
    assert load_settings(data).offline is False and settings_notice(data) is None
    assert damaged_path(data).read_text(encoding="utf-8") == content  # kept for the user to look at


def test_a_settings_file_that_cannot_be_read_means_offline(tmp_path):
    data = tmp_path / "data"
    (data / "settings.json").mkdir(parents=True)  # unreadable as a file, even for root
    assert load_settings(data).offline is True


def test_good_settings_still_load_and_bad_choices_fall_back(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"offline": False, "theme": "neon", "unknown": 1, "n_ctx": 2048}))
    assert load_settings(data) == Settings(n_ctx=2048)
    assert settings_notice(data) is None and not damaged_path(data).exists()


def test_the_cli_says_so_in_one_line_and_downloads_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text('{"offline": false', encoding="utf-8")
    shown = run_cli(data, "offline", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"offline": True}
    [warning] = shown.stderr.strip().splitlines()
    assert warning.startswith("threadloom: warning: settings.json in ") and "set aside" in warning
    pulled = run_cli(data, "models", "pull")
    assert pulled.returncode == 1 and "offline mode is on" in pulled.stderr and "Traceback" not in pulled.stderr


def test_a_new_data_folder_and_its_database_are_private(tmp_path):
    data = tmp_path / "new" / "data"
    store = open_store(data)
    store.create_thread("secret")
    assert mode(data) == 0o700
    for name in ("threadloom.sqlite3", "threadloom.sqlite3-wal", "threadloom.sqlite3-shm"):
        assert mode(data / name) == 0o600, name
    store.close()


def test_an_existing_database_and_its_folder_are_made_private(tmp_path):
    data = tmp_path / "data"
    open_store(data).close()
    data.chmod(0o755)
    (data / "threadloom.sqlite3").chmod(0o644)
    open_store(data).close()
    assert (mode(data), mode(data / "threadloom.sqlite3")) == (0o700, 0o600)


def test_a_knowledge_folder_does_not_follow_links_out_of_itself(store, canary, tmp_path):
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "secret.txt").write_text("the launch codes", encoding="utf-8")
    (outside / "private" / "diary.md").write_text("dear diary", encoding="utf-8")
    folder = tmp_path / "shared"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("otters", encoding="utf-8")
    (folder / "sub" / "more.txt").write_text("beavers", encoding="utf-8")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "private").symlink_to(outside / "private")
    (folder / "again.txt").symlink_to(folder / "sub" / "more.txt")  # inside: followed (the same document)
    service = AttachmentService(store, files_dir=tmp_path / "files", embedder=None)
    thread = store.create_thread("t")
    service.add_folder(folder, thread_id=thread.id)
    changes = service.sync_folders(summarise=False)
    assert changes[LINKS_NOT_FOLLOWED] == [str(folder / "private"), str(folder / "secret.txt")]  # and said so
    names = sorted(a.file_name for a in service.attachments(thread.id))
    assert names in (["again.txt", "notes.txt"], ["more.txt", "notes.txt"])
    assert not any("outside" in path for path in service.watched_paths())
