"""Submitting obligations: one package, one step per module.

``validate`` (request-level checks, no lock) → ``decide`` (risk rules and
headroom under the member locks, no SQL) → the ledger writes
(``clearing.adapters.db.obligation_store``), orchestrated by ``service``;
``history`` keeps each debtor's velocity window, ``queries`` reads
obligations back, ``group_commit`` batches single submissions into one
durable commit.
"""

from clearing.services.submission.group_commit import GroupCommitter
from clearing.services.submission.queries import get, get_any
from clearing.services.submission.service import submit, submit_group
from clearing.services.submission.types import ObligationInput, ObligationView, SubmitResult
from clearing.services.submission.validate import body_hash

__all__ = [
    "GroupCommitter",
    "ObligationInput",
    "ObligationView",
    "SubmitResult",
    "body_hash",
    "get",
    "get_any",
    "submit",
    "submit_group",
]
