"""Members: admission, suspension, tier and limits (all audited), positions, withdrawals.

Every change the chain must see (admission, credit limit, suspension, a
withdrawal's call data) is planned in the outbox in the same ledger
transaction and sent after the commit (``clearing.services.outbox``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eth_utils.address import is_hex_address, to_checksum_address
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import UnsignedTx
from clearing.adapters.db.credit_store import lock_rescoring
from clearing.adapters.db.member_defaults import active_defaults
from clearing.adapters.db.models import Member, Obligation, SettlementTx
from clearing.adapters.db.reservations import lock_members
from clearing.domain.amounts import as_json_values
from clearing.domain.headroom import Liquidity, liquidity_of, topup_needed
from clearing.domain.risk import member_limits
from clearing.domain.vocabulary import MemberStatus, Role
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, InsufficientHeadroom, NotFound, ValidationError
from clearing.services import credit, holds, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal, create_api_key

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
TIERS = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    name: str
    address: str
    tier: str
    tier_reasons: tuple[str, ...]
    status: str
    status_reason: str | None
    credit_line: int
    single_order_limit: int | None
    #: The member's own limits beyond the single-order one (keys: ``clearing.domain.risk.MEMBER_LIMITS``).
    limit_overrides: dict[str, int]
    liquidity: Liquidity
    synced_block: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CarriedObligation:
    id: str
    #: Who submitted it (ids are unique per submitter): the member itself, or its creditor.
    submitter: str
    creditor: str
    amount: int
    shortfall: int | None


@dataclass(frozen=True, slots=True)
class MemberOverview:
    member: MemberView
    headroom: int
    open_position: int
    queued_beyond_headroom: int
    queued_value: int
    held: int
    carried: tuple[CarriedObligation, ...]
    carried_value: int
    #: Exact top-up of collateral that would let every carried and queued obligation settle.
    topup_needed: int


@dataclass(frozen=True, slots=True)
class Admitted:
    member: MemberView
    api_key: str


@dataclass(frozen=True, slots=True)
class WithdrawalView:
    """A withdrawal: ``planned`` until the member's own wallet sends ``transaction`` and chain sync sees its
    ``Withdrawn`` event, then ``mined`` with that transaction's hash and block."""

    outbox_id: int
    member: str
    amount: int
    state: str
    created_at: datetime
    #: The client's idempotency key, when it gave one.
    id: str | None = None
    #: What the member signs and sends (None until a process with the chain has stored it).
    transaction: UnsignedTx | None = None
    tx_hash: str | None = None
    block: int | None = None


def view_of(m: Member) -> MemberView:
    return MemberView(
        id=m.id,
        name=m.name,
        address=m.address,
        tier=m.tier,
        tier_reasons=tuple(m.tier_reasons or ()),
        status=m.status,
        status_reason=m.status_reason,
        credit_line=m.credit_line,
        single_order_limit=m.single_order_limit,
        limit_overrides=member_limits(None, m.limit_overrides, strict=False),
        liquidity=liquidity_of(m),
        synced_block=m.synced_block,
        created_at=m.created_at,
    )


def _dispatch(ctx: ServiceContext, items: list[outbox.OutboxItem]) -> None:
    """After the commit: send the rows (without an outbox they stay planned for a process with the chain)."""
    if ctx.outbox is not None:
        ctx.outbox.dispatch(items)


def _get(s: Session, name: str, *, lock: bool = False) -> Member:
    q = select(Member).where(Member.name == name)
    if lock:
        q = q.with_for_update()
    m = s.scalars(q).first()
    if m is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return m


def admit(
    ctx: ServiceContext,
    actor: Principal,
    *,
    name: str,
    address: str,
    tier: str | None = None,
    credit_line: int | None = None,
    tier_reasons: list[str] | None = None,
    single_order_limit: int | None = None,
) -> Admitted:
    """Create a member and its first API key (returned once, stored hashed), and score it.

    The new member starts provisional (``services.credit``): the policy's provisional tier and a
    line bounded by policy and by its collateral, which the score later confirms or withdraws.
    ``tier`` pins a tier for the provisional period (an override, audited); ``credit_line`` is the
    most the provisional line may be (None: the policy's bound). ``tier_reasons`` explain the pin.
    """
    if not NAME_RE.match(name):
        raise ValidationError(
            "name must be a slug: lowercase letters, digits and inner hyphens, at most 64", field="name", name=name
        )
    if not is_hex_address(address):
        raise ValidationError("address must be a 20-byte 0x-hex EVM address", field="address", address=address)
    if tier is not None and tier not in TIERS:
        raise ValidationError(f"tier must be one of {', '.join(TIERS)}", field="tier", tier=tier)
    if credit_line is not None and credit_line < 0:
        raise ValidationError("credit_line must be ≥ 0", field="credit_line")
    address = to_checksum_address(address)
    policy, now = credit.policy_of(ctx.settings), ctx.clock()
    items: list[outbox.OutboxItem] = []
    with ctx.uow() as uow:
        s = uow.session
        clash = s.scalars(select(Member).where((Member.name == name) | (Member.address == address))).first()
        if clash is not None:
            field = "name" if clash.name == name else "address"
            raise Conflict(f"a member with this {field} already exists", field=field, member=clash.name)
        m = Member(
            name=name,
            address=address,
            tier=tier or policy.tiering.provisional_tier,
            tier_reasons=[],
            status=MemberStatus.ACTIVE,
            credit_line=0,
            single_order_limit=single_order_limit,
            limit_overrides={},
            chain_balance=0,
            chain_credit_limit=0,
            synced_block=0,
            reserved_debit=0,
            reserved_credit=0,
            pending_withdrawal=0,
            created_at=now,
        )
        s.add(m)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict("a member with this name or address already exists", field="name", name=name) from None
        _, key = create_api_key(s, role=Role.MEMBER, member_id=m.id, label="admission")
        items.append(outbox.plan(s, outbox.REGISTER_MEMBER, member_id=m.id, payload={"address": address}))
        record_action(
            s,
            actor.actor,
            "member.admit",
            {"member": name, "address": address, "tier": tier, "credit_line": credit_line},
        )
        reason = "; ".join(tier_reasons or [])
        items += credit.admitted(
            s, policy, now, m, actor.actor, tier=tier, requested_line=credit_line, reason=reason or None
        )
        uow.commit()
        view = view_of(m)
    _dispatch(ctx, items)
    return Admitted(member=view, api_key=key)


def issue_key(ctx: ServiceContext, actor: Principal, name: str, label: str = "") -> str:
    with ctx.uow() as uow:
        m = _get(uow.session, name)
        _, key = create_api_key(uow.session, role=Role.MEMBER, member_id=m.id, label=label)
        record_action(uow.session, actor.actor, "member.key", {"member": name, "label": label})
        uow.commit()
    return key


def set_status(ctx: ServiceContext, actor: Principal, name: str, *, suspended: bool, reason: str) -> MemberView:
    """Suspend or resume a member, in the ledger and on chain (where a suspended member cannot be debited).

    The chain call is planned even when the ledger already has the status, so
    repeating the request also brings the chain in line (no transaction is
    sent when it already agrees). A resume re-evaluates the ``member-suspended``
    holds naming this member: they lapse, and their obligations go on to the
    headroom check unless another hold keeps them. That runs in a transaction of
    its own, after the status commits (holds lock members in id order, this one
    has already locked the member); the scheduler repeats it should it not run. A member in default
    is not resumed here (409): its cure restores it (``services/defaults.py``).
    """
    with ctx.uow() as uow:
        s = uow.session
        m = _get(s, name, lock=True)
        if not suspended and active_defaults(s, [m.id]):
            raise Conflict(f"{name} is in default: POST /members/{name}/cure restores it once repaid", field="name")
        m.status = MemberStatus.SUSPENDED if suspended else MemberStatus.ACTIVE
        m.status_reason = reason
        item = outbox.plan(s, outbox.SUSPEND_MEMBER if suspended else outbox.RESUME_MEMBER, member_id=m.id)
        record_action(
            s, actor.actor, "member.suspend" if suspended else "member.resume", {"member": name, "reason": reason}
        )
        uow.commit()
        view = view_of(m)
    _dispatch(ctx, [item])
    if not suspended:
        holds.release_resumed(ctx, view.id)
    return view


def set_limits(
    ctx: ServiceContext,
    actor: Principal,
    name: str,
    *,
    tier: str | None = None,
    reason: str,
    credit_line: int | None = None,
    single_order_limit: int | None = None,
    clear_single_order_limit: bool = False,
    limit_overrides: dict[str, int | None] | None = None,
    tier_reasons: list[str] | None = None,
    expires_at: datetime | None = None,
) -> MemberView:
    """Pin tier and/or credit line, and set the member's own risk limits (audited).

    Tiers and lines follow the score (``services.credit``): ``tier`` and ``credit_line`` here pin
    them as an operator override until ``expires_at`` (default: ``credit.override_default_days``
    from now), with ``reason`` (and ``tier_reasons``) as its reason. A line above the member's cap
    (30% of its average monthly volume, or its provisional bound) is refused
    (:class:`~clearing.errors.CreditLineAboveCap`, naming ``credit_line``): exceeding the cap takes
    an explicit ``above_cap`` override (``POST /members/{name}/credit/override``). A line change
    reaches the chain through the outbox.

    ``limit_overrides`` merges into the member's own limits (keys:
    :data:`clearing.domain.risk.MEMBER_LIMITS`); a key set to None goes back to the tier's value.
    They are checked here (an unknown key or a bad value is a ValidationError naming
    ``limit_overrides.<key>``) and kept as decimal strings, as every amount in the ledger's JSON.
    """
    if tier is not None and tier not in TIERS:
        raise ValidationError(f"tier must be one of {', '.join(TIERS)}", field="tier", tier=tier)
    if single_order_limit is not None:
        member_limits(single_order_limit, None)
    if "single_order_limit" in (limit_overrides or {}):
        raise ValidationError(
            "single_order_limit has its own field (and clear_single_order_limit)",
            field="limit_overrides.single_order_limit",
        )
    member_limits(None, {k: 0 if v is None else v for k, v in (limit_overrides or {}).items()})  # every key checked
    items: list[outbox.OutboxItem] = []
    policy, now = credit.policy_of(ctx.settings), ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        pinning = tier is not None or credit_line is not None
        if pinning:  # rescoring locks first, then member rows: the same order here
            lock_rescoring(s)
        m = _get(s, name, lock=True)
        before = _limits_of(m)
        if pinning:
            why = "; ".join([reason, *(tier_reasons or [])])
            until = expires_at or now + timedelta(days=policy.override_default_days)
            items += credit.pin_in(
                s,
                policy,
                now,
                m,
                actor.actor,
                tier=tier,
                credit_line=credit_line,
                above_cap=False,
                reason=why,
                expires_at=until,
            )
        if clear_single_order_limit:
            m.single_order_limit = None
        elif single_order_limit is not None:
            m.single_order_limit = single_order_limit
        if limit_overrides is not None:
            merged = {**member_limits(None, m.limit_overrides, strict=False), **limit_overrides}
            m.limit_overrides = {k: str(v) for k, v in merged.items() if v is not None}
        after = _limits_of(m)
        record_action(
            s,
            actor.actor,
            "member.limits",
            {
                "member": name,
                "reason": reason,
                "before": before,
                "after": after,
            },
        )
        uow.commit()
        view = view_of(m)
    _dispatch(ctx, items)
    return view


def _limits_of(m: Member) -> dict[str, Any]:
    """What ``member.limits`` audit entries show before and after (amounts as decimal strings)."""
    return as_json_values(
        {
            "tier": m.tier,
            "credit_line": m.credit_line,
            "single_order_limit": m.single_order_limit,
            "limit_overrides": as_json_values(member_limits(None, m.limit_overrides, strict=False)),
        }
    )


def get(ctx: ServiceContext, name: str) -> MemberView:
    with ctx.uow(read_only=True) as uow:
        return view_of(_get(uow.session, name))


def list_members(ctx: ServiceContext) -> list[MemberView]:
    with ctx.uow(read_only=True) as uow:
        return [view_of(m) for m in uow.session.scalars(select(Member).order_by(Member.name))]


def overview(ctx: ServiceContext, member_id: int) -> MemberOverview:
    """Everything ``GET /members/me`` shows, from the ledger and its chain mirror."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        m = s.get(Member, member_id)
        if m is None:
            raise NotFound("member not found", field="member")
        view = view_of(m)
        counts = dict(
            s.execute(
                select(Obligation.status, func.count())
                .where(Obligation.debtor_id == member_id, Obligation.status.in_([S.QUEUED_BEYOND_HEADROOM, S.HELD]))
                .group_by(Obligation.status)
            ).all()
        )
        queued_value = sum(
            a
            for (a,) in s.execute(
                select(Obligation.amount).where(
                    Obligation.debtor_id == member_id, Obligation.status == S.QUEUED_BEYOND_HEADROOM
                )
            )
        )
        names = dict(s.execute(select(Member.id, Member.name)).all())
        carried = tuple(
            CarriedObligation(
                id=o.id,
                submitter=names[o.submitted_by],
                creditor=names[o.creditor_id],
                amount=o.amount,
                shortfall=o.shortfall,
            )
            for o in s.scalars(
                select(Obligation)
                .where(Obligation.debtor_id == member_id, Obligation.status == S.CARRIED)
                .order_by(Obligation.created_at, Obligation.id)
                .limit(1000)
            )
        )
    liq = view.liquidity
    carried_value = sum(c.amount for c in carried)
    needed = topup_needed(liq.free_collateral, liq.credit_line, liq.credit_used, liq.reserved_net_debit, queued_value)
    return MemberOverview(
        member=view,
        headroom=liq.headroom,
        open_position=liq.open_position,
        queued_beyond_headroom=int(counts.get(S.QUEUED_BEYOND_HEADROOM, 0)),
        queued_value=queued_value,
        held=int(counts.get(S.HELD, 0)),
        carried=carried,
        carried_value=carried_value,
        topup_needed=needed,
    )


def request_withdrawal(
    ctx: ServiceContext, member_id: int, amount: int, *, request_id: str | None = None
) -> WithdrawalView:
    """Reserve ``amount`` of free collateral and plan the withdrawal; returns the transaction the member signs.

    The call (``withdraw(amount, member)`` on the house) is stored on the
    outbox row for the member's own wallet; chain sync completes the row on
    the ``Withdrawn`` event. ``request_id`` makes a retry return the first
    request instead of reserving twice.
    """
    if amount <= 0:
        raise ValidationError("amount must be > 0", field="amount")
    with ctx.uow() as uow:
        s = uow.session
        m = lock_members(s, [member_id]).get(member_id)
        if m is None:
            raise NotFound("member not found", field="member")
        if request_id is not None:
            earlier = _withdrawal_by_id(s, member_id, request_id)
            if earlier is not None:
                if earlier.amount != amount:
                    raise Conflict(
                        f"withdrawal id {request_id!r} was used for {earlier.amount}, not {amount}",
                        field="id",
                        id=request_id,
                    )
                return _withdrawal_view(ctx, earlier, m.name)
        liq = liquidity_of(m)
        if amount > liq.withdrawable:
            raise InsufficientHeadroom(
                f"withdrawable collateral is {liq.withdrawable}, asked {amount}",
                field="amount",
                available=str(liq.withdrawable),
                needed=str(amount),
            )
        m.pending_withdrawal = m.pending_withdrawal + amount
        payload: dict[str, Any] = {"address": m.address}
        if request_id is not None:
            payload["request_id"] = request_id
        if ctx.contracts is not None:  # the call data now, so the answer carries the transaction to sign
            house = ctx.contracts.house
            payload |= {"to": house.address, "data": house.encode_withdraw(amount, m.address), "signer": m.address}
            payload["chain_id"] = ctx.contracts.chain.chain_id
        item = outbox.plan(s, outbox.WITHDRAW, member_id=m.id, amount=amount, payload=payload)
        uow.commit()
        row = s.get(SettlementTx, item.id)
        assert row is not None
        view = _withdrawal_view(ctx, row, m.name)
    _dispatch(ctx, [item])
    return view


def _withdrawal_by_id(s: Session, member_id: int, request_id: str) -> SettlementTx | None:
    return s.scalars(
        select(SettlementTx).where(
            SettlementTx.member_id == member_id,
            SettlementTx.kind == outbox.WITHDRAW,
            SettlementTx.payload["request_id"].as_string() == request_id,
        )
    ).first()


def _withdrawal_view(ctx: ServiceContext, row: SettlementTx, member: str) -> WithdrawalView:
    p = row.payload or {}
    chain_id = p.get("chain_id") or (ctx.contracts.chain.chain_id if ctx.contracts is not None else None)
    tx = None
    if "data" in p and chain_id is not None:
        tx = UnsignedTx(sender=p.get("signer", p["address"]), to=p["to"], data=p["data"], chain_id=int(chain_id))
    return WithdrawalView(
        outbox_id=row.id,
        member=member,
        amount=row.amount or 0,
        state=row.state,
        created_at=row.created_at,
        id=p.get("request_id"),
        transaction=tx,
        tx_hash=row.tx_hash,
        block=row.block,
    )


def list_withdrawals(ctx: ServiceContext, member_id: int) -> list[WithdrawalView]:
    """The member's recent withdrawals, newest first, each with its transaction and, once mined, its hash."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        m = s.get(Member, member_id)
        rows = s.scalars(
            select(SettlementTx)
            .where(SettlementTx.member_id == member_id, SettlementTx.kind == outbox.WITHDRAW)
            .order_by(SettlementTx.id.desc())
            .limit(100)
        ).all()
        return [_withdrawal_view(ctx, r, m.name if m else "") for r in rows]
