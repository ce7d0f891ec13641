"""Property tests: whatever a stranger's file or a user's input holds, the parsers raise nothing but the project's
own errors (each a one-line message)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from gguf_header import ARRAY, CHAT_PAIRS, STRING, header, whole_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import metadata
from app.core.errors import InvalidInput, ModelUnavailable
from app.core.search import fts_query, query_terms, snippet
from app.ingest.chunking import chunk_pages
from app.services.gguf import validate_chat_model
from app.services.transfer import import_file
from app.store import open_store

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
node_ids = st.sampled_from(["a", "b", "c", "d", "root"])
times = st.none() | st.floats() | st.integers() | st.text(max_size=30) | junk


def maybe(strategy):
    """Mostly the shape an export has, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, junk)


chatgpt_message = st.fixed_dictionaries(
    {
        "author": maybe(st.fixed_dictionaries({"role": maybe(st.sampled_from(["user", "assistant", "system", "tool"])),
                                               "name": maybe(st.text(max_size=5))})),
        "content": maybe(st.fixed_dictionaries({
            "content_type": maybe(st.sampled_from(["text", "multimodal_text", "code", "execution_output", "thoughts"])),
            "parts": maybe(st.lists(maybe(st.text(max_size=20)), max_size=3)), "text": maybe(st.text(max_size=10))})),
        "create_time": times,
        "status": maybe(st.sampled_from(["finished_successfully", "in_progress"])),
        "metadata": maybe(st.fixed_dictionaries({"is_visually_hidden_from_conversation": st.booleans()})),
    }
)  # fmt: skip
chatgpt_entry = st.fixed_dictionaries(
    {
        "title": maybe(st.text(max_size=20)),
        "id": maybe(st.text(min_size=1, max_size=8)),
        "create_time": times,
        "mapping": maybe(st.dictionaries(node_ids, maybe(st.fixed_dictionaries({
            "parent": maybe(st.none() | node_ids), "children": maybe(st.lists(node_ids, max_size=3)),
            "message": maybe(st.none() | chatgpt_message)})), max_size=5)),
        "current_node": maybe(node_ids),
    }
)  # fmt: skip
openwebui_entry = st.fixed_dictionaries(
    {
        "id": maybe(st.text(min_size=1, max_size=8)),
        "title": maybe(st.text(max_size=20)),
        "created_at": times,
        "meta": maybe(st.fixed_dictionaries({"tags": maybe(st.lists(maybe(st.text(max_size=70)), max_size=3))})),
        "chat": st.fixed_dictionaries({"history": st.fixed_dictionaries({
            "messages": maybe(st.dictionaries(node_ids, maybe(st.fixed_dictionaries({
                "parentId": maybe(st.none() | node_ids), "role": maybe(st.sampled_from(["user", "assistant"])),
                "content": maybe(st.text(max_size=40)), "timestamp": times, "done": junk})), max_size=5)),
            "currentId": maybe(node_ids)})}),
    }
)  # fmt: skip
threadloom_thread = st.fixed_dictionaries(
    {
        "title": maybe(st.text(max_size=20)),
        "created_at": times,
        "updated_at": times,
        "tags": maybe(st.lists(st.text(max_size=70), max_size=3)),
        "metadata": maybe(st.lists(maybe(st.fixed_dictionaries({"key": maybe(st.text(max_size=70)),
            "type": maybe(st.sampled_from(["string", "number", "bool", "date"])), "value": maybe(st.text(max_size=12))})),
            max_size=3)),
        "messages": maybe(st.lists(maybe(st.fixed_dictionaries({
            "id": maybe(st.integers(0, 4)), "parent_id": maybe(st.none() | st.integers(0, 4)),
            "role": maybe(st.sampled_from(["user", "assistant", "system", "tool"])),
            "content": maybe(st.text(max_size=20)), "created_at": times,
            "status": maybe(st.sampled_from(["complete", "interrupted", "error", "streaming"]))})), max_size=4)),
        "current_leaf_id": maybe(st.none() | st.integers(0, 4)),
    }
)  # fmt: skip
exports = st.one_of(
    st.lists(chatgpt_entry, min_size=1, max_size=3),
    st.lists(openwebui_entry, min_size=1, max_size=3),
    st.fixed_dictionaries({"format": st.just("threadloom"), "version": st.just(1),
                           "threads": maybe(st.lists(threadloom_thread, max_size=3))}),  # fmt: skip
    junk,
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("properties") / "data")
    yield store
    assert store.integrity_check() == "ok"
    store.close()


@EXAMPLES
@given(export=exports)
def test_no_export_makes_import_raise_anything_but_invalid_input(shared_store, export):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_text(json.dumps(export), encoding="utf-8")
        try:
            report = import_file(shared_store, path)
        except InvalidInput as exc:
            assert "\n" not in str(exc)
            return
    for title, reason in report.skipped:
        assert isinstance(title, str) and reason and "\n" not in reason


# GGUF headers: an honest one, then bytes overwritten and the file cut anywhere.

HONEST = whole_file(header([*CHAT_PAIRS, ("tokenizer.tokens", ARRAY, (STRING, ["<s>", "hi", "</s>"]))]))


@EXAMPLES
@given(
    writes=st.lists(st.tuples(st.integers(0, len(HONEST) - 1), st.binary(min_size=1, max_size=8)), max_size=6),
    cut=st.integers(0, len(HONEST)),
)
def test_no_gguf_header_makes_the_reader_raise_anything_but_model_unavailable(tmp_path_factory, writes, cut):
    data = bytearray(HONEST)
    for position, replacement in writes:
        data[position : position + len(replacement)] = replacement
    path = tmp_path_factory.getbasetemp() / "mutated.gguf"
    path.write_bytes(bytes(data[:cut]))
    try:
        validate_chat_model(path, free_memory=1 << 40)
    except ModelUnavailable as exc:
        assert "\n" not in str(exc)


# The FTS query builder, snippets, typed metadata and the chunker: pure functions of what a user types or attaches.

user_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.text(
    alphabet='"*()[]{}:^-+~ \\NOTANDORNEAR_.,\'`#!', max_size=40
)


@EXAMPLES
@given(text=user_text)
def test_any_query_is_valid_fts5_and_any_text_gives_a_snippet(shared_store, text):
    match = fts_query(text)
    if match is not None:
        shared_store.keyword_ranking(match)  # FTS5 would raise on a syntax error
    assert isinstance(snippet(text * 3, query_terms(text)), str)


@EXAMPLES
@given(key=st.text(max_size=80), value=st.text(max_size=600))
def test_metadata_parses_or_refuses_in_one_line_and_round_trips(key, value):
    try:
        parsed_key, parsed = metadata.parse_pair(f"{key}={value}")
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        return
    assert metadata.decode(*metadata.encode(parsed)) == parsed
    assert metadata.parse_value(metadata.encode(parsed)[1]) == parsed or isinstance(parsed, str)


@EXAMPLES
@given(pages=st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=3000) | st.text(
    alphabet=" \n\t.#!?a", max_size=3000), max_size=3))  # fmt: skip
def test_every_chunk_is_exactly_a_span_of_its_page(pages):
    chunks = chunk_pages(pages)
    for chunk in chunks:
        assert chunk.text == pages[chunk.page - 1][chunk.start : chunk.end]
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert (after.page, after.start) > (before.page, before.start)
