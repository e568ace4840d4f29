"""The Evaluate stage's fixtures: a still clock (workdir and stage_emulator: tests/conftest.py)."""

from __future__ import annotations

import types

import pytest

from backends.evaluate import runners


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Latency reads 0.00 s: the runners' clock stands still (snapshots hold no wall clock)."""
    monkeypatch.setattr(runners, "time", types.SimpleNamespace(perf_counter=lambda: 0.0))
