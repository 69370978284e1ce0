"""Ids are scoped to their submitter inside one call too: a group commit and a batch, on both write paths.

Issue 8 item 10. A group commit gathers single submissions of several members
into one transaction; before, an id two members used in the same group was
answered as one obligation (a replay or a conflict) for the second member.
"""

from __future__ import annotations

import eth_abi
import eth_utils
from sqlalchemy import select

from clearing.adapters.db.models import Obligation
from clearing.errors import ObligationConflict
from clearing.services import submission as osvc
from tests.conftest import admit_member, ledger_house


def _key(address: str, oid: str) -> str:
    return "0x" + eth_utils.keccak(eth_abi.encode(["address", "string"], [address, oid])).hex()


def test_one_group_two_members_one_id(db):
    ctx = ledger_house(db)
    a, b = admit_member(ctx, "a", collateral=10**9), admit_member(ctx, "b", collateral=10**9)
    mine = osvc.ObligationInput(id="X", debtor="a", creditor="b", amount=10)
    theirs = osvc.ObligationInput(id="X", debtor="b", creditor="a", amount=20)
    out = osvc.submit_group(
        ctx,
        [
            (a.principal, mine),
            (b.principal, theirs),
            (a.principal, mine),  # a's retry in the same group: a replay of a's
            (b.principal, osvc.ObligationInput(id="X", debtor="b", creditor="a", amount=21)),  # b's own conflict
        ],
    )
    first, second, retry, conflict = out
    assert not first.replayed and not second.replayed and retry.replayed
    assert (first.obligation.submitter, second.obligation.submitter) == ("a", "b")
    assert first.obligation.obligation_key == retry.obligation.obligation_key == _key(a.account.address, "X")
    assert second.obligation.obligation_key == _key(b.account.address, "X")
    assert isinstance(conflict, ObligationConflict)
    # and again later, in calls of their own: each member's replay is its own obligation
    assert osvc.submit(ctx, b.principal, [theirs], batch=False)[0].obligation == second.obligation
    assert osvc.submit(ctx, a.principal, [mine], batch=False)[0].obligation.amount == 10


def test_batch_rows_carry_the_submitters_key_on_both_write_paths(db):
    """70 rows (COPY on PostgreSQL, INSERT on SQLite): each stores its submitter's key."""
    ctx = ledger_house(db)
    a = admit_member(ctx, "a", collateral=10**9)
    admit_member(ctx, "b")
    items = [osvc.ObligationInput(id=f"k-{i}", debtor="a", creditor="b", amount=1 + i) for i in range(70)]
    osvc.submit(ctx, a.principal, items, batch=True)
    with ctx.uow(read_only=True) as uow:
        rows = uow.session.execute(select(Obligation.id, Obligation.obligation_key)).all()
    assert len(rows) == 70
    assert all(key == _key(a.account.address, oid) for oid, key in rows)
