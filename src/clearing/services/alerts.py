"""Alerts: evaluate every member's rules (and the house's), keep one alert per condition, let people act on them.

:func:`evaluate` gathers every member's inputs in a few grouped queries
(``adapters/db/alert_inputs.py``; headroom from the ledger's mirror as
``domain/headroom.py`` computes it), applies each member's thresholds (its
tier's from ``CLEARING_ALERTS__TIER_*``, its own overrides winning), and in one
transaction opens an alert per new condition, updates the alert of a condition
that still holds (never a second one: the ledger refuses two not-resolved
alerts per member, kind and key), and resolves those whose condition cleared
(acknowledged ones too). Every opened and resolved alert passes through
:func:`_notify`, the one place webhooks are published from.

Members read and acknowledge their own alerts; the operator reads all
(house-level ones too: ``writer_stuck``; ``cover2_uncovered`` from the latest Cover 2 snapshot,
``services/cover2.py``), acknowledges, resolves with a reason, runs an evaluation, and sets a
member's thresholds (all audited).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.alert_inputs import carried_counts, daily_outflows, disabled_endpoints, open_holds
from clearing.adapters.db.cover2_snapshots import latest_snapshot
from clearing.adapters.db.lease import xact_lock
from clearing.adapters.db.member_defaults import active_defaults
from clearing.adapters.db.models import Alert, AlertOverride, Member
from clearing.domain.alerts import (
    MEMBER_KINDS,
    AlertKind,
    Condition,
    MemberInputs,
    OpenHold,
    Thresholds,
    check_threshold,
    cover2_uncovered,
    defaulted,
    disabled_webhooks,
    effective_thresholds,
    evaluate_house,
    evaluate_member,
    typical_daily_outflow,
)
from clearing.domain.amounts import as_json_values
from clearing.domain.cover2 import Cover2
from clearing.domain.headroom import liquidity_of
from clearing.domain.vocabulary import AlertState, Role
from clearing.errors import Conflict, Forbidden, NotFound, ValidationError
from clearing.services import forecasts, writer
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.webhooks import publish_many
from clearing.settings import AlertSettings

log = logging.getLogger(__name__)

#: ``scope_id`` of house-level alerts (member ids start at 1).
HOUSE = 0
#: Who resolves an alert whose condition cleared.
SYSTEM = "system"
#: What a reason may not consist of only (the API's ``Reason`` pattern says the same).
BLANK = " \t\n\r"
#: Filters of the lists: ``active`` is open or acknowledged (not resolved).
STATES = ("active", "open", "acknowledged", "resolved", "all")


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    #: The member it concerns; None for house-level alerts.
    member: str | None
    kind: str
    dedup_key: str
    state: str
    severity: str
    message: str
    data: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_reason: str | None


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    opened: int
    resolved: int
    #: Alerts whose condition still holds and whose numbers changed (message, severity or data).
    updated: int


@dataclass(frozen=True, slots=True)
class ThresholdView:
    kind: str
    threshold: str
    value: int
    #: ``tier`` or ``override``.
    source: str
    #: The member's tier's value (what applies without an override).
    tier_value: int
    reason: str | None = None
    set_by: str | None = None
    set_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ThresholdsView:
    member: str
    tier: str
    thresholds: tuple[ThresholdView, ...]


def tier_thresholds(cfg: AlertSettings) -> dict[str, Thresholds]:
    """Tier → its thresholds, from settings."""
    return {tier: Thresholds(**getattr(cfg, f"tier_{tier.lower()}").model_dump()) for tier in ("A", "B", "C")}


# --------------------------------------------------------------------------- evaluation


def latest_shortfalls(ctx: ServiceContext) -> Mapping[str, date | None]:
    """Member name → the latest current forecast's shortfall date, for the ``projected_shortfall`` rule."""
    return forecasts.current_shortfalls(ctx, ctx.clock().date())


def run(ctx: ServiceContext, actor: Principal | None = None) -> EvaluationResult:
    """Evaluate with the latest forecasts: what the scheduler and ``POST /alerts/evaluate`` call."""
    return evaluate(ctx, shortfalls=latest_shortfalls(ctx), actor=actor)


def evaluate(
    ctx: ServiceContext,
    *,
    shortfalls: Mapping[str, date | None] | None = None,
    now: datetime | None = None,
    actor: Principal | None = None,
) -> EvaluationResult:
    """Open, update and resolve alerts for every member and the house, in one transaction.

    ``shortfalls``: member name → the forecast's shortfall date (a member missing has none); None
    skips the ``projected_shortfall`` rule. ``actor``: who asked (audited); None for the scheduler.
    Evaluations run one at a time (an advisory lock on PostgreSQL; SQLite writes one at a time).
    """
    now = now or ctx.clock()
    health = writer.outbox_health(ctx)
    skip = frozenset() if shortfalls is not None else frozenset({AlertKind.PROJECTED_SHORTFALL.value})
    with ctx.uow() as uow:
        s = uow.session
        xact_lock(s, "alerts.evaluate")
        cover2 = latest_snapshot(s)
        if cover2 is None:  # never computed: its alert is neither opened nor resolved
            skip |= {AlertKind.COVER2_UNCOVERED.value}
        found = _member_conditions(s, ctx.settings.alerts, now, shortfalls or {}, skip)
        found[HOUSE] = evaluate_house(
            stuck=health.stuck,
            stuck_after_seconds=health.stuck_after_seconds,
            oldest_seconds=health.oldest_seconds,
            cover2=cover2.result() if cover2 is not None else None,
        )
        for mid, conditions in default_conditions(s).items():
            found.setdefault(mid, []).extend(conditions)
        for owner, endpoints in disabled_endpoints(s).items():
            found.setdefault(HOUSE if owner is None else owner, []).extend(disabled_webhooks(endpoints))
        result = _apply(s, now, found, skip)
        if actor is not None:
            record_action(
                s,
                actor.actor,
                "alert.evaluate",
                {"opened": result.opened, "resolved": result.resolved, "updated": result.updated},
            )
        uow.commit()
    if result.opened or result.resolved:
        log.info("alerts: %d opened, %d resolved, %d updated", result.opened, result.resolved, result.updated)
    return result


def evaluate_cover2(s: Session, now: datetime, cover2: Cover2) -> EvaluationResult:
    """Only the ``cover2_uncovered`` rule, for a Cover 2 just computed, in the caller's transaction (so the
    snapshot and the alert it decides commit together); every other rule waits for the next evaluation.

    ``services/cover2.compute`` calls it right after storing the snapshot: cheap (no member is read),
    so every settled cycle alerts at once without a full evaluation on the cycle's path.
    """
    xact_lock(s, "alerts.evaluate")
    others = frozenset(k.value for k in AlertKind) - {AlertKind.COVER2_UNCOVERED.value}
    return _apply(s, now, {HOUSE: cover2_uncovered(cover2)}, others)


def _member_conditions(
    s: Session, cfg: AlertSettings, now: datetime, shortfalls: Mapping[str, date | None], skip: frozenset[str]
) -> dict[int, list[Condition]]:
    """Member id → the conditions that hold for it (every member, set-based reads)."""
    tiers = tier_thresholds(cfg)
    outflows = daily_outflows(s, now, cfg.outflow_window_days)
    carried = carried_counts(s)
    holds: dict[int, list[OpenHold]] = {}
    for h in open_holds(s):
        age = max(0, int((now - h.created_at).total_seconds()))
        holds.setdefault(h.debtor_id, []).append(OpenHold(h.hold_id, h.obligation_id, h.rule, age))
    overrides = _overrides(s)
    found: dict[int, list[Condition]] = {}
    for m in s.scalars(select(Member).order_by(Member.id)):
        liq = liquidity_of(m)
        thresholds, _ = effective_thresholds(tiers.get(m.tier, tiers["C"]), overrides.get(m.id, {}))
        inputs = MemberInputs(
            headroom=liq.headroom,
            typical_daily_outflow=typical_daily_outflow(outflows.get(m.id, [])),
            today=now.date(),
            shortfall_date=shortfalls.get(m.name),
            carried=carried.get(m.id, 0),
            open_holds=tuple(holds.get(m.id, ())),
            drawn=max(0, -m.chain_balance),
            line=m.credit_line,
            skip=skip,
        )
        found[m.id] = evaluate_member(inputs, thresholds)
    return found


def default_conditions(s: Session) -> dict[int, list[Condition]]:
    """Scope → the ``member_defaulted`` conditions of members in default: the member's own, and the operator's."""
    found: dict[int, list[Condition]] = {}
    active = active_defaults(s)
    names = dict(s.execute(select(Member.id, Member.name).where(Member.id.in_(list(active)))).all()) if active else {}
    for mid, d in active.items():
        args = (names[mid], d.trigger, d.reason, d.balance_at_declaration)
        found.setdefault(mid, []).append(defaulted(*args, house=False))
        found.setdefault(HOUSE, []).append(defaulted(*args, house=True))
    return found


def _overrides(s: Session) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for o in s.scalars(select(AlertOverride)):
        out.setdefault(o.member_id, {})[o.kind] = o.value
    return out


def _apply(s: Session, now: datetime, found: Mapping[int, list[Condition]], skip: frozenset[str]) -> EvaluationResult:
    """Open what is new, update what still holds, resolve what cleared (only for kinds evaluated)."""
    active = {
        (a.scope_id, a.kind, a.dedup_key): a
        for a in s.scalars(select(Alert).where(Alert.state != AlertState.RESOLVED).with_for_update())
    }
    opened = updated = resolved = 0
    for scope, conditions in found.items():
        for c in conditions:
            done = _open_or_update(s, now, scope, c, active.pop((scope, c.kind, c.dedup_key), None))
            opened, updated = opened + (done == "opened"), updated + (done == "updated")
    for (scope, kind, _), a in active.items():
        if kind in skip or scope not in found:
            continue  # not evaluated this time: neither confirmed nor cleared
        _close(a, now, SYSTEM, "the condition no longer holds")
        _notify(s, a, "resolved")
        resolved += 1
    return EvaluationResult(opened=opened, resolved=resolved, updated=updated)


def _open_or_update(s: Session, now: datetime, scope: int, c: Condition, a: Alert | None) -> str | None:
    """Open an alert for a condition (``a`` None), or update the one open for it; what was done."""
    data = as_json_values(c.data)
    if a is None:
        a = Alert(
            member_id=scope if scope != HOUSE else None,
            scope_id=scope,
            kind=c.kind,
            dedup_key=c.dedup_key,
            state=AlertState.OPEN,
            severity=c.severity,
            message=c.message,
            data=data,
            opened_at=now,
            updated_at=now,
        )
        s.add(a)
        s.flush()
        _notify(s, a, "opened")
        return "opened"
    if (a.severity, a.message, a.data) != (c.severity, c.message, data):
        a.severity, a.message, a.data, a.updated_at = c.severity, c.message, data, now
        return "updated"
    return None


def raise_now(s: Session, now: datetime, conditions: Mapping[int, list[Condition]]) -> None:
    """Open (or update) alerts for conditions a change found itself (a default declared), in the change's
    transaction, without touching other alerts: evaluations then keep them while the condition holds."""
    for scope, found in conditions.items():
        for c in found:
            a = s.scalars(
                select(Alert)
                .where(
                    Alert.scope_id == scope,
                    Alert.kind == c.kind,
                    Alert.dedup_key == c.dedup_key,
                    Alert.state != AlertState.RESOLVED,
                )
                .with_for_update()
            ).first()
            _open_or_update(s, now, scope, c, a)


def clear_now(s: Session, now: datetime, keys: list[tuple[int, str, str]], *, by: str, reason: str) -> None:
    """Resolve the alerts of conditions a change ended (a default cured): ``(scope, kind, dedup_key)`` each."""
    for scope, kind, key in keys:
        q = select(Alert).where(
            Alert.scope_id == scope, Alert.kind == kind, Alert.dedup_key == key, Alert.state != AlertState.RESOLVED
        )
        for a in s.scalars(q.with_for_update()):
            _close(a, now, by, reason)
            _notify(s, a, "resolved")


def _close(a: Alert, now: datetime, by: str, reason: str) -> None:
    a.state, a.resolved_at, a.resolved_by, a.resolve_reason, a.updated_at = AlertState.RESOLVED, now, by, reason, now


def webhook_types(kind: str, event: str) -> list[str]:
    """The webhook event types an alert's opening or resolution publishes.

    >>> webhook_types("headroom_low", "opened"), webhook_types("headroom_low", "resolved")
    (['alert.opened', 'headroom.low'], ['alert.resolved'])
    """
    types = [f"alert.{event}"]
    if event == "opened" and kind == AlertKind.HEADROOM_LOW:
        types.append("headroom.low")
    if event == "opened" and kind == AlertKind.PROJECTED_SHORTFALL:
        types.append("forecast.shortfall")
    return types


def _notify(session: Session, alert: Alert, event: str) -> None:
    """Tell the alert's member (and the operator) that it was ``opened`` or ``resolved``: webhook events
    in the alert's own transaction (they exist iff the alert's change commits), and a log line."""
    member = session.get(Member, alert.member_id) if alert.member_id is not None else None
    name = member.name if member is not None else None
    payload = as_json_values(_payload(alert, name))
    types = webhook_types(alert.kind, event)
    publish_many(session, [(t, payload, [name] if name else []) for t in types])
    log.info("alert %s %s %s: %s (%s)", alert.id, event, types, alert.message, payload["member"])


def _payload(a: Alert, member: str | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "member": member,
        "kind": a.kind,
        "dedup_key": a.dedup_key,
        "state": a.state,
        "severity": a.severity,
        "message": a.message,
        "data": a.data,
        "opened_at": a.opened_at.isoformat(),
    }


# --------------------------------------------------------------------------- reading and acting


def _view(a: Alert, member: str | None) -> AlertView:
    return AlertView(
        id=a.id,
        member=member,
        kind=a.kind,
        dedup_key=a.dedup_key,
        state=a.state,
        severity=a.severity,
        message=a.message,
        data=dict(a.data or {}),
        opened_at=a.opened_at,
        updated_at=a.updated_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        resolved_at=a.resolved_at,
        resolved_by=a.resolved_by,
        resolve_reason=a.resolve_reason,
    )


def list_alerts(
    ctx: ServiceContext,
    who: Principal,
    *,
    state: str = "active",
    member: str | None = None,
    kind: str | None = None,
    limit: int = 500,
) -> list[AlertView]:
    """Newest first. A member key: its own alerts only (``member`` ignored); operators and auditors: all,
    house-level ones included, or one member's. ``state``: one of :data:`STATES` (``active``: not resolved)."""
    if state not in STATES:
        raise ValidationError(f"state must be one of {', '.join(STATES)}", field="state", state=state)
    q = select(Alert, Member.name).outerjoin(Member, Member.id == Alert.member_id).order_by(Alert.id.desc())
    if state == "active":
        q = q.where(Alert.state != AlertState.RESOLVED)
    elif state != "all":
        q = q.where(Alert.state == state)
    if kind is not None:
        q = q.where(Alert.kind == kind)
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        owner = who.member_id if who.role == Role.MEMBER else None
        if owner is None and member is not None:
            owner = s.scalar(select(Member.id).where(Member.name == member))
            if owner is None:
                return []
        if owner is not None:
            q = q.where(Alert.member_id == owner)
        return [_view(a, name) for a, name in s.execute(q.limit(limit))]


def _visible(s: Session, who: Principal, alert_id: int) -> tuple[Alert, str | None]:
    """The alert, locked, if ``who`` may see it: a member its own (someone else's is 404, as if absent)."""
    row = s.execute(
        select(Alert, Member.name)
        .outerjoin(Member, Member.id == Alert.member_id)
        .where(Alert.id == alert_id)
        .with_for_update(of=Alert)
    ).first()
    if row is None or (who.role == Role.MEMBER and row[0].member_id != who.member_id):
        raise NotFound(f"no alert {alert_id}", field="alert_id", alert_id=alert_id)
    return row[0], row[1]


def acknowledge(ctx: ServiceContext, who: Principal, alert_id: int) -> AlertView:
    """Acknowledge an open alert (its member, or the operator; audited). Again: answered as it stands.

    A resolved alert cannot be acknowledged (409): it is over.
    """
    if who.role not in (Role.MEMBER, Role.OPERATOR):
        raise Forbidden("only the alert's member or an operator may acknowledge it", field=None)
    with ctx.uow() as uow:
        s = uow.session
        a, name = _visible(s, who, alert_id)
        if a.state == AlertState.RESOLVED:
            raise Conflict(f"alert {alert_id} is resolved", field="alert_id", alert_id=alert_id)
        if a.state == AlertState.OPEN:
            now = ctx.clock()
            a.state, a.acknowledged_at, a.acknowledged_by, a.updated_at = AlertState.ACKNOWLEDGED, now, who.actor, now
            record_action(s, who.actor, "alert.acknowledge", {"alert": a.id, "member": name, "kind": a.kind})
            uow.commit()
        return _view(a, name)


def resolve(ctx: ServiceContext, op: Principal, alert_id: int, *, reason: str) -> AlertView:
    """Resolve an alert by hand, with a reason (operator, audited). A resolved one is answered as it stands.

    Should its condition still hold, the next evaluation opens a new alert for it.
    """
    if not reason.strip(BLANK):
        raise ValidationError("reason must not be blank", field="reason")
    with ctx.uow() as uow:
        s = uow.session
        a, name = _visible(s, op, alert_id)
        if a.state != AlertState.RESOLVED:
            _close(a, ctx.clock(), op.actor, reason)
            record_action(
                s, op.actor, "alert.resolve", {"alert": a.id, "member": name, "kind": a.kind, "reason": reason}
            )
            _notify(s, a, "resolved")
            uow.commit()
        return _view(a, name)


# --------------------------------------------------------------------------- thresholds


def _member(s: Session, name: str) -> Member:
    m = s.scalars(select(Member).where(Member.name == name)).first()
    if m is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return m


def _thresholds_view(s: Session, cfg: AlertSettings, m: Member) -> ThresholdsView:
    tier = tier_thresholds(cfg).get(m.tier) or tier_thresholds(cfg)["C"]
    rows = {o.kind: o for o in s.scalars(select(AlertOverride).where(AlertOverride.member_id == m.id))}
    _, effective = effective_thresholds(tier, {k: o.value for k, o in rows.items()})
    return ThresholdsView(
        member=m.name,
        tier=m.tier,
        thresholds=tuple(
            ThresholdView(
                kind=e.kind,
                threshold=e.threshold,
                value=e.value,
                source=e.source,
                tier_value=getattr(tier, e.threshold),
                reason=rows[e.kind].reason if e.kind in rows else None,
                set_by=rows[e.kind].set_by if e.kind in rows else None,
                set_at=rows[e.kind].set_at if e.kind in rows else None,
            )
            for e in effective
        ),
    )


def thresholds_of(ctx: ServiceContext, name: str) -> ThresholdsView:
    """A member's effective thresholds, each with its source (its tier's, or its own override and why)."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        return _thresholds_view(s, ctx.settings.alerts, _member(s, name))


def own_thresholds(ctx: ServiceContext, who: Principal) -> ThresholdsView:
    """A member key's own thresholds (what :func:`thresholds_of` shows the operator)."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        m = s.get(Member, who.member_id) if who.member_id is not None else None
        if m is None:
            raise NotFound("member not found", field="member")
        return _thresholds_view(s, ctx.settings.alerts, m)


def set_thresholds(
    ctx: ServiceContext, op: Principal, name: str, values: Mapping[str, int | None], *, reason: str
) -> ThresholdsView:
    """Set a member's own thresholds (kind → value; None removes the override: the tier's applies again).

    Audited with the values before and after. A bad kind or value is a ValidationError naming
    the kind; nothing is changed then. They apply from the next evaluation.
    """
    if not reason.strip(BLANK):
        raise ValidationError("reason must not be blank", field="reason")
    checked = {k: None if v is None else check_threshold(k, v) for k, v in values.items()}
    for k in checked:
        if k not in MEMBER_KINDS:
            check_threshold(k, 0)  # names the unknown kind
    now = ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        m = _member(s, name)
        rows = {o.kind: o for o in s.scalars(select(AlertOverride).where(AlertOverride.member_id == m.id))}
        before = {k: o.value for k, o in rows.items()}
        for kind, value in checked.items():
            row = rows.get(kind)
            if value is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(AlertOverride(member_id=m.id, kind=kind, value=value, reason=reason, set_by=op.actor, set_at=now))
            else:
                row.value, row.reason, row.set_by, row.set_at = value, reason, op.actor, now
        s.flush()
        after = {o.kind: o.value for o in s.scalars(select(AlertOverride).where(AlertOverride.member_id == m.id))}
        record_action(
            s, op.actor, "alert.thresholds", {"member": name, "reason": reason, "before": before, "after": after}
        )
        view = _thresholds_view(s, ctx.settings.alerts, m)
        uow.commit()
    return view
