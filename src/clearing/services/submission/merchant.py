"""Purchases charged to a merchant's line at the debtor (its platform), checked under the debtor's row lock.

When an item's ``on_behalf_of`` names a line the debtor granted (``services/merchants``), the merchant
authorises the purchase: ``merchant_signature`` must be the line signer's EIP-712 signature over the very
Obligation the debtor's would cover; the line must be active; and the amount must fit what the line has
left (limit − used). Items of one call are charged in submission order, so a batch cannot spend the same
room twice, and concurrent calls for the same debtor wait on its row lock, so two calls cannot either.
A ``on_behalf_of`` that names no line is checked for nothing here (as before lines existed).

Each refusal is a problem of its item (the whole call is refused, or only that item in a group commit),
and a refusal for capacity is also reported to the platform as ``merchant.line_exhausted``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from clearing.adapters.db import merchant_store as store
from clearing.adapters.db.merchant_store import LineRow
from clearing.domain.vocabulary import EventType, MerchantLineStatus
from clearing.errors import (
    ClearingError,
    InvalidSignature,
    MerchantLineExhausted,
    MerchantLineFrozen,
    ServiceUnavailable,
)
from clearing.services.signatures import SigningDomain, obligation_digest, signed_by_address
from clearing.services.submission.types import ObligationInput
from clearing.services.submission.validate import ValidatedBatch
from clearing.services.webhooks.publish import Event


@dataclass(slots=True)
class Charges:
    """What a call charges to merchant lines: (submitting member id, obligation id) → line, and refusals to report."""

    lines: dict[tuple[int, str], LineRow] = field(default_factory=dict)
    #: ``merchant.line_exhausted`` events for the issuers of lines a purchase did not fit.
    exhausted: list[Event] = field(default_factory=list)

    def purchase_rows(self, charged: Sequence[tuple[int, ObligationInput, str]]) -> list[dict[str, Any]]:
        """``merchant_purchases`` rows of the recorded items ``(submitter id, item, obligation key)`` on a line."""
        return [
            {"obligation_key": key, "line_id": line.id, "signature": it.merchant_signature}
            for by, it, key in charged
            if (line := self.lines.get((by, it.id))) is not None
        ]


def check(
    conn: Connection,
    items: Sequence[ObligationInput],
    submitters: Sequence[int],
    checked: ValidatedBatch,
    skip: Collection[int],
    domain: SigningDomain | None,
) -> Charges:
    """Charge each item naming a line of its debtor, in order; a refused item's problem joins ``checked.problems``.

    ``submitters[i]`` submitted ``items[i]``; items in ``skip`` (replays, duplicates, items with a problem
    already) are not charged: a replay was charged when first recorded.
    """
    wanted: dict[int, tuple[int, str]] = {}
    for i, it in enumerate(items):
        resolved = checked.resolved[i]
        if it.on_behalf_of is not None and resolved is not None and i not in skip:
            wanted[i] = (resolved[0].id, it.on_behalf_of)
    charges = Charges()
    lines = store.lines_for(conn, set(wanted.values()))
    if not lines:
        return charges
    used = store.used(conn, lines.values())
    room = {ln.id: ln.limit - used[ln.id] for ln in lines.values()}
    for i, pair in wanted.items():
        line = lines.get(pair)
        if line is None:
            continue
        it = items[i]
        problem = _refusal(it, line, checked, i, room[line.id], domain)
        if problem is None:
            room[line.id] -= it.amount
            charges.lines[submitters[i], it.id] = line
            continue
        checked.problems.append((i, it.id, problem))
        if isinstance(problem, MerchantLineExhausted):
            resolved = checked.resolved[i]
            assert resolved is not None
            debtor, creditor, _ = resolved
            data = {
                "merchant": line.merchant,
                "issuer": debtor.name,
                "creditor": creditor.name,
                "obligation_id": it.id,
                "amount": str(it.amount),
                "limit": str(line.limit),
                "available": str(max(0, room[line.id])),
            }
            charges.exhausted.append((EventType.MERCHANT_LINE_EXHAUSTED, data, (debtor.name,)))
    return charges


def _refusal(
    it: ObligationInput, line: LineRow, checked: ValidatedBatch, i: int, room: int, domain: SigningDomain | None
) -> ClearingError | None:
    """Why item ``i`` may not be charged to ``line`` (None: it may)."""
    resolved = checked.resolved[i]
    assert resolved is not None
    debtor, creditor, _ = resolved
    who = f"merchant {line.merchant!r} at {debtor.name}"
    if it.merchant_signature is None:
        return InvalidSignature(
            f"obligation {it.id!r}: on_behalf_of names {who}'s credit line: the merchant's EIP-712 signature "
            "(merchant_signature) is required",
            field="merchant_signature",
        )
    if domain is None:
        return ServiceUnavailable(
            "signatures cannot be checked: no verifying contract configured", field="merchant_signature"
        )
    digest = obligation_digest(
        domain, it.id, debtor.address, creditor.address, it.amount, it.reference, it.on_behalf_of
    )
    if not signed_by_address(digest, it.merchant_signature, line.signer):
        return InvalidSignature(
            f"obligation {it.id!r}: merchant_signature is not {who}'s registered signer ({line.signer}) "
            "over this obligation",
            field="merchant_signature",
        )
    if line.status != MerchantLineStatus.ACTIVE:
        return MerchantLineFrozen(
            f"obligation {it.id!r}: {who}'s credit line is {line.status}",
            field="on_behalf_of",
            merchant=line.merchant,
            issuer=debtor.name,
        )
    if it.amount > room:
        return MerchantLineExhausted(
            f"obligation {it.id!r}: {it.amount} exceeds what {who}'s credit line has left ({max(0, room)})",
            field="amount",
            merchant=line.merchant,
            issuer=debtor.name,
            amount=it.amount,
            available=max(0, room),
        )
    return None
