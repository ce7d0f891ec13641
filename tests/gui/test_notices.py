"""The window's notice line: a damaged settings file set aside (offline until fixed) and links out of a dropped
knowledge folder that were not followed are each told once, in one line, through the real window."""

from __future__ import annotations

import pytest

from app.platform.settings import damaged_path
from tests.gui.conftest import REPLY_TIMEOUT_MS
from tests.gui.test_attachments_gui import drop_files

pytestmark = pytest.mark.slow


def test_a_damaged_settings_file_is_told_in_the_notice_line(qtbot, data_dir, models_dir, open_sessions, show_window):
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text('{"offline": false,')  # cut short: not JSON
    window = show_window(open_sessions(data_dir, models_dir))
    qtbot.waitUntil(lambda: window.notices.isVisible(), timeout=REPLY_TIMEOUT_MS)
    text = window.notices.label.text()
    assert text.startswith(f"settings.json in {data_dir} was damaged and is set aside as settings.json.damaged")
    assert "offline mode stays on" in text
    assert damaged_path(data_dir).exists()
    window.notices.action_button.click()
    assert not window.notices.isVisible()


def test_an_intact_settings_file_shows_no_notice(qtbot, session, show_window):
    window = show_window(session)  # once the first listing landed: the settings check before it on its lane too
    assert window.notices.isHidden()


def test_links_out_of_a_dropped_folder_are_told_once(qtbot, session, show_window, tmp_path, monkeypatch):
    import app.gui.attachments as attachments_gui

    monkeypatch.setattr(attachments_gui, "FOLDER_POLL_MS", 3_600_000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the launch codes\n")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "otters.txt").write_text("Otters hold hands while they sleep.\n")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    window = show_window(session)
    assert drop_files(window.conversation.viewport(), [folder])
    qtbot.waitUntil(lambda: window.notices.isVisible(), timeout=REPLY_TIMEOUT_MS)
    told = window.notices.label.text()
    assert told.startswith("Not followed: 1 link(s) leading out of a knowledge folder (secret.txt)")
    qtbot.waitUntil(lambda: [c.attachment.file_name for c in window.attachments.panel.chips()] == ["otters.txt"],
                    timeout=REPLY_TIMEOUT_MS)  # fmt: skip
    window.notices.action_button.click()
    with qtbot.waitSignal(window.attachments.folders_synced, timeout=REPLY_TIMEOUT_MS):
        window.attachments.sync_folders()  # the next poll finds the same link: not told again
    assert window.notices.isHidden()
