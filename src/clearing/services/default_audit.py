"""Audit of defaults: the waterfall's events are consistent among themselves, and the ledger agrees.

From the chain's events alone, for every allocation (one ``allocateDefaultLoss`` transaction of one
member): its ``DefaultLossAllocated`` steps come in order 1, 2, 3, 4; each step's amount plus what
remained after it equals what remained before it (the first step starting from the loss), the last
leaves nothing; and what step 4 put on the lenders is what ``PoolWrittenDown`` wrote down in the same
transaction. Against the ledger: the ``member_defaults`` rows declared on chain match the chain's
``MemberDefaulted`` events member by member (how many, in order, with the same balance), and each
member's steps and write-downs as the rows record them are what the events add up to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import Event
from clearing.adapters.db.member_defaults import STEP_NAMES, MemberDefault
from clearing.adapters.db.models import Member

#: How a check is reported: the condition, and the mismatch it names when false.
Check = Callable[[bool, str], None]


def check_allocations(events: Sequence[Event], check: Check) -> None:
    """Every allocation on chain, checked from its own events (see the module)."""
    steps: dict[tuple[str, str], list[Event]] = defaultdict(list)
    written: dict[tuple[str, str], int] = defaultdict(int)
    for e in events:
        if e.name == "DefaultLossAllocated":
            steps[(e.tx_hash, e.args["member"])].append(e)
        elif e.name == "PoolWrittenDown":
            written[(e.tx_hash, e.args["member"])] += e.args["amount"]
    for (tx, member), found in steps.items():
        where = f"default of {member}: allocation {tx}"
        order = [int(e.args["step"]) for e in found]
        check(order == [1, 2, 3, 4], f"{where}: steps {order}, not 1, 2, 3, 4")
        before = found[0].args["amount"] + found[0].args["remainingLoss"]
        for e in found:
            amount, left = e.args["amount"], e.args["remainingLoss"]
            if e is not found[0]:
                check(amount + left == before, f"{where}: step {e.args['step']} {amount} + {left} != {before}")
            before = left
        check(before == 0, f"{where}: {before} of the loss left after the last step")
        last = found[-1].args["amount"] if order[-1:] == [4] else 0
        check(last == written.get((tx, member), 0), f"{where}: step 4 {last} != written down {written[(tx, member)]}")


def check_ledger(s: Session, events: Sequence[Event], check: Check) -> None:
    """The ledger's defaults against the chain's (see the module)."""
    names = dict(s.execute(select(Member.address, Member.name)).all())
    declared: dict[str, list[int]] = defaultdict(list)
    steps: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e.name == "MemberDefaulted":
            declared[e.args["member"]].append(e.args["balance"])
        elif e.name == "DefaultLossAllocated":
            steps[e.args["member"]][STEP_NAMES.get(int(e.args["step"]), str(e.args["step"]))] += e.args["amount"]
    ids = {mid: address for address, mid in s.execute(select(Member.address, Member.id)).all()}
    rows: dict[str, list[MemberDefault]] = defaultdict(list)
    for r in s.scalars(select(MemberDefault).order_by(MemberDefault.id)):
        rows[ids[r.member_id]].append(r)
    for address in sorted(set(declared) | set(rows)):
        who = names.get(address, address)
        on_chain = declared.get(address, [])
        ledger = [r.balance_at_declaration for r in rows.get(address, []) if r.declare_tx is not None]
        check(
            ledger == on_chain,
            f"default of {who}: ledger declared {len(ledger)} with balances {ledger}, chain {len(on_chain)} {on_chain}",
        )
        recorded: dict[str, int] = defaultdict(int)
        for r in rows.get(address, []):
            for name, amount in (r.steps or {}).items():
                recorded[name] += int(amount)
        chain_steps = {k: v for k, v in steps.get(address, {}).items() if v}
        check(
            {k: v for k, v in recorded.items() if v} == chain_steps,
            f"default of {who}: ledger steps {dict(recorded)} != chain {chain_steps}",
        )
