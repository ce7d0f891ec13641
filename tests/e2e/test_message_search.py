"""Hybrid message search with the real on-device embedding model (all-MiniLM-L6-v2 through llama.cpp)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "chat-exports" / "librechat-fixtures"

pytestmark = pytest.mark.slow


def test_meaning_finds_what_no_keyword_matches_and_noise_stays_out(cli):
    assert cli("import", str(FIXTURE / "chatgpt-tree.json")).returncode == 0
    greeting = cli("search", "greeting", "--json")
    assert greeting.returncode == 0, greeting.stderr
    hits = json.loads(greeting.stdout)
    contents = [hit["snippet"] for hit in hits]
    assert "hi there" in contents[:3] and "hi again" in contents[:3]  # no message contains the word "greeting"
    assert not any("atoms" in text for text in contents)  # the joke is not a greeting

    joke = json.loads(cli("search", "funny joke about science", "--json").stdout)
    assert "atoms" in " ".join(hit["snippet"] for hit in joke[:3])
