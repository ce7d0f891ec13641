"""Organising and finding threads on the real store: branches, fork, tags, typed metadata, views, search."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.domain import Role, ThreadFilter
from app.core.errors import InvalidInput
from app.core.metadata import MAX_PAIRS, parse_pair
from app.core.search import fts_query, reciprocal_rank_fusion, snippet
from app.services.search import SearchService


def _exchange(store, thread_id, question, answer, parent=None):
    user = store.add_message(thread_id, parent_id=parent, role=Role.USER, content=question)
    reply = store.add_message(thread_id, parent_id=user.id, role=Role.ASSISTANT, content=answer)
    return user, reply


def test_switching_branches_remembers_the_branch_last_shown(store):
    thread = store.create_thread("branches")
    q1, a1 = _exchange(store, thread.id, "first question", "first answer")
    q2, a2 = _exchange(store, thread.id, "follow up", "follow-up answer", parent=a1.id)
    edited, edited_reply = _exchange(store, thread.id, "Actually, I meant this", "edited answer", parent=None)
    assert [m.content for m in store.current_path(thread.id)] == ["Actually, I meant this", "edited answer"]
    assert [m.id for m in store.siblings(q1.id)] == [q1.id, edited.id]

    path = store.show_branch(q1.id)  # back to ‹1/2›: down to the newest leaf of that branch
    assert [m.id for m in path] == [q1.id, a1.id, q2.id, a2.id]
    assert store.get_thread(thread.id).current_leaf_id == a2.id
    assert len(store.messages(thread.id)) == 6  # nothing was discarded


def test_fork_copies_the_path_by_value(store):
    thread = store.create_thread("source")
    store.add_tags(thread.id, ["keep"])
    q1, a1 = _exchange(store, thread.id, "one", "uno")
    _exchange(store, thread.id, "two", "dos", parent=a1.id)
    fork = store.fork(a1.id)
    assert fork.id != thread.id and fork.tags == ("keep",)
    copied = store.current_path(fork.id)
    assert [m.content for m in copied] == ["one", "uno"]
    assert all(m.thread_id == fork.id for m in copied)
    store.rename_thread(thread.id, "renamed")  # the fork does not follow the source
    assert store.get_thread(fork.id).title == "source (fork)"


def test_tags_and_typed_metadata_filter_the_list(store):
    acme = store.create_thread("acme")
    other = store.create_thread("other")
    store.add_tags(acme.id, ["q3", "Work"])
    store.add_tags(other.id, ["work"])  # tags are case-insensitive
    store.set_metadata(acme.id, dict([parse_pair("project=acme"), parse_pair("due=2024-03-01"), parse_pair("n=3")]))
    store.set_metadata(other.id, {"project": "other", "done": True})

    assert {t.id for t in store.list_threads(ThreadFilter(tag="work"))} == {acme.id, other.id}
    assert [t.id for t in store.list_threads(ThreadFilter(tag="q3"))] == [acme.id]
    assert [t.id for t in store.list_threads(ThreadFilter(where=(("n", 3.0),)))] == [acme.id]  # 3 == 3.0
    assert [t.id for t in store.list_threads(ThreadFilter(where=(("done", True),)))] == [other.id]
    assert store.get_thread(acme.id).metadata == {"project": "acme", "due": date(2024, 3, 1), "n": 3}

    view = store.save_view("acme work", ThreadFilter(tag="work", where=(("project", "acme"),)))
    assert [t.id for t in store.list_threads(store.saved_views()[0].filter)] == [acme.id]
    assert view.name == "acme work"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ({"k" * 65: "v"}, "limit is 64"),
        ({"key": "v" * 513}, "limit is 512"),
        ({"": "v"}, "cannot be empty"),
    ],
)
def test_metadata_limits_are_clear_errors(store, pairs, message):
    thread = store.create_thread("limits")
    with pytest.raises(InvalidInput, match=message):
        store.set_metadata(thread.id, pairs)
    assert store.get_thread(thread.id).metadata == {}


def test_at_most_64_metadata_pairs(store):
    thread = store.create_thread("many")
    store.set_metadata(thread.id, {f"k{i}": i for i in range(MAX_PAIRS)})
    with pytest.raises(InvalidInput, match="at most 64"):
        store.set_metadata(thread.id, {"one-more": 1})
    assert len(store.get_thread(thread.id).metadata) == MAX_PAIRS


def test_pin_archive_and_the_default_list(store):
    first = store.create_thread("first")
    second = store.create_thread("second")
    archived = store.create_thread("archived")
    store.set_archived(archived.id, True)
    store.set_pinned(first.id, True)
    assert [t.id for t in store.list_threads()] == [first.id, second.id]
    assert [t.id for t in store.list_threads(ThreadFilter(archived_only=True))] == [archived.id]
    assert len(store.list_threads(ThreadFilter(include_archived=True))) == 3


def test_keyword_search_phrases_prefixes_archived_in_deleted_out(store):
    live = store.create_thread("live")
    archived = store.create_thread("archived")
    deleted = store.create_thread("deleted")
    _exchange(store, live.id, "What were the quarterly figures for 2023?", "They rose by ten percent.")
    _exchange(store, archived.id, "Quarterly planning notes", "Plan the figures review.")
    _exchange(store, deleted.id, "quarterly secret", "gone")
    store.set_archived(archived.id, True)
    store.delete_thread(deleted.id)
    search = SearchService(store)

    hits = search.search("quarter*")
    assert {hit.thread_id for hit in hits} == {live.id, archived.id}
    phrase = search.search('"figures for 2023"')
    assert [hit.thread_id for hit in phrase] == [live.id]
    assert "[figures]" in phrase[0].snippet and "[2023]" in phrase[0].snippet
    store.add_tags(archived.id, ["planning"])
    assert [hit.thread_id for hit in search.search("quarterly", tag="planning")] == [archived.id]
    assert search.search("AND OR (") == []  # operators are text, never a syntax error


def test_query_parsing_and_fusion():
    assert fts_query('"exact phrase" pre* word') == '"exact phrase" "pre"* "word"'
    assert fts_query("  ") is None
    fused = [item for item, _ in reciprocal_rank_fusion(["a", "b", "c"], ["c", "a"])]
    assert fused[:2] == ["a", "c"]


class TinyEmbedder:
    """A real Embedder over a fixed 384-dim basis: word 'alpha' points one way, 'omega' another. Enough to check
    the vector half of search end to end on sqlite-vec; the real model is tested with retrieval."""

    model_id = "tiny-basis"
    dimensions = 384

    def embed(self, texts):
        vectors = []
        for text in texts:
            vector = [0.0] * self.dimensions
            for index, word in enumerate(("alpha", "omega", "gamma")):
                vector[index * 100] = float(text.lower().count(word)) + 0.01
            vectors.append(vector)
        return vectors


def test_hybrid_search_finds_by_vector_what_keywords_miss_and_skips_deleted(store):
    near = store.create_thread("near")
    far = store.create_thread("far")
    gone = store.create_thread("gone")
    _exchange(store, near.id, "alpha alpha alpha", "more alpha")
    _exchange(store, far.id, "omega omega", "omega")
    _exchange(store, gone.id, "alpha alpha alpha alpha", "alpha")
    store.delete_thread(gone.id)
    search = SearchService(store, TinyEmbedder())
    assert search.index_pending() == 6
    assert search.index_pending() == 0  # nothing left to embed

    hits = search.search("alphas")  # no keyword match: "alphas" is not a word in any message
    assert hits and hits[0].thread_id == near.id
    assert gone.id not in {hit.thread_id for hit in hits}


class MissingModelEmbedder:
    """An embedder whose model file is absent, as `open_embedder` gives before `models pull`."""

    model_id = "absent"
    dimensions = 384

    def embed(self, texts):
        from app.core.errors import ModelUnavailable

        raise ModelUnavailable("model file /nowhere/all-minilm.gguf is missing")


def test_without_an_embedding_model_search_falls_back_to_keywords_and_says_why(store):
    thread = store.create_thread("kw")
    _exchange(store, thread.id, "the quarterly figures", "fine")
    search = SearchService(store, MissingModelEmbedder())
    assert search.index_pending() == 0
    assert "missing" in search.keyword_only_reason
    assert [hit.thread_id for hit in search.search("quarterly")] == [thread.id]
    assert "missing" in search.keyword_only_reason
    assert search.index_pending() == 0


def test_snippets_leave_markdown_markup_out_but_keep_its_words():
    reply = (
        "# Trip plan\n\nHere is **the plan** for _Lisbon_ with `tram 28`:\n- Day 1: see [the castle](https://x.test/c)\n"
        "```python\nprint(1)\n```\nsnake_case_name and 2*3*4 stay as written"
    )
    assert snippet(reply, ["castle"], width=400) == (
        "Trip plan Here is the plan for Lisbon with tram 28: Day 1: see the [castle] print(1) "
        "snake_case_name and 2*3*4 stay as written"
    )
