"""Thread titles: provisional from the first message, then named by the local model once, then the user's."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.core.domain import ReplyFinished, ThreadRetitled
from app.services.chat import clean_title

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Baking Sourdough Bread: A Simple Guide", "Baking Sourdough Bread"),
        ('"The 2023 Quarterly Report".', "The 2023 Quarterly Report"),
        ("Title: Hello world!\nmore text", "Hello world"),
        ("  \n ", ""),
    ],
)
def test_clean_title(raw, title):
    assert clean_title(raw) == title


def test_the_model_names_a_thread_once_after_its_first_exchange(session):
    session.chat.sampling = replace(session.chat.sampling, max_tokens=24, seed=5)
    thread = session.chat.new_thread()
    first = list(session.chat.send(thread.id, "How do I bake sourdough bread at home?"))
    assert isinstance(first[-1], ThreadRetitled)
    assert [type(e) for e in first].index(ReplyFinished) < len(first) - 1  # the reply came first
    named = session.store.get_thread(thread.id)
    assert named.title_source == "generated" and named.title == first[-1].thread.title
    assert 0 < len(named.title) <= 61 and '"' not in named.title

    second = list(session.chat.send(thread.id, "And rye bread?"))
    assert not any(isinstance(e, ThreadRetitled) for e in second)
    session.store.rename_thread(thread.id, "My bread notes")
    assert session.store.get_thread(thread.id).title_source == "user"
