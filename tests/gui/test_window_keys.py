"""Focus and keys on the real window: the composer has focus on open, after New thread, a switch and a reply; Ctrl+K
finds a thread by a fuzzy query; Ctrl+= / Ctrl+- scale the text; the title is renamed in place; the model chip
picks the thread's model."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from app.core.domain import MessageStatus, Role, Timings
from app.core.errors import NotFound
from app.core.routing import PrivacyRule
from app.gui.conversation import MessageCard
from app.gui.quick_switcher import fuzzy_score
from tests.gui.conftest import REPLY_TIMEOUT_MS, limit_reply
from tests.gui.test_main_window import type_and_send


def press(qtbot, window, keys: str) -> None:
    """Type a shortcut where the focus is, as the user would."""
    sequence = QKeySequence(keys)[0]
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, sequence.key(), sequence.keyboardModifiers())


def composer_focused(window) -> bool:
    return QApplication.focusWidget() is window.composer


def test_the_composer_has_focus_when_the_window_opens(qtbot, session):
    from app.gui.main_window import MainWindow

    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: composer_focused(window))
    qtbot.waitUntil(lambda: not window.is_loading)
    qtbot.keyClicks(QApplication.focusWidget(), "typed at once")
    assert window.composer.toPlainText() == "typed at once"


def test_focus_returns_to_the_composer_after_new_thread_a_switch_and_a_reply(qtbot, session, show_window):
    first, second = session.chat.new_thread("First"), session.chat.new_thread("Second")
    window = show_window(session)
    window.sidebar.search_box.setFocus()
    press(qtbot, window, "Ctrl+N")
    assert composer_focused(window)

    window.thread_list.setFocus()
    rect = window.thread_list.rect_of(first.id)
    qtbot.mouseClick(window.thread_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.title_label.full_text() == "First")
    assert composer_focused(window)

    window.thread_list.setFocus()  # arrows move through the list and leave the focus there
    qtbot.keyClick(window.thread_list, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Second")
    assert QApplication.focusWidget() is window.thread_list
    qtbot.keyClick(window.thread_list, Qt.Key.Key_Return)
    assert composer_focused(window)

    limit_reply(session, max_tokens=4)
    type_and_send(qtbot, window, "Hi")
    window.send_button.setFocus()  # where a click on Send leaves it
    qtbot.waitUntil(lambda: not window.is_streaming, timeout=REPLY_TIMEOUT_MS)
    qtbot.waitUntil(lambda: composer_focused(window))
    assert second.id != first.id


def test_ctrl_k_finds_a_thread_by_a_fuzzy_query_and_enter_opens_it(qtbot, session, show_window):
    for title in ("Quarterly budget review", "Lighthouse keeper story", "Garden plans"):
        session.chat.new_thread(title)
    window = show_window(session)
    press(qtbot, window, "Ctrl+K")
    qtbot.waitUntil(lambda: getattr(window, "quick_switcher", None) is not None and window.quick_switcher.isVisible())
    switcher = window.quick_switcher
    assert switcher.shown_titles() == ["Garden plans", "Lighthouse keeper story", "Quarterly budget review"]
    qtbot.keyClicks(switcher.query, "qbr")
    assert switcher.shown_titles() == ["Quarterly budget review"]
    switcher.query.clear()
    qtbot.keyClicks(switcher.query, "zzz")
    assert switcher.shown_titles() == [] and switcher.empty.isVisibleTo(switcher)
    switcher.query.clear()
    qtbot.keyClicks(switcher.query, "keep")
    qtbot.keyClick(switcher.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Lighthouse keeper story")
    assert not switcher.isVisible()
    qtbot.waitUntil(lambda: composer_focused(window))


def test_fuzzy_ranking_prefers_word_starts_and_runs_then_recency():
    assert fuzzy_score("qbr", "Quarterly budget review") > fuzzy_score("qbr", "a quibbler")
    assert fuzzy_score("lh", "Lake house") > fuzzy_score("lh", "Lighthouse")
    assert fuzzy_score("xyz", "Lighthouse") is None
    assert fuzzy_score("  ", "anything") == 0.0


def test_ctrl_plus_and_minus_scale_the_text_and_ctrl_0_restores_it(qtbot, session, show_window):
    window = show_window(session)
    usual = QApplication.font().pointSizeF()
    press(qtbot, window, "Ctrl+=")
    press(qtbot, window, "Ctrl+=")
    assert QApplication.font().pointSizeF() == pytest.approx(usual * 1.21)
    assert "font-size: 17px" in window.styleSheet()  # the replies' 14 px, scaled
    press(qtbot, window, "Ctrl+-")
    assert QApplication.font().pointSizeF() == pytest.approx(usual * 1.1)
    press(qtbot, window, "Ctrl+0")
    assert QApplication.font().pointSizeF() == pytest.approx(usual)
    for _ in range(30):
        press(qtbot, window, "Ctrl+-")
    assert QApplication.font().pointSizeF() == pytest.approx(usual * 0.7)  # never unreadably small


def test_the_title_is_renamed_in_place_by_double_click_or_f2_and_esc_keeps_it(qtbot, session, show_window):
    thread = session.chat.new_thread("Old name")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Old name" and not window.is_loading)
    title = window.header.title
    qtbot.mouseDClick(title.label, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert title.is_editing and QApplication.focusWidget() is title.editor
    title.editor.selectAll()
    qtbot.keyClicks(title.editor, "  New   name ")
    qtbot.keyClick(title.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.store.get_thread(thread.id).title == "New name")
    assert window.title_label.full_text() == "New name" and not title.is_editing

    window.composer.setFocus()
    press(qtbot, window, "F2")
    assert title.is_editing
    qtbot.keyClicks(title.editor, "Discarded")
    qtbot.keyClick(title.editor, Qt.Key.Key_Escape)
    assert not title.is_editing and window.title_label.full_text() == "New name"
    qtbot.wait(50)
    assert session.store.get_thread(thread.id).title == "New name"

    window.new_thread()  # a draft has no title to rename yet
    press(qtbot, window, "F2")
    assert not title.is_editing


def test_the_model_chip_picks_the_threads_model_hosted_only_where_its_rule_allows(
    qtbot, session, show_window, memory_keyring, api_key
):
    session.providers.add("acme", base_url="http://127.0.0.1:9/v1", model="big-model", api_key=api_key)
    thread = session.chat.new_thread("Routing")
    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.privacy.thread_id == thread.id and not window.is_loading)
    window.open_model_manager().reject()  # closing it reads the models and providers again
    qtbot.waitUntil(lambda: window.model_chip.hosted_models == ["acme/big-model"] and not window.is_loading)

    menu = window.model_chip.menu()
    menu.aboutToShow.emit()
    entries = {action.text(): action for action in menu.actions()}
    hosted = entries["acme/big-model (this thread is local only)"]
    assert not hosted.isEnabled()
    assert entries[session.chat.model_name].isChecked()

    window.set_privacy_rule(thread.id, str(PrivacyRule.ALLOWED))
    qtbot.waitUntil(lambda: window.model_chip.rule == PrivacyRule.ALLOWED)
    menu.aboutToShow.emit()
    hosted = next(action for action in menu.actions() if action.text() == "acme/big-model")
    assert hosted.isEnabled()
    hosted.trigger()
    qtbot.waitUntil(lambda: window.model_chip.full_text == "● big-model · acme (hosted)")
    assert session.store.get_thread(thread.id).model == "acme/big-model"

    with pytest.raises(NotFound):
        session.threads.set_model(thread.id, "nobody/nothing")  # a provider never added
    assert session.store.get_thread(thread.id).model == "acme/big-model"


def test_reply_figures_never_wrap_inside_a_figure(qtbot, session):
    thread = session.chat.new_thread("Figures")
    user = session.store.add_message(thread.id, parent_id=None, role=Role.USER, content="Hi")
    reply = session.store.add_message(
        thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Hello", status=MessageStatus.COMPLETE
    )
    from dataclasses import replace

    card = MessageCard(replace(reply, model="m", timings=Timings(ttft_s=0.13, tokens_per_s=62.8)))
    qtbot.addWidget(card)
    header = card._header.text()
    assert "62.8&nbsp;tok/s" in header and "0.13&nbsp;s&nbsp;to&nbsp;first&nbsp;token" in header
