"""The window's size on a small screen: a first start fits the screen's free area, and a size remembered from a
bigger screen (or a place on a monitor since unplugged) is brought back onto this one. The offscreen screen is
800 px wide, narrower than the usual first size."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QMainWindow

from app.gui.main_window import FIRST_RUN_SIZE, FRAME_ALLOWANCE, MainWindow, first_run_geometry
from tests.gui.conftest import close_window


def shown_window(qtbot, session) -> MainWindow:
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: not window.is_loading)
    return window


def test_the_first_run_size_fits_small_screens_and_keeps_the_usual_size_on_big_ones():
    small = first_run_geometry(QRect(0, 0, 1024, 700))
    assert QRect(0, 0, 1024, 700).contains(small.marginsAdded(FRAME_ALLOWANCE))  # the frame fits too
    assert small.width() < FIRST_RUN_SIZE.width() and small.height() < FIRST_RUN_SIZE.height()

    big = first_run_geometry(QRect(0, 0, 1400, 900))
    assert big.size() == FIRST_RUN_SIZE
    assert big.center() == QRect(0, 0, 1400, 900).marginsRemoved(FRAME_ALLOWANCE).center()


def test_a_first_start_on_a_small_screen_shows_the_whole_window_with_details_closed(qtbot, session):
    window = shown_window(qtbot, session)
    available = window.screen().availableGeometry()
    assert available.width() < FIRST_RUN_SIZE.width()  # the offscreen screen: the fit had to shrink the window
    assert available.contains(window.geometry())
    assert window.statusBar().isVisible()
    assert not window.details.isVisible()  # the centre column keeps its room; Ctrl+I opens Details


def test_a_size_remembered_from_a_bigger_screen_is_brought_onto_this_one(qtbot, data_dir, models_dir, open_sessions):
    elsewhere = QMainWindow()
    elsewhere.setGeometry(QRect(2600, 1500, 1900, 1150))  # on a big monitor right of and below this screen
    settings = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/geometry", elsewhere.saveGeometry())
    settings.sync()

    window = shown_window(qtbot, open_sessions(data_dir, models_dir))
    assert window.screen().availableGeometry().contains(window.geometry())
    close_window(qtbot, window)
