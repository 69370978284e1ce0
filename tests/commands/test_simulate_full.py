"""``clearing simulate --full``: the small scenario through the whole service agrees with the fast path."""

from __future__ import annotations

import pytest

from clearing.commands.simulate_full import FULL_DAYS, run_full
from clearing.domain.simulation import Scenario


@pytest.mark.slow
def test_service_and_fast_path_give_the_same_interruptions_and_positions():
    said: list[str] = []
    out = run_full(Scenario(), 1, said.append)
    assert out["audit_ok"] is True
    # Not a vacuous comparison: the tight capital makes both paths interrupt orders.
    assert out["interrupted"]["service"] == out["interrupted"]["fast"] > 0
    assert out["orders_that_differ"] == [] and out["days_positions_differ"] == []
    assert len(out["positions_by_day"]["service"]) == FULL_DAYS
    assert any(any(v != 0 for v in day.values()) for day in out["positions_by_day"]["service"])
    assert out["same"] is True and "positions equal on every day" in out["summary"]
