"""Request-level checks of a submission, before any member row is locked.

Who the items name, whether the submitter may submit each, the debtor's
EIP-712 signature, the body hash that makes the client's id an idempotency
key, and ids repeated inside the batch (by the same submitter: an id is
unique per submitting member, so two members' equal ids are two obligations). A member's id, name and address never
change once admitted, so all of this runs on an unlocked read, and the locks
that follow cover only the rules, headroom and the writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_utils.address import is_hex_address, to_checksum_address

from clearing.adapters.db.obligation_store import Party
from clearing.errors import (
    BatchRejected,
    ClearingError,
    InvalidSignature,
    NotAParty,
    ObligationConflict,
    SameMember,
    ServiceUnavailable,
    UnknownMember,
)
from clearing.services.keys import Principal
from clearing.services.signatures import SigningDomain, signed_by
from clearing.services.submission.types import ObligationInput


def body_hash(
    id: str, debtor_address: str, creditor_address: str, amount: int, reference: str, on_behalf_of: str | None
) -> str:
    """Identity of an obligation's content (the signature is not part of it)."""
    text = "\x1f".join(
        (id, debtor_address.lower(), creditor_address.lower(), str(amount), reference, on_behalf_of or "")
    )
    return hashlib.sha256(text.encode()).hexdigest()


#: A problem with one item: (index, obligation id, error).
Problem = tuple[int, str, ClearingError]


@dataclass(slots=True)
class ValidatedBatch:
    """The items with their parties resolved; ``resolved[i]`` is None where item ``i`` has a problem."""

    resolved: list[tuple[Party, Party, str] | None]
    #: (submitting member id, obligation id) -> (index of its first occurrence, body hash)
    first_seen: dict[tuple[int, str], tuple[int, str]] = field(default_factory=dict)
    #: index -> index of the earlier item with the same submitter, id and body (answered alike)
    duplicate_of: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def references(items: Sequence[ObligationInput]) -> tuple[list[str], list[str]]:
    """The member names and checksummed addresses the items name (for one lookup)."""
    refs = {r for it in items for r in (it.debtor, it.creditor)}
    names = [r for r in refs if not r.startswith(("0x", "0X"))]
    addresses: list[str] = [to_checksum_address(r) for r in refs if r.startswith(("0x", "0X")) and is_hex_address(r)]
    return names, addresses


def validate(
    items: Sequence[ObligationInput],
    submitters: Sequence[Principal],
    parties: Sequence[Party],
    domain: SigningDomain | None,
) -> ValidatedBatch:
    """Every item checked; every problem collected (none raised)."""
    by_name = {m.name: m for m in parties}
    by_address = {m.address.lower(): m for m in parties}
    batch = ValidatedBatch(resolved=[])
    for i, it in enumerate(items):
        try:
            debtor, creditor, h = _check(it, submitters[i], by_name, by_address, domain)
            scope = (submitters[i].member_id or 0, it.id)  # submit refuses principals without a member
            seen = batch.first_seen.get(scope)
            if seen is not None:
                if seen[1] != h:
                    raise ObligationConflict(
                        f"obligation id {it.id!r} appears twice in the batch with different bodies",
                        field="id",
                        id=it.id,
                    )
                batch.duplicate_of[i] = seen[0]
            else:
                batch.first_seen[scope] = (i, h)
            batch.resolved.append((debtor, creditor, h))
        except ClearingError as exc:
            batch.problems.append((i, it.id, exc))
            batch.resolved.append(None)
    return batch


def _resolve(ref: str, by_name: dict[str, Party], by_address: dict[str, Party]) -> Party | None:
    if ref.startswith(("0x", "0X")):
        return by_address.get(ref.lower())
    return by_name.get(ref)


def _check(
    it: ObligationInput,
    submitter: Principal,
    by_name: dict[str, Party],
    by_address: dict[str, Party],
    domain: SigningDomain | None,
) -> tuple[Party, Party, str]:
    debtor = _resolve(it.debtor, by_name, by_address)
    creditor = _resolve(it.creditor, by_name, by_address)
    if debtor is None:
        raise UnknownMember(f"unknown member {it.debtor!r}", field="debtor", member=it.debtor)
    if creditor is None:
        raise UnknownMember(f"unknown member {it.creditor!r}", field="creditor", member=it.creditor)
    if debtor.id == creditor.id:
        raise SameMember("debtor and creditor are the same member", field="creditor", member=debtor.name)
    if submitter.member_id not in (debtor.id, creditor.id):
        raise NotAParty(
            f"obligation {it.id!r}: the submitting member is neither its debtor nor its creditor", field="debtor"
        )
    if it.signature is not None or submitter.member_id != debtor.id:
        _check_signature(it, debtor, creditor, domain)
    return (
        debtor,
        creditor,
        body_hash(it.id, debtor.address, creditor.address, it.amount, it.reference, it.on_behalf_of),
    )


def _check_signature(it: ObligationInput, debtor: Party, creditor: Party, domain: SigningDomain | None) -> None:
    """A creditor submits only with the debtor's EIP-712 signature; a signature given is always checked."""
    if it.signature is None:
        raise InvalidSignature(
            f"obligation {it.id!r}: a creditor may submit only with the debtor's EIP-712 signature", field="signature"
        )
    if domain is None:
        raise ServiceUnavailable(
            "signatures cannot be checked: no verifying contract configured (chain.verifying_contract or a deployment)",
            field="signature",
        )
    if not signed_by(
        domain,
        it.signature,
        id=it.id,
        debtor=debtor.address,
        creditor=creditor.address,
        amount=it.amount,
        reference=it.reference,
        on_behalf_of=it.on_behalf_of,
    ):
        raise InvalidSignature(
            f"obligation {it.id!r}: signature is not the debtor's ({debtor.address}) over this obligation",
            field="signature",
        )


def raise_problems(problems: list[Problem], *, batch: bool) -> None:
    """A single submission raises its problem; a batch raises one :class:`BatchRejected` listing every bad item."""
    problems.sort(key=lambda p: p[0])
    if not batch:
        raise problems[0][2]
    items: list[dict[str, object]] = [
        {
            "index": i,
            "id": oid,
            "code": e.code,
            "field": f"items[{i}].{e.field}" if e.field else f"items[{i}]",
            "detail": e.message,
        }
        for i, oid, e in problems
    ]
    raise BatchRejected(
        f"{len(problems)} item(s) of the batch are invalid; nothing was recorded",
        items=items,
        all_conflicts=all(isinstance(e, ObligationConflict) for _, _, e in problems),
        field="items",
    )
