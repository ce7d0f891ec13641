"""A short kill -9 soak (tests/benchmarks/soak.py; run by hand with --runs 1000): nothing committed is lost, the
database stays intact, and no worker outlives a killed command."""

from __future__ import annotations

import importlib.util
import random

import pytest
from hostile import REPO


@pytest.mark.slow
def test_a_short_kill_soak_loses_nothing(models_dir):
    spec = importlib.util.spec_from_file_location("soak", REPO / "tests" / "benchmarks" / "soak.py")
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    figures = soak.soak(6, random.Random(11), models_dir)
    assert figures["runs"] == 6
    assert (figures["committed messages lost"], figures["integrity failures"], figures["orphan worker processes"]) == (
        0, 0, 0,
    )  # fmt: skip
