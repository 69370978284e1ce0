"""Audit of receivable advances: the chain's events replayed against the chain's state, and the ledger.

From the events alone: ``ReceivableAdvanced`` pays its principal into the creditor's balance (pool money:
``totalAdvanced`` grows by it, the pool's equity does not move); ``AdvanceRepaid`` returns principal to
liquidity and adds the fee to the pool's equity; ``AdvanceRecourse`` does the same, charging the creditor's
balance ``principal + fee``. Those balance and pool moves are entries of the replay tables in
``services/audit.py``; ``CreditReleased`` is already net of any repayment, so it replays as before.
Checked here: each (cycle, creditor)'s advance replayed equals the chain's ``advanceOf``; Σ outstanding
principal equals ``totalAdvanced`` (and each ``ReceivableAdvanced``'s own ``totalAdvanced`` running
figure); every advance on chain has a ledger row advanced by that transaction with the same principal and
fee, and what each ledger row says is still owed is what ``advanceOf`` says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import ClearingHouseClient, Event
from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Member

#: How a check is reported: the condition, and the mismatch it names when false.
Check = Callable[[bool, str], None]
EVENTS = ("ReceivableAdvanced", "AdvanceRepaid", "AdvanceRecourse")


def replay(events: Sequence[Event], check: Check) -> dict[tuple[int, str], list[int]]:
    """Each (cycle, creditor)'s outstanding [principal, fee], from the events alone (running totals checked)."""
    owed: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    total = 0
    for e in events:
        if e.name not in EVENTS:
            continue
        key = (int(e.args["cycleId"]), str(e.args["creditor"]))
        principal, fee = int(e.args["principal"]), int(e.args["fee"])
        where = f"advance on cycle {key[0]} of {key[1]}"
        if e.name == "ReceivableAdvanced":
            check(owed[key] == [0, 0], f"{where}: advanced again while {owed[key]} was owed")
            owed[key] = [principal, fee]
            total += principal
            check(total == int(e.args["totalAdvanced"]), f"{where}: totalAdvanced {e.args['totalAdvanced']} != {total}")
            continue
        owed[key][0] -= principal
        owed[key][1] -= fee
        total -= principal
        check(min(owed[key]) >= 0, f"{where}: {e.name} took more than was owed")
        if e.name == "AdvanceRepaid":
            left = sum(owed[key])
            check(left == int(e.args["owedLeft"]), f"{where}: owedLeft {e.args['owedLeft']} != replayed {left}")
    return dict(owed)


def check_advances(s: Session, house: ClearingHouseClient, events: Sequence[Event], check: Check) -> None:
    """The replay against the chain, and the ledger's advances against both (see the module)."""
    owed = replay(events, check)
    total = sum(p for p, _ in owed.values())
    on_chain_total = house.total_advanced()
    check(total == on_chain_total, f"financing: totalAdvanced replayed from events {total} != chain {on_chain_total}")
    for (cycle_id, creditor), (principal, fee) in sorted(owed.items()):
        chain = house.advance_of(cycle_id, creditor)
        check(
            (principal, fee) == chain,
            f"advance on cycle {cycle_id} of {creditor}: replayed (principal, fee) {(principal, fee)} != chain {chain}",
        )
    advanced = {(int(e.args["cycleId"]), str(e.args["creditor"])): e for e in events if e.name == "ReceivableAdvanced"}
    addresses = dict(s.execute(select(Member.id, Member.address)).all())
    seen: set[tuple[int, str]] = set()
    for r in s.scalars(select(ReceivableAdvance).where(ReceivableAdvance.advance_tx.is_not(None))):
        key = (r.cycle_id, addresses[r.member_id])
        seen.add(key)
        where = f"advance {r.id} ({r.request_id!r}, cycle {r.cycle_id})"
        e = advanced.get(key)
        check(e is not None and e.tx_hash == r.advance_tx, f"{where}: no ReceivableAdvanced in {r.advance_tx}")
        if e is not None:
            on_chain = (int(e.args["principal"]), int(e.args["fee"]))
            check((r.principal, r.fee) == on_chain, f"{where}: ledger {(r.principal, r.fee)} != chain {on_chain}")
        chain_owed = sum(house.advance_of(*key))
        check(r.owed == chain_owed, f"{where}: ledger owes {r.owed}, chain advanceOf {chain_owed}")
    for key in sorted(set(advanced) - seen):
        check(False, f"advance on cycle {key[0]} of {key[1]}: on chain but not in the ledger")
