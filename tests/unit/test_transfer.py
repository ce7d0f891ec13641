"""Export and import on the real store, with the shared ChatGPT and Open WebUI fixtures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.core.domain import CallPurpose, MessageStatus, ModelCall, Role, Timings, Usage
from app.core.errors import InvalidInput
from app.services.transfer import export_json, export_markdown, import_file
from app.store import open_store

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "data" / "chat-exports" / "librechat-fixtures"


def _rich_thread(store):
    thread = store.create_thread("Budget talk")
    user = store.add_message(thread.id, parent_id=None, role=Role.USER, content="What about 2023?")
    first = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING)
    store.append_to_message(first.id, "It rose.")
    store.record_call(
        ModelCall(CallPurpose.TURN, "local", "m", Usage(30, 3, 10), Timings(0.2, 50.0), 0.5, thread.id, first.id)
    )
    store.finish_message(first.id, status=MessageStatus.COMPLETE)
    store.keep_reasoning_apart(first.id, answer="It rose.", reasoning="The 2023 figures went up.", seconds=1.5)
    second = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="Partial", status=MessageStatus.STREAMING)
    store.finish_message(second.id, status=MessageStatus.INTERRUPTED, error="stopped")
    store.set_current_leaf(thread.id, first.id)
    store.add_tags(thread.id, ["finance", "q3"])
    store.set_metadata(thread.id, {"project": "acme", "due": date(2024, 3, 1), "score": 4.5, "done": False})
    store.add_summary(thread.id, up_to_message_id=user.id, content="They asked about 2023.")
    store.set_pinned(thread.id, True)
    return thread


def _normalised(export: dict) -> list[dict]:
    """The export with database ids replaced by positions, so two databases can be compared."""
    threads = []
    for thread in export["threads"]:
        position = {m["id"]: index for index, m in enumerate(thread["messages"])}
        messages = [
            {**m, "id": position[m["id"]], "parent_id": position.get(m["parent_id"])} for m in thread["messages"]
        ]
        summaries = [{**s, "up_to_message_id": position[s["up_to_message_id"]]} for s in thread["summaries"]]
        threads.append(
            {**thread, "id": None, "current_leaf_id": position[thread["current_leaf_id"]], "messages": messages,
             "summaries": summaries}
        )  # fmt: skip
    return threads


def test_json_export_then_import_restores_threads_exactly(store, tmp_path: Path):
    thread = _rich_thread(store)
    exported = export_json(store, [thread.id])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))

    other = open_store(tmp_path / "elsewhere")
    other.create_thread("already here")  # ids differ in the target database
    report = import_file(other, path)
    assert [t.title for t in report.imported] == ["Budget talk"] and report.skipped == []
    again = export_json(other, [report.imported[0].id])
    assert _normalised(again) == _normalised(exported)
    reply = next(m for m in other.messages(report.imported[0].id) if m.content == "It rose.")
    assert (reply.reasoning, reply.reasoning_s) == ("The 2023 figures went up.", 1.5)  # the thinking came back
    other.close()


def test_a_json_export_from_before_reasoning_was_kept_still_imports(store, tmp_path: Path):
    exported = export_json(store, [_rich_thread(store).id])
    for message in exported["threads"][0]["messages"]:
        del message["reasoning"], message["reasoning_s"]
    path = tmp_path / "older.json"
    path.write_text(json.dumps(exported))
    other = open_store(tmp_path / "elsewhere")
    [imported] = import_file(other, path).imported
    assert [m.reasoning for m in other.messages(imported.id)] == [None, None, None]
    other.close()


def test_markdown_export_reads_the_current_branch(store):
    thread = _rich_thread(store)
    text = export_markdown(store, [thread.id])
    assert text.startswith("# Budget talk")
    assert "What about 2023?" in text and "It rose." in text
    assert "Partial" not in text  # the other branch is not the one shown
    assert "project: acme" in text


def test_chatgpt_import_keeps_branches_the_interrupted_reply_and_the_current_node(store):
    report = import_file(store, FIXTURES / "chatgpt-tree.json")
    assert [t.title for t in report.imported] == ["Assist user with summary"]
    thread = report.imported[0]
    messages = store.messages(thread.id)
    assert len(messages) == 11
    branch_points = [m for m in messages if len([c for c in messages if c.parent_id == m.id]) > 1]
    assert len(branch_points) == 2
    interrupted = [m for m in messages if m.status == MessageStatus.INTERRUPTED]
    assert len(interrupted) == 1 and interrupted[0].content.startswith("Sure! Here's a short story")
    path = [m.content for m in store.current_path(thread.id)]
    assert path[:5] == ["hi there", "Hello! How can I assist you today?", "hi again",
                        "Hey! Welcome back. What's on your mind?", "tell me a joke"]  # fmt: skip
    assert "atoms" in path[5]
    assert messages[0].created_at.year == 2024


def test_openwebui_import_keeps_reasoning_apart_from_the_answer_and_keeps_three_chats(store):
    report = import_file(store, FIXTURES / "openwebui-export.json")
    assert len(report.imported) == 3 and report.skipped == []
    for thread in report.imported:
        assert len(store.messages(thread.id)) == 2
    reasoning = next(t for t in report.imported if t.title == "Chat with reasoning")
    answer = store.current_path(reasoning.id)[-1]
    assert answer.content == "255"
    assert answer.reasoning == "Let me break this down..." and answer.reasoning_s == 3.0


@pytest.mark.parametrize(
    ("content", "answer", "reasoning", "seconds"),
    [('<details type="reasoning" done="true" duration="2"><summary>Thought for 2 seconds</summary>&gt; First.\n'
      '&gt; Then &lt;b&gt;.</details>\nIt is 4.', "It is 4.", "First.\nThen <b>.", 2.0),
     ('<details type="reasoning" done="false"><summary>Thinking…</summary>&gt; Hm</details>Yes', "Yes", "Hm", None),
     ('<details type="reasoning" duration="1"><summary>Thought</summary></details>No', "No", None, None),
     ('<details type="reasoning" duration="1"><summary>unclosed', '<details type="reasoning" duration="1"><summary>'
      "unclosed", None, None)],
    ids=["quoted lines and escapes", "no duration", "empty thinking", "unclosed block"],
)  # fmt: skip
def test_openwebui_reasoning_blocks_are_read_apart_from_the_answer(store, tmp_path: Path, content, answer, reasoning,
                                                                    seconds):  # fmt: skip
    entry = json.loads((FIXTURES / "openwebui-export.json").read_text())[0]
    reply = next(m for m in entry["chat"]["history"]["messages"].values() if m["role"] == "assistant")
    reply["content"] = content
    path = tmp_path / "openwebui.json"
    path.write_text(json.dumps([entry]))
    imported = store.current_path(import_file(store, path).imported[0].id)[-1]
    assert (imported.content, imported.reasoning, imported.reasoning_s) == (answer, reasoning, seconds)


def test_an_openwebui_chat_keeps_the_system_prompt_it_came_with(store, tmp_path: Path):
    entries = json.loads((FIXTURES / "openwebui-export.json").read_text())[:2]
    entries[0]["chat"]["params"] = {"system": "  You are a terse tutor. "}
    entries[1]["chat"].pop("params", None)
    path = tmp_path / "openwebui.json"
    path.write_text(json.dumps(entries))
    with_prompt, without = import_file(store, path).imported
    assert store.get_thread(with_prompt.id).system_prompt == "You are a terse tutor."
    assert store.get_thread(without.id).system_prompt is None


def test_an_unreadable_entry_is_skipped_by_title_and_the_rest_imports(store, tmp_path: Path):
    entries = json.loads((FIXTURES / "chatgpt-tree.json").read_text())
    entries.append({"title": "Corrupted entry", "create_time": 1714585031.1})  # no mapping at all
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(entries))
    report = import_file(store, path)
    assert [t.title for t in report.imported] == ["Assist user with summary"]
    assert [title for title, _ in report.skipped] == ["Corrupted entry"]


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"some": "other format"}', b"\xff\xfe\x00garbage"])
def test_a_malformed_file_is_a_clear_error_and_changes_nothing(store, tmp_path: Path, content: bytes):
    store.create_thread("existing")
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="bad.json"):
        import_file(store, path)
    assert [t.title for t in store.list_threads()] == ["existing"]
