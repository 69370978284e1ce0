"""Risk rules and headroom, item by item in submission order: locked members and histories in, decisions out.

No SQL here. The caller holds every member row involved locked, so the
reserved sums read with them are current, and each item's decision moves the
running sums the next item sees (a batch cannot spend the same headroom
twice). Headroom is ``free collateral + unused credit − reserved net debit``
and only the last term moves under the lock, so each member's base is
computed once and each item subtracts its running net debit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clearing.adapters.db.obligation_store import LockedMember, ObligationRow
from clearing.domain import risk
from clearing.domain.headroom import liquidity_of, reservation_delta
from clearing.domain.merkle import obligation_key
from clearing.domain.types import Obligation as DomainObligation
from clearing.domain.vocabulary import MemberStatus, Route
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.services.submission.history import DebtorHistory
from clearing.services.submission.types import ObligationInput


@dataclass(slots=True)
class Decisions:
    """What one call records: obligation rows, their holds, first-time pairs and the members' new sums."""

    rows: list[ObligationRow] = field(default_factory=list)
    #: (obligation key, hold) of every held item.
    holds: list[tuple[str, risk.Hold]] = field(default_factory=list)
    new_pairs: set[tuple[int, int]] = field(default_factory=set)
    debit: dict[int, int] = field(default_factory=dict)
    credit: dict[int, int] = field(default_factory=dict)
    seq: dict[int, int] = field(default_factory=dict)

    @classmethod
    def start(cls, members: Sequence[LockedMember]) -> Decisions:
        """Nothing decided yet: the members' sums as read under their locks."""
        return cls(
            debit={m.id: m.reserved_debit for m in members},
            credit={m.id: m.reserved_credit for m in members},
            seq={m.id: m.obligation_seq for m in members},
        )

    def changed_members(self, members: Sequence[LockedMember]) -> list[dict[str, int]]:
        """``{"mid", "rd", "rc", "seq"}`` of every member whose reserved sums or sequence moved."""
        return [
            {"mid": m.id, "rd": self.debit[m.id], "rc": self.credit[m.id], "seq": self.seq[m.id]}
            for m in members
            if (self.debit[m.id], self.credit[m.id], self.seq[m.id])
            != (m.reserved_debit, m.reserved_credit, m.obligation_seq)
        ]


def headroom_base(member: LockedMember) -> int:
    """The member's headroom with nothing reserved, by the ledger's own formula (see the module doc)."""
    return liquidity_of(member, reserved_debit=0, reserved_credit=0).headroom


def member_risk(m: LockedMember) -> risk.MemberRisk:
    """What the rules know of a locked member, its own limits included (built once per member per call)."""
    limits = (
        risk.member_limits(m.single_order_limit, m.limit_overrides, strict=False)
        if m.limit_overrides or m.single_order_limit is not None
        else {}
    )
    return risk.MemberRisk(member=m.name, tier=m.tier, suspended=m.status == MemberStatus.SUSPENDED, limits=limits)


Rules = Callable[[DomainObligation, risk.MemberRisk, risk.MemberRisk, risk.History], tuple[risk.Hold, ...]]
#: An item to decide: (obligation, debtor, creditor, body hash, submitting member id).
Item = tuple[ObligationInput, LockedMember, LockedMember, str, int]


#: Reserved-sum signs of a new obligation by status, and the statuses by name: looked up once, not per item.
_HELD, _ESCROW, _QUEUED, _ACCEPTED = S.HELD, S.ESCROW, S.QUEUED_BEYOND_HEADROOM, S.ACCEPTED
_NEW_DELTA = {status: reservation_delta(None, status) for status in (_ESCROW, _QUEUED, _ACCEPTED)}
_ESCROW_ROUTE = Route.ESCROW


# Over 60 lines: one pass per item, with every lookup hoisted out of the loop (this loop runs
# under the member locks, once per obligation of a 10,000-item batch).
def decide(
    items: Sequence[Item],
    members: Sequence[LockedMember],
    histories: dict[int, DebtorHistory],
    rules: Rules,
    *,
    count_history: bool,
    emit: Callable[[ObligationRow], None] | None = None,
) -> Decisions:
    """Each item's status (accepted, held, escrow, queued beyond headroom) in order; ``emit`` sees each row at once.

    ``count_history``: this call's items join the velocity window as they are decided, except held
    ones (they count once released: ``clearing.domain.velocity``).
    """
    out = Decisions.start(members)
    debit, credit, seq, rows, new_pairs = out.debit, out.credit, out.seq, out.rows, out.new_pairs
    risk_of: dict[int, risk.MemberRisk] = {}
    route_of: dict[int, str] = {}
    room_base: dict[int, int] = {}
    for it, debtor, creditor, h, submitted_by in items:
        did, cid, amount = debtor.id, creditor.id, it.amount
        # The submitter is a party (validate checked it): the key binds its address to its id.
        key = "0x" + obligation_key(debtor.address if submitted_by == did else creditor.address, it.id).hex()
        rec = histories[did]
        if rec.known_frozen is None:
            rec.known_frozen = frozenset(rec.known)
        debtor_risk = risk_of.get(did)
        if debtor_risk is None:
            debtor_risk = risk_of[did] = member_risk(debtor)
        creditor_risk = risk_of.get(cid)
        if creditor_risk is None:
            creditor_risk = risk_of[cid] = member_risk(creditor)
        # The window as a running aggregate: the ledger's rows plus this call's earlier items, O(1) per item.
        holds = rules(
            DomainObligation(it.id, debtor.name, creditor.name, amount),
            debtor_risk,
            creditor_risk,
            risk.History(known_counterparties=rec.known_frozen, window_count=rec.count, window_total=rec.total),
        )
        if count_history and not holds:  # held obligations stay out of the window (domain/velocity.py)
            rec.count += 1
            rec.total += amount
            rec.added_count += 1
            rec.added_total += amount
        if not holds and (did, cid) not in rec.known_ids:
            # A pair becomes known through an obligation that passed the rules, never a held one.
            rec.known.add(creditor.name)
            rec.known_frozen = None
            rec.known_ids.add((did, cid))
            new_pairs.add((did, cid))
        route = route_of.get(did)
        if route is None:
            route = route_of[did] = risk.settlement_route(debtor.tier)
        shortfall = None
        if holds:
            status = _HELD
            out.holds.extend((key, hd) for hd in holds)
        else:
            if route == _ESCROW_ROUTE:
                # Tier C prepays each order from its own wallet into the order
                # escrow: collateral headroom does not limit it.
                status = _ESCROW
            else:
                base = room_base.get(did)
                if base is None:
                    base = room_base[did] = headroom_base(debtor)
                room = base - max(0, debit[did] - credit[did])
                if amount > room:
                    status = _QUEUED
                    shortfall = amount - max(0, room)
                else:
                    status = _ACCEPTED
            d, c = _NEW_DELTA[status]
            debit[did] += d * amount
            credit[cid] += c * amount
        seq[did] += 1
        row = ObligationRow(
            it.id, did, cid, amount, it.reference, it.on_behalf_of, submitted_by, h, it.signature, status, route,
            shortfall, seq[did], key,
        )  # fmt: skip
        rows.append(row)
        if emit is not None:
            emit(row)
    return out
