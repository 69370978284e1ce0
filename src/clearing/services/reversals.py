"""The reversing obligation of an upheld post-settlement dispute: the creditor owes the debtor the same amount.

It is recorded as submission records an obligation, minus the request-level
checks and the risk rules (the operator ordered it, there is no request to
check and nothing to hold for review):

* under both members' row locks, the debtor's headroom decides its status as
  at submission: ``accepted``, ``queued_beyond_headroom`` (with the
  shortfall; liquidity-saving settles it when it can) or ``escrow`` for a
  tier-C debtor, which prepays each order;
* the reserved sums move with that status and the debtor's next
  ``debtor_seq`` numbers it, so headroom and every process's velocity window
  see it (``adapters/db/reservations.py``, ``services/submission/history.py``);
* the member that filed the dispute submits it, so ids stay scoped to their
  submitter: its id is :func:`reversal_id` (``dispute-7-reversal``),
  printable ASCII without spaces like every obligation id, so every route
  and tool takes it, and its key is the filer's
  :func:`~clearing.domain.merkle.obligation_key` of that id, as submission
  computes it. Only the filer's own ids can collide with it: should the
  filer already have used that id, the next free ``-2``, ``-3``, ... is
  taken. A resolution never records two: the caller holds the dispute row
  locked and records the key on it in the same transaction (a retried
  resolution finds it there).

The next cut-off takes it like any accepted obligation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db import obligation_store as store
from clearing.adapters.db.models import Obligation
from clearing.adapters.db.obligation_store import ObligationRow
from clearing.adapters.db.reservations import lock_members, write_reserved
from clearing.domain.headroom import liquidity_of, reservation_delta
from clearing.domain.merkle import obligation_key
from clearing.domain.risk import settlement_route
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.domain.vocabulary import Route
from clearing.services.submission.validate import body_hash


def reversal_id(dispute_id: int, attempt: int = 1) -> str:
    """The reversing obligation's id: derived from the dispute; ``attempt`` > 1 when the filer had used the first.

    >>> reversal_id(7), reversal_id(7, 2)
    ('dispute-7-reversal', 'dispute-7-reversal-2')
    """
    return f"dispute-{dispute_id}-reversal" + (f"-{attempt}" if attempt > 1 else "")


def reverse(s: Session, original: Obligation, *, dispute_id: int, submitted_by: int, now: datetime) -> str:
    """Record the obligation reversing ``original`` in the caller's transaction; returns its ``obligation_key``.

    ``submitted_by``: the member whose dispute asked for it (a party of ``original``, so of the reversal
    too). The caller holds the dispute locked and calls this once per dispute. The same id submitted by
    that member meanwhile fails the insert (``IntegrityError``): the caller retries its transaction and
    this then takes the next id.
    """
    debtor_id, creditor_id, amount = original.creditor_id, original.debtor_id, original.amount
    members = lock_members(s, [debtor_id, creditor_id])
    debtor, creditor = members[debtor_id], members[creditor_id]
    first = reversal_id(dispute_id)
    taken = select(Obligation.id).where(Obligation.submitted_by == submitted_by, Obligation.id.startswith(first))
    used = set(s.scalars(taken))
    attempt = 1
    while reversal_id(dispute_id, attempt) in used:
        attempt += 1
    oid = reversal_id(dispute_id, attempt)
    filer = members[submitted_by].address
    key = "0x" + obligation_key(filer, oid).hex()
    route = settlement_route(debtor.tier)
    shortfall = None
    if route == Route.ESCROW:
        status = S.ESCROW  # tier C prepays each order from its own wallet: headroom does not limit it
    else:
        room = liquidity_of(debtor).headroom
        status = S.ACCEPTED if amount <= room else S.QUEUED_BEYOND_HEADROOM
        if status == S.QUEUED_BEYOND_HEADROOM:
            shortfall = amount - max(0, room)
    reference = f"reverses {original.id} (dispute {dispute_id})"
    seq = debtor.obligation_seq + 1
    store.insert_obligations(
        s.connection(),
        [
            ObligationRow(
                oid,
                debtor_id,
                creditor_id,
                amount,
                reference,
                original.on_behalf_of,
                submitted_by,
                body_hash(oid, debtor.address, creditor.address, amount, reference, original.on_behalf_of),
                None,
                status,
                route,
                shortfall,
                seq,
                key,
            )  # fmt: skip
        ],
        now,
    )
    d, c = reservation_delta(None, status)
    write_reserved(
        s,
        [
            {"mid": debtor_id, "rd": debtor.reserved_debit + d * amount, "rc": debtor.reserved_credit, "seq": seq},
            {
                "mid": creditor_id,
                "rd": creditor.reserved_debit,
                "rc": creditor.reserved_credit + c * amount,
                "seq": creditor.obligation_seq,
            },
        ],
    )
    store.insert_counterparties(s, {(debtor_id, creditor_id)}, now)
    return key
