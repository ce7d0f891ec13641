"""The sidebar: time groups, rename in place, delete with Undo, tag chips, views, search. Real store and search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.domain import Role, Thread
from app.gui.thread_list import BATCH, ThreadList, group_threads
from tests.gui.conftest import REPLY_TIMEOUT_MS, limit_reply
from tests.gui.test_main_window import type_and_send


def thread(thread_id: int, updated: datetime, *, pinned: bool = False) -> Thread:
    return Thread(id=thread_id, title=f"t{thread_id}", created_at=updated, updated_at=updated, pinned=pinned)


def test_threads_are_grouped_by_last_activity_in_local_time():
    now = datetime(2025, 11, 25, 15, 0, tzinfo=UTC)
    threads = [
        thread(1, now - timedelta(days=40), pinned=True),
        thread(2, now - timedelta(hours=1)),
        thread(3, now - timedelta(days=1)),
        thread(4, now - timedelta(days=3)),
        thread(5, now - timedelta(days=30)),
        thread(6, now - timedelta(days=400)),
    ]
    groups = group_threads(threads, now=now)
    assert [(label, [t.id for t in members]) for label, members in groups] == [
        ("Pinned", [1]),
        ("Today", [2]),
        ("Yesterday", [3]),
        ("Previous 7 days", [4]),
        ("October", [5]),
        ("October 2024", [6]),
    ]


def test_rename_in_place_and_delete_with_undo(qtbot, session, show_window):
    first = session.store.create_thread("First")
    second = session.store.create_thread("Second")
    window = show_window(session)
    listing = window.thread_list
    assert listing.thread_ids() == [second.id, first.id]
    heading = listing.model().index(0)
    assert heading.data() == "TODAY" and not listing.model().flags(heading) & Qt.ItemFlag.ItemIsSelectable

    listing.setFocus()
    listing.start_rename(first.id)
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "Renamed thread")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.store.get_thread(first.id).title == "Renamed thread" and not window.is_loading)
    assert listing.title_of(first.id) == "Renamed thread"

    qtbot.mouseClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.rect_of(second.id).center())
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Second" and not window.is_loading)
    listing.setFocus()
    qtbot.keyClick(listing, Qt.Key.Key_Delete)  # no question asked: the banner offers Undo
    qtbot.waitUntil(lambda: listing.thread_ids() == [first.id] and not window.is_loading)
    assert [t.id for t in session.store.list_threads()] == [first.id]
    assert window.title_label.full_text() == "New thread"  # the open thread went away with it
    banner = window.sidebar.undo_bar
    assert banner.isVisible() and banner.label.text() == "Deleted “Second”."

    qtbot.mouseClick(banner.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listing.thread_ids() == [second.id, first.id] and not window.is_loading)
    assert not banner.isVisible()
    assert session.store.get_thread(second.id).deleted_at is None
    qtbot.waitUntil(lambda: window.title_label.full_text() == "Second")  # undo brings back the thread that was open


def test_tag_chips_filter_the_list_and_a_filter_saves_as_a_view(qtbot, session, show_window):
    work = session.store.create_thread("Work notes")
    trip = session.store.create_thread("Trip plan")
    old = session.store.create_thread("Old idea")
    session.store.add_tags(work.id, ["work"])
    session.store.set_archived(old.id, True)
    window = show_window(session)
    sidebar = window.sidebar
    assert window.thread_list.thread_ids() == [trip.id, work.id]  # archived threads are hidden by default

    sidebar.set_tags(trip.id, ["travel", "lisbon"])  # what "Tags…" does with the dialog's text
    qtbot.waitUntil(lambda: sidebar.filters.tag_chip("travel") is not None and not window.is_loading)
    qtbot.mouseClick(sidebar.filters.tag_chip("travel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [trip.id] and not window.is_loading)
    assert sidebar.filters.tag_chip("travel").isChecked()

    sidebar.save_view_as("Holidays")
    qtbot.waitUntil(lambda: not window.is_loading)
    [view] = session.store.saved_views()
    assert (view.name, view.filter.tag) == ("Holidays", "travel")

    qtbot.mouseClick(sidebar.filters.tag_chip("travel"), Qt.MouseButton.LeftButton)  # a second click clears it
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [trip.id, work.id] and not window.is_loading)
    qtbot.mouseClick(sidebar.filters.archived_chip, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [old.id] and not window.is_loading)
    qtbot.mouseClick(sidebar.filters.archived_chip, Qt.MouseButton.LeftButton)
    sidebar.filters.apply_view(view)  # what choosing it under Views ▾ does
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [trip.id] and not window.is_loading)

    sidebar.set_pinned(work.id, True)
    sidebar.set_archived(trip.id, True)
    sidebar.filters.set_tag(None)
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [work.id] and not window.is_loading)
    assert window.thread_list.heading_texts()[0] == "PINNED"
    assert session.store.get_thread(trip.id).archived and session.store.get_thread(work.id).pinned


def test_a_search_hit_opens_the_thread_at_that_message_on_its_branch(qtbot, session, show_window):
    """The hit is on a branch that is not the thread's current one: opening it switches branch and scrolls there."""
    store = session.store
    thread = store.create_thread("Garden")
    parent = None
    for turn in range(12):  # long enough to scroll
        user = store.add_message(thread.id, parent_id=parent, role=Role.USER, content=f"Question {turn} about plants")
        parent = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Water them. " * 40).id
        if turn == 2:
            branch_point = user
    hidden = store.add_message(thread.id, parent_id=branch_point.parent_id, role=Role.USER, content="What about tulips?")
    answer = store.add_message(thread.id, parent_id=hidden.id, role=Role.ASSISTANT, content="Plant tulip bulbs in autumn.")
    below = answer.id
    for turn in range(6):  # the branch goes on below the hit
        user = store.add_message(thread.id, parent_id=below, role=Role.USER, content=f"And bulbs {turn}?")
        below = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Keep them dry. " * 40).id
    store.show_branch(parent)  # the long branch is the current one
    other = store.create_thread("Something else")
    window = show_window(session)
    window.resize(900, 600)
    window.open_thread(other.id)

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # Ctrl+F: the search box
    assert window.sidebar.search_box.hasFocus()
    qtbot.keyClicks(window.sidebar.search_box, "tulip")
    qtbot.waitUntil(lambda: window.sidebar.is_searching and bool(window.sidebar.results.hits()), timeout=60_000)
    hits = window.sidebar.results.hits()
    assert (thread.id, answer.id) in hits
    row = hits.index((thread.id, answer.id))
    assert "<b>tulip" in window.sidebar.results.itemWidget(window.sidebar.results.item(row)).text()

    qtbot.keyClick(window.sidebar.search_box, Qt.Key.Key_Down)  # into the results, then Enter on the hit
    window.sidebar.results.setCurrentRow(row)
    qtbot.keyClick(window.sidebar.results, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.conversation.card_for(answer.id) is not None and not window.is_loading)
    assert window.title_label.full_text() == "Garden"
    assert store.get_thread(thread.id).current_leaf_id == below  # now on the tulip branch, to its end; remembered
    card = window.conversation.card_for(answer.id)
    assert card.property("highlight") is True
    assert window.conversation.card_for(hidden.id).branch_switcher.text() == "‹ 2 / 2 ›"
    bar = window.conversation.verticalScrollBar()
    qtbot.waitUntil(lambda: 0 < bar.value() < bar.maximum())  # scrolled to the message, not left at the bottom
    viewport_top = card.mapTo(window.conversation.viewport(), card.rect().topLeft()).y()
    assert 0 <= viewport_top < window.conversation.viewport().height() // 2


def test_metadata_is_edited_in_the_window_and_filters_the_list(qtbot, session, show_window):
    acme = session.store.create_thread("Acme")
    other = session.store.create_thread("Other")
    window = show_window(session)
    sidebar = window.sidebar
    assert "Metadata…" in [a.text() for a in window.thread_list.menu_for(acme.id).actions()]

    sidebar.set_metadata(acme.id, "project=acme\nhours=12.5\nbillable=true")  # what the dialog's OK does
    qtbot.waitUntil(lambda: session.store.get_thread(acme.id).metadata.get("billable") is True)
    assert session.store.get_thread(acme.id).metadata == {"project": "acme", "hours": 12.5, "billable": True}
    qtbot.waitUntil(lambda: not window.is_loading)

    sidebar.filters.add_pair("billable", True)  # what "Filter by metadata…" does with KEY=VALUE
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [acme.id] and not window.is_loading)

    sidebar.set_metadata(acme.id, "project=acme")  # removing a line removes the pair
    qtbot.waitUntil(lambda: session.store.get_thread(acme.id).metadata == {"project": "acme"})
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [] and not window.is_loading)

    sidebar.set_metadata(other.id, "k" * 65 + "=v")  # over the limit: a clear error, nothing stored
    qtbot.waitUntil(lambda: "limit is 64" in window.status_note.full_text())
    assert session.store.get_thread(other.id).metadata == {}


def test_after_a_reply_the_list_updates_the_one_row_that_changed(qtbot, session, show_window):
    limit_reply(session, max_tokens=4)
    older = session.chat.new_thread("Older")
    newest = session.chat.new_thread("Newest")
    window = show_window(session)
    model = window.thread_list.list_model
    changed_rows: list[tuple[int, int]] = []
    counts = {"reset": 0, "layout": 0, "moved": 0, "inserted": 0}
    model.dataChanged.connect(lambda top, bottom, *_: changed_rows.append((top.row(), bottom.row())))
    model.modelReset.connect(lambda: counts.__setitem__("reset", counts["reset"] + 1))
    model.layoutChanged.connect(lambda *_: counts.__setitem__("layout", counts["layout"] + 1))
    model.rowsMoved.connect(lambda *_: counts.__setitem__("moved", counts["moved"] + 1))
    model.rowsInserted.connect(lambda *_: counts.__setitem__("inserted", counts["inserted"] + 1))

    window.open_thread(newest.id)
    qtbot.waitUntil(lambda: not window.is_loading)
    type_and_send(qtbot, window, "Hello")
    qtbot.waitUntil(lambda: not window.is_streaming and window.is_settled, timeout=REPLY_TIMEOUT_MS)
    qtbot.waitUntil(lambda: model.thread(newest.id).updated_at > newest.updated_at)
    row = model.row_of(newest.id)
    assert changed_rows and set(changed_rows) == {(row, row)}  # that row, and only it
    assert counts == {"reset": 0, "layout": 0, "moved": 0, "inserted": 0}

    changed_rows.clear()
    window.open_thread(older.id)  # the second row: its reply moves it to the top of Today
    qtbot.waitUntil(lambda: not window.is_loading)
    type_and_send(qtbot, window, "Hello again")
    qtbot.waitUntil(lambda: not window.is_streaming and window.is_settled, timeout=REPLY_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.thread_list.thread_ids() == [older.id, newest.id])
    assert counts == {"reset": 0, "layout": 0, "moved": 1, "inserted": 0}
    assert set(changed_rows) == {(model.row_of(older.id), model.row_of(older.id))}


def test_ten_thousand_threads_are_handed_to_the_view_in_batches(qtbot):
    now = datetime.now(UTC)
    threads = [
        Thread(id=n, title=f"Thread {n}", created_at=now, updated_at=now - timedelta(minutes=n)) for n in range(10_000)
    ]
    listing = ThreadList()
    qtbot.addWidget(listing)
    listing.resize(260, 600)
    listing.show()
    listing.show_threads(threads, selected_id=None, now=now)
    model = listing.list_model
    assert model.rowCount() == BATCH < 10_000 and model.canFetchMore(model.index(-1))
    assert len(listing.thread_ids()) == 10_000  # all are listed, whether drawn yet or not
    listing.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > BATCH)  # scrolling down fetches the next batch
    listing.select_thread(9_999)  # the last one: fetched through to select it
    assert listing.current_thread_id() == 9_999
