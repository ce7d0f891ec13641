"""Every hostile-input test starts from a store holding a canary thread, checked intact at the end."""

from __future__ import annotations

import pytest
from hostile import assert_canary_intact, write_canary


@pytest.fixture
def canary(store):
    thread = write_canary(store)
    yield thread
    assert_canary_intact(store, thread)
