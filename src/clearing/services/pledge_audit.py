"""``audit verify`` for the asset vault: its events replayed against its state, its tokens, and the ledger.

Trusts nothing the service stored: the vault's events from the deployment block are replayed
(``domain/pledges.replay_vault``) and compared with the vault's own views, then with the ledger's mirror.

- every position replayed == ``positionsOf`` (both ways), per member;
- each pledged ERC-721 is owned by the vault (``ownerOf``); per ERC-1155 (collection, id),
  ``balanceOf(vault, id)`` ≥ Σ units members pledged (invariants V1, V2 of ``IAssetVault``);
- each collection's replayed valuation == ``collectionOf``;
- each member's collateral value recomputed from the replayed units and valuations == ``collateralValueOf``
  (staleness is the chain's clock: ``isStale``, the only input not replayed);
- the ledger's ``pledge_positions`` and ``pledge_collections`` == the replay, once chain sync has indexed the
  vault's newest event (an edited row is named).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.chain.vault_client import CollectibleClient, GameItemsClient, VaultClient
from clearing.adapters.db.models import ChainEvent, Member
from clearing.adapters.db.pledges import PledgeCollection, PledgePosition
from clearing.domain import pledges as dp

Check = Callable[[bool, str], None]


def check(s: Session, contracts: Contracts, check: Check) -> int:
    """Every check above through ``check(condition, message)``; returns how many members were checked."""
    vault = contracts.vault
    if vault is None:
        return 0
    events = vault.vault_events(contracts.deployment.block)
    replay = dp.replay_vault((e.name, e.args) for e in events)
    _check_valuations(vault, replay, check)
    addresses = sorted(replay.members() | set(s.scalars(select(Member.address))))
    stale = {c: vault.is_stale(c) for c in replay.valuations}
    for who in addresses:
        on_chain = {(p.collection, p.token_id): p.amount for p in vault.positions_of(who)}
        replayed = {(c, i): n for (m, c, i), n in replay.positions.items() if m == who}
        check(
            on_chain == replayed,
            f"vault: member {who} positions replayed from events {_show(replayed)} != positionsOf {_show(on_chain)}",
        )
        units = replay.units(who)
        recomputed = sum(
            0 if stale.get(c, True) else dp.collection_value(n, replay.valuations.get(c), 0) for c, n in units.items()
        )
        value = vault.collateral_value_of(who)
        check(
            recomputed == value,
            f"vault: member {who} collateral value recomputed from events {recomputed} != collateralValueOf {value}",
        )
    _check_custody(contracts, vault, replay, check)
    if events and (s.scalar(select(func.max(ChainEvent.block_number))) or 0) >= events[-1].block:
        _check_ledger(s, replay, check)
    return len(addresses)


def _show(positions: dict[tuple[str, int], int]) -> str:
    return "{" + ", ".join(f"{c}#{i}: {n}" for (c, i), n in sorted(positions.items())) + "}"


def _check_valuations(vault: VaultClient, replay: dp.VaultReplay, check: Check) -> None:
    for collection, v in sorted(replay.valuations.items()):
        c = vault.collection_of(collection)
        on_chain = (c.unit_value, c.ltv_bps, c.max_age_seconds, c.valued_at)
        replayed = (v.unit_value, v.ltv_bps, v.max_age_seconds, v.valued_at)
        check(
            c.listed and on_chain == replayed,
            f"vault: collection {collection} valuation replayed {replayed} != collectionOf {on_chain}",
        )


def _check_custody(contracts: Contracts, vault: VaultClient, replay: dp.VaultReplay, check: Check) -> None:
    """V1: each pledged ERC-721 is the vault's; V2: the vault holds at least what members pledged of each id."""
    pledged: dict[tuple[str, int], int] = defaultdict(int)
    standards = {(p.collection, p.token_id): p.standard for m in replay.members() for p in vault.positions_of(m)}
    for (_, c, i), n in replay.positions.items():
        pledged[(c, i)] += n
    for (c, i), n in sorted(pledged.items()):
        if standards.get((c, i)) == "erc721":
            owner = CollectibleClient(contracts.chain, c).owner_of(i)
            check(owner == vault.address, f"vault: ERC-721 {c}#{i} is pledged but owned by {owner}, not the vault")
        else:
            held = GameItemsClient(contracts.chain, c).balance_of(vault.address, i)
            check(held >= n, f"vault: ERC-1155 {c}#{i}: the vault holds {held}, members pledged {n}")


def _check_ledger(s: Session, replay: dp.VaultReplay, check: Check) -> None:
    address = dict(s.execute(select(Member.id, Member.address)).tuples().all())
    rows = {(address[r.member_id], r.collection, r.token_id): r.amount for r in s.scalars(select(PledgePosition))}
    for key in sorted(set(rows) | set(replay.positions)):
        ledger, replayed = rows.get(key, 0), replay.positions.get(key, 0)
        check(
            ledger == replayed,
            f"vault: member {key[0]} pledge of {key[1]}#{key[2]}: ledger {ledger} != replayed from events {replayed}",
        )
    for row in s.scalars(select(PledgeCollection)):
        v = replay.valuations.get(row.address)
        mirrored = dp.Valuation(row.unit_value, row.ltv_bps, row.max_age_seconds, row.valued_at)
        check(v == mirrored, f"vault: collection {row.address} in the ledger {mirrored} != replayed from events {v}")
