"""How merchant credit reads the ledger: lines by (issuer, merchant), what each has used, a merchant's statement.

A line's use is never stored: it is the sum of the issuer's obligations on behalf of the merchant that
the house has taken on (every status but rejected, refunded and cancelled) less the repayments the issuer
recorded. Callers that decide on it (a purchase, a repayment) hold the issuer's member row locked, which
every write that can raise it takes first, so the sum they read cannot move under them.
SQLite stores amounts as decimal text, so there the amounts come back and Python sums them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, insert, select

from clearing.adapters.db.merchant_models import MerchantLine, MerchantPurchase, MerchantRepayment
from clearing.adapters.db.models import Member, Obligation
from clearing.domain.vocabulary import ObligationStatus as S

__all__ = [
    "NOT_COUNTED",
    "LineRow",
    "insert_purchases",
    "lines_for",
    "purchases_of",
    "repayments_of",
    "used",
]

#: Obligations that do not use a line: never taken on (rejected), or given back (refunded, cancelled).
NOT_COUNTED = (S.REJECTED, S.REFUNDED, S.CANCELLED)


class LineRow(NamedTuple):
    id: int
    issuer_id: int
    merchant: str
    signer: str
    limit: int
    status: str


_LINE_COLUMNS = (
    MerchantLine.id,
    MerchantLine.issuer_id,
    MerchantLine.merchant,
    MerchantLine.signer,
    MerchantLine.limit,
    MerchantLine.status,
)


def lines_for(conn: Connection, pairs: Collection[tuple[int, str]]) -> dict[tuple[int, str], LineRow]:
    """The lines named by ``(issuer member id, merchant id)`` pairs (absent pairs name no line)."""
    if not pairs:
        return {}
    q = select(*_LINE_COLUMNS).where(
        MerchantLine.issuer_id.in_(sorted({i for i, _ in pairs})),
        MerchantLine.merchant.in_(sorted({m for _, m in pairs})),
    )
    wanted = set(pairs)
    return {
        (r.issuer_id, r.merchant): r for r in map(LineRow._make, conn.execute(q)) if (r.issuer_id, r.merchant) in wanted
    }


def used(conn: Connection, lines: Iterable[LineRow]) -> dict[int, int]:
    """Line id → purchases taken on minus repayments (two grouped reads, whatever the number of lines)."""
    lines = list(lines)
    if not lines:
        return {}
    by_pair = {(ln.issuer_id, ln.merchant): ln.id for ln in lines}
    out = dict.fromkeys(by_pair.values(), 0)
    o, r = Obligation, MerchantRepayment
    mine = (
        o.debtor_id.in_(sorted({ln.issuer_id for ln in lines})),
        o.on_behalf_of.in_(sorted({ln.merchant for ln in lines})),
        o.status.not_in(NOT_COUNTED),
    )
    if conn.dialect.name == "postgresql":  # NUMERIC sums, exact, in SQL
        bought = (
            select(o.debtor_id, o.on_behalf_of, func.sum(o.amount)).where(*mine).group_by(o.debtor_id, o.on_behalf_of)
        )
        paid = select(r.line_id, func.sum(r.amount)).where(r.line_id.in_(sorted(out))).group_by(r.line_id)
    else:
        bought = select(o.debtor_id, o.on_behalf_of, o.amount).where(*mine)
        paid = select(r.line_id, r.amount).where(r.line_id.in_(sorted(out)))
    for debtor_id, merchant, amount in conn.execute(bought):
        line_id = by_pair.get((debtor_id, merchant))
        if line_id is not None:
            out[line_id] += int(amount)
    for line_id, amount in conn.execute(paid):
        out[line_id] -= int(amount)
    return out


def insert_purchases(conn: Connection, rows: list[dict[str, object]]) -> None:
    """``{"obligation_key", "line_id", "signature"}`` of each purchase charged to a line (the caller commits)."""
    if rows:
        conn.execute(insert(MerchantPurchase.__table__), rows)


class PurchaseRow(NamedTuple):
    id: str
    obligation_key: str
    creditor: str
    submitter: str
    amount: int
    reference: str
    status: str
    cycle_id: int | None
    created_at: datetime


def purchases_of(conn: Connection, issuer_id: int, merchant: str, *, limit: int) -> list[PurchaseRow]:
    """The first ``limit`` obligations of ``issuer_id`` on behalf of ``merchant``, oldest first, any status."""
    creditor = Member.__table__.alias("creditor")
    submitter = Member.__table__.alias("submitter")
    o = Obligation
    q = (
        select(
            o.id,
            o.obligation_key,
            creditor.c.name,
            submitter.c.name,
            o.amount,
            o.reference,
            o.status,
            o.cycle_id,
            o.created_at,
        )  # fmt: skip
        .join(creditor, creditor.c.id == o.creditor_id)
        .join(submitter, submitter.c.id == o.submitted_by)
        .where(o.debtor_id == issuer_id, o.on_behalf_of == merchant)
        .order_by(o.created_at, o.obligation_key)
        .limit(limit)
    )
    return [PurchaseRow._make(r) for r in conn.execute(q)]


class RepaymentRow(NamedTuple):
    repayment_id: str
    amount: int
    reference: str
    created_at: datetime


def repayments_of(conn: Connection, line_id: int, *, limit: int) -> list[RepaymentRow]:
    """The first ``limit`` repayments of a line, oldest first."""
    r = MerchantRepayment
    q = (
        select(r.repayment_id, r.amount, r.reference, r.created_at)
        .where(r.line_id == line_id)
        .order_by(r.created_at, r.id)
        .limit(limit)
    )
    return [RepaymentRow._make(row) for row in conn.execute(q)]
