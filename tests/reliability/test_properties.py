"""Property tests: whatever a stranger's file or a user's input holds, the parsers raise nothing but the project's
own errors (each a one-line message)."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import InvalidInput, ThreadloomError
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
