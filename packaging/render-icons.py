"""Render resources/icons/threadloom.svg to the PNG sizes desktops ask for, in the hicolor theme's layout.

    .venv/bin/python packaging/render-icons.py [--check]

Writes resources/icons/hicolor/NxN/apps/threadloom.png for each size in SIZES (they are committed: small, and the
window uses them where no SVG support is at hand). With --check it writes nothing and exits 1 if any committed PNG
differs from a fresh rendering (by more than antialiasing can vary between CPUs), so an edited SVG cannot ship
with stale PNGs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray, QBuffer, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

import numpy as np  # noqa: E402

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SOURCE = ICONS / "threadloom.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# How far a channel of a committed pixel may be from a fresh rendering: Qt's raster engine blends edges slightly
# differently on different CPUs (its SIMD paths), while an edited SVG moves far more than this.
TOLERANCE = 8


def target(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "threadloom.png"


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG", 9)  # most compression (the quality argument of PNG)
    return bytes(data)


def pixels(png: bytes) -> np.ndarray | None:
    image = QImage.fromData(png, "PNG")
    if image.isNull():
        return None
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1).astype(int)


def same_picture(committed: bytes, fresh: bytes) -> bool:
    old, new = pixels(committed), pixels(fresh)
    return old is not None and old.shape == new.shape and int(np.abs(old - new).max()) <= TOLERANCE


def main(argv: list[str]) -> int:
    check = "--check" in argv
    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"render-icons: {SOURCE} is not an SVG Qt can read", file=sys.stderr)
        return 1
    stale = []
    for size in SIZES:
        png, path = render(renderer, size), target(size)
        if check:
            if not path.is_file() or not same_picture(path.read_bytes(), png):
                stale.append(str(path.relative_to(ICONS.parent.parent)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        print(f"{path.relative_to(ICONS.parent.parent)}: {len(png):,} bytes")
    if stale:
        print("render-icons: stale (run packaging/render-icons.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
