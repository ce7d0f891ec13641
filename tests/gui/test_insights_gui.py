"""Ratings and the Insights dashboard in the window: real widgets over a real store, offscreen.

The history (tests/history.py) is written before the window opens; the dashboard runs on 100,000 usage rows.
"""

from __future__ import annotations

import csv
import itertools
import threading
import time
from datetime import UTC, date, datetime

import pytest
from history import build_history, bulk_usage
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QFontMetrics
from PySide6.QtWidgets import QDialogButtonBox

from app.core.domain import Message, MessageStatus, Role
from app.core.insights import MAX_NOTE_LENGTH, RatingValue
from app.gui.charts import AXIS_WIDTH, MARGIN
from app.gui.conversation import MessageCard
from app.gui.insights_dialog import InsightsDialog
from app.gui.ratings import RatingBar
from app.store import open_store
from tests.gui.conftest import close_window

TIMEOUT_MS = 20_000


@pytest.fixture
def history(data_dir):
    store = open_store(data_dir)
    try:
        return build_history(store)
    finally:
        store.close()


def _open(qtbot, window, thread_id: int) -> None:
    window.open_thread(thread_id)
    qtbot.waitUntil(
        lambda: not window.is_loading
        and bool(cards := window.conversation.cards())
        and all(card.message.thread_id == thread_id for card in cards),
        timeout=TIMEOUT_MS,
    )


def test_rating_a_reply_in_the_window(qtbot, history, session, show_window):
    window = show_window(session)
    _open(qtbot, window, history.recipes)
    ids = history.ids
    assert window.ratings.bar_for(ids["u1"]) is None  # questions are not rated
    kept = window.ratings.bar_for(ids["a1b"])
    qtbot.waitUntil(lambda: kept.up_button.isChecked(), timeout=TIMEOUT_MS)  # read from the store
    assert not kept.down_button.isChecked() and kept.note_button.isVisible()

    bar = window.ratings.bar_for(ids["a2"])
    assert not bar.up_button.isChecked() and not bar.note_button.isVisible()
    qtbot.mouseClick(bar.down_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.down_button.isChecked(), timeout=TIMEOUT_MS)
    assert session.store.ratings([ids["a2"]])[ids["a2"]].value == RatingValue.DOWN

    qtbot.mouseClick(bar.note_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(type(window.ratings.edit_note(ids["a2"])))
    assert dialog is not None
    dialog.editor.setPlainText("x" * (MAX_NOTE_LENGTH + 1))
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # too long: it cannot be saved
    dialog.editor.setPlainText("five minutes is too long for runny")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.rating is not None and bar.rating.note is not None, timeout=TIMEOUT_MS)
    stored = session.store.ratings([ids["a2"]])[ids["a2"]]
    assert (stored.value, stored.note) == (RatingValue.DOWN, "five minutes is too long for runny")

    qtbot.mouseClick(bar.down_button, Qt.MouseButton.LeftButton)  # pressing the lit thumb again clears it
    qtbot.waitUntil(lambda: not bar.down_button.isChecked() and bar.rating is None, timeout=TIMEOUT_MS)
    assert session.store.ratings([ids["a2"]]) == {}

    _open(qtbot, window, history.shown_vs_down)  # another thread, and back: the bars read the store again
    _open(qtbot, window, history.recipes)
    qtbot.waitUntil(lambda: window.ratings.bar_for(ids["a1b"]).up_button.isChecked(), timeout=TIMEOUT_MS)
    close_window(qtbot, window)


def test_a_rating_that_cannot_be_stored_is_said_in_the_status_line(qtbot, history, session, show_window):
    window = show_window(session)
    _open(qtbot, window, history.shown_vs_down)
    bar = window.ratings.bar_for(history.ids["e2"])
    other = open_store(session.data_dir)  # another process's view of the folder: the thread is purged under us
    other.delete_thread(history.shown_vs_down)
    other.purge_deleted()
    other.close()
    with qtbot.waitSignal(window.status.error, timeout=TIMEOUT_MS) as said:
        qtbot.mouseClick(bar.up_button, Qt.MouseButton.LeftButton)
    assert said.args == [f"no message with id {history.ids['e2']}"]
    assert not bar.up_button.isChecked()
    close_window(qtbot, window)


def test_the_rating_bar_hides_while_a_reply_streams(qtbot):
    streaming = Message(1, 1, None, Role.ASSISTANT, "", MessageStatus.STREAMING, datetime.now(UTC))
    card = MessageCard(streaming)
    qtbot.addWidget(card)
    card.show()
    bar = RatingBar()
    card.add_header_widget(bar)
    assert not bar.isVisible()
    card.show_message(streaming.__class__(**{**_fields(streaming), "status": MessageStatus.COMPLETE, "content": "ok"}))
    assert bar.isVisible()
    for button in (bar.up_button, bar.down_button, bar.note_button):
        assert button.accessibleName() and button.accessibleDescription()


def test_the_thumbs_are_drawn_by_a_font_the_desktop_has(qtbot):
    """Without an emoji font (this headless machine) 👍 / 👎 would be empty boxes: the bar shows ▲ / ▼ instead."""
    bar = RatingBar()
    qtbot.addWidget(bar)
    has_emoji_font = any("emoji" in family.lower() for family in QFontDatabase.families())
    for button in (bar.up_button, bar.down_button):
        assert has_emoji_font or QFontMetrics(button.font()).inFontUcs4(ord(button.text()))
    assert (bar.up_button.text(), bar.down_button.text()) == (("👍", "👎") if has_emoji_font else ("▲", "▼"))


def _fields(message: Message) -> dict:
    return {name: getattr(message, name) for name in message.__slots__}


@pytest.fixture
def big_history(data_dir):
    store = open_store(data_dir)
    try:
        build_history(store)
        bulk_usage(store, 100_000)
        return store.db.execute_sql("SELECT count(*) FROM usage_event").fetchone()[0]
    finally:
        store.close()


class _RecordingInsights:
    """The session's real InsightsService, noting the thread each dashboard read ran on."""

    def __init__(self, real) -> None:
        self._real = real
        self.threads: list[threading.Thread] = []

    def dashboard(self, *, since=None):
        self.threads.append(threading.current_thread())
        return self._real.dashboard(since=since)


def test_the_dashboard_reads_100k_usage_rows_off_the_gui_thread(qtbot, big_history, session, show_window, tmp_path):
    window = show_window(session)
    # its embeddings add usage rows too; the window starts them once its first view is shown
    qtbot.waitUntil(lambda: window._warmed_up and not window._indexing.busy, timeout=TIMEOUT_MS)
    recording = _RecordingInsights(session.insights)
    dialog = InsightsDialog(
        recording, reads=window._reads, status=window.status, today=lambda: date(2026, 12, 1), parent=window
    )
    qtbot.addWidget(dialog)
    ticks: list[float] = []
    ticker = QTimer(interval=1)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()
    with qtbot.waitSignal(dialog.loaded, timeout=TIMEOUT_MS):
        dialog.show()
        asked = time.perf_counter()
    ticker.stop()
    assert recording.threads and all(t is not threading.main_thread() for t in recording.threads)
    assert [t for t in ticks if t > asked], "the GUI thread handled no event while the figures were read"
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    print(f"worst GUI gap while the dashboard loaded: {max(gaps) * 1000:.1f} ms over {len(ticks)} ticks")

    in_period = session.store.db.execute_sql(
        "SELECT count(*), count(DISTINCT substr(created_at, 1, 10)) FROM usage_event WHERE created_at >= '2026-11-02'"
    ).fetchone()
    assert dialog.state.text() == f"{in_period[0]:,} model calls"
    assert len(dialog.per_day.values) == in_period[1]
    assert dialog.threads.rowCount() == 10 and dialog.ttft.spreads and dialog.speed.spreads
    assert dialog.hosted.text() == "acme: 1"
    assert dialog.ratings.text() == "3 up, 2 down"

    with qtbot.waitSignal(dialog.loaded, timeout=TIMEOUT_MS):
        dialog.period.setCurrentIndex(dialog.period.findData(None))  # all time
    total = session.store.db.execute_sql("SELECT count(*) FROM usage_event").fetchone()[0]
    assert total >= big_history and sum(day.calls for day in dialog.board.per_day) == total
    right_edge = dialog.per_day.width() - MARGIN - 1
    assert dialog.per_day.bar_at(right_edge) == len(dialog.per_day.values) - 1  # what the hover tip tells
    assert dialog.per_day.bar_at(AXIS_WIDTH + 1) == 0 and dialog.per_day.bar_at(2) is None

    path = tmp_path / "usage.csv"
    with qtbot.waitSignal(window.status.info, timeout=TIMEOUT_MS):
        dialog.export_csv(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert sum(int(row["calls"]) for row in rows if row["group"] == "day") == total
    assert {row["group"] for row in rows} == {"day", "model", "thread"}

    with qtbot.waitSignal(window.status.error, timeout=TIMEOUT_MS) as said:
        dialog.export_csv(tmp_path / "no-such-folder" / "usage.csv")
    assert said.args[0].startswith("Could not save the CSV file: cannot write")
    close_window(qtbot, window)


def test_ctrl_shift_i_opens_insights(qtbot, history, session, show_window):
    window = show_window(session)
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.findChild(InsightsDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.board is not None, timeout=TIMEOUT_MS)
    assert dialog.ratings.text() == "3 up, 2 down"
    assert dialog.state.text() == "0 model calls" and not dialog.export_button.isEnabled()
    close_window(qtbot, window)
