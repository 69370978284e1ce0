"""Audit: recompute every committed cycle from the ledger and, separately, from
chain events alone; check roots, net deltas, every balance, the pool (its
equity, every lender's shares and the queued ones), every default
(``default_audit``: the waterfall's steps, the ledger's records), the
asset vault (``pledge_audit``: positions, custody, values, the ledger's mirror) and every receivable
advance (``financing_audit``: replayed, against ``advanceOf`` and ``totalAdvanced``, and the ledger's rows).

The chain side trusts nothing the service stored: it replays the house's
events from the deployment block. A settled obligation edited in the
database changes the recomputed root, so ``verify`` names that cycle; an
obligation key that is not the key of its submitter and id is named too.

Leaves use each obligation's key: ``keccak256(abi.encode(address submitter,
string id))``, or ``keccak256(utf8(id))`` for obligations recorded before ids
were scoped to their submitter (their proofs say ``"key_scheme": "legacy"``).

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
from clearing.domain.merkle import MerkleTree, leaf_hash, legacy_obligation_key, obligation_key, verify_proof
from clearing.domain.netting import net_positions
from clearing.domain.types import Obligation as DomainObligation
from clearing.domain.vocabulary import CycleState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import ClearingError, Conflict, NotFound, ValidationError
from clearing.services import default_audit, financing_audit, obligation_lookup, pledge_audit

COMMITTED_STATES = (CycleState.COMMITTED, CycleState.SETTLED, CycleState.PARTIAL, CycleState.REFUNDED)
#: Statuses of the obligations under a committed cycle's root (refunded ones stay under it).
UNDER_ROOT = (S.NETTED, S.COMMITTED, S.SETTLED, S.REFUNDED)
#: ``key_scheme`` of a proof: ``keccak256(abi.encode(address submitter, string id))``.
SUBMITTER_SCHEME = "submitter"
#: ``key_scheme`` of a proof of an obligation recorded before ids were scoped: ``keccak256(utf8(id))``.
LEGACY_SCHEME = "legacy"

#: How each event moves a member's signed balance (replayed from the chain alone): the argument naming the
#: member, the sign, and the arguments whose sum is the amount.
BALANCE_EFFECTS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "Deposited": ("member", +1, ("amount",)),
    "Withdrawn": ("member", -1, ("amount",)),
    "MemberDebited": ("member", -1, ("amount",)),
    # Net of any advance it repaid first (AdvanceRepaid carries that part, into the pool).
    "CreditReleased": ("creditor", +1, ("amount",)),
    "DebitRefunded": ("debtor", +1, ("amount",)),
    "MemberRecovered": ("member", -1, ("amount",)),
    "InterestCharged": ("member", -1, ("amount",)),
    # A write-down clears the defaulter's debt (lenders absorb it); a recovery moves a later credit back to them.
    "PoolWrittenDown": ("member", +1, ("amount",)),
    "DefaultRecovered": ("member", -1, ("amount",)),
    # An advance pays its principal from the pool; recourse charges principal and fee back.
    "ReceivableAdvanced": ("creditor", +1, ("principal",)),
    "AdvanceRecourse": ("creditor", -1, ("principal", "fee")),
    # Waterfall step 2: the liquidator pays the seized pledges' valuation into the defaulter's balance.
    "PledgesSold": ("member", +1, ("value",)),
}
#: How each event moves the pool's equity (``poolTotal``), and the argument holding the amount.
POOL_EFFECTS: dict[str, tuple[str, int]] = {
    "PoolDeposited": ("assets", +1),
    "PoolWithdrawn": ("assets", -1),
    "WithdrawalProcessed": ("assets", -1),
    "LenderRecovered": ("amount", -1),
    "InterestCharged": ("amount", +1),
    "PoolWrittenDown": ("amount", -1),
    "DefaultRecovered": ("amount", +1),
    # An advance's fee is the lenders' income, repaid at release or charged by recourse.
    "AdvanceRepaid": ("fee", +1),
    "AdvanceRecourse": ("fee", +1),
}
#: How each event moves a lender's shares (not queued) and the queued shares (``shares`` argument).
SHARE_EFFECTS: dict[str, tuple[int, int]] = {
    "PoolDeposited": (+1, 0),
    "PoolWithdrawn": (-1, 0),
    "WithdrawalQueued": (-1, +1),
    "WithdrawalCancelled": (+1, -1),
    "WithdrawalProcessed": (0, -1),
    "LenderRecovered": (-1, 0),
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
            who, sign, amounts = eff
            balances[e.args[who]] += sign * sum(int(e.args[a]) for a in amounts)
    return dict(balances)


@dataclass(frozen=True)
class PoolReplay:
    """The pool as its events alone describe it."""

    total: int
    queued_shares: int
    #: Each lender's shares, not counting queued ones.
    shares: dict[str, int]

    @property
    def total_shares(self) -> int:
        return sum(self.shares.values()) + self.queued_shares


def replay_pool(events: list[Event]) -> PoolReplay:
    """Pool equity, queued shares and every lender's shares, from the house's events alone."""
    total = queued = 0
    shares: dict[str, int] = defaultdict(int)
    for e in events:
        eff = POOL_EFFECTS.get(e.name)
        if eff:
            total += eff[1] * e.args[eff[0]]
        moves = SHARE_EFFECTS.get(e.name)
        if moves:
            shares[e.args["lender"]] += moves[0] * e.args["shares"]
            queued += moves[1] * e.args["shares"]
    return PoolReplay(total=total, queued_shares=queued, shares=dict(shares))


def check_pool(rep: AuditReport, house: ClearingHouseClient, events: list[Event]) -> None:
    """The pool replayed from events == the chain: equity, all shares, queued shares, each lender's shares."""
    pool = replay_pool(events)
    on_chain = house.pool_total(), house.total_shares(), house.queued_shares()
    replayed = pool.total, pool.total_shares, pool.queued_shares
    for what, r, c in zip(("pool total", "total shares", "queued shares"), replayed, on_chain, strict=True):
        rep.check(r == c, f"pool: {what} replayed from events {r} != chain {c}")
    for lender, n in sorted(pool.shares.items()):
        held = house.shares_of(lender)
        rep.check(n == held, f"lender {lender}: shares replayed from events {n} != chain {held}")


def key_scheme(key: str, obligation_id: str, submitter: str) -> str | None:
    """How ``key`` derives from the obligation's id and its submitter's address; None: it does not."""
    if key == "0x" + obligation_key(submitter, obligation_id).hex():
        return SUBMITTER_SCHEME
    if key == "0x" + legacy_obligation_key(obligation_id).hex():
        return LEGACY_SCHEME
    return None


def _cycle_rows(s: Session, cycle_id: int) -> list[Obligation]:
    return list(s.scalars(select(Obligation).where(Obligation.cycle_id == cycle_id, Obligation.status.in_(UNDER_ROOT))))


def _domain(rows: list[Obligation], addr: dict[int, str]) -> list[DomainObligation]:
    """The domain's view of a cycle's obligations: ids are their keys (unique; ids are so per submitter only)."""
    return [DomainObligation(o.obligation_key, addr[o.debtor_id], addr[o.creditor_id], o.amount) for o in rows]


def cycle_tree(cycle_id: int, obs: list[DomainObligation]) -> tuple[MerkleTree, dict[str, bytes]]:
    """The cycle's tree over obligations whose ``id`` is their 0x-hex key; leaves by key."""
    leaves = {o.id: leaf_hash(cycle_id, bytes.fromhex(o.id[2:]), o.debtor, o.creditor, o.amount) for o in obs}
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
            rows = _cycle_rows(s, cycle.id)
            for o in rows:
                rep.check(
                    key_scheme(o.obligation_key, o.id, addr[o.submitted_by]) is not None,
                    f"cycle {cycle.id}: obligation {o.id!r} has key {o.obligation_key}, "
                    f"not the key of its id and submitter {addr[o.submitted_by]}",
                )
            obs = _domain(rows, addr)
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
            # Defaults: each allocation's steps add up, and the ledger's records match the chain's.
            default_audit.check_allocations(events, rep.check)
            default_audit.check_ledger(s, events, rep.check)
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
            check_pool(rep, house, events)
            # Pledges: the vault's events replayed == its positions, tokens held, values; the ledger's mirror.
            pledge_audit.check(s, contracts, rep.check)
            # Advances: replayed == advanceOf and totalAdvanced; the ledger's rows == the chain's.
            financing_audit.check_advances(s, house, events, rep.check)
            total, advanced = house.total_balances(), house.total_advanced()
            held = contracts.token.balance_of(house.address)
            rep.check(
                total + house.pool_total() + house.total_escrowed() - advanced == held,
                f"house: balances {total} + pool {house.pool_total()} + escrow {house.total_escrowed()} "
                f"- advanced {advanced} != tokens held {held}",
            )
    return rep


@dataclass(frozen=True)
class ObligationProof:
    """What an outside verifier needs: the leaf's fields, how the key derives, the path and the root.

    ``obligation_key`` is ``keccak256(abi.encode(address submitter, string obligation_id))`` when
    ``key_scheme`` is ``submitter``, ``keccak256(utf8(obligation_id))`` when it is ``legacy``.
    """

    obligation_id: str
    #: Address of the member that submitted it (ids are unique per submitter).
    submitter: str
    key_scheme: str
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
    submitter: str | None = None,
) -> ObligationProof:
    """The Merkle proof of one settled obligation against its cycle's root.

    ``submitter`` (member name or address) names whose ``obligation_id`` it is; needed only
    where several members used that id.
    """
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        s = uow.session
        o = obligation_lookup.find(s, obligation_lookup.HOUSE, obligation_id, submitter, field="obligation_id")
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
        tree, leaves = cycle_tree(cycle.id, _domain(_cycle_rows(s, cycle.id), addr))
        leaf = leaves[o.obligation_key]
        return ObligationProof(
            obligation_id=o.id,
            submitter=addr[o.submitted_by],
            key_scheme=key_scheme(o.obligation_key, o.id, addr[o.submitted_by]) or "unknown",
            cycle_id=cycle.id,
            obligation_key=o.obligation_key,
            debtor=addr[o.debtor_id],
            creditor=addr[o.creditor_id],
            amount=str(o.amount),
            leaf="0x" + leaf.hex(),
            proof=["0x" + p.hex() for p in tree.proof(leaf)],
            root="0x" + tree.root.hex(),
            chain_id=deployment_chain_id,
            clearing_house=house_address,
        )


def _proof_key(proof: dict[str, Any]) -> bytes:
    """The key a proof's id (and submitter) derive to; proofs made before ``key_scheme`` existed are legacy."""
    scheme = proof.get("key_scheme", SUBMITTER_SCHEME if "submitter" in proof else LEGACY_SCHEME)
    if scheme == SUBMITTER_SCHEME:
        return obligation_key(proof["submitter"], proof["obligation_id"])
    if scheme == LEGACY_SCHEME:
        return legacy_obligation_key(proof["obligation_id"])
    raise ValueError(f"key_scheme must be {SUBMITTER_SCHEME!r} or {LEGACY_SCHEME!r}, got {scheme!r}")


def check_proof(house: ClearingHouseClient, proof: dict[str, Any]) -> list[str]:
    """Verify a proof with nothing but the chain; returns the failures (empty: valid)."""
    try:
        cid, amount = int(proof["cycle_id"]), int(proof["amount"])
        key = _proof_key(proof)
        path = [bytes.fromhex(p.removeprefix("0x")) for p in proof["proof"]]
        debtor, creditor = proof["debtor"], proof["creditor"]
    except (KeyError, ValueError, TypeError, ClearingError) as exc:
        raise ValidationError(f"malformed proof file: {exc}", field="proof") from None
    failures = []
    stated = proof.get("obligation_key")
    if stated is not None and str(stated).lower() != "0x" + key.hex():
        failures.append(
            f"obligation_key {stated} is not the key of obligation {proof['obligation_id']!r} and its submitter"
        )
    leaf = leaf_hash(cid, key, debtor, creditor, amount)
    chain_root = bytes.fromhex(house.cycle(cid).root.removeprefix("0x"))
    if chain_root == b"\x00" * 32:
        failures.append(f"cycle {cid} is not committed on chain {house.address}")
    elif not verify_proof(path, chain_root, leaf):
        failures.append(f"proof does not lead to the on-chain root of cycle {cid}")
    if not house.verify_obligation(cid, key, debtor, creditor, amount, path):
        failures.append("ClearingHouse.verifyObligation returned false")
    return failures
