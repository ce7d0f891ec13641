"""The window in the user's language: at start the app installs Qt's own translation and ours for the system's
locale. The translation here is made up by the test (one string), compiled by the same script the build runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QApplication

from app.gui.resources import install_translations

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parents[1]  # the venv running the tests: its pyside6-lrelease
GERMAN_SEND = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>MainWindow</name>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
</context>
</TS>
"""


@pytest.fixture
def german(tmp_path) -> Path:
    """A folder holding threadloom_de.qm, compiled from a one-string threadloom_de.ts by packaging/translations.sh."""
    folder = tmp_path / "translations"
    folder.mkdir()
    (folder / "threadloom_de.ts").write_text(GERMAN_SEND, encoding="utf-8")
    subprocess.run(["bash", str(REPO / "packaging" / "translations.sh"), str(VENV), str(folder)], check=True)
    assert (folder / "threadloom_de.qm").stat().st_size > 0
    return folder


@pytest.fixture
def installed():
    """Install translations for a test; they are removed after it (the application outlives every test)."""
    translators = []

    def install(locale: QLocale, folder: Path):
        translators.extend(install_translations(QApplication.instance(), locale, folder))
        return translators

    yield install
    for translator in translators:
        QCoreApplication.removeTranslator(translator)


def test_a_german_system_sees_the_window_in_german(qtbot, session, show_window, german, installed):
    installed(QLocale("de_DE"), german)  # de_DE falls back to threadloom_de.qm, as Qt does for any region
    window = show_window(session)
    assert window.send_button.text() == "Senden"
    assert window.send_button.accessibleName() == "Senden"
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Abbrechen"  # Qt's own, from qtbase_de.qm


def test_a_language_with_no_translation_keeps_the_window_in_english(qtbot, session, show_window, german, installed):
    translators = installed(QLocale("fr_FR"), german)
    assert [Path(translator.filePath()).name for translator in translators] == ["qtbase_fr.qm"]
    window = show_window(session)
    assert window.send_button.text() == "Send"


def test_the_app_installs_the_system_languages_translations_at_start():
    started = "from app.gui.main import application; application(); print(application().translate('QPlatformTheme', 'Cancel'))"
    german_desktop = {**os.environ, "LC_ALL": "de_DE.UTF-8", "LANGUAGE": "", "QT_QPA_PLATFORM": "offscreen"}
    shown = subprocess.run(
        [sys.executable, "-c", started], env=german_desktop, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "Abbrechen"
