"""Disputes of obligations and complaints against members: parties file and read, the operator resolves."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, status

from clearing.api.deps import ContextDep, CurrentMember, Operator, PrincipalDep
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.disputes import (
    ComplaintIn,
    ComplaintOut,
    DisputeIn,
    DisputeOut,
    ResolveComplaintIn,
    ResolveDisputeIn,
)
from clearing.api.schemas.text import MemberNameParam, ObligationIdParam, RowId, SubmitterParam
from clearing.services import complaints, disputes

router = APIRouter()

_LIST_LIMIT = Query(500, ge=1, le=1000, description="At most this many, newest first")
_MEMBER = Query(None, description="Operators and auditors: only this member's (filed by it or against it); "
                "a member key always reads its own")  # fmt: skip


@router.post(
    "/obligations/{obligation_id}/disputes",
    response_model=DisputeOut,
    status_code=status.HTTP_201_CREATED,
    tags=["disputes"],
    summary="Dispute one of your obligations (debtor or creditor), with a reason",
    description=(
        "Before its cycle's cut-off the obligation is held (a hold with rule `dispute` names the dispute) "
        "until the operator resolves it; once settled, an upheld dispute records a reversing obligation for "
        "the next cycle. 409 `dispute-open` while another dispute of it is open; 409 `not-disputable` when "
        "it is past its cut-off but not settled, or annulled. Someone else's obligation is 404. Ids are unique "
        "per submitting member: the id names your own submission with it, else the one your counterparty "
        "submitted (`submitter` names which where several did), as `GET /obligations/{id}` finds it."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def file_dispute(
    obligation_id: ObligationIdParam,
    body: DisputeIn,
    ctx: ContextDep,
    me: CurrentMember,
    submitter: SubmitterParam | None = None,
) -> DisputeOut:
    return DisputeOut.model_validate(disputes.file(ctx, me, obligation_id, reason=body.reason, submitter=submitter))


@router.get(
    "/disputes",
    response_model=list[DisputeOut],
    tags=["disputes"],
    summary="Disputes: a member's own (filed and against it); operators and auditors all",
    responses=problem_responses(401),
)
def list_disputes(
    ctx: ContextDep,
    who: PrincipalDep,
    state: Literal["open", "upheld", "rejected", "all"] = Query("all"),
    member: MemberNameParam | None = _MEMBER,
    limit: int = _LIST_LIMIT,
) -> list[DisputeOut]:
    rows = disputes.list_disputes(ctx, who, state=None if state == "all" else state, member=member, limit=limit)
    return [DisputeOut.model_validate(r) for r in rows]


@router.get(
    "/disputes/{dispute_id}",
    response_model=DisputeOut,
    tags=["disputes"],
    summary="One dispute (members: one they filed or that is against them)",
    responses=problem_responses(401, 404),
)
def get_dispute(dispute_id: RowId, ctx: ContextDep, who: PrincipalDep) -> DisputeOut:
    return DisputeOut.model_validate(disputes.get(ctx, who, dispute_id))


@router.post(
    "/disputes/{dispute_id}/resolve",
    response_model=DisputeOut,
    tags=["disputes"],
    summary="Uphold or reject an open dispute, with a reason (audited)",
    description=(
        "Pre-close: upheld, the obligation is rejected (cancelled if the house had taken it on) and never "
        "settles; rejected, its hold is released and it goes back to netting after the headroom check. "
        "Post-settlement: upheld, a reversing obligation (creditor owes debtor the amount) is recorded for the "
        "next cycle; rejected, nothing moves. The same decision again answers the dispute as it stands; the "
        "other decision is 409."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def resolve_dispute(dispute_id: RowId, body: ResolveDisputeIn, ctx: ContextDep, op: Operator) -> DisputeOut:
    return DisputeOut.model_validate(disputes.resolve(ctx, op, dispute_id, decision=body.decision, reason=body.reason))


@router.post(
    "/complaints",
    response_model=ComplaintOut,
    status_code=status.HTTP_201_CREATED,
    tags=["complaints"],
    summary="Complain about a member you have traded with, with a reason",
    description=(
        "`against` must share an obligation with you (403 `not-a-counterparty` otherwise); `obligation_id`, "
        "if given, must be one between you two: your own submission with that id, else the one `against` "
        "submitted."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def file_complaint(body: ComplaintIn, ctx: ContextDep, me: CurrentMember) -> ComplaintOut:
    done = complaints.file(ctx, me, against=body.against, reason=body.reason, obligation_id=body.obligation_id)
    return ComplaintOut.model_validate(done)


@router.get(
    "/complaints",
    response_model=list[ComplaintOut],
    tags=["complaints"],
    summary="Complaints: a member's own (filed and against it); operators and auditors all",
    responses=problem_responses(401),
)
def list_complaints(
    ctx: ContextDep,
    who: PrincipalDep,
    state: Literal["open", "validated", "dismissed", "all"] = Query("all"),
    member: MemberNameParam | None = _MEMBER,
    limit: int = _LIST_LIMIT,
) -> list[ComplaintOut]:
    rows = complaints.list_complaints(ctx, who, state=None if state == "all" else state, member=member, limit=limit)
    return [ComplaintOut.model_validate(r) for r in rows]


@router.get(
    "/complaints/{complaint_id}",
    response_model=ComplaintOut,
    tags=["complaints"],
    summary="One complaint (members: one they filed or that is against them)",
    responses=problem_responses(401, 404),
)
def get_complaint(complaint_id: RowId, ctx: ContextDep, who: PrincipalDep) -> ComplaintOut:
    return ComplaintOut.model_validate(complaints.get(ctx, who, complaint_id))


@router.post(
    "/complaints/{complaint_id}/resolve",
    response_model=ComplaintOut,
    tags=["complaints"],
    summary="Validate or dismiss an open complaint, with a reason (audited)",
    description="A validated complaint counts in the member's credit score; a dismissed one does not. The same "
    "decision again answers the complaint as it stands; the other decision is 409.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def resolve_complaint(complaint_id: RowId, body: ResolveComplaintIn, ctx: ContextDep, op: Operator) -> ComplaintOut:
    done = complaints.resolve(ctx, op, complaint_id, decision=body.decision, reason=body.reason)
    return ComplaintOut.model_validate(done)
