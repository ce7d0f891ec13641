"""The files in the repository's `resources/` folder that the window uses: the app icon and the translations.

`resources/` sits beside `app/` in a checkout and in the packaged bundle alike (packaging/threadloom.spec copies it
there), so it is found from this file's location.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QIcon

RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
ICONS_DIR = RESOURCES_DIR / "icons"
TRANSLATIONS_DIR = RESOURCES_DIR / "translations"  # threadloom_<locale>.qm, compiled by packaging/translations.sh
ICON_NAME = "threadloom"  # the icon theme name: resources/threadloom.desktop says Icon=threadloom
DESKTOP_FILE_NAME = "threadloom"  # resources/threadloom.desktop, the launcher entry the window belongs to

log = logging.getLogger(__name__)


def icon_files() -> list[Path]:
    """The rendered PNG sizes, smallest first (hicolor/NxN/apps/threadloom.png)."""
    found = [(int(path.parts[-3].split("x")[0]), path) for path in ICONS_DIR.glob(f"hicolor/*/apps/{ICON_NAME}.png")]
    return [path for _size, path in sorted(found)]


def app_icon() -> QIcon:
    """The window icon: every rendered size, so each place (title bar, task switcher, dock) gets a sharp one."""
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon


def install_translations(
    app: QCoreApplication, locale: QLocale | None = None, folder: Path = TRANSLATIONS_DIR
) -> list[QTranslator]:
    """Translate the window for `locale` (the system's by default): Qt's own strings (the buttons of its dialogs,
    the text fields' menus) from qtbase_<lang>.qm, then ours from threadloom_<lang>.qm in `folder`. A language with
    no file stays in English. Returns the translators installed, for removeTranslator."""
    locale = locale or QLocale.system()
    wanted = [
        ("qtbase", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)),
        ("threadloom", str(folder)),  # installed last, so searched first
    ]
    installed = []
    for name, directory in wanted:
        translator = QTranslator(app)
        if translator.load(locale, name, "_", directory) and app.installTranslator(translator):
            log.info("translations: %s", translator.filePath())
            installed.append(translator)
    return installed
