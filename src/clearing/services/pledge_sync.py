"""Chain sync's part for the asset vault: the ledger's mirror of collections and positions, and each
pledging member's collateral value.

Run by ``chain_sync.sync`` in its unit of work with the vault events it indexed (in chain order). The
rows follow the events (``CollectionSet`` and ``ValuationUpdated`` set a collection; ``Pledged`` and
``Unpledged`` move a position; ``CollectionSeized`` clears a member's positions in a collection). The
value (``members.chain_pledge_value``, what headroom counts) is read from the vault's
``collateralValueOf`` for every member with positions on every sync, not only those its events name: a
valuation goes stale with time alone, with no event to say so.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from eth_utils.address import to_checksum_address
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clearing.adapters.chain.base import Event
from clearing.adapters.chain.vault_client import CollectibleClient, VaultClient, standard_of
from clearing.adapters.db.models import Member
from clearing.adapters.db.pledges import PledgeCollection, PledgePosition


def record(s: Session, vault: VaultClient, events: Sequence[Event]) -> int:
    """Apply the vault's new events to the mirror, then refresh pledging members' values; returns how many."""
    touched: set[str] = set()
    for ev in events:
        a = ev.args
        if ev.name in ("CollectionSet", "ValuationUpdated"):
            _set_collection(s, vault, ev)
        elif ev.name in ("Pledged", "Unpledged"):
            _move(s, ev, +1 if ev.name == "Pledged" else -1)
            touched.add(str(a["member"]))
        elif ev.name == "CollectionSeized":
            member_id = _member_id(s, str(a["member"]))
            if member_id is not None:
                s.execute(
                    delete(PledgePosition).where(
                        PledgePosition.member_id == member_id, PledgePosition.collection == str(a["collection"])
                    )
                )
            touched.add(str(a["member"]))
    s.flush()
    return refresh_values(s, vault, touched)


def refresh_values(s: Session, vault: VaultClient, also: Collection[str] = ()) -> int:
    """``collateralValueOf`` of every member with positions, with a value mirrored, or named in ``also``."""
    with_positions = select(PledgePosition.member_id).distinct()
    rows = list(
        s.scalars(
            select(Member).where(
                (Member.id.in_(with_positions)) | (Member.chain_pledge_value != 0) | (Member.address.in_(list(also)))
            )
        )
    )
    if not rows:
        return 0
    values = vault.collateral_values_of([m.address for m in rows])
    for m in rows:
        m.chain_pledge_value = values[m.address]
    return len(rows)


def _member_id(s: Session, address: str) -> int | None:
    return s.scalar(select(Member.id).where(Member.address == to_checksum_address(address)))


def _set_collection(s: Session, vault: VaultClient, ev: Event) -> None:
    a = ev.args
    address = to_checksum_address(str(a["collection"]))
    row = s.scalar(select(PledgeCollection).where(PledgeCollection.address == address))
    if row is None:
        if ev.name != "CollectionSet":  # the vault values only listed collections
            return
        standard = standard_of(CollectibleClient(vault.chain, address))
        row = PledgeCollection(address=address, standard=standard)
        s.add(row)
    if ev.name == "CollectionSet":
        row.ltv_bps, row.max_age_seconds = int(a["ltvBps"]), int(a["maxAgeSeconds"])
    row.unit_value, row.valued_at, row.block = int(a["unitValue"]), int(a["valuedAt"]), ev.block
    s.flush()


def _move(s: Session, ev: Event, sign: int) -> None:
    a = ev.args
    member_id = _member_id(s, str(a["member"]))
    if member_id is None:  # an address the ledger does not know (the vault admits only the house's members)
        return
    collection, token_id = to_checksum_address(str(a["collection"])), int(a["id"])
    row = s.scalar(
        select(PledgePosition).where(
            PledgePosition.member_id == member_id,
            PledgePosition.collection == collection,
            PledgePosition.token_id == token_id,
        )
    )
    if row is None:
        standard = s.scalar(select(PledgeCollection.standard).where(PledgeCollection.address == collection))
        row = PledgePosition(member_id=member_id, collection=collection, token_id=token_id, amount=0, standard=standard)
        s.add(row)
    row.amount, row.block = row.amount + sign * int(a["amount"]), ev.block
    if row.amount <= 0:
        s.delete(row)
    s.flush()
