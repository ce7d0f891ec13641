"""The window driven like a user would: real widgets, real store, the real small model, offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.core.domain import MessageStatus, Role
from tests.gui.conftest import REPLY_TIMEOUT_MS, close_window, limit_reply

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def type_and_send(qtbot, window, text: str) -> None:
    qtbot.keyClicks(window.composer, text)
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)


def last_card(window):
    cards = window.conversation.cards()
    return cards[-1] if cards else None


def wait_until_streaming_text(qtbot, window, *, at_least: int = 1) -> str:
    """Wait for reply text on screen while the reply is still being written; return what was seen."""
    seen = {}

    def streaming_text_shown() -> bool:
        card = last_card(window)
        if not window.is_streaming or card is None or card.message.role != Role.ASSISTANT:
            return False
        seen["text"] = card.body_text()
        return len(seen["text"]) >= at_least

    qtbot.waitUntil(streaming_text_shown, timeout=REPLY_TIMEOUT_MS)
    return seen["text"]


def wait_until_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.is_streaming and window.is_settled, timeout=REPLY_TIMEOUT_MS)


def test_send_with_enter_streams_the_reply_into_the_view(qtbot, session, show_window):
    limit_reply(session, max_tokens=96)
    window = show_window(session)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Ctrl+N: a new draft thread
    assert window.title_label.full_text() == "New thread"

    type_and_send(qtbot, window, "Write a short poem about the sea.")
    assert window.composer.toPlainText() == ""
    assert window.send_button.text().endswith("Esc")  # Send became Stop

    partial = wait_until_streaming_text(qtbot, window)
    wait_until_idle(qtbot, window)

    [thread] = session.store.list_threads()
    user, reply = session.store.current_path(thread.id)
    assert (user.role, user.content) == (Role.USER, "Write a short poem about the sea.")
    assert reply.status == MessageStatus.COMPLETE and reply.content.strip()
    assert len(partial) < len(last_card(window).body_text())  # the view grew while the reply was written
    assert [card.message.id for card in window.conversation.cards()] == [user.id, reply.id]
    assert reply.content.split()[0].strip("*#_`") in last_card(window).body_text()
    assert "tok/s" in window.status_model.text() and "TTFT" in window.status_model.text()
    assert session.chat.model_name in window.status_model.text()
    assert window.send_button.text() == "Send"
    assert window.thread_list.thread_ids() == [thread.id]
    assert window.title_label.full_text() == window.thread_list.title_of(thread.id) == thread.title != "New thread"


def test_escape_stops_a_long_reply_and_the_next_message_still_works(qtbot, session, show_window):
    limit_reply(session, max_tokens=2000)
    window = show_window(session)
    type_and_send(qtbot, window, "Tell me a very long story about a dragon, a knight and a village, in many chapters.")
    wait_until_streaming_text(qtbot, window, at_least=40)

    qtbot.keyClick(window.composer, Qt.Key.Key_Escape)
    wait_until_idle(qtbot, window)

    [thread] = session.store.list_threads()
    _user, reply = session.store.current_path(thread.id)
    assert reply.status == MessageStatus.INTERRUPTED
    assert reply.error == "stopped"
    assert len(reply.content) >= 40
    assert reply.usage is not None and reply.usage.completion_tokens < 2000
    assert last_card(window).banner_text() == "Interrupted: stopped"
    assert "Stopped" in window.status_note.full_text()

    limit_reply(session, max_tokens=24)
    type_and_send(qtbot, window, "Now say hello.")
    wait_until_idle(qtbot, window)
    path = session.store.current_path(thread.id)
    assert [m.role for m in path] == [Role.USER, Role.ASSISTANT] * 2
    assert path[-1].status == MessageStatus.COMPLETE and path[-1].content.strip()
    assert last_card(window).banner_text() == ""


def test_a_reopened_window_shows_the_thread_and_its_messages(qtbot, data_dir, models_dir, open_sessions, show_window):
    first = open_sessions(data_dir, models_dir)
    limit_reply(first, max_tokens=24)
    window = show_window(first)
    type_and_send(qtbot, window, "What is the capital of France?")
    wait_until_idle(qtbot, window)
    [thread] = first.store.list_threads()
    stored = [(m.role, m.content) for m in first.store.current_path(thread.id)]
    window.details_button.setChecked(False)  # the details column hidden, so three columns fit the 800 px screen
    window.splitter.setSizes([222, window.splitter.width() - 222, 0])
    close_window(qtbot, window)
    assert first.router.loaded_models() == []  # closing the window shut the session down

    second = open_sessions(data_dir, models_dir)
    reopened = show_window(second)
    qtbot.waitUntil(lambda: len(reopened.conversation.cards()) == 2 and not reopened.is_loading)
    assert reopened.thread_list.thread_ids() == [thread.id]
    assert reopened.title_label.full_text() == thread.title
    shown = [(card.message.role, card.message.content) for card in reopened.conversation.cards()]
    assert shown == stored
    assert reopened.conversation.cards()[0].body_text() == "What is the capital of France?"
    assert reopened.splitter.sizes()[0] == 222  # window state came back from the data folder's window.ini
    assert not reopened.details.isVisible()
    assert (data_dir / "window.ini").is_file()


def test_a_reopened_window_reads_the_last_thread_before_the_slow_imports(
    qtbot, data_dir, models_dir, open_sessions, show_window
):
    """The document readers' import (~2 s at cold start) waits until the last thread is read: both run in order
    on the read lane, so the other way round the window would show the thread seconds late."""
    first = open_sessions(data_dir, models_dir)
    limit_reply(first, max_tokens=8)
    window = show_window(first)
    type_and_send(qtbot, window, "Say hi.")
    wait_until_idle(qtbot, window)
    close_window(qtbot, window)

    second = open_sessions(data_dir, models_dir)
    read_lane: list[str] = []
    page, preload_readers = second.threads.page, second.attachments.preload_readers
    second.threads.page = lambda thread_id: read_lane.append("page") or page(thread_id)
    second.attachments.preload_readers = lambda: read_lane.append("readers") or preload_readers()
    reopened = show_window(second)
    qtbot.waitUntil(lambda: len(reopened.conversation.cards()) == 2 and "readers" in read_lane)
    assert read_lane.index("page") < read_lane.index("readers")


def test_a_last_thread_deleted_since_the_close_is_not_reopened(qtbot, session, show_window):
    kept, deleted = session.chat.new_thread("Kept"), session.chat.new_thread("Deleted by the CLI")
    settings = QSettings(str(session.data_dir / "window.ini"), QSettings.Format.IniFormat)
    settings.setValue("session/lastThread", deleted.id)
    settings.sync()
    session.store.delete_thread(deleted.id)
    window = show_window(session)
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [kept.id])
    qtbot.wait(200)  # a page read of the deleted thread would land by now
    assert window.open_thread_id is None
    assert window.title_label.full_text() == "New thread"
    assert window.conversation.cards() == []
    assert window.status_note.full_text() == ""  # no error for the gone thread


def test_the_view_follows_a_streaming_reply_unless_the_user_scrolled_up(qtbot, session, show_window):
    limit_reply(session, max_tokens=1000)
    window = show_window(session)
    window.resize(760, 420)
    bar = window.conversation.verticalScrollBar()
    type_and_send(qtbot, window, "Tell me a very long story about a dragon, a knight and a village, in many chapters.")
    qtbot.waitUntil(lambda: window.is_streaming and bool(last_card(window) and last_card(window).body_text()),
                    timeout=REPLY_TIMEOUT_MS)  # the reply's card, not the taller empty state before it
    qtbot.waitUntil(lambda: bar.maximum() > 200, timeout=REPLY_TIMEOUT_MS)
    assert bar.value() == bar.maximum()  # following the bottom

    bar.setValue(0)  # the user scrolls up to read
    grown_from = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > grown_from + 50 or not window.is_streaming, timeout=REPLY_TIMEOUT_MS)
    assert bar.value() == 0  # left where the user put it
    window.stop_reply()
    wait_until_idle(qtbot, window)


def test_an_empty_message_is_refused(qtbot, session, show_window):
    window = show_window(session)
    qtbot.keyClicks(window.composer, "   ")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)  # a newline, not a send
    qtbot.keyClicks(window.composer, "  ")
    assert window.composer.toPlainText() == "   \n  "
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)

    assert not window.is_streaming
    assert window.composer_hint.text() == "Type a message first."
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert not window.is_streaming
    assert session.store.list_threads() == []
    assert window.conversation.cards() == []


def test_ctrl_enter_mode_sends_only_with_ctrl(qtbot, session, show_window):
    session.settings = session.settings.with_changes(send_key="ctrl+enter")
    limit_reply(session, max_tokens=16)
    window = show_window(session)
    qtbot.keyClicks(window.composer, "Hello")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    qtbot.keyClicks(window.composer, "there")
    assert window.composer.toPlainText() == "Hello\nthere" and not window.is_streaming
    assert "Ctrl+Enter" in window.composer_hint.text()

    qtbot.keyClick(window.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_until_idle(qtbot, window)
    [thread] = session.store.list_threads()
    assert session.store.current_path(thread.id)[0].content == "Hello\nthere"


def test_missing_model_shows_the_starter_card_and_errors_in_place(qtbot, tmp_path, open_sessions, show_window):
    empty_models = tmp_path / "no-models"
    empty_models.mkdir()
    session = open_sessions(tmp_path / "data", empty_models)
    window = show_window(session)

    assert window.starter_card.isVisible()
    assert "Get the starter model (98 MB)" in window.starter_card.findChild(QLabel, "starterTitle").text()
    assert "not installed" in window.status_model.text()

    type_and_send(qtbot, window, "Hello?")  # without a model the reply fails, said in place; the window keeps working
    wait_until_idle(qtbot, window)
    [thread] = session.store.list_threads()
    _user, reply = session.store.current_path(thread.id)
    assert reply.status == MessageStatus.ERROR and "missing" in reply.error
    assert last_card(window).banner_text().startswith("Error: model file")
    assert "did not finish" in window.status_note.full_text()
    assert not window.is_streaming and window.send_button.isEnabled()


def test_a_failed_starter_download_is_said_in_the_card(qtbot, tmp_path, monkeypatch, open_sessions, show_window):
    """Clicking Download runs the real ModelService.pull off the GUI thread; a source it cannot fetch fails fast."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        (REPO / "models" / "catalog.toml").read_text().replace('source = "pypi:', 'source = "ftp://example.invalid/')
    )
    monkeypatch.setenv("THREADLOOM_CATALOG", str(catalog))
    empty_models = tmp_path / "no-models"
    empty_models.mkdir()
    window = show_window(open_sessions(tmp_path / "data", empty_models))

    qtbot.mouseClick(window.starter_card.findChild(QPushButton, "starterButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.starter_card.error_text() != "", timeout=REPLY_TIMEOUT_MS)
    assert "cannot fetch" in window.starter_card.error_text()
    assert window.starter_card.isVisible() and not window.starter_card.progress.isVisible()


def test_a_long_title_ends_in_an_ellipsis_instead_of_widening_the_window(qtbot, session, show_window):
    title = " ".join(["A remarkably long title about planning the garden for next spring"] * 4)
    thread = session.chat.new_thread(title)
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.title_label.full_text() == title)
    assert window.title_label.text().endswith("…") and window.title_label.toolTip() == title
    assert window.title_label.minimumSizeHint().width() < 200


@pytest.mark.slow
def test_opening_the_window_indexes_messages_written_before_it_for_meaning_search(qtbot, session, show_window):
    thread = session.store.create_thread("Imported")
    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="How do herons fish?")
    session.store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="They stand still and wait.")
    model = session.embedder.model_id
    assert len(session.store.messages_to_embed(model=model)) == 2  # as an import or the CLI leaves them
    show_window(session)
    qtbot.waitUntil(lambda: session.store.messages_to_embed(model=model) == [], timeout=REPLY_TIMEOUT_MS)
