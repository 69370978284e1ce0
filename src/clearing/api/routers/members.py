"""Members: ``/members/me`` for a member key; admission, suspension, tiers and limits for operators."""

from __future__ import annotations

from fastapi import APIRouter, status

from clearing.api.deps import ContextDep, CurrentMember, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.members import (
    AdmitIn,
    AdmittedOut,
    CarriedOut,
    InterestOut,
    KeyIn,
    KeyOut,
    LimitsIn,
    LiquidityOut,
    MemberDetailOut,
    MemberOut,
    MeOut,
    StatusIn,
    WithdrawalIn,
    WithdrawalOut,
)
from clearing.api.schemas.text import MemberNameParam
from clearing.services import interest
from clearing.services import members as svc

router = APIRouter(prefix="/members", tags=["members"])


def member_out(v: svc.MemberView) -> MemberOut:
    liq = v.liquidity
    return MemberOut(
        name=v.name,
        address=v.address,
        tier=v.tier,
        tier_reasons=list(v.tier_reasons),
        status=v.status,
        status_reason=v.status_reason,
        credit_line=v.credit_line,
        single_order_limit=v.single_order_limit,
        limit_overrides=v.limit_overrides,
        synced_block=v.synced_block,
        created_at=v.created_at,
        liquidity=LiquidityOut(
            collateral=liq.collateral,
            free_collateral=liq.free_collateral,
            credit_line=liq.credit_line,
            credit_used=liq.credit_used,
            reserved_debit=liq.reserved_debit,
            reserved_credit=liq.reserved_credit,
            reserved_net_debit=liq.reserved_net_debit,
            pending_withdrawal=liq.pending_withdrawal,
            pledged_collateral=liq.pledged_collateral,
            headroom=liq.headroom,
            withdrawable=liq.withdrawable,
        ),
    )


def _interest(ctx: ContextDep, member_id: int) -> InterestOut | None:
    cost = interest.cost_of(ctx, member_id)
    return None if cost is None else InterestOut.model_validate(cost)


@router.get(
    "/me",
    response_model=MeOut,
    summary="Your tier and why, collateral, credit, headroom, positions, top-up",
    responses=problem_responses(401, 403),
)
def me(ctx: ContextDep, me: CurrentMember) -> MeOut:
    o = svc.overview(ctx, me.member_id)  # type: ignore[arg-type]
    return MeOut(
        member=member_out(o.member),
        headroom=o.headroom,
        open_position=o.open_position,
        queued_beyond_headroom=o.queued_beyond_headroom,
        queued_value=o.queued_value,
        held=o.held,
        carried=[CarriedOut.model_validate(c) for c in o.carried],
        carried_value=o.carried_value,
        topup_needed=o.topup_needed,
        interest=_interest(ctx, me.member_id),  # type: ignore[arg-type]
    )


@router.post(
    "/me/withdrawals",
    response_model=WithdrawalOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Withdraw free collateral: the transaction your wallet signs",
    description="Reserves the amount at once (it leaves headroom) and answers with `transaction`: "
    "withdraw(amount, you) on the house, for your own wallet to sign and send (the house never moves your "
    "collateral for you). Chain sync completes it on the `Withdrawn` event: `GET /members/me/withdrawals` then "
    "shows it `mined` with its `tx_hash`. 409 insufficient-headroom names what is withdrawable; with an `id`, "
    "a retry returns the first request.",
    responses=problem_responses(401, 403, 409, 422),
)
def withdraw(body: WithdrawalIn, ctx: ContextDep, me: CurrentMember) -> WithdrawalOut:
    view = svc.request_withdrawal(ctx, me.member_id, body.amount, request_id=body.id)  # type: ignore[arg-type]
    return WithdrawalOut.model_validate(view)


@router.get(
    "/me/withdrawals",
    response_model=list[WithdrawalOut],
    summary="Your recent withdrawals: the transaction to sign, and its state and hash once mined",
    responses=problem_responses(401, 403),
)
def withdrawals(ctx: ContextDep, me: CurrentMember) -> list[WithdrawalOut]:
    return [WithdrawalOut.model_validate(w) for w in svc.list_withdrawals(ctx, me.member_id)]  # type: ignore[arg-type]


@router.get("", response_model=list[MemberOut], summary="All members (operator)", responses=problem_responses(401, 403))
def list_members(ctx: ContextDep, op: Operator) -> list[MemberOut]:
    return [member_out(v) for v in svc.list_members(ctx)]


@router.post(
    "",
    response_model=AdmittedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Admit a member (operator); returns its API key once",
    description="The member starts provisional: the policy's provisional tier (or the tier given, pinned for the "
    "provisional period) and a line bounded by policy and by its collateral, which the score then confirms or "
    "withdraws. See GET /members/{name}/credit.",
    responses=problem_responses(401, 403, 409, 422),
)
def admit(body: AdmitIn, ctx: ContextDep, op: Operator) -> AdmittedOut:
    done = svc.admit(
        ctx,
        op,
        name=body.name,
        address=body.address,
        tier=body.tier,
        credit_line=body.credit_line,
        tier_reasons=body.tier_reasons,
        single_order_limit=body.single_order_limit,
    )
    return AdmittedOut(member=member_out(done.member), api_key=done.api_key)


@router.get(
    "/{name}",
    response_model=MemberDetailOut,
    summary="One member, with what its drawn credit costs it (operator)",
    responses=problem_responses(401, 403, 404),
)
def get_member(name: MemberNameParam, ctx: ContextDep, op: Operator) -> MemberDetailOut:
    view = svc.get(ctx, name)
    return MemberDetailOut(**dict(member_out(view)), interest=_interest(ctx, view.id))


@router.post(
    "/{name}/suspend",
    response_model=MemberOut,
    summary="Suspend a member (operator, audited)",
    description="New obligations of a suspended debtor are held by the member-suspended rule; on chain "
    "it can no longer be debited, so cycles carry its net debits until it is resumed.",
    responses=problem_responses(401, 403, 404, 422),
)
def suspend(name: MemberNameParam, body: StatusIn, ctx: ContextDep, op: Operator) -> MemberOut:
    return member_out(svc.set_status(ctx, op, name, suspended=True, reason=body.reason))


@router.post(
    "/{name}/resume",
    response_model=MemberOut,
    summary="Resume a suspended member (operator, audited)",
    description="409 for a member in default: POST /members/{name}/cure restores it once it has repaid.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def resume(name: MemberNameParam, body: StatusIn, ctx: ContextDep, op: Operator) -> MemberOut:
    return member_out(svc.set_status(ctx, op, name, suspended=False, reason=body.reason))


@router.patch(
    "/{name}/limits",
    response_model=MemberOut,
    summary="Pin tier and line, set limits (operator, audited)",
    description="Tiers and lines follow the credit score: tier and credit_line here pin them as an override until "
    "expires_at (see POST /members/{name}/credit/override). A credit_line above the member's cap (30% of its average "
    "monthly volume, or its provisional bound) is 422 credit-line-above-cap naming credit_line. A line change is "
    "queued for the chain; headroom uses min(ledger line, on-chain limit).",
    responses=problem_responses(401, 403, 404, 422),
)
def set_limits(name: MemberNameParam, body: LimitsIn, ctx: ContextDep, op: Operator) -> MemberOut:
    return member_out(
        svc.set_limits(
            ctx,
            op,
            name,
            tier=body.tier,
            reason=body.reason,
            credit_line=body.credit_line,
            single_order_limit=body.single_order_limit,
            clear_single_order_limit=body.clear_single_order_limit,
            limit_overrides=body.limit_overrides,
            tier_reasons=body.tier_reasons,
            expires_at=body.expires_at,
        )
    )


@router.post(
    "/{name}/keys",
    response_model=KeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue another API key for a member (operator); shown once",
    responses=problem_responses(401, 403, 404),
)
def issue_key(name: MemberNameParam, body: KeyIn, ctx: ContextDep, op: Operator) -> KeyOut:
    return KeyOut(api_key=svc.issue_key(ctx, op, name, body.label))
