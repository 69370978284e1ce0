"""The ledger's record of a carry, as the cycle service really writes it, reads back as a late settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clearing.adapters.chain import backends
from clearing.adapters.db.credit_inputs import gather_credit_inputs
from clearing.services import chain_sync
from clearing.services import submission as obligations
from clearing.services.cycles import CycleService
from clearing.services.submission import ObligationInput

from .conftest import build_house

SPEC = [("alpha", "A", 5_000_000, 2_000_000), ("beta", "A", 3_000_000, 1_000_000), ("delta", "B", 50_000, 0)]
ROWS = [("o1", "alpha", "beta", 700_000), ("o2", "beta", "alpha", 400_000), ("big", "delta", "beta", 90_000)]


def test_a_carried_obligation_settled_next_cycle_counts_late(db_url):
    house = build_house(db_url, backends.embedded(), SPEC)
    for oid, d, c, amount in ROWS:
        item = ObligationInput(id=oid, debtor=d, creditor=c, amount=amount)
        obligations.submit(house.ctx, house.principals[d], [item], batch=True)
    cycles = CycleService(house.ctx.sessions, house.contracts)
    first = cycles.settle()
    assert first.state == "PARTIAL" and obligations.get_any(house.ctx, "big").status == "carried"
    house.contracts.fund_member(house.keys["delta"], 100_000)  # delta tops up; the carried order settles next
    chain_sync.sync(house.ctx.sessions, house.contracts)
    second = cycles.settle()
    assert second.state == "SETTLED" and obligations.get_any(house.ctx, "big").status == "settled"

    ids = {name: p.member_id for name, p in house.principals.items()}
    with house.ctx.uow(read_only=True) as uow:
        got = gather_credit_inputs(uow.session, None, as_of=datetime.now(UTC) + timedelta(seconds=1))
    assert (got[ids["delta"]].settled_on_time, got[ids["delta"]].settled_late) == (0, 1)
    assert (got[ids["alpha"]].settled_on_time, got[ids["alpha"]].settled_late) == (1, 0)
    assert (got[ids["beta"]].settled_on_time, got[ids["beta"]].settled_late) == (1, 0)
    assert got[ids["beta"]].monthly_volumes == (0, 0, 700_000 + 400_000 + 90_000)
    assert got[ids["delta"]].monthly_volumes == (0, 0, 90_000)
