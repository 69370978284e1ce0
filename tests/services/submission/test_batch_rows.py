"""A batch stores exactly what was submitted, on the COPY path (PostgreSQL, ≥ 64 rows) and the INSERT path."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clearing.adapters.db.models import Member, Obligation
from clearing.services import submission as osvc
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from tests.conftest import admit_member, ledger_house

OP = Principal(role="operator", key_id=None)
#: Strings COPY's text format must escape or could misread: its delimiters, its NULL marker, non-ASCII.
AWKWARD = [
    "plain",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\",
    "ünïcødé ✓ 円",
    "ends with backslash\\",
    "\\t literally",
    "",
    " spaced ",
    "quote'\"",
    "a\x01b",
]


def _setup(database) -> tuple[ServiceContext, Principal]:
    ctx = ledger_house(database)
    a = admit_member(ctx, "a", collateral=10**9)
    admit_member(ctx, "b")
    return ctx, a.principal


@pytest.mark.parametrize("size", [3, 70])
def test_batch_rows_read_back_exactly(db, size):
    ctx, a = _setup(db)
    items = [
        osvc.ObligationInput(
            id=f"id\\{k}" if k % 5 == 0 else f"id-{k}",
            debtor="a",
            creditor="b",
            amount=(k + 1) * 10**8 + k,
            reference=AWKWARD[k % len(AWKWARD)],
            on_behalf_of=None if k % 3 else AWKWARD[(k + 4) % len(AWKWARD)],
        )
        for k in range(size)
    ]
    out = osvc.submit(ctx, a, items, batch=True)
    assert [r.obligation.id for r in out] == [it.id for it in items]
    columns = (
        Obligation.id,
        Obligation.amount,
        Obligation.reference,
        Obligation.on_behalf_of,
        Obligation.signature,
        Obligation.debtor_seq,
        Obligation.submitted_by,
        Obligation.status,
        Obligation.route,
        Obligation.shortfall,
        Obligation.cycle_id,
        Obligation.leaf,
        Obligation.body_hash,
        Obligation.created_at,
        Obligation.updated_at,
    )
    with ctx.uow(read_only=True) as uow:
        stored = {row.id: row for row in uow.session.execute(select(*columns))}
        a_id = uow.session.scalar(select(Member.id).where(Member.name == "a"))
    assert len(stored) == size
    for k, it in enumerate(items):
        o, view = stored[it.id], out[k].obligation
        assert (o.amount, o.reference, o.on_behalf_of, o.signature, o.debtor_seq, o.submitted_by) == (
            it.amount,
            it.reference,
            it.on_behalf_of,
            None,
            k + 1,
            a_id,
        )
        # the first items fit the 10^9 of collateral; later ones queue beyond headroom
        assert (o.status, o.route, o.shortfall, o.cycle_id, o.leaf) == (view.status, "net", view.shortfall, None, None)
        assert o.body_hash == osvc.body_hash(
            it.id, view.debtor_address, view.creditor_address, it.amount, it.reference, it.on_behalf_of
        )
        assert o.created_at == view.created_at and o.updated_at == o.created_at
    # 1e8 + (2e8 + 1) + (3e8 + 2) fit the 10^9 of collateral; the 4th (4e8 + 3) would not
    assert [stored[it.id].status for it in items[:5]] == (
        ["accepted"] * 3 if size == 3 else ["accepted"] * 3 + ["queued_beyond_headroom"] * 2
    )
    # a replay of the whole batch reads every row back through the ORM: same values
    again = osvc.submit(ctx, a, items, batch=True)
    assert all(r.replayed for r in again)
    assert [
        (r.obligation.reference, r.obligation.on_behalf_of, r.obligation.amount, r.obligation.shortfall) for r in again
    ] == [(r.obligation.reference, r.obligation.on_behalf_of, r.obligation.amount, r.obligation.shortfall) for r in out]
