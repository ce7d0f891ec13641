"""The settings dialog (Ctrl+,) on real widgets: what it saves lands in settings.json (other keys kept) and applies at
once — the theme's colours, the send key, the attachment size limit; Cancel changes nothing."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.gui import theme
from app.gui.settings_dialog import SettingsDialog
from app.platform.settings import load_settings, save_settings


def pick(box, value: str) -> None:
    box.setCurrentIndex(box.findData(value))


def test_settings_are_saved_and_applied_at_once(qtbot, session, show_window):
    save_settings(session.data_dir, load_settings(session.data_dir).with_changes(offline=True))  # set elsewhere
    window = show_window(session)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog))
    dialog = QApplication.activeModalWidget()
    assert dialog.theme_box.currentData() == "system"

    pick(dialog.theme_box, "dark")
    pick(dialog.send_key_box, "ctrl+enter")
    dialog.attachment_limit.setValue(5)
    dialog.kv_cache_box.setChecked(False)
    assert not dialog.kv_cache_budget.isEnabled()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: window.is_settled)  # saved off the GUI thread

    stored = json.loads((session.data_dir / "settings.json").read_text())
    assert (stored["theme"], stored["send_key"], stored["attachment_max_mb"], stored["kv_cache"]) == (
        "dark", "ctrl+enter", 5, False,
    )  # fmt: skip
    assert stored["offline"] is True  # what the dialog does not show is kept
    assert session.attachments.max_bytes == 5 * 1024 * 1024
    assert window.composer.send_key == "ctrl+enter" and window.composer_hint.text().startswith("Ctrl+Enter to send")
    assert QApplication.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.surface
    assert theme.DARK.surface in window.styleSheet()

    # Enter now breaks the line; nothing is sent.
    window.composer.setFocus()
    qtbot.keyClicks(window.composer, "two")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    assert window.composer.toPlainText() == "two\n" and not window.is_streaming

    cancelled = window.open_settings()
    assert cancelled.theme_box.currentData() == "dark"  # shows what is stored
    pick(cancelled.theme_box, "light")
    cancelled.reject()
    assert json.loads((session.data_dir / "settings.json").read_text())["theme"] == "dark"
    assert QApplication.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.surface


def test_following_the_system_again_undoes_a_dark_choice(qtbot, session, show_window):
    window = show_window(session)
    system = theme.current("system")  # what the desktop asks for (offscreen: light)
    window.apply_settings(session.settings.with_changes(theme="dark"))
    assert QApplication.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.surface
    window.apply_settings(session.settings.with_changes(theme="system"))
    assert QApplication.palette().color(QPalette.ColorRole.Base).name() == system.surface
