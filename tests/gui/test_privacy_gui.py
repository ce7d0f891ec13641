"""The thread header's privacy control and "Ask a stronger model": real widgets, real store, offscreen.

Refusals use a provider on a closed port of 127.0.0.1: they happen before any request, and the ledger and the store
prove nothing was sent. The confirmed upgrade reaches the hosted stand-in of tests/e2e (llama_cpp.server on
127.0.0.1 behind a counting relay, its key in an in-memory keyring).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.domain import MessageStatus
from app.core.routing import PrivacyRule, RouteReason
from tests.gui.conftest import REPLY_TIMEOUT_MS, limit_reply
from tests.gui.test_main_window import type_and_send

HOSTED = "hosted/big-model"


def open_thread(qtbot, window, thread_id: int) -> None:
    window.open_thread(thread_id)
    qtbot.waitUntil(lambda: window.privacy.thread_id == thread_id and not window.is_loading)


def thread_with_a_reply(session) -> int:
    """A real turn from the small model, written before the window opens."""
    limit_reply(session, max_tokens=4)
    thread = session.chat.new_thread("Plans")
    for _event in session.chat.send(thread.id, "Say hi."):
        pass
    return thread.id


def upgrade_action(card, model: str):
    """The "Ask a stronger model" submenu's entry for `model`, filled as it is when the menu opens."""
    [submenu] = [action.menu() for action in card.more_button.menu().actions() if action.menu() is not None]
    assert submenu.title() == "Ask a stronger model"
    submenu.aboutToShow.emit()
    return next((action for action in submenu.actions() if action.text() == model), None)


def test_a_fresh_thread_never_left_this_device_and_the_control_changes_its_stored_rule(qtbot, session, show_window):
    thread = session.chat.new_thread("Plans")
    window = show_window(session)
    open_thread(qtbot, window, thread.id)
    assert window.privacy.badge.full_text() == "never left this device"
    assert window.privacy.rule_box.currentText() == "Local only"
    assert window.privacy.rule_box.isEnabled()

    window.privacy.rule_box.setFocus()
    qtbot.keyClick(window.privacy.rule_box, Qt.Key.Key_Down)  # the user picks the next rule: Ask each time
    qtbot.waitUntil(lambda: session.routing.privacy_rule(thread.id) == PrivacyRule.ASK and window.is_settled)
    assert window.privacy.rule_box.currentText() == "Ask each time"
    assert "Ask each time" in window.status_note.full_text()

    qtbot.keyClick(window.privacy.rule_box, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: session.routing.privacy_rule(thread.id) == PrivacyRule.ALLOWED and window.is_settled)

    window.new_thread()  # a draft: local only until it exists, and the picker waits for it
    assert not window.privacy.rule_box.isEnabled() and window.privacy.rule_box.currentText() == "Local only"
    open_thread(qtbot, window, thread.id)
    assert window.privacy.rule_box.currentText() == "Allowed"  # read back from the store


def test_the_model_chip_names_the_open_threads_model_and_where_it_runs(qtbot, session, show_window):
    local = session.chat.new_thread("Local")
    hosted = session.chat.new_thread("Hosted")
    session.routing.set_thread_model(hosted.id, "acme/big-model")
    window = show_window(session)
    default = session.chat.model_name
    open_thread(qtbot, window, hosted.id)
    qtbot.waitUntil(lambda: window.model_chip.full_text == "● big-model · acme (hosted)")
    assert "sent to acme" in window.model_chip.toolTip()
    open_thread(qtbot, window, local.id)
    qtbot.waitUntil(lambda: window.model_chip.full_text == f"● {default} · local")
    assert "on this computer" in window.model_chip.toolTip()
    open_thread(qtbot, window, hosted.id)
    qtbot.waitUntil(lambda: "acme" in window.model_chip.full_text)
    window.new_thread()
    assert window.model_chip.full_text == f"● {default} · local"


@pytest.mark.slow
@pytest.mark.parametrize("rule", [PrivacyRule.LOCAL_ONLY, PrivacyRule.ASK])
def test_asking_a_hosted_model_where_the_thread_does_not_allow_it_sends_nothing(
    qtbot, session, show_window, monkeypatch, rule
):
    thread_id = thread_with_a_reply(session)
    session.routing.add_provider("hosted", "http://127.0.0.1:9/v1", "big-model")
    session.routing.set_privacy_rule(thread_id, rule)
    before = [message.id for message in session.store.current_path(thread_id)]
    asked: list[str] = []
    monkeypatch.setattr("app.gui.main_window.MainWindow.confirm_hosted", lambda _window, model: asked.append(model))
    window = show_window(session)
    open_thread(qtbot, window, thread_id)
    qtbot.waitUntil(lambda: HOSTED in window.conversation.stronger_models, timeout=REPLY_TIMEOUT_MS)
    reply_card = window.conversation.card_for(before[-1])

    upgrade_action(reply_card, HOSTED).trigger()
    qtbot.waitUntil(lambda: f"nothing was sent to {HOSTED}" in window.status_note.full_text().lower())
    qtbot.waitUntil(lambda: window.is_settled)

    if rule == PrivacyRule.LOCAL_ONLY:
        assert asked == []  # nothing to confirm: the rule says no, and the note says how to change it
        assert "privacy" in window.status_note.full_text()
    else:
        assert asked == [HOSTED]  # the user was asked and said no
    assert not window.is_streaming
    assert session.routing.ledger(thread_id) == []
    assert [message.id for message in session.store.current_path(thread_id)] == before
    assert len(session.store.siblings(before[-1])) == 1  # no new reply branch was stored
    assert window.privacy.badge.full_text() == "never left this device"


def test_the_upgrade_menu_offers_providers_and_other_local_chat_models_only(qtbot, session, show_window):
    session.routing.add_provider("hosted", "http://127.0.0.1:9/v1", "big-model")
    window = show_window(session)
    qtbot.waitUntil(lambda: HOSTED in window.conversation.stronger_models)
    offered = window.conversation.stronger_models
    assert offered[0] == HOSTED
    kinds = {spec.name: spec.kind for spec in session.models.catalog}
    assert session.chat.model_name not in offered  # the thread's own model is not an upgrade
    assert all(kinds[name] == "chat" for name in offered[1:])  # never the embedding model


@pytest.mark.slow
def test_a_confirmed_upgrade_writes_a_sibling_reply_from_the_hosted_model_and_the_badge_counts_it(
    qtbot, session, show_window, monkeypatch, hosted, memory_keyring, api_key
):
    thread_id = thread_with_a_reply(session)
    session.providers.add("stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    session.routing.set_privacy_rule(thread_id, PrivacyRule.ASK)
    user_message, local_reply = session.store.current_path(thread_id)
    asked: list[str] = []
    monkeypatch.setattr(
        "app.gui.main_window.MainWindow.confirm_hosted", lambda _window, model: asked.append(model) or True
    )
    window = show_window(session)
    open_thread(qtbot, window, thread_id)
    qtbot.waitUntil(lambda: "stand-in/smollm2" in window.conversation.stronger_models)
    assert hosted.connections == 0

    upgrade_action(window.conversation.card_for(local_reply.id), "stand-in/smollm2").trigger()
    qtbot.waitUntil(
        lambda: session.store.get_thread(thread_id).current_leaf_id != local_reply.id
        and not window.is_streaming
        and window.is_settled,
        timeout=REPLY_TIMEOUT_MS,
    )

    assert asked == ["stand-in/smollm2"]
    _user, upgraded = session.store.current_path(thread_id)
    assert upgraded.id != local_reply.id and upgraded.parent_id == user_message.id  # a sibling: a new branch
    assert upgraded.status == MessageStatus.COMPLETE and upgraded.model == "stand-in/smollm2"
    [call] = session.routing.ledger(thread_id)
    assert (call.message_id, call.reason) == (upgraded.id, RouteReason.UPGRADE)
    assert hosted.connections >= 1
    qtbot.waitUntil(lambda: window.privacy.badge.full_text() == "sent to a hosted model 1 time")
    assert window.conversation.card_for(upgraded.id) is not None


def confirm_with(monkeypatch, answer: bool) -> list[str]:
    """Answers the window's "Send to a hosted model?" question; returns the models it was asked about."""
    asked: list[str] = []
    monkeypatch.setattr(
        "app.gui.main_window.MainWindow.confirm_hosted", lambda _window, model: asked.append(model) or answer
    )
    return asked


def test_a_send_on_an_ask_thread_whose_model_is_hosted_asks_first_and_a_no_sends_nothing(
    qtbot, session, show_window, monkeypatch
):
    thread = session.chat.new_thread("Plans")
    session.routing.add_provider("hosted", "http://127.0.0.1:9/v1", "big-model")
    session.routing.set_thread_model(thread.id, HOSTED)
    session.routing.set_privacy_rule(thread.id, PrivacyRule.ASK)
    asked = confirm_with(monkeypatch, False)
    window = show_window(session)
    open_thread(qtbot, window, thread.id)

    type_and_send(qtbot, window, "Summarise our plan.")
    qtbot.waitUntil(lambda: f"nothing was sent to {HOSTED}" in window.status_note.full_text().lower())
    qtbot.waitUntil(lambda: not window.is_streaming and window.is_settled)
    assert asked == [HOSTED]  # the window asked, as the thread's rule says, instead of pointing to a CLI flag
    assert session.store.messages(thread.id) == [] and session.routing.ledger(thread.id) == []
    assert window.composer.toPlainText() == "Summarise our plan."  # the user's words are given back


@pytest.mark.slow
def test_a_fallback_on_an_ask_thread_asks_and_a_yes_answers_from_the_hosted_model(
    qtbot, session, show_window, monkeypatch, hosted, memory_keyring, api_key
):
    limit_reply(session, max_tokens=8)
    thread = session.chat.new_thread("Plans")
    session.providers.add("stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    session.routing.set_thread_model(thread.id, "a-model-that-is-not-installed")  # the local model cannot serve
    session.routing.set_privacy_rule(thread.id, PrivacyRule.ASK)
    asked = confirm_with(monkeypatch, True)
    window = show_window(session)
    open_thread(qtbot, window, thread.id)

    type_and_send(qtbot, window, "Say hi.")
    qtbot.waitUntil(
        lambda: len(session.routing.ledger(thread.id)) == 1 and not window.is_streaming and window.is_settled,
        timeout=REPLY_TIMEOUT_MS,
    )
    assert asked == ["stand-in/smollm2"]
    failed, answered = session.store.siblings(session.store.current_path(thread.id)[-1].id)
    assert failed.status == MessageStatus.ERROR and "no fallback was used" in failed.error
    assert answered.status == MessageStatus.COMPLETE and answered.model == "stand-in/smollm2"
    [call] = session.routing.ledger(thread.id)
    assert (call.message_id, call.reason) == (answered.id, RouteReason.FALLBACK)
