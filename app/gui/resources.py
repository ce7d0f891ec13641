"""The files in the repository's `resources/` folder that the window uses: the app icon.

`resources/` sits beside `app/` in a checkout and in the packaged bundle alike (packaging/threadloom.spec copies it
there), so it is found from this file's location.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
ICONS_DIR = RESOURCES_DIR / "icons"
ICON_NAME = "threadloom"  # the icon theme name: resources/threadloom.desktop says Icon=threadloom
DESKTOP_FILE_NAME = "threadloom"  # resources/threadloom.desktop, the launcher entry the window belongs to


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
