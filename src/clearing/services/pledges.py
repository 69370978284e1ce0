"""Pledged digital assets: the vault's collections (risk), a member's pledges, and the calls its wallet makes.

Members pledge ERC-721 and ERC-1155 tokens into the asset vault (``contracts/AssetVault.sol``); each listed
collection has one value per token, a loan-to-value and a staleness bound, set by the risk role. A member's
pledges count ``floor(units × value × ltv / 10000)`` per collection as collateral in its headroom (stale
valuations 0): chain sync mirrors the vault's ``collateralValueOf`` onto the member
(``services/pledge_sync.py``), and the headroom check reads the mirror (``domain/headroom.py``).

- The risk role's calls (``setCollection``, ``updateValue``) are the house's, signed by its risk key and sent
  through the outbox (``services/pledge_calls.py``), audited; a revert refuses the request with the vault's
  error and values.
- Pledging and unpledging are the member's own transactions (the house never holds its key nor its tokens):
  like the lender's ``prepare-*`` calls (``services/pool.py``), this service returns the exact unsigned calls
  (``approve`` or ``setApprovalForAll`` when needed, then ``pledge721``/``pledge1155``; ``unpledge721``/
  ``unpledge1155``), refusing up front what the vault would refuse, naming the field and the values.
- Unpledging is refused while its headroom without the asset's collateral value would go below zero: the
  service's rule, which holds the vault's (what the member owes stays within its line plus the collateral
  left) and adds the obligations accepted in the open cycle, which may rest on it. A member in default
  never unpledges, and cannot pledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_utils.address import is_hex_address, to_checksum_address
from sqlalchemy import select

from clearing.adapters.chain.base import UnsignedTx
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.chain.vault_client import (
    CollectibleClient,
    GameItemsClient,
    VaultClient,
    VaultCollection,
    standard_of,
    vault_error,
)
from clearing.adapters.db.models import Member
from clearing.adapters.db.pledges import PledgeCollection
from clearing.domain import pledges as dp
from clearing.domain.headroom import liquidity_of
from clearing.domain.vocabulary import TxState
from clearing.errors import ChainReverted, NotFound, PledgeRefused, ServiceUnavailable, ValidationError
from clearing.services import chain_sync, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.pledge_calls import VAULT_SET_COLLECTION, VAULT_UPDATE_VALUE, pledge_done

ERC721, ERC1155 = "erc721", "erc1155"
#: The vault's bounds per member (``AssetVault.MAX_COLLECTIONS``, ``MAX_POSITIONS``).
MAX_COLLECTIONS, MAX_POSITIONS = 16, 64


@dataclass(frozen=True, slots=True)
class CollectionView:
    address: str
    #: ``erc721`` or ``erc1155`` (ERC-165), None when the contract answered neither.
    standard: str | None
    unit_value: int
    ltv_bps: int
    max_age_seconds: int
    valued_at: datetime
    #: Older than its bound at the chain's time now: counts 0 until revalued (``PUT /pledges/collections/{addr}``).
    stale: bool
    stale_after: datetime


@dataclass(frozen=True, slots=True)
class PositionView:
    token_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class HoldingView:
    """What a member pledged in one collection and what it counts for now."""

    collection: str
    standard: str | None
    units: int
    unit_value: int
    ltv_bps: int
    stale: bool
    #: units × unit_value (0 when stale): what a seizure would credit.
    value: int
    #: floor(value × ltv / 10000) (0 when stale): what counts as collateral.
    collateral_value: int
    positions: tuple[PositionView, ...]


@dataclass(frozen=True, slots=True)
class PledgesView:
    member: str
    address: str
    holdings: tuple[HoldingView, ...]
    #: The vault's own sums now: collateralValueOf and seizableValueOf.
    collateral_value: int
    seizable_value: int
    #: What headroom counts now (chain sync's mirror of collateral_value), and the headroom with it.
    mirrored_collateral_value: int
    headroom: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """Transactions for the member's wallet, in order, and its pledges as they stand before them."""

    transactions: tuple[UnsignedTx, ...]
    pledges: PledgesView


# --------------------------------------------------------------------------- helpers
def _chain(ctx: ServiceContext) -> tuple[Contracts, VaultClient]:
    if ctx.contracts is None or ctx.contracts.vault is None:
        raise ServiceUnavailable("this server has no asset vault on chain: pledges are not available", field=None)
    return ctx.contracts, ctx.contracts.vault


def _address(value: str, field: str) -> str:
    if not is_hex_address(value):
        raise ValidationError(f"{field} must be a 20-byte 0x-hex EVM address", field=field, **{field: value[:100]})
    return to_checksum_address(value)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _collection_view(row: PledgeCollection, now: int) -> CollectionView:
    v = dp.Valuation(row.unit_value, row.ltv_bps, row.max_age_seconds, row.valued_at)
    return CollectionView(
        address=row.address,
        standard=row.standard,
        unit_value=row.unit_value,
        ltv_bps=row.ltv_bps,
        max_age_seconds=row.max_age_seconds,
        valued_at=_at(row.valued_at),
        stale=v.stale(now),
        stale_after=_at(row.valued_at + row.max_age_seconds),
    )


def _listed(vault: VaultClient, collection: str) -> VaultCollection:
    c = vault.collection_of(collection)
    if not c.listed:
        raise PledgeRefused(
            f"collection {collection} is not listed in the asset vault: the risk role lists it first "
            "(POST /pledges/collections)",
            field="collection",
            collection=collection,
        )
    return c


# --------------------------------------------------------------------------- risk role (operator key)
def list_collections(ctx: ServiceContext) -> list[CollectionView]:
    """Every listed collection with its newest valuation (chain sync's mirror) and whether it is stale now."""
    c, _ = _chain(ctx)
    now = c.chain.timestamp()
    with ctx.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(PledgeCollection).order_by(PledgeCollection.id))
        return [_collection_view(r, now) for r in rows]


def get_collection(ctx: ServiceContext, address: str) -> CollectionView:
    c, _ = _chain(ctx)
    addr = _address(address, "collection")
    with ctx.uow(read_only=True) as uow:
        row = uow.session.scalar(select(PledgeCollection).where(PledgeCollection.address == addr))
        if row is None:
            raise NotFound(f"collection {addr} is not listed", field="collection", collection=addr)
        return _collection_view(row, c.chain.timestamp())


def set_collection(
    ctx: ServiceContext, actor: str, address: str, unit_value: int, ltv_bps: int, max_age_seconds: int
) -> CollectionView:
    """List ``address`` (or re-set it) at ``unit_value`` per token, ``ltv_bps`` and a staleness bound, valued now.

    Refused up front (422 naming the field) for values the vault refuses, and for a contract that is neither
    an ERC-721 nor an ERC-1155 (ERC-165). Sent through the outbox, audited, then mirrored by chain sync.
    """
    c, vault = _chain(ctx)
    addr = _address(address, "collection")
    _check_value(unit_value)
    dp.check_valuation(unit_value, ltv_bps, max_age_seconds)
    if standard_of(CollectibleClient(c.chain, addr)) is None:
        raise PledgeRefused(
            f"{addr} answers neither ERC-721 nor ERC-1155 (ERC-165 supportsInterface)", field="collection"
        )
    args = (addr, unit_value, ltv_bps, max_age_seconds)
    _send(ctx, vault, actor, VAULT_SET_COLLECTION, "setCollection", args, after=vault.collection_of(addr).valued_at)
    return get_collection(ctx, addr)


def update_value(ctx: ServiceContext, actor: str, address: str, unit_value: int) -> CollectionView:
    """Value a listed collection at ``unit_value`` per token now (restarting its staleness clock)."""
    c, vault = _chain(ctx)
    addr = _address(address, "collection")
    current = vault.collection_of(addr)
    if not current.listed:
        raise NotFound(f"collection {addr} is not listed: list it first (POST)", field="collection", collection=addr)
    _check_value(unit_value)
    dp.check_valuation(unit_value, current.ltv_bps, current.max_age_seconds)
    _send(ctx, vault, actor, VAULT_UPDATE_VALUE, "updateValue", (addr, unit_value), after=current.valued_at)
    return get_collection(ctx, addr)


def _check_value(unit_value: int) -> None:
    """The vault stores a value in 96 bits: above that it refuses (409 naming ``unit_value``)."""
    if unit_value > dp.MAX_UNIT_VALUE:
        raise PledgeRefused(
            f"unit_value must be below 2^96, got {unit_value}", field="unit_value", max=dp.MAX_UNIT_VALUE
        )


def _send(
    ctx: ServiceContext, vault: VaultClient, actor: str, kind: str, fn: str, args: tuple[object, ...], *, after: int
) -> None:
    """Plan the risk call in the outbox with its audit entry, send exactly that row, then sync the mirror."""
    expect = {"after": after}
    with ctx.uow() as uow:
        s = uow.session
        item = outbox.plan(s, kind, payload={"fn": fn, "args": outbox.json_args(args), "expect": expect})
        record_action(s, actor, kind, {"fn": fn, "args": list(args), "outbox_id": item.id})
        uow.commit()
    try:
        ctx.outbox.call(vault, fn, args, kind=kind, done=pledge_done(vault, kind, args, expect), row_id=item.id)
    except ChainReverted as exc:
        outbox.update_tx(ctx.sessions, item.id, state=TxState.FAILED, error=f"reverted: {exc.message}")
        raise vault_error(exc) from exc
    assert ctx.contracts is not None
    chain_sync.sync(ctx.sessions, ctx.contracts)


# --------------------------------------------------------------------------- a member's pledges
def _member(ctx: ServiceContext, name: str) -> tuple[int, str, str]:
    with ctx.uow(read_only=True) as uow:
        m = uow.session.scalar(select(Member).where(Member.name == name))
        if m is None:
            raise NotFound(f"no member {name!r}", field="name", name=name)
        return m.id, m.name, m.address


def pledges_of(ctx: ServiceContext, name: str) -> PledgesView:
    """The member's pledges read from the vault now, per collection with its value, and its headroom."""
    _, vault = _chain(ctx)
    member_id, member_name, address = _member(ctx, name)
    positions = vault.positions_of(address)
    by_collection: dict[str, list[PositionView]] = {}
    standards: dict[str, str] = {}
    for p in positions:
        by_collection.setdefault(p.collection, []).append(PositionView(p.token_id, p.amount))
        standards[p.collection] = p.standard
    holdings = []
    for addr, held in by_collection.items():
        col = vault.collection_of(addr)
        stale = vault.is_stale(addr)
        units = sum(p.amount for p in held)
        holdings.append(
            HoldingView(
                collection=addr,
                standard=standards[addr],
                units=units,
                unit_value=col.unit_value,
                ltv_bps=col.ltv_bps,
                stale=stale,
                value=0 if stale else dp.value_down(units, col.unit_value, dp.BPS),
                collateral_value=0 if stale else dp.value_down(units, col.unit_value, col.ltv_bps),
                positions=tuple(sorted(held, key=lambda p: p.token_id)),
            )
        )
    with ctx.uow(read_only=True) as uow:
        m = uow.session.get(Member, member_id)
        assert m is not None
        mirrored, room = m.chain_pledge_value, liquidity_of(m).headroom
    return PledgesView(
        member=member_name,
        address=address,
        holdings=tuple(sorted(holdings, key=lambda h: h.collection)),
        collateral_value=vault.collateral_value_of(address),
        seizable_value=vault.seizable_value_of(address),
        mirrored_collateral_value=mirrored,
        headroom=room,
    )


def _standard(ctx: ServiceContext, contracts: Contracts, collection: str) -> str:
    with ctx.uow(read_only=True) as uow:
        known = uow.session.scalar(select(PledgeCollection.standard).where(PledgeCollection.address == collection))
    standard = known or standard_of(CollectibleClient(contracts.chain, collection))
    if standard is None:
        raise PledgeRefused(f"{collection} is neither an ERC-721 nor an ERC-1155", field="collection")
    return standard


def _open_member(contracts: Contracts, address: str) -> None:
    state = contracts.house.member(address)
    if not state.admitted:
        raise PledgeRefused(f"{address} is not admitted by the house on chain yet", field="member", member=address)
    if state.defaulted:
        raise PledgeRefused(
            f"{address} is in default: its pledges stay in the vault for the waterfall", field="member", member=address
        )


def _amount(standard: str, amount: int | None) -> int:
    if standard == ERC721:
        if amount not in (None, 1):
            raise ValidationError("an ERC-721 token is pledged whole: amount must be 1 or omitted", field="amount")
        return 1
    if amount is None or amount < 1:
        raise ValidationError("an ERC-1155 pledge needs an amount ≥ 1", field="amount", amount=amount)
    return amount


def prepare_pledge(
    ctx: ServiceContext, name: str, collection: str, token_id: int, amount: int | None = None
) -> Prepared:
    """The calls that pledge (``collection``, ``token_id``) from the member's wallet: the vault's approval when
    missing (``approve`` for an ERC-721, ``setApprovalForAll`` for an ERC-1155), then ``pledge721``/``pledge1155``.

    A stale collection can be pledged (it counts 0 until revalued); an unlisted one cannot.
    """
    c, vault = _chain(ctx)
    addr = _address(collection, "collection")
    view = pledges_of(ctx, name)
    _open_member(c, view.address)
    _listed(vault, addr)
    standard = _standard(ctx, c, addr)
    units = _amount(standard, amount)
    _check_bounds(view, addr, token_id)
    txs: list[UnsignedTx] = []
    if standard == ERC721:
        nft = CollectibleClient(c.chain, addr)
        owner = nft.owner_of(token_id) if _exists(nft, token_id) else None
        if owner != view.address:
            raise PledgeRefused(
                f"token {token_id} of {addr} is not in the member's wallet (owner {owner})",
                field="token_id",
                token_id=token_id,
                owner=owner,
            )
        if nft.get_approved(token_id) != vault.address and not nft.is_approved_for_all(view.address, vault.address):
            txs.append(nft.unsigned("approve", vault.address, token_id, sender=view.address))
        txs.append(vault.unsigned("pledge721", addr, token_id, sender=view.address))
    else:
        items = GameItemsClient(c.chain, addr)
        held = items.balance_of(view.address, token_id)
        if held < units:
            raise PledgeRefused(
                f"the member's wallet holds {held} of token {token_id}, cannot pledge {units}",
                field="amount",
                available=held,
                needed=units,
            )
        if not items.is_approved_for_all(view.address, vault.address):
            txs.append(items.unsigned("setApprovalForAll", vault.address, True, sender=view.address))
        txs.append(vault.unsigned("pledge1155", addr, token_id, units, sender=view.address))
    return Prepared(transactions=tuple(txs), pledges=view)


def _exists(nft: CollectibleClient, token_id: int) -> bool:
    try:
        nft.owner_of(token_id)
    except ChainReverted:
        return False
    return True


def _check_bounds(view: PledgesView, collection: str, token_id: int) -> None:
    positions = sum(len(h.positions) for h in view.holdings)
    held = {h.collection: h for h in view.holdings}
    if collection not in held and len(held) >= MAX_COLLECTIONS:
        raise PledgeRefused(
            f"the member already pledges in {MAX_COLLECTIONS} collections", field="collection", max=MAX_COLLECTIONS
        )
    new = collection not in held or all(p.token_id != token_id for p in held[collection].positions)
    if new and positions >= MAX_POSITIONS:
        raise PledgeRefused(f"the member already holds {MAX_POSITIONS} positions", field="token_id", max=MAX_POSITIONS)


def prepare_unpledge(
    ctx: ServiceContext, name: str, collection: str, token_id: int, amount: int | None = None
) -> Prepared:
    """The call that takes (``collection``, ``token_id``) back to the member's wallet, if it stays solvent
    without it (see the module): ``unpledge721`` or ``unpledge1155``."""
    c, vault = _chain(ctx)
    addr = _address(collection, "collection")
    view = pledges_of(ctx, name)
    _open_member(c, view.address)
    holding = next((h for h in view.holdings if h.collection == addr), None)
    pledged = next((p.amount for p in holding.positions if p.token_id == token_id), 0) if holding else 0
    standard = holding.standard if holding is not None and holding.standard in (ERC721, ERC1155) else ERC721
    units = amount or 1  # an ERC-721 position holds 1: more is refused below as more than pledged
    if pledged < units:
        raise PledgeRefused(
            f"the member pledged {pledged} of token {token_id} of {addr}, cannot take back {units}",
            field="amount" if pledged else "token_id",
            pledged=pledged,
            requested=units,
        )
    assert holding is not None
    _check_solvent_without(ctx, view, holding, units)
    fn, args = ("unpledge721", (addr, token_id)) if standard == ERC721 else ("unpledge1155", (addr, token_id, units))
    return Prepared(transactions=(vault.unsigned(fn, *args, sender=view.address),), pledges=view)


def _check_solvent_without(ctx: ServiceContext, view: PledgesView, holding: HoldingView, units: int) -> None:
    """Refuse when the member's headroom without the asset's collateral value would go below zero."""
    kept = 0 if holding.stale else dp.value_down(holding.units - units, holding.unit_value, holding.ltv_bps)
    removed = holding.collateral_value - kept
    member_id, _, _ = _member(ctx, view.member)
    with ctx.uow(read_only=True) as uow:
        m = uow.session.get(Member, member_id)
        assert m is not None
        after = liquidity_of(m, pledged=max(0, view.collateral_value - removed)).headroom
    if removed and after < 0:
        raise PledgeRefused(
            f"without it the member's headroom would be {after}: its accepted obligations rest on the "
            f"{removed} of collateral this pledge counts for",
            field="token_id",
            headroom=view.headroom,
            headroom_without=after,
            collateral_value_removed=removed,
        )
