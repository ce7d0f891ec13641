"""Ratings of replies on the real store: stored, cleared, validated, filtered on, and carried by the JSON export."""

from __future__ import annotations

import json

import pytest
from history import build_history

from app.core.domain import Role, ThreadFilter
from app.core.errors import InvalidInput, NotFound
from app.core.insights import MAX_NOTE_LENGTH, RatingValue
from app.services.changes import ChangeBroadcast
from app.services.insights import InsightsService
from app.services.transfer import export_json, import_file


def test_a_reply_is_rated_re_rated_and_cleared(store):
    thread = store.create_thread("t")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="q")
    reply = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="a")

    rating = store.rate(reply.id, RatingValue.DOWN, note="  wrong year  ")
    assert (rating.value, rating.note) == (RatingValue.DOWN, "wrong year")
    assert store.rate(reply.id, RatingValue.UP).note is None  # a new rating replaces the old one, note and all
    assert store.ratings([reply.id])[reply.id].value == RatingValue.UP
    assert store.rate(reply.id, None) is None
    assert store.ratings([reply.id]) == {}


def test_only_replies_can_be_rated_and_notes_have_a_limit(store):
    thread = store.create_thread("t")
    question = store.add_message(thread.id, parent_id=None, role=Role.USER, content="q")
    reply = store.add_message(thread.id, parent_id=question.id, role=Role.ASSISTANT, content="a")
    with pytest.raises(InvalidInput, match="only replies can be rated"):
        store.rate(question.id, RatingValue.UP)
    with pytest.raises(InvalidInput, match=f"at most {MAX_NOTE_LENGTH}"):
        store.rate(reply.id, RatingValue.UP, note="x" * (MAX_NOTE_LENGTH + 1))
    with pytest.raises(NotFound):
        store.rate(999_999, RatingValue.UP)
    assert store.ratings([reply.id]) == {}  # nothing half-written


def test_threads_filter_by_rating_and_a_saved_view_keeps_it(store):
    history = build_history(store)
    down = {t.id for t in store.list_threads(ThreadFilter(rated="down"))}
    assert down == {history.recipes, history.shown_vs_down}
    up = {t.id for t in store.list_threads(ThreadFilter(rated="up"))}
    assert up == {history.recipes, history.incognito, history.hosted}
    view = store.save_view("needs work", ThreadFilter(rated="down"))
    assert store.saved_views()[0].filter == view.filter == ThreadFilter(rated="down")


def test_deleting_a_thread_keeps_its_ratings_out_of_the_filter(store):
    history = build_history(store)
    store.delete_thread(history.shown_vs_down)
    assert {t.id for t in store.list_threads(ThreadFilter(rated="down"))} == {history.recipes}


def test_the_json_export_carries_ratings_and_imports_them_back(store, tmp_path):
    history = build_history(store)
    exported = export_json(store, [history.recipes])
    by_content = {m["content"]: m for m in exported["threads"][0]["messages"]}
    assert by_content["Boil it."]["rating"]["value"] == "down"
    assert by_content["Boil it."]["rating"]["note"] == "too short"
    assert by_content["Eggs are laid by hens."]["rating"] is None

    path = tmp_path / "export.json"
    exported["threads"][0]["messages"][0]["rating"] = {"value": "up", "note": None, "rated_at": "2026-01-01"}
    path.write_text(json.dumps(exported))
    copy = import_file(store, path).imported[0]
    ratings = {m.content: r for m in store.messages(copy.id) if (r := store.ratings([m.id]).get(m.id))}
    # a rating on a user message (edited into the file above) is not taken
    assert {content: r.value for content, r in ratings.items()} == {
        "Boil it.": RatingValue.DOWN,
        "Simmer it for 7 minutes, then cool it in cold water.": RatingValue.UP,
    }


def test_a_bad_rating_in_an_import_fails_only_its_thread(store, tmp_path):
    history = build_history(store)
    exported = export_json(store, [history.recipes, history.shown_vs_down])
    reply = next(m for m in exported["threads"][0]["messages"] if m["rating"])
    reply["rating"]["value"] = "sideways"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))
    report = import_file(store, path)
    assert [t.title for t in report.imported] == ["Shown over down"]
    assert [title for title, _why in report.skipped] == ["Recipes"]


def test_the_service_publishes_a_thread_list_change(store):
    history = build_history(store)
    changes = ChangeBroadcast()
    heard = []
    changes.subscribe(heard.append)
    InsightsService(store, changes=changes).rate(history.ids["a2"], RatingValue.UP)
    assert heard and heard[0].thread_list and not heard[0].messages
