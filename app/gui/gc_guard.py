"""Python's cyclic garbage collector runs on the GUI thread only, while the window is open.

The window's background lanes (app.gui.tasks) allocate too, and an automatic collection starts on whichever thread
allocates: a cycle holding a Qt wrapper collected there deletes the Qt object off the GUI thread, which can crash
the process (seen in CI: a segfault while "Garbage-collecting" in a read lane). So automatic collection is off while
a window lives, and a timer on the GUI thread collects by the same generation thresholds (calibre does the same).

Those thresholds call a full collection more often than CPython's own rule would, and one full collection of a
settled window scans ~110,000 objects (60–80 ms, four frames, measured at start). Once the window has settled, what it
holds lives as long as it does, so it is frozen out of later collections (`gc.freeze`) and given back when it closes.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """One per window. Automatic collection stays off until the last of them is gone: a window closed while another
    lives (seen in the GUI tests) turned it back on under the other one's lanes, and a lane crashed collecting."""

    _living = 0

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        GuiThreadCollector._living += 1
        gc.disable()
        parent.destroyed.connect(_window_gone)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(CHECK_INTERVAL_MS)

    def collect_due(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds, youngest first."""
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self._thresholds[generation]:
                break
            gc.collect(generation)

    def settled(self) -> None:
        """Keep the objects alive now out of every later collection (called once the window's start-up work and
        imports are done): the young generations are collected first, so little garbage is frozen with them."""
        gc.collect(1)
        gc.freeze()


def _window_gone() -> None:
    GuiThreadCollector._living -= 1
    if GuiThreadCollector._living == 0:
        gc.unfreeze()
        gc.enable()
