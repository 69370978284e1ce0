"""Audit: recompute every committed cycle from the ledger and, separately, from
chain events alone; check roots, net deltas and every balance.

The chain side trusts nothing the service stored: it replays the house's
events from the deployment block. A settled obligation edited in the
database changes the recomputed root, so ``verify`` names that cycle.

Unlike the other services, these functions take the ledger's sessions and the
contracts, not a ``ServiceContext``: an audit reads those two and nothing of
the running service (no caches, no outbox), and ``clearing audit`` runs it
from a deployment file without building a house.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.client import ClearingHouseClient, Event
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.models import Cycle, CyclePosition, Member, Obligation
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.merkle import MerkleTree, leaf_hash, obligation_key, verify_proof
from clearing.domain.netting import net_positions
from clearing.domain.types import Obligation as DomainObligation
from clearing.domain.vocabulary import CycleState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, NotFound, ValidationError

COMMITTED_STATES = (CycleState.COMMITTED, CycleState.SETTLED, CycleState.PARTIAL, CycleState.REFUNDED)
#: Statuses of the obligations under a committed cycle's root (refunded ones stay under it).
UNDER_ROOT = (S.NETTED, S.COMMITTED, S.SETTLED, S.REFUNDED)

#: How each event moves a member's signed balance (replayed from the chain alone).
BALANCE_EFFECTS: dict[str, tuple[str, int]] = {
    "Deposited": ("member", +1),
    "Withdrawn": ("member", -1),
    "MemberDebited": ("member", -1),
    "CreditReleased": ("creditor", +1),
    "DebitRefunded": ("debtor", +1),
    "MemberRecovered": ("member", -1),
}


@dataclass
class AuditReport:
    ok: bool = True
    cycles_checked: int = 0
    obligations_checked: int = 0
    members_checked: int = 0
    checks: int = 0
    mismatches: list[str] = field(default_factory=list)

    def check(self, condition: bool, message: str) -> None:
        self.checks += 1
        if not condition:
            self.ok = False
            self.mismatches.append(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainCycle:
    root: str
    count: int
    gross: int
    escrowed: int
    deltas: dict[str, int]


def chain_cycles(events: list[Event]) -> dict[int, ChainCycle]:
    """Each committed cycle as the chain's events alone describe it."""
    heads: dict[int, dict[str, Any]] = {}
    deltas: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e.name == "CycleCommitted":
            heads[e.args["cycleId"]] = e.args
        elif e.name == "MemberDebited":
            deltas[e.args["cycleId"]][e.args["member"]] -= e.args["amount"]
        elif e.name == "CreditRecorded":
            deltas[e.args["cycleId"]][e.args["creditor"]] += e.args["amount"]
    return {
        cid: ChainCycle(
            root=h["root"],
            count=h["obligationCount"],
            gross=h["grossValue"],
            escrowed=h["escrowed"],
            deltas={m: v for m, v in deltas[cid].items() if v},
        )
        for cid, h in heads.items()
    }


def replay_balances(events: list[Event]) -> dict[str, int]:
    balances: dict[str, int] = defaultdict(int)
    for e in events:
        eff = BALANCE_EFFECTS.get(e.name)
        if eff:
            balances[e.args[eff[0]]] += eff[1] * e.args["amount"]
    return dict(balances)


def _cycle_obligations(s: Session, cycle_id: int, addr: dict[int, str]) -> list[DomainObligation]:
    rows = s.scalars(select(Obligation).where(Obligation.cycle_id == cycle_id, Obligation.status.in_(UNDER_ROOT))).all()
    return [DomainObligation(o.id, addr[o.debtor_id], addr[o.creditor_id], o.amount) for o in rows]


def cycle_tree(cycle_id: int, obs: list[DomainObligation]) -> tuple[MerkleTree, dict[str, bytes]]:
    leaves = {o.id: leaf_hash(cycle_id, obligation_key(o.id), o.debtor, o.creditor, o.amount) for o in obs}
    return MerkleTree(list(leaves.values())), leaves


def verify(sessions: sessionmaker[Session], contracts: Contracts, cycle_id: int | None = None) -> AuditReport:
    """Ledger vs recomputation vs chain; the first mismatch is ``report.mismatches[0]``."""
    rep = AuditReport()
    house = contracts.house
    events = house.events(contracts.deployment.block)
    on_chain = chain_cycles(events)
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        s = uow.session
        members = list(s.scalars(select(Member)))
        addr = {m.id: m.address for m in members}
        q = select(Cycle).where(Cycle.state.in_(COMMITTED_STATES)).order_by(Cycle.id)
        if cycle_id is not None:
            q = q.where(Cycle.id == cycle_id)
            if s.get(Cycle, cycle_id) is None:
                raise NotFound(f"cycle {cycle_id} not found", field="cycle")
        for cycle in s.scalars(q):
            rep.cycles_checked += 1
            obs = _cycle_obligations(s, cycle.id, addr)
            rep.obligations_checked += len(obs)
            tree, _ = cycle_tree(cycle.id, obs)
            root = "0x" + tree.root.hex()
            rep.check(
                root == cycle.root,
                f"cycle {cycle.id}: root recomputed from ledger obligations {root} != ledger root {cycle.root}",
            )
            ch = on_chain.get(cycle.id)
            rep.check(ch is not None, f"cycle {cycle.id}: no CycleCommitted event on chain")
            if ch is None:
                continue
            rep.check(ch.root == root, f"cycle {cycle.id}: chain root {ch.root} != recomputed root {root}")
            rep.check(ch.count == len(obs), f"cycle {cycle.id}: chain count {ch.count} != ledger {len(obs)}")
            gross = sum(o.amount for o in obs)
            rep.check(ch.gross == gross, f"cycle {cycle.id}: chain gross {ch.gross} != ledger {gross}")
            rep.check(
                sum(ch.deltas.values()) == 0, f"cycle {cycle.id}: chain net deltas sum to {sum(ch.deltas.values())}"
            )
            recomputed = {m: v for m, v in net_positions(obs).items() if v}
            ledger_pos = {
                addr[p.member_id]: p.net_delta
                for p in s.scalars(select(CyclePosition).where(CyclePosition.cycle_id == cycle.id))
                if p.net_delta
            }
            for who in sorted(set(recomputed) | set(ch.deltas) | set(ledger_pos)):
                r, c, lg = recomputed.get(who, 0), ch.deltas.get(who, 0), ledger_pos.get(who, 0)
                rep.check(
                    r == c == lg, f"cycle {cycle.id}: member {who} net delta recomputed {r}, chain {c}, ledger {lg}"
                )
        if cycle_id is None:
            ledger_ids = set(s.scalars(select(Cycle.id).where(Cycle.state.in_(COMMITTED_STATES))))
            for cid in sorted(set(on_chain) - ledger_ids):
                rep.check(False, f"cycle {cid}: committed on chain but not committed in the ledger")
            # Every balance: chain events replayed == chain state; mirror matches when synced.
            replayed = replay_balances(events)
            for m in members:
                rep.members_checked += 1
                state = house.member(m.address)
                rep.check(
                    replayed.get(m.address, 0) == state.balance,
                    f"member {m.name}: balance replayed from events {replayed.get(m.address, 0)} "
                    f"!= chain balance {state.balance}",
                )
            total = house.total_balances()
            held = contracts.token.balance_of(house.address)
            rep.check(
                total + house.pool_total() + house.total_escrowed() == held,
                f"house: balances {total} + pool {house.pool_total()} + escrow {house.total_escrowed()} "
                f"!= tokens held {held}",
            )
    return rep


@dataclass(frozen=True)
class ObligationProof:
    obligation_id: str
    cycle_id: int
    obligation_key: str
    debtor: str
    creditor: str
    amount: str  # decimal string: JSON readers lose nothing past 2^53
    leaf: str
    proof: list[str]
    root: str
    chain_id: int
    clearing_house: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prove(
    sessions: sessionmaker[Session],
    deployment_chain_id: int,
    house_address: str,
    obligation_id: str,
    *,
    member_id: int | None = None,
) -> ObligationProof:
    """The Merkle proof of one settled obligation against its cycle's root."""
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        s = uow.session
        o = s.get(Obligation, obligation_id)
        if o is None or (member_id is not None and member_id not in (o.debtor_id, o.creditor_id)):
            raise NotFound(f"obligation {obligation_id!r} not found", field="obligation_id")
        if o.status not in UNDER_ROOT or o.cycle_id is None:
            raise Conflict(
                f"obligation {obligation_id!r} is {o.status}, not in a committed cycle", field="obligation_id"
            )
        cycle = s.get(Cycle, o.cycle_id)
        if cycle is None or cycle.state not in COMMITTED_STATES:
            raise Conflict(
                f"obligation {obligation_id!r}: its cycle {o.cycle_id} is not committed yet", field="obligation_id"
            )
        addr = {m.id: m.address for m in s.scalars(select(Member))}
        tree, leaves = cycle_tree(cycle.id, _cycle_obligations(s, cycle.id, addr))
        leaf = leaves[o.id]
        return ObligationProof(
            obligation_id=o.id,
            cycle_id=cycle.id,
            obligation_key="0x" + obligation_key(o.id).hex(),
            debtor=addr[o.debtor_id],
            creditor=addr[o.creditor_id],
            amount=str(o.amount),
            leaf="0x" + leaf.hex(),
            proof=["0x" + p.hex() for p in tree.proof(leaf)],
            root="0x" + tree.root.hex(),
            chain_id=deployment_chain_id,
            clearing_house=house_address,
        )


def check_proof(house: ClearingHouseClient, proof: dict[str, Any]) -> list[str]:
    """Verify a proof with nothing but the chain; returns the failures (empty: valid)."""
    try:
        cid, amount = int(proof["cycle_id"]), int(proof["amount"])
        key = obligation_key(proof["obligation_id"])
        path = [bytes.fromhex(p.removeprefix("0x")) for p in proof["proof"]]
        debtor, creditor = proof["debtor"], proof["creditor"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ValidationError(f"malformed proof file: {exc}", field="proof") from None
    failures = []
    leaf = leaf_hash(cid, key, debtor, creditor, amount)
    chain_root = bytes.fromhex(house.cycle(cid).root.removeprefix("0x"))
    if chain_root == b"\x00" * 32:
        failures.append(f"cycle {cid} is not committed on chain {house.address}")
    elif not verify_proof(path, chain_root, leaf):
        failures.append(f"proof does not lead to the on-chain root of cycle {cid}")
    if not house.verify_obligation(cid, key, debtor, creditor, amount, path):
        failures.append("ClearingHouse.verifyObligation returned false")
    return failures
