"""Cover 2 in the running house: computed after every cycle and on request, stored, shown, alerted.

:func:`compute` reads every member's numbers in one statement over the ledger's
on-chain mirror and reserved sums, exactly as the headroom check sees them
(``domain/headroom.py`` ``liquidity_of``):

- **drawn** = ``credit_used`` = ``max(0, −chain_balance)``: credit the pool has lent the member;
- **in-flight net debit** = ``reserved_net_debit`` = ``max(0, reserved_debit − reserved_credit)``:
  its net debit reserved in the open cycle (obligations accepted, netted, carried or in order
  escrow, less what it is due to receive in the cycle), kept in step by ``adapters/db/reservations.py``;
- **collateral** = ``free_collateral`` = ``max(0, chain_balance)`` less withdrawals under way
  (money the member has asked back is not counted to cover its default, as headroom does not count it);

and the pool's **resources** from the chain: its equity, ``poolTotal`` (lenders bear the last loss).
``domain/cover2.py`` picks the two largest exposures; the result is stored as a
``cover2_snapshots`` row (history, never updated) and, in the same transaction, the
``cover2_uncovered`` rule is evaluated (``alerts.evaluate_cover2``): the alert opens (or
resolves) with the snapshot that decided it. The other rules wait for the next evaluation.

The cycle service calls :func:`after_cycle` once a cycle it settles has ended (wired in
``bootstrap.py``); a failure there is logged and never fails the cycle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.cover2_snapshots import Cover2Snapshot, latest_snapshot
from clearing.adapters.db.lease import xact_lock
from clearing.adapters.db.models import Member
from clearing.domain.amounts import as_json_values
from clearing.domain.cover2 import Cover2, MemberExposure, assess
from clearing.domain.headroom import liquidity_of
from clearing.errors import ServiceUnavailable
from clearing.services import alerts
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal

__all__ = [
    "TRIGGERS",
    "Cover2View",
    "ExposureView",
    "after_cycle",
    "compute",
    "current",
    "exposures",
    "latest",
]

log = logging.getLogger(__name__)

#: What runs a computation: a settled cycle, an operator (``POST /cover2/run``), or the first read of none.
TRIGGERS = ("cycle", "manual", "first_read")


@dataclass(frozen=True, slots=True)
class ExposureView:
    member: str
    drawn: int
    in_flight_net_debit: int
    collateral: int
    #: max(0, drawn + in_flight_net_debit − collateral).
    exposure: int


@dataclass(frozen=True, slots=True)
class Cover2View:
    id: int
    computed_at: datetime
    #: The cycle whose settlement ran it (None: an operator, or the first read).
    cycle_id: int | None
    trigger: str
    #: Σ of the two largest exposures.
    loss: int
    #: The pool's equity.
    resources: int
    #: resources − loss (negative: the shortfall).
    surplus: int
    covered: bool
    #: resources × 10 000 // loss; None when nothing is exposed.
    coverage_bps: int | None
    #: The (at most) two members, largest exposure first.
    members: tuple[ExposureView, ...]


def _chain(ctx: ServiceContext) -> Contracts:
    if ctx.contracts is None:
        raise ServiceUnavailable("this server has no chain: Cover 2 needs the pool's equity from it", field=None)
    return ctx.contracts


def exposures(s: Session) -> list[MemberExposure]:
    """Every member's drawn credit, in-flight net debit and collateral, from one read of the members."""
    out = []
    for m in s.scalars(select(Member).order_by(Member.id)):
        liq = liquidity_of(m)
        out.append(MemberExposure(m.name, liq.credit_used, liq.reserved_net_debit, liq.free_collateral))
    return out


def _members_json(result: Cover2) -> list[dict[str, Any]]:
    return [
        as_json_values(
            {
                "member": m.name,
                "drawn": m.drawn,
                "in_flight_net_debit": m.in_flight_net_debit,
                "collateral": m.collateral,
                "exposure": m.exposure,
            }
        )
        for m in result.members
    ]


def _view(row: Cover2Snapshot) -> Cover2View:
    return Cover2View(
        id=row.id,
        computed_at=row.computed_at,
        cycle_id=row.cycle_id,
        trigger=row.trigger,
        loss=row.loss,
        resources=row.resources,
        surplus=row.resources - row.loss,
        covered=row.covered,
        coverage_bps=row.coverage_bps,
        members=tuple(
            ExposureView(
                member=m["member"],
                drawn=int(m["drawn"]),
                in_flight_net_debit=int(m["in_flight_net_debit"]),
                collateral=int(m["collateral"]),
                exposure=int(m["exposure"]),
            )
            for m in row.members or []
        ),
    )


def compute(
    ctx: ServiceContext, cycle_id: int | None = None, *, trigger: str | None = None, actor: Principal | None = None
) -> Cover2View:
    """Compute Cover 2 now, store it, evaluate its alert (``cover2_uncovered``) and return it.

    ``cycle_id``: the cycle whose settlement asked (trigger ``cycle``); ``actor``: the operator who
    asked (audited ``cover2.run``). One computation at a time (an advisory lock on PostgreSQL;
    SQLite writes one at a time), the pool read inside it, so the newest snapshot is the newest
    state. 503 without a chain.
    """
    c = _chain(ctx)
    trigger = trigger or ("cycle" if cycle_id is not None else "manual")
    with ctx.uow() as uow:
        s = uow.session
        xact_lock(s, "cover2.compute")
        resources = c.house.pool_total()
        result = assess(exposures(s), resources)
        row = Cover2Snapshot(
            computed_at=ctx.clock(),
            cycle_id=cycle_id,
            trigger=trigger,
            loss=result.loss,
            resources=result.resources,
            covered=result.covered,
            coverage_bps=result.coverage_bps,
            members=_members_json(result),
        )
        s.add(row)
        s.flush()
        view = _view(row)
        alerted = alerts.evaluate_cover2(s, row.computed_at, result)
        if actor is not None:
            record_action(
                s,
                actor.actor,
                "cover2.run",
                {"snapshot": view.id, "loss": view.loss, "resources": view.resources, "covered": view.covered},
            )
        uow.commit()
    log.info(
        "cover2 %s: loss %s against resources %s (%s), members %s; alert %d opened, %d resolved",
        view.id,
        view.loss,
        view.resources,
        "covered" if view.covered else "NOT covered",
        [m.member for m in view.members],
        alerted.opened,
        alerted.resolved,
    )
    return view


def latest(ctx: ServiceContext) -> Cover2View | None:
    """The newest Cover 2 stored, or None if none was ever computed."""
    with ctx.uow(read_only=True) as uow:
        row = latest_snapshot(uow.session)
        return _view(row) if row is not None else None


def current(ctx: ServiceContext) -> Cover2View:
    """The newest Cover 2, computing one first if none exists (``GET /cover2``)."""
    return latest(ctx) or compute(ctx, trigger="first_read")


def after_cycle(ctx: ServiceContext, cycle_id: int) -> None:
    """The cycle service's hook: a settled cycle moves drawn credit and in-flight debits."""
    compute(ctx, cycle_id)
