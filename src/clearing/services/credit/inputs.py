"""The score's inputs of the members rescoring assesses: the ledger's one reading, and none for a member just admitted.

Every input (volume, on-time and late settlement, disputes and complaints, drawings of credit
repaid on time or late and defaults, age) comes from
:func:`clearing.adapters.db.credit_inputs.gather_credit_inputs`, the definitions
``docs/credit.md`` gives and the backtest measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from clearing.adapters.db.credit_inputs import gather_credit_inputs
from clearing.domain.credit import CreditInputs


def credit_inputs(
    s: Session, now: datetime, months: int, member_ids: Sequence[int] | None, wanted: Iterable[int]
) -> dict[int, CreditInputs]:
    """Inputs of each member in ``wanted`` over the ``months`` 30-day months ending at ``now``.

    ``member_ids`` is passed to the gatherer as is (None: every member, one set-based read). A member
    admitted at ``now`` itself has no history yet: the gatherer, reading the past, leaves it out, and
    it gets zero volumes and counts at age 0.
    """
    got = gather_credit_inputs(s, member_ids, as_of=now, months=months)
    none = CreditInputs((0,) * months, 0, 0, 0, 0, 0, 0)
    return {m: got.get(m, none) for m in wanted}
