"""A thread whose older turns were folded into a summary: the window shows the fold and can undo it."""

from __future__ import annotations

from app.core.domain import Role


def test_the_summary_card_sits_after_the_folded_turns_and_undo_removes_it(qtbot, session, show_window):
    store = session.store
    thread = store.create_thread("Long budget talk")
    parent = None
    ids = []
    for year in (2001, 2002, 2003):
        user = store.add_message(thread.id, parent_id=parent, role=Role.USER, content=f"Budget for {year}?")
        parent = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content=f"Noted {year}.").id
        ids += [user.id, parent]
    summary = store.add_summary(thread.id, up_to_message_id=ids[1], content="They asked about the 2001 budget.")

    window = show_window(session)
    window.open_thread(thread.id)
    qtbot.waitUntil(lambda: window.conversation.summary_card is not None)
    card = window.conversation.summary_card
    layout = card.parentWidget().layout()
    after = layout.itemAt(layout.indexOf(card) - 1).widget()
    assert after.message.id == ids[1]  # right after the last folded message
    assert not card.body.isVisible()  # collapsed by default
    card.toggle.click()
    assert card.body.isVisibleTo(card) and "2001 budget" in card.body.toPlainText()

    window.undo_summary(summary.id)
    qtbot.waitUntil(lambda: window.conversation.summary_card is None and not window.is_loading)
    assert store.summaries(thread.id) == []
    assert len(window.conversation.cards()) == 6  # every original message is still shown
