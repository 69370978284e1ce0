"""Merchant credit across platforms: the lines a platform grants its merchants, their use, repayments, statements.

Platform B (a member) grants its merchant M a line: B's merchant id for M (what purchases name in
``on_behalf_of``), M's signing address (M's key, registered by B), a limit, and a status. Every grant or
change carries B's EIP-712 signature over ``MerchantLine(address issuer,string merchant,address signer,
uint256 limit,uint256 nonce)`` under the obligations' domain, checked against B's registered address (the
key its obligations are signed with); the nonce must rise with each change, so an old grant cannot be
replayed, and the same signed body sent again answers the line as it stands (``replayed``).

When M buys on platform A, A submits ``B owes A`` on behalf of M with M's signature
(:mod:`clearing.services.submission.merchant` charges it to the line under B's row lock). B records what
M paid back (``repay``, idempotent by B's repayment id), which frees the line. Every write here takes B's
member row lock first, the lock submission takes, so a line's use never moves under a decision.

B's exposure to its merchants is B's own debt as debtor: it counts in B's headroom like any obligation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eth_utils.address import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db import merchant_store as store
from clearing.adapters.db.merchant_models import MerchantLine, MerchantLineGrant, MerchantRepayment
from clearing.adapters.db.models import Member
from clearing.adapters.db.reservations import lock_members
from clearing.domain.vocabulary import MerchantLineStatus, Role
from clearing.errors import (
    Conflict,
    Forbidden,
    InvalidSignature,
    IssuerRequired,
    MerchantLineNonce,
    NotFound,
    RepaymentAboveUsed,
    ServiceUnavailable,
)
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.signatures import merchant_line_digest, signed_by_address

__all__ = ["GrantResult", "LineView", "StatementEntry", "StatementView", "get", "grant", "list_lines", "repay"]


@dataclass(frozen=True, slots=True)
class LineView:
    issuer: str
    merchant: str
    signer: str
    limit: int
    used: int
    available: int
    status: str
    nonce: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GrantResult:
    created: bool
    replayed: bool
    line: LineView


@dataclass(frozen=True, slots=True)
class StatementEntry:
    #: purchase or repayment.
    kind: str
    #: The purchase's obligation id (its submitter's), or the repayment's id.
    id: str
    at: datetime
    amount: int
    reference: str
    #: Purchases: the platform the merchant bought from, who submitted it, its status, key and cycle.
    creditor: str | None = None
    submitter: str | None = None
    status: str | None = None
    obligation_key: str | None = None
    cycle_id: int | None = None


@dataclass(frozen=True, slots=True)
class StatementView:
    line: LineView
    entries: list[StatementEntry]
    offset: int
    #: Where the next page starts (None: this is the last).
    next_offset: int | None


@dataclass(frozen=True, slots=True)
class RepaymentResult:
    replayed: bool
    id: str
    amount: int
    reference: str
    created_at: datetime
    line: LineView


# --------------------------------------------------------------------------- granting and changing


def grant(
    ctx: ServiceContext,
    who: Principal,
    *,
    merchant: str,
    signer: str,
    limit: int,
    nonce: int,
    signature: str,
) -> GrantResult:
    """Grant (or change) the calling member's line for ``merchant``, signed by the member's registered key."""
    issuer_id = _member_id(who)
    signer = to_checksum_address(signer)
    if ctx.signing_domain is None:
        raise ServiceUnavailable("signatures cannot be checked: no verifying contract configured", field="signature")
    with ctx.uow() as uow:
        s = uow.session
        issuer = lock_members(s, [issuer_id])[issuer_id]
        digest = merchant_line_digest(ctx.signing_domain, issuer.address, merchant, signer, limit, nonce)
        if not signed_by_address(digest, signature, issuer.address):
            raise InvalidSignature(
                f"signature is not {issuer.name}'s ({issuer.address}) over MerchantLine(issuer, merchant, signer, "
                "limit, nonce) as sent",
                field="signature",
            )
        line = _line(s, issuer_id, merchant, missing_ok=True)
        now = ctx.clock()
        created = line is None
        if line is None:
            line = MerchantLine(
                issuer_id=issuer_id,
                merchant=merchant,
                signer=signer,
                limit=limit,
                status=MerchantLineStatus.ACTIVE,
                nonce=nonce,
                created_at=now,
                updated_at=now,
            )
            s.add(line)
            s.flush()
        else:
            done = s.scalars(
                select(MerchantLineGrant).where(MerchantLineGrant.line_id == line.id, MerchantLineGrant.nonce == nonce)
            ).first()
            if done is not None:
                if (done.signer, done.limit) != (signer, limit):
                    raise MerchantLineNonce(
                        f"nonce {nonce} of {merchant!r} was signed for another line; sign a change with a nonce "
                        f"above {line.nonce}",
                        field="nonce",
                        nonce=nonce,
                        current=line.nonce,
                    )
                return GrantResult(created=False, replayed=True, line=_views(s, issuer.name, [line])[0])
            if nonce <= line.nonce:
                raise MerchantLineNonce(
                    f"nonce {nonce} is not above {merchant!r}'s newest ({line.nonce}): an older grant cannot be "
                    "replayed",
                    field="nonce",
                    nonce=nonce,
                    current=line.nonce,
                )
            line.signer, line.limit, line.nonce, line.updated_at = signer, limit, nonce, now
        s.add(MerchantLineGrant(line_id=line.id, nonce=nonce, signer=signer, limit=limit, signature=signature))
        s.flush()
        view = _views(s, issuer.name, [line])[0]
        uow.commit()
    return GrantResult(created=created, replayed=False, line=view)


def set_status(ctx: ServiceContext, who: Principal, merchant: str, status: str) -> LineView:
    """Freeze a line (purchases refused, nothing else changes) or make it active again; the member's own lines."""
    issuer_id = _member_id(who)
    with ctx.uow() as uow:
        s = uow.session
        issuer = lock_members(s, [issuer_id])[issuer_id]
        line = _line(s, issuer_id, merchant)
        if line.status != status:
            line.status, line.updated_at = MerchantLineStatus(status), ctx.clock()
        s.flush()
        view = _views(s, issuer.name, [line])[0]
        uow.commit()
    return view


def repay(
    ctx: ServiceContext, who: Principal, merchant: str, *, repayment_id: str, amount: int, reference: str = ""
) -> RepaymentResult:
    """Record what ``merchant`` paid back to the calling member; idempotent by ``repayment_id``."""
    issuer_id = _member_id(who)
    with ctx.uow() as uow:
        s = uow.session
        issuer = lock_members(s, [issuer_id])[issuer_id]
        line = _line(s, issuer_id, merchant)
        r = MerchantRepayment
        done = s.scalars(select(r).where(r.line_id == line.id, r.repayment_id == repayment_id)).first()
        if done is not None:
            if (done.amount, done.reference) != (amount, reference):
                raise Conflict(
                    f"you already recorded repayment {repayment_id!r} with another amount or reference",
                    field="id",
                    id=repayment_id,
                )
            view = _views(s, issuer.name, [line])[0]
            return RepaymentResult(True, done.repayment_id, done.amount, done.reference, done.created_at, view)
        owed = store.used(s.connection(), [_row(line)])[line.id]
        if amount > owed:
            raise RepaymentAboveUsed(
                f"{amount} is more than merchant {merchant!r} owes on its line ({owed})",
                field="amount",
                amount=amount,
                used=owed,
            )
        row = MerchantRepayment(
            line_id=line.id, repayment_id=repayment_id, amount=amount, reference=reference, created_at=ctx.clock()
        )
        s.add(row)
        s.flush()
        view = _views(s, issuer.name, [line])[0]
        uow.commit()
    return RepaymentResult(False, repayment_id, amount, reference, row.created_at, view)


# --------------------------------------------------------------------------- reading


def list_lines(ctx: ServiceContext, who: Principal, member: str | None = None) -> list[LineView]:
    """A member's own lines; an operator's: every member's, or ``member``'s."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        q = select(MerchantLine, Member.name).join(Member, Member.id == MerchantLine.issuer_id)
        if who.role == Role.MEMBER:
            q = q.where(MerchantLine.issuer_id == _member_id(who))
        elif member is not None:
            q = q.where(MerchantLine.issuer_id == _member_by_name(s, member).id)
        rows = s.execute(q.order_by(Member.name, MerchantLine.merchant)).all()
        used = store.used(s.connection(), [_row(line) for line, _ in rows])
        return [_view(line, name, used[line.id]) for line, name in rows]


def get(ctx: ServiceContext, who: Principal, merchant: str, member: str | None = None) -> LineView:
    """One line: a member's own; an operator names the issuing ``member``."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        issuer_id, name = _issuer(s, who, member)
        return _views(s, name, [_line(s, issuer_id, merchant)])[0]


def statement(
    ctx: ServiceContext, who: Principal, merchant: str, member: str | None = None, *, offset: int = 0, limit: int = 50
) -> StatementView:
    """The merchant's purchases at every creditor platform and its repayments, oldest first, one page."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        issuer_id, name = _issuer(s, who, member)
        line = _line(s, issuer_id, merchant)
        conn = s.connection()
        # Each source's first offset+limit+1 entries hold the merged page and tell whether another follows.
        n = offset + limit + 1
        entries = [
            StatementEntry(
                "purchase",
                p.id,
                p.created_at,
                p.amount,
                p.reference,
                p.creditor,
                p.submitter,
                p.status,
                p.obligation_key,
                p.cycle_id,
            )  # fmt: skip
            for p in store.purchases_of(conn, issuer_id, merchant, limit=n)
        ]
        entries += [
            StatementEntry("repayment", r.repayment_id, r.created_at, r.amount, r.reference)
            for r in store.repayments_of(conn, line.id, limit=n)
        ]
        entries.sort(key=lambda e: (e.at, e.kind, e.id))
        page = entries[offset : offset + limit]
        more = len(entries) > offset + limit
        return StatementView(_views(s, name, [line])[0], page, offset, offset + limit if more else None)


# --------------------------------------------------------------------------- helpers


def _member_id(who: Principal) -> int:
    if who.member_id is None:
        raise Forbidden("only the platform that grants a line (a member key) may change it", field="authorization")
    return who.member_id


def _member_by_name(s: Session, name: str) -> Member:
    m = s.scalars(select(Member).where(Member.name == name)).first()
    if m is None:
        raise NotFound(f"no member {name!r}", field="member", member=name)
    return m


def _issuer(s: Session, who: Principal, member: str | None) -> tuple[int, str]:
    """The issuing member whose line is read: the caller itself, or the one an operator names."""
    if who.role == Role.MEMBER:
        assert who.member_id is not None and who.member_name is not None
        return who.member_id, who.member_name
    if member is None:
        raise IssuerRequired("name the issuing member (member=...): merchant ids are unique per member", field="member")
    m = _member_by_name(s, member)
    return m.id, m.name


def _line(s: Session, issuer_id: int, merchant: str, *, missing_ok: bool = False) -> MerchantLine:
    line = s.scalars(
        select(MerchantLine).where(MerchantLine.issuer_id == issuer_id, MerchantLine.merchant == merchant)
    ).first()
    if line is None and not missing_ok:
        raise NotFound(f"no credit line for merchant {merchant!r}", field="merchant", merchant=merchant)
    return line  # type: ignore[return-value]


def _row(line: MerchantLine) -> store.LineRow:
    return store.LineRow(line.id, line.issuer_id, line.merchant, line.signer, line.limit, line.status)


def _view(line: MerchantLine, issuer: str, used: int) -> LineView:
    return LineView(
        issuer=issuer,
        merchant=line.merchant,
        signer=line.signer,
        limit=line.limit,
        used=used,
        available=max(0, line.limit - used),
        status=line.status,
        nonce=line.nonce,
        created_at=line.created_at,
        updated_at=line.updated_at,
    )


def _views(s: Session, issuer: str, lines: list[MerchantLine]) -> list[LineView]:
    used = store.used(s.connection(), [_row(line) for line in lines])
    return [_view(line, issuer, used[line.id]) for line in lines]
