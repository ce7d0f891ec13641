"""The window over its services, on real widgets and a real store: a chosen theme reaches the conversation, slow work
stays off the GUI thread (closing, a dropped file's new thread, a citation's page, the settings file), failures are
told through the one status bridge, and a write from anywhere reaches the views through the change broadcast."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest
from pygments.token import Token

from app.core.documents import Citation
from app.core.domain import MessageStatus, Role
from app.core.errors import InvalidInput
from app.gui import page_viewer, theme
from app.gui.code_block import DARK_STYLE, LIGHT_STYLE, formats_for
from app.platform.logs import setup_logging
from tests.conftest import SHARED_DATA
from tests.gui.conftest import REPLY_TIMEOUT_MS
from tests.gui.test_attachments_gui import drop_files

PDF = SHARED_DATA / "pdf-corpus" / "files" / "sf-001-minimal-document.pdf"


def recording_thread(calls: list, function):
    """`function`, noting the thread of each call in `calls`."""

    def recorded(*args, **kwargs):
        calls.append(threading.current_thread())
        return function(*args, **kwargs)

    return recorded


def code_colour(style: str) -> str:
    """The colour a Pygments style gives `print` (a builtin)."""
    return formats_for(style)[Token.Name.Builtin].foreground().color().name()


def test_a_chosen_dark_theme_colours_the_conversation_and_not_only_the_frame(qtbot, session, show_window):
    thread = session.chat.new_thread("Colours")
    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Show me code.")
    session.store.add_message(
        thread.id, parent_id=user.id, role=Role.ASSISTANT, content="```python\nprint(1)\n```", status=MessageStatus.COMPLETE
    )
    assert theme.current("system") == theme.LIGHT  # offscreen, the desktop asks for light
    window = show_window(session)
    window.apply_settings(session.settings.with_changes(theme="dark"))
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: len(window.conversation.cards()) == 2 and not window.is_loading)

    you, assistant = window.conversation.cards()
    assert f"color:{theme.DARK.text}" in you._header.text()  # light text on the dark surface
    assert theme.LIGHT.text not in you._header.text()
    (code,) = assistant.code_blocks()
    colours = {span.format.foreground().color().name() for span in code.view.document().begin().layout().formats()}
    assert code_colour(DARK_STYLE) in colours  # the code is highlighted for the dark surface
    assert code_colour(LIGHT_STYLE) not in colours

    window.apply_settings(session.settings.with_changes(theme="system"))
    qtbot.waitUntil(lambda: len(window.conversation.cards()) == 2 and not window.is_loading)
    assert f"color:{theme.LIGHT.text}" in window.conversation.cards()[0]._header.text()


def test_closing_returns_at_once_while_a_slow_call_runs_and_the_session_closes_after_it(
    qtbot, session, show_window, monkeypatch
):
    window = show_window(session)
    started, release = threading.Event(), threading.Event()
    list_threads = session.store.list_threads

    def slow_listing(*args, **kwargs):
        started.set()
        release.wait(120)
        return list_threads(*args, **kwargs)

    monkeypatch.setattr(session.store, "list_threads", slow_listing)
    window.refresh_threads()
    assert started.wait(30)

    began = time.monotonic()
    window.close()
    took = time.monotonic() - began
    assert not window.isVisible()
    assert session.store.db.is_closed() is False  # the session waits for the call that is still running
    with qtbot.waitSignal(window.closed, timeout=REPLY_TIMEOUT_MS):
        release.set()
    assert took < 10  # a generous bound: it used to wait for every background call, up to 30 s each
    assert session.router.loaded_models() == [] and session.store.db.is_closed()


@pytest.mark.slow
def test_files_dropped_on_a_draft_go_into_a_thread_made_off_the_gui_thread(
    qtbot, session, show_window, monkeypatch, tmp_path: Path
):
    made_on: list[threading.Thread] = []
    monkeypatch.setattr(session.store, "create_thread", recording_thread(made_on, session.store.create_thread))
    note = tmp_path / "note.txt"
    note.write_text("The lighthouse keeper logs the weather every morning at six.", encoding="utf-8")
    window = show_window(session)
    assert window._open_thread_id is None  # a draft

    assert drop_files(window.conversation.viewport(), [note])
    qtbot.waitUntil(lambda: window._open_thread_id is not None, timeout=REPLY_TIMEOUT_MS)
    assert made_on and threading.main_thread() not in made_on
    [thread] = session.store.list_threads()
    assert window._open_thread_id == thread.id
    qtbot.waitUntil(lambda: [c.attachment.file_name for c in window.attachments.panel.chips()] == [note.name])
    qtbot.waitUntil(lambda: not window.attachments.busy, timeout=REPLY_TIMEOUT_MS)


def test_a_citations_page_is_rendered_off_the_gui_thread(qtbot, session, show_window, monkeypatch):
    rendered_on: list[threading.Thread] = []
    monkeypatch.setattr(page_viewer, "render_pdf_page", recording_thread(rendered_on, page_viewer.render_pdf_page))
    window = show_window(session)
    citation = Citation(
        number=1, file_name=PDF.name, page=1, start=0, end=10, text="", verified=False, document_id=1,
        stored_path=str(PDF),
    )  # fmt: skip

    window.attachments.open_citation(citation)
    qtbot.waitUntil(lambda: window.attachments.viewer is not None)
    assert rendered_on and threading.main_thread() not in rendered_on
    viewer = window.attachments.viewer
    assert viewer.isVisible() and viewer.image is not None and viewer.image.width() > 500
    viewer.close()


def test_the_settings_file_is_written_off_the_gui_thread(qtbot, session, show_window, monkeypatch):
    written_on: list[threading.Thread] = []
    replace = os.replace

    def spy(source, destination, *args, **kwargs):
        if Path(destination).name == "settings.json":
            written_on.append(threading.current_thread())
        return replace(source, destination, *args, **kwargs)

    monkeypatch.setattr(os, "replace", spy)
    window = show_window(session)
    window.apply_settings(session.settings.with_changes(send_key="ctrl+enter"))
    assert window.composer.send_key == "ctrl+enter"  # applied at once
    qtbot.waitUntil(lambda: len(written_on) == 1)

    dialog = window.open_model_manager()
    qtbot.waitUntil(lambda: bool(dialog.model_names()), timeout=REPLY_TIMEOUT_MS)
    dialog.offline_box.setChecked(True)
    qtbot.waitUntil(lambda: len(written_on) == 2)
    dialog.reject()
    assert threading.main_thread() not in written_on


def test_an_unexpected_error_in_a_background_call_is_logged_with_its_traceback_and_told_in_one_line(
    qtbot, session, show_window, monkeypatch, caplog
):
    log_file = setup_logging(session.data_dir)  # once per process: the file of whichever test set it up first
    window = show_window(session)

    def broken(_filter=None):
        raise TypeError("a listing bug")

    monkeypatch.setattr(session.threads, "listing", broken)
    with caplog.at_level(logging.INFO):
        window.refresh_threads()
        qtbot.waitUntil(lambda: "went wrong" in window.status_note.full_text())
    told = window.status_note.full_text()
    assert told == f"something unexpected went wrong (TypeError); the details are in {log_file}"
    assert window.status_note.objectName() == "statusError"
    [logged] = [record for record in caplog.records if record.exc_info]
    assert logged.exc_info[0] is TypeError and "a listing bug" in str(logged.exc_info[1])
    assert any(told in record.getMessage() for record in caplog.records)  # what the user saw is in the log too

    def refused(_filter=None):
        raise InvalidInput("that tag is too long: the limit is 64 characters")

    monkeypatch.setattr(session.threads, "listing", refused)
    window.refresh_threads()
    qtbot.waitUntil(lambda: window.status_note.full_text() == "that tag is too long: the limit is 64 characters")


def test_a_write_made_elsewhere_reaches_the_list_and_the_open_thread_through_the_change_broadcast(
    qtbot, session, show_window
):
    thread = session.chat.new_thread("Before")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.privacy.thread_id == thread.id and not window.is_loading)

    session.threads.rename(thread.id, "After")  # not through the window: on this thread, straight to the service
    qtbot.waitUntil(lambda: window.thread_list.title_of(thread.id) == "After")
    assert window.title_label.full_text() == "After"

    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Hello from elsewhere.")
    summary = session.store.add_summary(thread.id, up_to_message_id=user.id, content="A greeting.")
    session.threads.edit_summary(thread.id, summary.id, "A greeting, folded.")
    qtbot.waitUntil(lambda: window.conversation.summary_card is not None and not window.is_loading)
    assert window.conversation.summary_card.summary.content == "A greeting, folded."
    assert [card.message.id for card in window.conversation.cards()] == [user.id]


def test_the_window_still_ends_when_shutting_its_session_down_fails(qtbot, session, show_window, monkeypatch, caplog):
    window = show_window(session)
    close, attempts = session.close, []

    def failing_once() -> None:
        attempts.append(threading.current_thread())
        if len(attempts) == 1:
            raise OSError("the disk went away")
        close()

    monkeypatch.setattr(session, "close", failing_once)
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(window.closed, timeout=REPLY_TIMEOUT_MS):
        window.close()
    assert any(record.getMessage() == "closing the session failed" for record in caplog.records)
    assert attempts[0] is not threading.main_thread() and attempts[1] is threading.main_thread()


def test_a_listing_read_before_a_new_thread_existed_does_not_close_it(qtbot, session, show_window, monkeypatch):
    window = show_window(session)
    listing, read, land = session.threads.listing, threading.Event(), threading.Event()

    def stale_listing(*args, **kwargs):
        result = listing(*args, **kwargs)
        read.set()
        land.wait(30)  # it lands after the thread below was made and opened
        return result

    monkeypatch.setattr(session.threads, "listing", stale_listing)
    window.refresh_threads()
    assert read.wait(30)
    fresh = session.chat.new_thread("Fresh")
    window.open_thread(fresh.id)
    land.set()
    qtbot.waitUntil(lambda: window.is_settled and not window.is_loading, timeout=REPLY_TIMEOUT_MS)
    qtbot.wait(200)
    assert window._open_thread_id == fresh.id and window.title_label.full_text() == "Fresh"
