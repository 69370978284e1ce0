"""Complaints against counterparties, on each ledger backend (no chain needed: nothing settles)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clearing.adapters.db.models import AuditLog
from clearing.domain.merkle import obligation_key
from clearing.errors import ClearingError, Conflict, NotACounterparty, NotFound, SameMember, UnknownMember
from clearing.services import complaints
from clearing.services import submission as obligations
from clearing.services.context import ServiceContext
from clearing.services.submission import ObligationInput
from tests.conftest import OPERATOR, admit_member, ledger_house


@pytest.fixture
def ctx(db) -> ServiceContext:
    return ledger_house(db)


def test_a_counterparty_complains_and_the_operator_resolves(ctx):
    alpha = admit_member(ctx, "alpha", collateral=10**9).principal
    beta = admit_member(ctx, "beta").principal
    gamma = admit_member(ctx, "gamma").principal
    with pytest.raises(NotACounterparty):  # no obligation between them yet
        complaints.file(ctx, beta, against="alpha", reason="late")
    obligations.submit(ctx, alpha, [ObligationInput(id="o1", debtor="alpha", creditor="beta", amount=5)], batch=False)

    c = complaints.file(ctx, beta, against="alpha", reason="pays late every week")  # as creditor
    assert (c.filed_by, c.against, c.state, c.obligation_id, c.obligation_key) == ("beta", "alpha", "open", None, None)
    c2 = complaints.file(ctx, alpha, against="beta", reason="wrong cards sent", obligation_id="o1")  # as debtor
    assert (c2.obligation_id, c2.obligation_submitter) == ("o1", "alpha")
    assert c2.obligation_key == "0x" + obligation_key(str(alpha.member_address), "o1").hex()

    with pytest.raises(NotACounterparty):
        complaints.file(ctx, gamma, against="alpha", reason="never traded")
    with pytest.raises(NotFound):  # an obligation the complainant is no party to
        complaints.file(ctx, gamma, against="alpha", reason="x", obligation_id="o1")
    with pytest.raises(UnknownMember):
        complaints.file(ctx, beta, against="nobody", reason="x")
    with pytest.raises(SameMember):
        complaints.file(ctx, beta, against="beta", reason="x")
    with pytest.raises(ClearingError, match="operator"):
        complaints.resolve(ctx, beta, c.id, decision="validate", reason="mine")

    done = complaints.resolve(ctx, OPERATOR, c.id, decision="validate", reason="three late payments confirmed")
    assert (done.state, done.resolution, done.resolver) == (
        "validated",
        "three late payments confirmed",
        OPERATOR.actor,
    )
    assert complaints.resolve(ctx, OPERATOR, c.id, decision="validate", reason="again") == done
    with pytest.raises(Conflict, match="already validated"):
        complaints.resolve(ctx, OPERATOR, c.id, decision="dismiss", reason="changed my mind")
    assert complaints.resolve(ctx, OPERATOR, c2.id, decision="dismiss", reason="cards matched").state == "dismissed"

    # Visible to both parties, to no one else; the operator filters.
    assert [v.id for v in complaints.list_complaints(ctx, alpha)] == [c2.id, c.id]
    assert [v.id for v in complaints.list_complaints(ctx, beta, state="validated")] == [c.id]
    assert complaints.list_complaints(ctx, gamma) == []
    with pytest.raises(NotFound):
        complaints.get(ctx, gamma, c.id)
    assert complaints.get(ctx, alpha, c.id).resolution == "three late payments confirmed"
    assert [v.id for v in complaints.list_complaints(ctx, OPERATOR, state="dismissed", member="beta")] == [c2.id]

    with ctx.uow(read_only=True) as uow:
        actions = [
            (a.actor, a.action) for a in uow.session.scalars(select(AuditLog).order_by(AuditLog.id))
            if a.action.startswith("complaint.")
        ]  # fmt: skip
    assert actions == [
        ("member:beta", "complaint.file"),
        ("member:alpha", "complaint.file"),
        (OPERATOR.actor, "complaint.validate"),
        (OPERATOR.actor, "complaint.dismiss"),
    ]


def test_an_obligation_id_names_the_complainants_own_else_the_one_against_submitted(ctx):
    """alpha and gamma each use id "X" with beta; beta names "X" in complaints about each of them."""
    alpha = admit_member(ctx, "alpha", collateral=10**9).principal
    beta = admit_member(ctx, "beta", collateral=10**9).principal
    gamma = admit_member(ctx, "gamma", collateral=10**9).principal
    for p, debtor in ((alpha, "alpha"), (gamma, "gamma")):
        obligations.submit(ctx, p, [ObligationInput(id="X", debtor=debtor, creditor="beta", amount=5)], batch=False)

    about_gamma = complaints.file(ctx, beta, against="gamma", reason="late", obligation_id="X")
    about_alpha = complaints.file(ctx, beta, against="alpha", reason="late", obligation_id="X")
    assert (about_gamma.obligation_submitter, about_alpha.obligation_submitter) == ("gamma", "alpha")
    assert about_gamma.obligation_key != about_alpha.obligation_key
    mine = complaints.file(ctx, alpha, against="beta", reason="wrong cards", obligation_id="X")  # alpha's own
    assert mine.obligation_key == about_alpha.obligation_key
    with pytest.raises(NotACounterparty):  # alpha's own "X" is with beta, not gamma
        complaints.file(ctx, alpha, against="gamma", reason="x", obligation_id="X")
