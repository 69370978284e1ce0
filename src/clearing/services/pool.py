"""The credit pool as lenders see it: its state, a lender's position, and the calls a lender's own wallet makes.

Lenders fund members' credit lines by lending the settlement token to the
house's pool for shares (ERC-4626-style, ``domain/pool_shares.py``). The house
never holds a lender's key nor moves its funds, so every lender action is the
lender's own transaction: this service reads the pool from the chain and
returns the exact unsigned calls for the lender's wallet (``approve`` then
``poolDeposit``; ``poolWithdraw``; ``poolRedeem``; ``requestWithdrawal``;
``cancelWithdrawal``), refusing up front what the contract would refuse, with
the field and the values that decide it. Everything here is public on chain,
so the API serves it without a key.

A lender's ``pnl`` (profit and loss) is what its position has made so far:
what it holds now (its shares and its queued shares, at today's price) plus
everything it took out, less everything it put in, all read from the chain
(its ``PoolDeposited``, ``PoolWithdrawn``, ``WithdrawalProcessed`` and
``LenderRecovered`` events, which the node filters by the lender's topic,
and the pool's state). Interest borrowers paid
raises it; a default written down on the pool lowers it, below zero when the
loss is larger than what the lender had earned.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.address import is_hex_address, to_checksum_address

from clearing.adapters.chain.client import UnsignedTx
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.chain.indexed_events import events_for
from clearing.domain import pool_shares as ps
from clearing.errors import Conflict, NotFound, ServiceUnavailable, ValidationError
from clearing.services.context import ServiceContext

#: Events that name a lender (indexed ``lender``): what a position is rebuilt from.
LENDER_EVENTS = (
    "PoolDeposited",
    "PoolWithdrawn",
    "WithdrawalQueued",
    "WithdrawalProcessed",
    "WithdrawalCancelled",
    "LenderRecovered",
)
#: The most queue entries one page of ``GET /pool/withdrawals`` reads.
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class PoolView:
    chain_id: int
    house: str
    token: str
    #: The pool's equity (``poolTotal``): deposits + interest charged − losses − withdrawals.
    total: int
    #: Lent out to members: Σ of their negative balances.
    drawn: int
    #: total − drawn: what can leave the pool now, altogether.
    available: int
    #: drawn / total in basis points, rounded down (0 for an empty pool).
    utilisation_bps: int
    #: Held in cycle escrows (not the pool's, shown for the house's whole balance).
    escrowed: int
    #: All shares, queued ones included; shares waiting in the withdrawal queue; what those are worth now.
    total_shares: int
    queued_shares: int
    queued_assets: int
    #: What 10^18 shares redeem for now (the share price × 10^18, rounded down).
    assets_per_share_1e18: int
    #: Borrowers' annual rate now, and what lenders earn a year on the pool (borrow × utilisation), in bps.
    borrow_rate_bps: int
    supply_rate_bps: int
    #: The rate model: borrow = base + slope × utilisation.
    base_rate_bps: int
    slope_rate_bps: int
    #: Requests ``queue_head`` ≤ id < ``queue_tail`` may still wait.
    queue_head: int
    queue_tail: int
    paused: bool


@dataclass(frozen=True, slots=True)
class QueuedRequest:
    id: int
    lender: str
    #: Shares still waiting, and what they are worth now (rounded down).
    shares: int
    assets: int


@dataclass(frozen=True, slots=True)
class LenderView:
    lender: str
    #: Shares held (not queued) and what they are worth now (``lenderBalance``, rounded down).
    shares: int
    assets: int
    #: The lender's requests still waiting in the queue, oldest first, and their totals.
    queued: tuple[QueuedRequest, ...]
    queued_shares: int
    queued_assets: int
    #: What one ``poolWithdraw`` can take now: min(assets, pool available); 0 while requests wait or paused.
    withdrawable: int
    #: (shares + queued shares) / all shares, in basis points, rounded down.
    share_bps: int
    #: Σ assets lent (``PoolDeposited``) and Σ assets paid out (withdrawn, queue payouts, recovery).
    deposited: int
    withdrawn: int
    #: assets + queued_assets + withdrawn − deposited: interest earned less losses borne (negative: a loss).
    pnl: int
    #: The lender's own token balance (what it could deposit).
    token_balance: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """Transactions for the lender's wallet, in order, and the lender as it stands before them."""

    transactions: tuple[UnsignedTx, ...]
    lender: LenderView


@dataclass(frozen=True, slots=True)
class QueuePage:
    head: int
    tail: int
    queued_shares: int
    queued_assets: int
    #: Requests still waiting from ``after`` on (ids with nothing left are skipped).
    requests: tuple[QueuedRequest, ...]
    #: Pass as ``after`` for the next page; None at the end of the queue.
    next: int | None


def _chain(ctx: ServiceContext) -> Contracts:
    if ctx.contracts is None:
        raise ServiceUnavailable("this server has no chain: the pool is not available", field=None)
    return ctx.contracts


def _address(value: str, field: str) -> str:
    if not is_hex_address(value):
        raise ValidationError(f"{field} must be a 20-byte 0x-hex EVM address", field=field, **{field: value[:100]})
    return to_checksum_address(value)


def status(ctx: ServiceContext) -> PoolView:
    """The pool, its shares, rates and queue, read from the chain."""
    c = _chain(ctx)
    house = c.house
    total, drawn, shares, queued = house.pool_total(), house.credit_drawn(), house.total_shares(), house.queued_shares()
    base, slope = house.interest_rate_model()
    borrow = house.borrow_rate_bps()
    head, tail = house.withdrawal_queue()
    return PoolView(
        chain_id=c.chain.chain_id,
        house=house.address,
        token=c.token.address,
        total=total,
        drawn=drawn,
        available=max(0, total - drawn),
        utilisation_bps=ps.utilisation_bps(drawn, total),
        escrowed=house.total_escrowed(),
        total_shares=shares,
        queued_shares=queued,
        queued_assets=ps.to_assets_down(queued, total_assets=total, total_shares=shares),
        assets_per_share_1e18=ps.to_assets_down(10**18, total_assets=total, total_shares=shares),
        borrow_rate_bps=borrow,
        supply_rate_bps=ps.supply_rate_bps(borrow_bps=borrow, drawn=drawn, total=total),
        base_rate_bps=base,
        slope_rate_bps=slope,
        queue_head=head,
        queue_tail=tail,
        paused=house.paused(),
    )


def lender(ctx: ServiceContext, address: str, pool: PoolView | None = None) -> LenderView:
    """One lender's position, its queued requests and its pnl, from the chain (its own events only)."""
    c = _chain(ctx)
    who = _address(address, "lender")
    pool = pool or status(ctx)
    deposited = withdrawn = 0
    open_ids: dict[int, None] = {}  # requests not yet paid in full nor cancelled, in queue order
    for ev in events_for(c.house, "lender", who, LENDER_EVENTS, c.deployment.block):
        a = ev.args
        if ev.name == "PoolDeposited":
            deposited += int(a["assets"])
        elif ev.name in ("PoolWithdrawn", "WithdrawalProcessed"):
            withdrawn += int(a["assets"])
        elif ev.name == "LenderRecovered":
            withdrawn += int(a["amount"])
        if ev.name == "WithdrawalQueued":
            open_ids[int(a["requestId"])] = None
        elif ev.name == "WithdrawalCancelled" or (ev.name == "WithdrawalProcessed" and int(a["sharesLeft"]) == 0):
            open_ids.pop(int(a["requestId"]), None)
    queued = tuple(r for r in (_request(ctx, pool, i) for i in open_ids) if r is not None and r.lender == who)
    shares, assets = c.house.shares_of(who), c.house.lender_balance(who)
    q_shares, q_assets = sum(r.shares for r in queued), sum(r.assets for r in queued)
    return LenderView(
        lender=who,
        shares=shares,
        assets=assets,
        queued=queued,
        queued_shares=q_shares,
        queued_assets=q_assets,
        withdrawable=0 if pool.queued_shares or pool.paused else min(assets, pool.available),
        share_bps=(shares + q_shares) * ps.BPS // pool.total_shares if pool.total_shares else 0,
        deposited=deposited,
        withdrawn=withdrawn,
        pnl=assets + q_assets + withdrawn - deposited,
        token_balance=c.token.balance_of(who),
    )


def lenders(ctx: ServiceContext, pool: PoolView | None = None) -> list[LenderView]:
    """Every address that ever lent to the pool (its ``PoolDeposited`` events), first lent first, as it stands
    now: the console's pool page (reads the house's events since deployment, then each lender's own)."""
    c = _chain(ctx)
    pool = pool or status(ctx)
    seen = dict.fromkeys(
        to_checksum_address(e.args["lender"]) for e in c.house.events(c.deployment.block) if e.name == "PoolDeposited"
    )
    return [lender(ctx, a, pool) for a in seen]


def _request(ctx: ServiceContext, pool: PoolView, request_id: int) -> QueuedRequest | None:
    """Request ``request_id`` as it stands (None once paid or cancelled)."""
    owner, shares = _chain(ctx).house.withdrawal_request(request_id)
    if shares == 0:
        return None
    assets = ps.to_assets_down(shares, total_assets=pool.total, total_shares=pool.total_shares)
    return QueuedRequest(id=request_id, lender=to_checksum_address(owner), shares=shares, assets=assets)


def queue(ctx: ServiceContext, *, after: int | None = None, limit: int = 50) -> QueuePage:
    """The withdrawal queue in payment order, from request ``after`` on (default: its head).

    Reads at most ``limit`` request slots (≤ ``MAX_PAGE``); paid and cancelled ones are skipped.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be within 1..{MAX_PAGE}", field="limit", limit=limit)
    pool = status(ctx)
    start = max(pool.queue_head, after if after is not None else 0)
    end = min(pool.queue_tail, start + limit)
    found = tuple(r for r in (_request(ctx, pool, i) for i in range(start, end)) if r is not None)
    return QueuePage(
        head=pool.queue_head,
        tail=pool.queue_tail,
        queued_shares=pool.queued_shares,
        queued_assets=pool.queued_assets,
        requests=found,
        next=end if end < pool.queue_tail else None,
    )


# --------------------------------------------------------------------------- calls for the lender's wallet
def _open(ctx: ServiceContext, pool: PoolView) -> Contracts:
    """The chain, refusing while the house is paused (the contract moves no funds then)."""
    if pool.paused:
        raise Conflict("the house is paused: no pool call goes through until it resumes", field=None)
    return _chain(ctx)


def prepare_deposit(ctx: ServiceContext, address: str, amount: int) -> Prepared:
    """``approve(house, amount)`` (only if the allowance is short) then ``poolDeposit(amount)``."""
    pool = status(ctx)
    c = _open(ctx, pool)
    view = lender(ctx, address, pool)
    if amount > view.token_balance:
        raise Conflict(
            f"the lender holds {view.token_balance} tokens, cannot lend {amount}",
            field="amount",
            available=view.token_balance,
            needed=amount,
        )
    if ps.to_shares_down(amount, total_assets=pool.total, total_shares=pool.total_shares) == 0:
        raise Conflict(
            f"lending {amount} would mint no share at today's price",
            field="amount",
            assets_per_share_1e18=pool.assets_per_share_1e18,
        )
    txs = []
    if c.token.allowance(view.lender, c.house.address) < amount:
        txs.append(c.token.unsigned("approve", c.house.address, amount, sender=view.lender))
    txs.append(c.house.unsigned("poolDeposit", amount, sender=view.lender))
    return Prepared(transactions=tuple(txs), lender=view)


def _check_liquidity(pool: PoolView, view: LenderView, assets: int, field: str) -> None:
    """What ``poolWithdraw``/``poolRedeem`` refuse beyond the lender's own shares: others' requests waiting
    ahead, or too little undrawn; the refusal names the shares to queue instead."""
    to_queue = min(view.shares, ps.to_shares_up(assets, total_assets=pool.total, total_shares=pool.total_shares))
    if pool.queued_shares:
        raise Conflict(
            f"{pool.queued_shares} shares already wait in the withdrawal queue: queue yours behind them "
            f"(POST /pool/prepare-queue with shares {to_queue})",
            field=field,
            queued_shares=pool.queued_shares,
            shares_to_queue=to_queue,
        )
    if assets > pool.available:
        raise Conflict(
            f"only {pool.available} of the pool is undrawn now (members have drawn the rest), asked {assets}: "
            f"withdraw at most that, or queue (POST /pool/prepare-queue with shares {to_queue}) to be paid "
            "as members repay",
            field=field,
            available=pool.available,
            needed=assets,
            shares_to_queue=to_queue,
        )


def prepare_withdrawal(ctx: ServiceContext, address: str, amount: int, to: str | None = None) -> Prepared:
    """``poolWithdraw(amount, to)``: at most the lender's position and the undrawn part of the pool, with no
    request waiting in the queue (it burns shares rounded up)."""
    pool = status(ctx)
    c = _open(ctx, pool)
    view = lender(ctx, address, pool)
    recipient = _address(to, "to") if to is not None else view.lender
    if amount > view.assets:
        raise Conflict(
            f"the lender's shares are worth {view.assets} now, cannot withdraw {amount}",
            field="amount",
            available=view.assets,
            needed=amount,
        )
    _check_liquidity(pool, view, amount, "amount")
    tx = c.house.unsigned("poolWithdraw", amount, recipient, sender=view.lender)
    return Prepared(transactions=(tx,), lender=view)


def prepare_redeem(ctx: ServiceContext, address: str, shares: int, to: str | None = None) -> Prepared:
    """``poolRedeem(shares, to)``: burns exactly ``shares`` for assets rounded down (e.g. every share to leave)."""
    pool = status(ctx)
    c = _open(ctx, pool)
    view = lender(ctx, address, pool)
    recipient = _address(to, "to") if to is not None else view.lender
    if shares > view.shares:
        raise Conflict(
            f"the lender holds {view.shares} shares (not counting queued ones), cannot redeem {shares}",
            field="shares",
            available=view.shares,
            needed=shares,
        )
    assets = ps.to_assets_down(shares, total_assets=pool.total, total_shares=pool.total_shares)
    if assets == 0:
        raise Conflict(f"{shares} shares are worth nothing at today's price (rounded down)", field="shares")
    _check_liquidity(pool, view, assets, "shares")
    tx = c.house.unsigned("poolRedeem", shares, recipient, sender=view.lender)
    return Prepared(transactions=(tx,), lender=view)


def prepare_queue(ctx: ServiceContext, address: str, shares: int) -> Prepared:
    """``requestWithdrawal(shares)``: the shares wait in the queue (earning interest, bearing losses) until
    ``processWithdrawals`` pays them as liquidity returns (the house's keeper calls it; anyone may)."""
    pool = status(ctx)
    c = _open(ctx, pool)
    view = lender(ctx, address, pool)
    if shares > view.shares:
        raise Conflict(
            f"the lender holds {view.shares} shares (not counting queued ones), cannot queue {shares}",
            field="shares",
            available=view.shares,
            needed=shares,
        )
    tx = c.house.unsigned("requestWithdrawal", shares, sender=view.lender)
    return Prepared(transactions=(tx,), lender=view)


def prepare_cancel(ctx: ServiceContext, address: str, request_id: int) -> Prepared:
    """``cancelWithdrawal(id)``: what is left of the lender's own request comes back to its position."""
    pool = status(ctx)
    c = _open(ctx, pool)
    view = lender(ctx, address, pool)
    if request_id >= pool.queue_tail:
        raise NotFound(f"no withdrawal request {request_id} (the next one will be {pool.queue_tail})", field="id")
    if not any(r.id == request_id for r in view.queued):
        raise Conflict(
            f"request {request_id} is not this lender's, or is already paid or cancelled",
            field="id",
            waiting=[r.id for r in view.queued],
        )
    tx = c.house.unsigned("cancelWithdrawal", request_id, sender=view.lender)
    return Prepared(transactions=(tx,), lender=view)
