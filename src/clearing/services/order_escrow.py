"""Tier-C orders: each obligation of a tier-C debtor is prepaid into its own escrow, from the debtor's wallet.

The order id is the obligation's key, the one its Merkle leaf would use:
``keccak256(abi.encode(address submitter, string id))``, or ``keccak256`` of
the UTF-8 id for obligations recorded before ids were scoped to their
submitter (``escrow_outcome.order_id``, the one place it is read). An
obligation is named by its id and, where several members used that id, its
submitter (:mod:`clearing.services.obligation_lookup`). Funding is the
debtor's own pair of transactions: ``approve`` of the escrow on the token
(only when the allowance is short), then
``fund(orderId, creditor, amount, disputeWindow)`` with the house's dispute
window. After that each party acts as the contract allows:

========  ========================  =============================================
action    who                       effect
========  ========================  =============================================
release   debtor, operator          pay the creditor (all that remains, or part)
refund    creditor, operator        return to the debtor (all, or part)
dispute   debtor, before deadline   stop claims until the operator rules
resolve   operator, if disputed     split what remains between the two; closes
claim     anyone, after deadline    pay the creditor all that remains; closes
========  ========================  =============================================

A member's action is answered with the unsigned transaction for its own
wallet (the house never moves a member's funds); the operator's is sent by
the house as an operator action (audited, keyed by request id, through the
outbox). Chain sync records the obligation ``settled`` or ``refunded`` when
the order closes, if the order on chain is this obligation's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import UnsignedTx
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.chain.escrow_client import OrderState
from clearing.adapters.db.models import Member, Obligation
from clearing.domain.vocabulary import Role, Route
from clearing.errors import Conflict, Forbidden, ValidationError
from clearing.services import chain_sync, obligation_lookup, operator_actions, outbox
from clearing.services.context import ServiceContext
from clearing.services.escrow_outcome import ORDER_CLOSED, order_id
from clearing.services.keys import Principal
from clearing.services.operator_actions import ActionView, Call, Subject
from clearing.services.outbox import json_args

ORDER_ACTIONS = (outbox.ORDER_RELEASE, outbox.ORDER_REFUND, outbox.ORDER_RESOLVE, outbox.ORDER_CLAIM)
#: IOrderEscrow.OrderStatus, as this API names it.
STATES = {0: "unfunded", 1: "funded", 2: "disputed", ORDER_CLOSED: "closed"}
#: Who may ask for each action (the contract's rules, by the caller's part in the order).
WHO = {
    "release": ("debtor", "operator"),
    "refund": ("creditor", "operator"),
    "dispute": ("debtor",),
    "resolve": ("operator",),
    "claim": ("debtor", "creditor", "operator"),
}
_KIND = {
    "release": outbox.ORDER_RELEASE,
    "refund": outbox.ORDER_REFUND,
    "resolve": outbox.ORDER_RESOLVE,
    "claim": outbox.ORDER_CLAIM,
}


@dataclass(frozen=True, slots=True)
class OrderView:
    obligation_id: str
    #: Name of the member that submitted the obligation (ids are unique per submitter).
    submitter: str
    order_id: str
    debtor: str
    creditor: str
    debtor_address: str
    creditor_address: str
    amount: int
    #: The obligation's ledger status (escrow until the order closes, then settled or refunded).
    status: str
    #: unfunded | funded | disputed | closed, or mismatch: the order id was funded for another order.
    state: str
    #: The dispute window the debtor funds with (seconds).
    dispute_window: int
    #: Unix seconds: disputes before it, claims from it (0 while unfunded).
    dispute_deadline: int
    remaining: int
    released: int
    refunded: int
    #: While unfunded: the debtor's transactions, in order (approve if needed, then fund).
    funding: tuple[UnsignedTx, ...]
    actions: tuple[ActionView, ...]


@dataclass(frozen=True, slots=True)
class OrderActionResult:
    order: OrderView
    #: A member's action: the transaction for its own wallet.
    transaction: UnsignedTx | None = None
    #: The operator's action, sent by the house.
    action: ActionView | None = None


@dataclass(frozen=True, slots=True)
class _Order:
    """An obligation's order, as the ledger and the chain hold it."""

    ob: Obligation
    names: dict[int, str]
    addresses: dict[int, str]
    oid: bytes
    chain: OrderState

    @property
    def debtor(self) -> str:
        return self.addresses[self.ob.debtor_id]

    @property
    def creditor(self) -> str:
        return self.addresses[self.ob.creditor_id]

    @property
    def state(self) -> str:
        if self.chain.status == 0:
            return "unfunded"
        same = (self.chain.debtor, self.chain.creditor, self.chain.amount) == (
            self.debtor,
            self.creditor,
            self.ob.amount,
        )
        return STATES[self.chain.status] if same else "mismatch"


def _contracts(ctx: ServiceContext) -> Contracts:
    return operator_actions.require_chain(ctx)


def _load(
    s: Session, c: Contracts, principal: Principal, obligation_id: str, submitter: str | None, *, lock: bool = False
) -> _Order:
    """The caller's tier-C obligation and its order; 404 for a member that is not a party (no existence leak)."""
    ob = obligation_lookup.find(s, principal, obligation_id, submitter, field="obligation_id", lock=lock)
    if ob.route != Route.ESCROW:
        raise Conflict(
            f"obligation {obligation_id!r} is netted in cycles, not prepaid into an order escrow (tier C only)",
            field="obligation_id",
        )
    rows = s.execute(
        select(Member.id, Member.name, Member.address).where(Member.id.in_((ob.debtor_id, ob.creditor_id)))
    )  # the submitter is one of the two
    names, addresses = {}, {}
    for mid, name, address in rows:
        names[mid], addresses[mid] = name, address
    oid = order_id(ob)
    return _Order(ob=ob, names=names, addresses=addresses, oid=oid, chain=c.escrow.order(oid))


def _funding(ctx: ServiceContext, c: Contracts, o: _Order) -> tuple[UnsignedTx, ...]:
    if o.state != "unfunded":
        return ()
    txs = []
    if c.token.allowance(o.debtor, c.escrow.address) < o.ob.amount:
        txs.append(c.token.unsigned("approve", c.escrow.address, o.ob.amount, sender=o.debtor))
    window = ctx.settings.escrow.dispute_window_seconds
    txs.append(c.escrow.unsigned("fund", o.oid, o.creditor, o.ob.amount, window, sender=o.debtor))
    return tuple(txs)


def _view(ctx: ServiceContext, s: Session, c: Contracts, o: _Order) -> OrderView:
    actions = operator_actions.rows_of(s, _subject(o.ob))
    return OrderView(
        obligation_id=o.ob.id,
        submitter=o.names[o.ob.submitted_by],
        order_id="0x" + o.oid.hex(),
        debtor=o.names[o.ob.debtor_id],
        creditor=o.names[o.ob.creditor_id],
        debtor_address=o.debtor,
        creditor_address=o.creditor,
        amount=o.ob.amount,
        status=o.ob.status,
        state=o.state,
        dispute_window=ctx.settings.escrow.dispute_window_seconds,
        dispute_deadline=o.chain.dispute_deadline,
        remaining=o.chain.remaining,
        released=o.chain.released,
        refunded=o.chain.refunded,
        funding=_funding(ctx, c, o),
        actions=tuple(operator_actions.view_of(r) for r in actions),
    )


def _subject(ob: Obligation) -> Subject:
    return Subject(kinds=ORDER_ACTIONS, obligation_id=ob.id, obligation_key=ob.obligation_key, member_id=ob.debtor_id)


def get(ctx: ServiceContext, principal: Principal, obligation_id: str, submitter: str | None = None) -> OrderView:
    """The order of a tier-C obligation: its state on chain, and the funding transactions while unfunded.

    ``submitter`` (member name or address) names whose ``obligation_id`` it is where several members used it.
    """
    c = _contracts(ctx)
    with ctx.uow(read_only=True) as uow:
        return _view(ctx, uow.session, c, _load(uow.session, c, principal, obligation_id, submitter))


def _part(principal: Principal, o: _Order) -> str:
    if principal.role == Role.OPERATOR:
        return "operator"
    if principal.member_id == o.ob.debtor_id:
        return "debtor"
    if principal.member_id == o.ob.creditor_id:
        return "creditor"
    return str(principal.role)


def _call(action: str, o: _Order, now: int, amount: int | None, split: tuple[int, int] | None) -> Call:
    """The contract call of ``action`` on the order as it stands; refuses what the contract would refuse."""
    state, chain = o.state, o.chain
    if state in ("unfunded", "closed", "mismatch"):
        why = {
            "unfunded": "is not funded yet: the debtor funds it first (GET .../escrow lists the transactions)",
            "closed": "is closed: nothing remains in it",
            "mismatch": "on chain was funded with another debtor, creditor or amount than this obligation",
        }[state]
        raise Conflict(f"order {o.ob.id!r} {why}", field="obligation_id", state=state)
    args: list[Any] = [o.oid]
    expect: dict[str, Any] = {"closed": "1"}
    if action in ("release", "refund"):
        take = chain.remaining if amount is None else amount
        if take > chain.remaining:
            raise ValidationError(
                f"amount {take} exceeds what remains in the order, {chain.remaining}",
                field="amount",
                available=chain.remaining,
                needed=take,
            )
        args.append(take)
        done_by = chain.released if action == "release" else chain.refunded
        expect = {"released" if action == "release" else "refunded": str(done_by + take)}
    elif action == "dispute":
        if state == "disputed":
            raise Conflict(f"order {o.ob.id!r} is already disputed", field="obligation_id", state=state)
        if now >= chain.dispute_deadline:
            raise Conflict(
                f"the dispute window of order {o.ob.id!r} closed at {chain.dispute_deadline} (chain time {now})",
                field="obligation_id",
                dispute_deadline=chain.dispute_deadline,
            )
        expect = {}
    elif action == "resolve":
        if state != "disputed":
            raise Conflict(f"order {o.ob.id!r} is not disputed: nothing to rule on", field="obligation_id")
        to_creditor, to_debtor = split or (0, 0)
        if to_creditor + to_debtor != chain.remaining:
            raise ValidationError(
                f"a ruling splits exactly what remains, {chain.remaining}: got {to_creditor} + {to_debtor}",
                field="to_creditor",
                remaining=chain.remaining,
            )
        args += [to_creditor, to_debtor]
    elif action == "claim":
        if state == "disputed":
            raise Conflict(f"order {o.ob.id!r} is disputed: the operator rules on it", field="obligation_id")
        if now < chain.dispute_deadline:
            raise Conflict(
                f"order {o.ob.id!r} can be claimed from {chain.dispute_deadline} (chain time {now})",
                field="obligation_id",
                dispute_deadline=chain.dispute_deadline,
            )
    fn = {"resolve": "resolveDispute"}.get(action, action)
    return Call(_KIND.get(action, action), fn, json_args(args), expect)


def act(
    ctx: ServiceContext,
    principal: Principal,
    obligation_id: str,
    action: str,
    *,
    amount: int | None = None,
    split: tuple[int, int] | None = None,
    request_id: str | None = None,
    submitter: str | None = None,
) -> OrderActionResult:
    """``action`` on a tier-C order by whoever the contract allows: a member gets its transaction, the operator's
    is sent. ``amount`` (release, refund; default all that remains), ``split`` (resolve: to creditor, to debtor)."""
    if action not in WHO:
        raise ValidationError(f"unknown action {action!r}", field="action")
    c = _contracts(ctx)
    with ctx.uow(read_only=True) as uow:
        o = _load(uow.session, c, principal, obligation_id, submitter)
        submitter = o.names[o.ob.submitted_by]  # named from here on: later reads find this very obligation
        part = _part(principal, o)
        if part not in WHO[action]:
            raise Forbidden(
                f"only the {' or the '.join(WHO[action])} may {action} an order", field="authorization", action=action
            )
        if part != "operator":
            call = _call(action, o, c.chain.timestamp(), amount, split)
            sender = o.debtor if part == "debtor" else o.creditor
            tx = c.escrow.unsigned(call.fn, *outbox.call_args(call.args), sender=sender)
            return OrderActionResult(order=_view(ctx, uow.session, c, o), transaction=tx)
    view = _operator_act(
        ctx, principal, obligation_id, submitter, action, amount=amount, split=split, request_id=request_id
    )
    chain_sync.sync(ctx.sessions, c)  # records the obligation settled or refunded once the order closes
    return OrderActionResult(order=get(ctx, principal, obligation_id, submitter), action=view)


def _operator_act(
    ctx: ServiceContext,
    principal: Principal,
    obligation_id: str,
    submitter: str,
    action: str,
    *,
    amount: int | None,
    split: tuple[int, int] | None,
    request_id: str | None,
) -> ActionView:
    """The house sends the operator's action: one at a time per order (obligation row locked), keyed by id."""
    if request_id is None and amount is not None:
        raise ValidationError(f"a partial {action} needs an id (the client's idempotency key)", field="id")
    default = f"{action}-all" if action in ("release", "refund") else action  # once per order, naturally
    request_id = operator_actions.check_request_id(request_id or default)
    request: dict[str, Any] = {"action": action}
    if amount is not None:
        request["amount"] = str(amount)
    if split is not None:
        request["to_creditor"], request["to_debtor"] = str(split[0]), str(split[1])
    c = _contracts(ctx)
    with ctx.uow() as uow:
        s = uow.session
        o = _load(s, c, principal, obligation_id, submitter, lock=True)
        subject = _subject(o.ob)
        planned = operator_actions.find(s, subject, request_id, request)
        if planned is None:
            call = _call(action, o, c.chain.timestamp(), amount, split)
            planned = operator_actions.plan(
                s,
                subject,
                request_id=request_id,
                request=request,
                call=call,
                actor=principal.actor,
                action=f"order.{action}",
            )
            uow.commit()
        oid = o.oid
    return operator_actions.send(ctx, c.escrow, planned, outbox.order_action_done(c.escrow, oid, planned.call.expect))
