"""A thread longer than the model's window: older turns are folded into a summary, the user is never stopped."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.domain import MessageStatus, ReplyFinished, Role, ThreadCompacted
from app.services.session import open_session

pytestmark = pytest.mark.slow

FILLER = (
    "We compared the lighthouse budget for {year}: repairs, lamp oil, the keeper's salary and the boat. "
    "The council asked for the figures again, line by line, with notes on every change from the year before."
)


@pytest.fixture
def small_window_session(data_dir: Path, models_dir: Path):
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text(json.dumps({"n_ctx": 1024}))
    session = open_session(data_dir, models_dir)
    session.chat.sampling = replace(session.chat.sampling, max_tokens=48, seed=3)
    yield session
    session.close()


def test_a_thread_past_the_window_is_compacted_and_the_reply_still_comes(small_window_session):
    session = small_window_session
    store = session.store
    thread = session.chat.new_thread()
    parent = None
    for year in range(2001, 2021):  # ~20 exchanges of ~60 tokens each: well past a 1,024-token window
        user = store.add_message(thread.id, parent_id=parent, role=Role.USER, content=FILLER.format(year=year))
        parent = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content=f"Noted for {year}.").id
    route = session.router.route(store.get_thread(thread.id))
    window = session.router.window(route)
    assert session.router.count_tokens(route, session.context.assemble(thread, store.get_message(parent))) > window
    # the premise: this thread no longer fits

    events = list(session.chat.send(thread.id, "What did we compare for 2003?"))
    compacted = [e for e in events if isinstance(e, ThreadCompacted)]
    finished = [e for e in events if isinstance(e, ReplyFinished)][0]
    assert compacted, "no summary was made"
    assert finished.reply.status == MessageStatus.COMPLETE and finished.reply.content

    summary = compacted[-1].summary
    assert store.summaries(thread.id)[-1].content == summary.content and summary.content
    built = session.context.build(thread, finished.reply, route, session.chat.sampling)
    assert built.new_summary is None  # the summary made for the reply still serves
    assert built.request.turns[0].content.startswith("Summary of the earlier conversation")
    tokens = session.router.count_tokens(route, built.request.turns, built.request.tools)  # tools are in the prompt
    assert tokens == built.report.tokens and tokens + session.chat.sampling.max_tokens <= window
    assert built.report.folded[-1] == summary.up_to_message_id
    assert len(store.messages(thread.id)) == 42  # nothing was deleted
    assert session.search.search('"budget for 2003"')  # folded turns stay searchable

    store.edit_summary(summary.id, "Edited by the user.")
    assert "Edited by the user." in session.context.assemble(thread, finished.reply)[0].content
    for kept in store.summaries(thread.id):
        store.undo_summary(kept.id)
    undone = session.context.assemble(thread, finished.reply)
    assert undone[0].content == FILLER.format(year=2001)  # back to the original messages
