"""Cyclic garbage made on a background thread is collected on the GUI thread while a window lives."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from app.gui.gc_guard import GuiThreadCollector


class _Cycle:
    collected_on: list[int] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.collected_on.append(threading.get_ident())


def test_cycles_made_off_the_gui_thread_are_collected_on_it(qtbot):
    window = QObject()
    GuiThreadCollector(window)
    try:
        assert not gc.isenabled()
        _Cycle.collected_on.clear()
        lane = threading.Thread(target=lambda: [_Cycle() for _ in range(gc.get_threshold()[0] * 3)])
        lane.start()
        lane.join()
        assert _Cycle.collected_on == []  # nothing collected where the garbage was made
        qtbot.waitUntil(lambda: len(_Cycle.collected_on) > 0, timeout=5000)
        assert set(_Cycle.collected_on) == {threading.get_ident()}
    finally:
        with qtbot.waitSignal(window.destroyed):
            window.deleteLater()
    assert gc.isenabled()


def test_a_settled_window_is_frozen_out_of_collections_and_given_back_when_it_closes(qtbot):
    window = QObject()
    collector = GuiThreadCollector(window)
    try:
        collector.settled()
        assert gc.get_freeze_count() > 0  # what is alive now is never scanned again while the window lives
        _Cycle.collected_on.clear()
        [_Cycle() for _ in range(gc.get_threshold()[0] * 3)]  # garbage made after settling is still collected
        qtbot.waitUntil(lambda: len(_Cycle.collected_on) > 0, timeout=5000)
    finally:
        with qtbot.waitSignal(window.destroyed):
            window.deleteLater()
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_the_window_freezes_what_it_holds_once_its_start_up_work_is_done(qtbot, session, show_window, monkeypatch):
    """What the warm-up's imports make on the read lane is frozen too, so a full collection mid-reply skips it."""
    from app.gui import main_window

    made_by_warm_up: list[_Cycle] = []
    monkeypatch.setattr(main_window, "preload_lexers", lambda: made_by_warm_up.append(_Cycle()))
    show_window(session)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=10_000)
    assert len(made_by_warm_up) == 1
    assert id(made_by_warm_up[0]) not in {id(tracked) for tracked in gc.get_objects()}  # frozen ones are not listed


def test_collection_stays_on_the_gui_thread_until_the_last_window_is_gone(qtbot):
    first, second = QObject(), QObject()
    GuiThreadCollector(first)
    GuiThreadCollector(second).settled()
    with qtbot.waitSignal(first.destroyed):
        first.deleteLater()
    assert not gc.isenabled() and gc.get_freeze_count() > 0  # the second window's lanes still run
    with qtbot.waitSignal(second.destroyed):
        second.deleteLater()
    assert gc.isenabled() and gc.get_freeze_count() == 0
