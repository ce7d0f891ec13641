"""Long-term memory on the real starter model and embedder: extraction from a scripted thread, approval and recall
in a new thread, incognito, forgetting without a trace (database, log, saved model states), contradictions, and a
local-only memory kept off a hosted turn (the stand-in server on 127.0.0.1 sees the request)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from app.core.domain import ReplyFinished, Role
from app.core.memory import MemorySource, MemoryStatus
from app.core.routing import PrivacyRule
from app.services.session import Session

pytestmark = pytest.mark.slow

HOSTED = "stand-in/smollm2"


def _finish(events) -> ReplyFinished:
    return [event for event in events if isinstance(event, ReplyFinished)][-1]


def _short(session: Session) -> Session:
    session.chat.sampling = dataclasses.replace(session.chat.sampling, max_tokens=16, seed=1)
    return session


def test_the_starter_model_proposes_memories_sourced_from_their_messages_and_approved_ones_are_recalled(
    session: Session,
):
    store = _short(session).store
    thread = session.chat.new_thread()
    peanuts = store.add_message(thread.id, parent_id=None, role=Role.USER, content="I'm allergic to peanuts.")
    reply = store.add_message(thread.id, parent_id=peanuts.id, role=Role.ASSISTANT, content="Noted.")
    dana = store.add_message(thread.id, parent_id=reply.id, role=Role.USER, content="By the way, my manager is Dana.")

    report = session.memory.extract(thread.id)
    assert report.messages == 2 and report.added
    inbox = session.memory.inbox()
    by_source = {m.sources[0].message_id: m for m in inbox}
    assert set(by_source) == {peanuts.id, dana.id}
    assert "peanut" in by_source[peanuts.id].text.lower() and "Dana" in by_source[dana.id].text
    assert all(m.status == MemoryStatus.INBOX and len(m.sources) == 1 for m in inbox)

    # Nothing in the inbox is recalled; once approved, a new thread about it starts with it.
    before = session.chat.new_thread()
    _finish(session.chat.send(before.id, "Can you suggest a snack with peanuts?"))
    assert store.thread_recall(before.id) == []
    session.memory.approve(by_source[peanuts.id].id)
    after = session.chat.new_thread()
    finished = _finish(session.chat.send(after.id, "Can you suggest a snack with peanuts?"))
    used = session.thread_start.used_by(finished.reply)
    assert by_source[peanuts.id].id in [m.id for m in used]
    assert by_source[peanuts.id].text in session.context.assemble(store.get_thread(after.id), finished.reply)[0].content


def test_extraction_embeds_each_fact_once_and_leaves_search_the_message_vectors(session: Session, monkeypatch):
    store = session.store
    thread = session.chat.new_thread()
    peanuts = store.add_message(thread.id, parent_id=None, role=Role.USER, content="I'm allergic to peanuts.")
    store.add_message(thread.id, parent_id=peanuts.id, role=Role.USER, content="By the way, my manager is Dana.")
    embedded: list[str] = []
    embed = session.embedder.embed
    monkeypatch.setattr(session.embedder, "embed", lambda texts: embedded.extend(texts) or embed(texts))

    assert session.memory.extract(thread.id).added
    proposed = [m.text for m in session.memory.inbox()]
    assert proposed and all(embedded.count(text) == 1 for text in proposed)  # compared and stored: one vector
    assert embedded.count("I'm allergic to peanuts.") == 1
    assert session.search.index_pending() == 0  # extraction's message vectors are the ones search uses


def test_a_memory_is_recalled_by_what_its_message_said_not_by_the_name_it_shares(session: Session):
    store = session.store
    thread = session.chat.new_thread()
    paths = store.add_message(
        thread.id, parent_id=None, role=Role.USER,
        content="Gina: Yep! We're both on different paths, but it's nice to have someone to root for us.",
    )  # fmt: skip
    designs = store.add_message(
        thread.id, parent_id=paths.id, role=Role.USER,
        content="Gina: I've been working hard on my online store and just teamed up with a local artist for designs.",
    )  # fmt: skip
    made_up = session.memory.add(
        "Gina is a doctor", sources=[MemorySource(thread.id, paths.id)], status=MemoryStatus.APPROVED
    ).memory
    kept = session.memory.add(
        "The user has a new online store", sources=[MemorySource(thread.id, designs.id)], status=MemoryStatus.APPROVED
    ).memory
    session.search.index_pending()  # as after every turn
    found = [m.id for m in session.memory.search("When did Gina team up with a local artist?")]
    assert found[0] == kept.id and made_up.id in found
    found = [m.id for m in session.memory.search("Who is Gina rooting for on her path?")]
    assert found[0] == made_up.id  # by its message's words and meaning, not its own


def test_an_incognito_thread_neither_adds_nor_recalls(session: Session):
    _short(session).memory.add("The user is allergic to peanuts", status=MemoryStatus.APPROVED)
    thread = session.chat.new_thread(incognito=True)
    finished = _finish(session.chat.send(thread.id, "I'm allergic to peanuts. Suggest a snack with peanuts."))
    assert session.thread_start.used_by(finished.reply) == []
    assert session.memory.extract(thread.id).messages == 0
    assert [m.text for m in session.memory.list_memories()] == ["The user is allergic to peanuts"]


def test_a_contradiction_asks_the_user(cli):
    assert cli("memory", "add", "The user's manager is Dana").returncode == 0
    added = cli("memory", "add", "The user's manager is Sam", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["status"] == "inbox"
    inbox = cli("memory", "inbox")
    assert "contradicts 1: The user's manager is Dana" in inbox.stdout and "--replace" in inbox.stdout
    approved = cli("memory", "approve", "2", "--replace", "--json")
    assert json.loads(approved.stdout)["status"] == "approved"
    listed = json.loads(cli("memory", "list", "--json").stdout)
    assert [m["text"] for m in listed] == ["The user's manager is Sam"]
    assert set(listed[0]) == {"id", "text", "status", "sources", "created_at", "last_used_at", "uses"}


def _database_holds(data_dir: Path, text: str) -> bool:
    return any(text.encode() in path.read_bytes() for path in data_dir.glob("threadloom.sqlite3*"))


def test_forget_leaves_no_trace_in_the_database_its_log_or_saved_model_states(cli, data_dir: Path):
    text = "The user's cat is called Xylophonia"
    assert cli("memory", "add", text).returncode == 0
    chat = cli("chat", "--new", "--json", "What is my cat called?")
    assert chat.returncode == 0, chat.stderr
    turn = json.loads(chat.stdout)
    assert [m["text"] for m in turn["memories"]] == [text] and turn["memories"][0]["uses"] == 1
    saved = list((data_dir / "kv-cache").rglob("*.kv"))
    assert saved and _database_holds(data_dir, text)  # the thread's saved model state held the memory too
    forgot = cli("memory", "forget", "1")
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(cli("memory", "list", "--json").stdout) == []
    assert not any(path.exists() for path in saved)
    # The conversation may quote the memory (that is the thread's own text, not the memory): it goes for good too.
    assert cli("threads", "delete", str(turn["thread_id"]), "--yes").returncode == 0
    assert cli("threads", "purge", "--yes").returncode == 0
    assert not _database_holds(data_dir, text) and not _database_holds(data_dir, "Xylophonia")
    assert not any(b"Xylophonia" in path.read_bytes() for path in data_dir.glob("*.log"))


def test_a_local_only_memory_is_not_sent_on_a_hosted_turn(session: Session, hosted, memory_keyring, api_key: str):
    session.providers.add("stand-in", base_url=hosted.url, model="smollm2", api_key=api_key)
    store = _short(session).store
    private, shared = session.chat.new_thread(), session.chat.new_thread()
    session.routing.set_privacy_rule(shared.id, PrivacyRule.ALLOWED)
    for thread, text in ((private, "I'm allergic to peanuts"), (shared, "I love peanut butter")):
        message = store.add_message(thread.id, parent_id=None, role=Role.USER, content=text)
        session.memory.add(text, sources=[MemorySource(thread.id, message.id)], status=MemoryStatus.APPROVED)
    thread = session.chat.new_thread()
    session.routing.set_privacy_rule(thread.id, PrivacyRule.ALLOWED)
    local = _finish(session.chat.send(thread.id, "Suggest a snack with peanuts."))
    assert {m.text for m in session.thread_start.used_by(local.reply)} == {"I'm allergic to peanuts", "I love peanut butter"}
    assert hosted.connections == 0
    upgraded = _finish(session.chat.regenerate(local.reply.id, model=HOSTED))
    assert upgraded.reply.model == HOSTED and hosted.connections == 1
    sent = bytes(hosted.sent).decode("utf-8", "replace")
    assert "I love peanut butter" in sent and "allergic" not in sent
    assert [m.text for m in session.thread_start.used_by(upgraded.reply)] == ["I love peanut butter"]


def test_profile_thread_system_prompt_assistants_and_incognito_from_the_command_line(cli):
    shown = cli("profile", "set", "--about", "I am a nurse in Porto.", "--style", "Be brief.", "--json")
    assert json.loads(shown.stdout) == {"about": "I am a nurse in Porto.", "style": "Be brief."}
    assert json.loads(cli("profile", "show", "--json").stdout)["about"] == "I am a nurse in Porto."

    thread_id = json.loads(cli("chat", "--new", "--json", "Hello").stdout)["thread_id"]
    system = cli("threads", "system", str(thread_id), "Answer like a pirate.", "--json")
    assert json.loads(system.stdout)["system_prompt"] == "Answer like a pirate."
    assert json.loads(cli("threads", "system", str(thread_id), "--clear", "--json").stdout)["system_prompt"] is None
    missing = cli("threads", "system", "999", "x")
    assert missing.returncode == 1 and missing.stderr.strip() == "threadloom: error: no thread with id 999"

    added = cli("assistants", "add", "Coach", "--system", "You are a running coach.", "--privacy", "ask",
                "--tool", "calculator", "--tool", "current_time", "--json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["privacy"] == "ask"
    assert cli("assistants", "add", "coach").stderr.strip() == "threadloom: error: there is already an assistant named 'coach'"
    turn = json.loads(cli("chat", "--new", "--assistant", "coach", "--json", "Plan my week.").stdout)
    route = json.loads(cli("route", str(turn["thread_id"]), "--json").stdout)
    assert route["privacy"] == "ask"
    offered = json.loads(cli("tools", "list", "--thread", str(turn["thread_id"]), "--json").stdout)
    assert sorted(t["name"] for t in offered if t["offered"]) == ["calculator", "current_time"]
    assert cli("assistants", "edit", "Coach", "--rename", "Trainer").returncode == 0
    assert [a["name"] for a in json.loads(cli("assistants", "list", "--json").stdout)] == ["Trainer"]
    unknown = cli("chat", "--new", "--assistant", "Coach", "Hi")
    assert unknown.returncode == 1 and "no assistant named 'Coach'" in unknown.stderr
    assert cli("assistants", "remove", "Trainer").returncode == 0

    secret = json.loads(cli("chat", "--new", "--incognito", "--json", "I'm allergic to peanuts.").stdout)
    extracted = cli("memory", "extract", str(secret["thread_id"]))
    assert "is incognito" in extracted.stdout and cli("memory", "list", "--json").stdout.strip() == "[]"
    both = cli("chat", "--thread", str(thread_id), "--incognito", "Hi")
    assert both.returncode == 1 and "leave out --thread" in both.stderr


def test_a_new_user_tells_two_threads_approves_sees_them_cited_in_a_third_and_forgets_one(cli, data_dir: Path):
    """The issue's walk-through, by the command line on the real starter model and embedder."""
    told = {}
    for text in ("I'm allergic to peanuts.", "By the way, my manager is Dana."):
        turn = cli("chat", "--new", "--json", text)
        assert turn.returncode == 0, turn.stderr
        told[text] = json.loads(turn.stdout)["thread_id"]
        assert cli("memory", "extract", str(told[text])).returncode == 0
    inbox = json.loads(cli("memory", "inbox", "--json").stdout)
    by_thread = {m["sources"][0]["thread_id"]: m for m in inbox}
    assert set(by_thread) == set(told.values())
    for memory in inbox:
        assert json.loads(cli("memory", "approve", str(memory["id"]), "--json").stdout)["status"] == "approved"
    peanuts = by_thread[told["I'm allergic to peanuts."]]
    assert "peanut" in peanuts["text"].lower()

    third = json.loads(cli("chat", "--new", "--json", "Can you suggest a snack with peanuts?").stdout)
    assert peanuts["id"] in [m["id"] for m in third["memories"]]  # cited beside the reply

    assert cli("memory", "forget", str(peanuts["id"])).returncode == 0
    remaining = json.loads(cli("memory", "list", "--json").stdout)
    assert peanuts["id"] not in [m["id"] for m in remaining] and len(remaining) == len(inbox) - 1
    assert json.loads(cli("memory", "search", "peanuts", "--json").stdout) == []
    again = json.loads(cli("chat", "--new", "--json", "Can you suggest a snack with peanuts?").stdout)
    assert peanuts["id"] not in [m["id"] for m in again["memories"]]
    from app.store import open_store

    store = open_store(data_dir)
    try:
        in_keyword_index = "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH 'peanuts'"
        assert store.db.execute_sql(in_keyword_index).fetchone()[0] == 0
        assert peanuts["id"] not in dict(store.thread_recall(third["thread_id"]))
    finally:
        store.close()
    for thread_id in (third["thread_id"], again["thread_id"]):  # the replies may quote the memory: their own text
        assert cli("threads", "delete", str(thread_id), "--yes").returncode == 0
    assert cli("threads", "purge", "--yes").returncode == 0
    # approving and using the memory rewrote its row; each old copy must be gone from the files too
    assert not _database_holds(data_dir, peanuts["text"])
