"""Alert rules: which conditions hold for a member (or the house), given its numbers and its thresholds.

Pure: plain numbers in, :class:`Condition` values out. The service gathers the
inputs, stores one alert per condition (deduplicated by ``(member, kind,
dedup_key)``) and resolves those whose condition no longer holds.

Rules (each compares with the member's threshold: its tier's, or its own override):

- ``headroom_low``: headroom < ``headroom_days`` × typical daily outflow (strictly below);
- ``projected_shortfall``: the forecast's shortfall date is at most ``shortfall_within_days`` away;
- ``obligations_carried``: more than ``carried_max`` obligations carried or queued beyond headroom;
- ``hold_open_too_long``: a hold open for ``hold_open_hours`` or more (one alert per hold, ``hold:<id>``);
- ``credit_utilisation_high``: drawn ≥ ``credit_utilisation_bps`` of the line (any drawing on a zero line);
- ``writer_stuck`` (house-level, the operator's): chain transactions pending past the writer's limit;
- ``cover2_uncovered`` (house-level): the latest Cover 2 (``domain/cover2.py``) is not covered: the joint
  default of the two largest exposures would cost more than the pool's resources;
- ``webhook_disabled``: an endpoint of the member's (or the operator's) that the house disabled after failing
  to deliver to it for too long; it clears when the endpoint is deleted.
- ``member_defaulted``: the member is in default (opened at the declaration, for the member and for the
  operator; it clears when the member is cured).

>>> t = DEFAULT_THRESHOLDS["B"]
>>> inputs = MemberInputs(headroom=150, typical_daily_outflow=100, today=date(2026, 1, 1))
>>> [(c.kind, c.severity) for c in evaluate_member(inputs, t)]
[('headroom_low', 'warning')]
>>> evaluate_member(MemberInputs(headroom=200, typical_daily_outflow=100, today=date(2026, 1, 1)), t)
[]
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from clearing.domain.cover2 import Cover2
from clearing.errors import ValidationError

__all__ = [
    "defaulted",
    "disabled_webhooks",
    "BOUNDS",
    "DEFAULT_THRESHOLDS",
    "MEMBER_KINDS",
    "THRESHOLD_OF",
    "AlertKind",
    "Condition",
    "EffectiveThreshold",
    "MemberInputs",
    "OpenHold",
    "Severity",
    "Thresholds",
    "check_threshold",
    "cover2_uncovered",
    "effective_thresholds",
    "evaluate_house",
    "evaluate_member",
    "typical_daily_outflow",
]


class AlertKind(StrEnum):
    HEADROOM_LOW = "headroom_low"
    PROJECTED_SHORTFALL = "projected_shortfall"
    OBLIGATIONS_CARRIED = "obligations_carried"
    HOLD_OPEN_TOO_LONG = "hold_open_too_long"
    CREDIT_UTILISATION_HIGH = "credit_utilisation_high"
    #: House-level: owned by the operator, no member.
    WRITER_STUCK = "writer_stuck"
    #: House-level: the latest Cover 2 is not covered by the pool's resources.
    COVER2_UNCOVERED = "cover2_uncovered"
    #: A webhook endpoint the house disabled after failing to deliver for too long (its owner's, or the house's).
    WEBHOOK_DISABLED = "webhook_disabled"
    #: A member declared in default: one alert for the member, one for the operator (``default:<member>``).
    MEMBER_DEFAULTED = "member_defaulted"
    #: House-level: a defaulter's pledges are worth more than the liquidator can pay for (balance or allowance),
    #: so waterfall step 2 cannot run (``liquidator:<member>``).
    LIQUIDATOR_SHORT = "liquidator_short"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One tier's (or one member's effective) thresholds; every value is an integer ≥ 0."""

    #: Alert when headroom < this many days of typical daily outflow.
    headroom_days: int
    #: Alert when the forecast's shortfall date is at most this many days from today.
    shortfall_within_days: int
    #: Alert when more than this many obligations are carried over or queued beyond headroom.
    carried_max: int
    #: Alert on each hold open for this many hours or more.
    hold_open_hours: int
    #: Alert when credit drawn reaches this share of the line (basis points).
    credit_utilisation_bps: int

    def replace(self, **values: int) -> Thresholds:
        return Thresholds(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **values})


#: The threshold each member-level kind compares with (what an override of that kind sets).
THRESHOLD_OF: dict[str, str] = {
    AlertKind.HEADROOM_LOW: "headroom_days",
    AlertKind.PROJECTED_SHORTFALL: "shortfall_within_days",
    AlertKind.OBLIGATIONS_CARRIED: "carried_max",
    AlertKind.HOLD_OPEN_TOO_LONG: "hold_open_hours",
    AlertKind.CREDIT_UTILISATION_HIGH: "credit_utilisation_bps",
}
MEMBER_KINDS = tuple(THRESHOLD_OF)
#: Inclusive bounds of each kind's threshold (a year of days or hours; 100% of the line).
BOUNDS: dict[str, tuple[int, int]] = {
    AlertKind.HEADROOM_LOW: (0, 365),
    AlertKind.PROJECTED_SHORTFALL: (0, 365),
    AlertKind.OBLIGATIONS_CARRIED: (0, 1_000_000),
    AlertKind.HOLD_OPEN_TOO_LONG: (0, 8_760),
    AlertKind.CREDIT_UTILISATION_HIGH: (0, 10_000),
}

#: Defaults per tier: A (trusted, fast release) alerts later than B, B later than C (prepaid, reviewed).
DEFAULT_THRESHOLDS: dict[str, Thresholds] = {
    "A": Thresholds(
        headroom_days=1, shortfall_within_days=3, carried_max=5, hold_open_hours=48, credit_utilisation_bps=9_000
    ),
    "B": Thresholds(
        headroom_days=2, shortfall_within_days=7, carried_max=2, hold_open_hours=24, credit_utilisation_bps=8_000
    ),
    "C": Thresholds(
        headroom_days=3, shortfall_within_days=14, carried_max=0, hold_open_hours=12, credit_utilisation_bps=5_000
    ),
}


def check_threshold(kind: str, value: object) -> int:
    """``value`` as a valid threshold of ``kind``, else a ValidationError naming the kind as its field.

    >>> check_threshold("hold_open_too_long", 24)
    24
    >>> check_threshold("credit_utilisation_high", 10_001)
    Traceback (most recent call last):
    ...
    clearing.errors.ValidationError: credit_utilisation_high must be an integer from 0 to 10000
    """
    where = kind
    if kind not in BOUNDS:
        raise ValidationError(
            f"unknown alert kind {kind!r}; thresholds exist for {', '.join(MEMBER_KINDS)}", field=where, kind=kind
        )
    lo, hi = BOUNDS[kind]
    if type(value) is not int or not lo <= value <= hi:
        raise ValidationError(f"{kind} must be an integer from {lo} to {hi}", field=where, value=str(value))
    return value


@dataclass(frozen=True, slots=True)
class EffectiveThreshold:
    kind: str
    threshold: str
    value: int
    #: ``tier`` (the member's tier's default) or ``override`` (the member's own).
    source: str


def effective_thresholds(tier: Thresholds, overrides: Mapping[str, int]) -> tuple[Thresholds, list[EffectiveThreshold]]:
    """The tier's thresholds with the member's overrides (kind → value) winning, and where each came from.

    >>> t, why = effective_thresholds(DEFAULT_THRESHOLDS["A"], {"obligations_carried": 9})
    >>> t.carried_max, [w.source for w in why if w.kind == "obligations_carried"]
    (9, ['override'])
    """
    values = {THRESHOLD_OF[k]: v for k, v in overrides.items() if k in THRESHOLD_OF}
    merged = tier.replace(**values)
    return merged, [
        EffectiveThreshold(
            k, THRESHOLD_OF[k], getattr(merged, THRESHOLD_OF[k]), "override" if k in overrides else "tier"
        )
        for k in MEMBER_KINDS
    ]


@dataclass(frozen=True, slots=True)
class OpenHold:
    id: int
    #: The held obligation's id (its submitter's), for the message.
    obligation_id: str
    rule: str
    age_seconds: int


@dataclass(frozen=True, slots=True)
class MemberInputs:
    """One member's numbers at evaluation time (amounts in token units)."""

    headroom: int
    typical_daily_outflow: int
    today: date
    shortfall_date: date | None = None
    #: Obligations carried over or queued beyond headroom (as debtor).
    carried: int = 0
    open_holds: tuple[OpenHold, ...] = ()
    drawn: int = 0
    line: int = 0
    #: Rules not evaluated this time (e.g. no forecast given): their alerts are neither opened nor resolved.
    skip: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str
    #: With member and kind, identifies one alert: ``hold:<id>`` for a hold, else the kind.
    dedup_key: str
    severity: str
    message: str
    data: dict[str, Any]

    def __post_init__(self) -> None:  # plain strings, as the ledger stores and JSON prints them
        for name in ("kind", "dedup_key", "severity"):
            object.__setattr__(self, name, str(getattr(self, name)))


def typical_daily_outflow(daily: Sequence[int]) -> int:
    """The median of daily outflows (the lower one of the middle two: money stays an integer).

    >>> typical_daily_outflow([0, 10, 30, 40]), typical_daily_outflow([]), typical_daily_outflow([5, 1, 9])
    (10, 0, 5)
    """
    return int(statistics.median_low(daily)) if daily else 0


def _headroom(i: MemberInputs, t: Thresholds) -> Iterable[Condition]:
    floor = t.headroom_days * i.typical_daily_outflow
    if i.headroom < floor:
        yield Condition(
            AlertKind.HEADROOM_LOW,
            AlertKind.HEADROOM_LOW,
            Severity.CRITICAL if i.headroom < 0 else Severity.WARNING,
            f"headroom {i.headroom} is below {t.headroom_days} day(s) of typical outflow "
            f"({i.typical_daily_outflow}/day = {floor})",
            {
                "headroom": i.headroom,
                "typical_daily_outflow": i.typical_daily_outflow,
                "headroom_days": t.headroom_days,
                "floor": floor,
            },
        )


def _shortfall(i: MemberInputs, t: Thresholds) -> Iterable[Condition]:
    if i.shortfall_date is None:
        return
    days = (i.shortfall_date - i.today).days
    if days <= t.shortfall_within_days:
        yield Condition(
            AlertKind.PROJECTED_SHORTFALL,
            AlertKind.PROJECTED_SHORTFALL,
            Severity.CRITICAL if days <= 1 else Severity.WARNING,
            f"shortfall projected on {i.shortfall_date.isoformat()}, in {days} day(s) "
            f"(alert within {t.shortfall_within_days})",
            {"shortfall_date": i.shortfall_date.isoformat(), "days": days, "within_days": t.shortfall_within_days},
        )


def _carried(i: MemberInputs, t: Thresholds) -> Iterable[Condition]:
    if i.carried > t.carried_max:
        yield Condition(
            AlertKind.OBLIGATIONS_CARRIED,
            AlertKind.OBLIGATIONS_CARRIED,
            Severity.WARNING,
            f"{i.carried} obligation(s) carried over or queued beyond headroom (more than {t.carried_max})",
            {"carried": i.carried, "carried_max": t.carried_max},
        )


def _holds(i: MemberInputs, t: Thresholds) -> Iterable[Condition]:
    limit = t.hold_open_hours * 3600
    for h in i.open_holds:
        if h.age_seconds >= limit:
            hours = h.age_seconds // 3600
            yield Condition(
                AlertKind.HOLD_OPEN_TOO_LONG,
                f"hold:{h.id}",
                Severity.WARNING,
                f"hold {h.id} ({h.rule}) on obligation {h.obligation_id} open for {hours} h "
                f"(alert at {t.hold_open_hours} h)",
                {
                    "hold_id": h.id,
                    "obligation_id": h.obligation_id,
                    "rule": h.rule,
                    "age_hours": hours,
                    "hold_open_hours": t.hold_open_hours,
                },
            )


def _utilisation(i: MemberInputs, t: Thresholds) -> Iterable[Condition]:
    if i.drawn <= 0:
        return
    # Compared in integers (drawn × 10 000 ≥ bps × line): no rounding decides at the boundary.
    if i.line > 0 and i.drawn * 10_000 < t.credit_utilisation_bps * i.line:
        return
    used = i.drawn * 10_000 // i.line if i.line > 0 else None
    shown = f"{used / 100:.2f}%" if used is not None else "a zero line"
    yield Condition(
        AlertKind.CREDIT_UTILISATION_HIGH,
        AlertKind.CREDIT_UTILISATION_HIGH,
        Severity.CRITICAL if i.drawn >= i.line else Severity.WARNING,
        f"credit drawn {i.drawn} of line {i.line} ({shown}; alert at {t.credit_utilisation_bps / 100:.2f}%)",
        {"drawn": i.drawn, "line": i.line, "utilisation_bps": used, "credit_utilisation_bps": t.credit_utilisation_bps},
    )


_RULES = {
    AlertKind.HEADROOM_LOW: _headroom,
    AlertKind.PROJECTED_SHORTFALL: _shortfall,
    AlertKind.OBLIGATIONS_CARRIED: _carried,
    AlertKind.HOLD_OPEN_TOO_LONG: _holds,
    AlertKind.CREDIT_UTILISATION_HIGH: _utilisation,
}


def evaluate_member(inputs: MemberInputs, thresholds: Thresholds) -> list[Condition]:
    """Every condition that holds for one member, in rule order (kinds in ``inputs.skip`` not evaluated).

    >>> i = MemberInputs(headroom=0, typical_daily_outflow=0, today=date(2026, 1, 1), carried=3)
    >>> [c.message for c in evaluate_member(i, DEFAULT_THRESHOLDS["B"])]
    ['3 obligation(s) carried over or queued beyond headroom (more than 2)']
    """
    return [c for kind, rule in _RULES.items() if kind not in inputs.skip for c in rule(inputs, thresholds)]


def evaluate_house(
    *, stuck: int, stuck_after_seconds: int, oldest_seconds: int | None, cover2: Cover2 | None = None
) -> list[Condition]:
    """House-level conditions (the operator's): the chain writer is stuck when any row is pending too long;
    Cover 2 is uncovered when the latest one (``cover2``; None: none computed yet) is not covered.

    >>> [c.kind for c in evaluate_house(stuck=2, stuck_after_seconds=300, oldest_seconds=900)]
    ['writer_stuck']
    >>> evaluate_house(stuck=0, stuck_after_seconds=300, oldest_seconds=12)
    []
    """
    found = []
    if stuck > 0:
        found.append(
            Condition(
                AlertKind.WRITER_STUCK,
                AlertKind.WRITER_STUCK,
                Severity.CRITICAL,
                f"{stuck} chain transaction(s) pending over {stuck_after_seconds} s "
                f"(oldest {oldest_seconds} s): see GET /outbox/stuck",
                {"stuck": stuck, "stuck_after_seconds": stuck_after_seconds, "oldest_seconds": oldest_seconds},
            )
        )
    if cover2 is not None:
        found.extend(cover2_uncovered(cover2))
    return found


def cover2_uncovered(cover2: Cover2) -> list[Condition]:
    """A critical condition when Cover 2 is not covered (the operator's; it clears once covered).

    The data holds the numbers, not the snapshot's id: a recomputation with the same numbers leaves the
    alert as it is.

    >>> from clearing.domain.cover2 import MemberExposure, assess
    >>> r = assess([MemberExposure("alpha", 900, 100, 0), MemberExposure("beta", 700, 0, 0)], resources=1_200)
    >>> print(cover2_uncovered(r)[0].message)
    Cover 2 not covered: a joint default of alpha and beta would cost 1700, the pool holds 1200
    (short by 500; 7058 bps): see GET /cover2
    >>> cover2_uncovered(assess([], resources=0))
    []
    """
    if cover2.covered:
        return []
    names = [m.name for m in cover2.members]
    shortfall = cover2.loss - cover2.resources
    return [
        Condition(
            AlertKind.COVER2_UNCOVERED,
            AlertKind.COVER2_UNCOVERED,
            Severity.CRITICAL,
            f"Cover 2 not covered: a joint default of {' and '.join(names)} would cost {cover2.loss}, "
            f"the pool holds {cover2.resources} (short by {shortfall}; {cover2.coverage_bps} bps): see GET /cover2",
            {
                "loss": cover2.loss,
                "resources": cover2.resources,
                "shortfall": shortfall,
                "coverage_bps": cover2.coverage_bps,
                "members": names,
                "exposures": [str(m.exposure) for m in cover2.members],
            },
        )
    ]


def disabled_webhooks(endpoints: Iterable[tuple[int, str, str | None]]) -> list[Condition]:
    """One condition per disabled webhook endpoint ``(id, url, reason)``, keyed by the endpoint.

    >>> [c.dedup_key for c in disabled_webhooks([(7, "https://x.example/h", "no 2xx for a day")])]
    ['endpoint:7']
    """
    return [
        Condition(
            AlertKind.WEBHOOK_DISABLED,
            f"endpoint:{eid}",
            Severity.CRITICAL,
            f"webhook endpoint {eid} ({url}) disabled: {reason or 'deliveries failed too long'}; "
            "register it again once it answers",
            {"endpoint_id": eid, "url": url, "reason": reason},
        )
        for eid, url, reason in endpoints
    ]


def defaulted(member: str, trigger: str, reason: str, balance: int, *, house: bool) -> Condition:
    """The condition of a member in default: its own alert, or the operator's (``house``, keyed by the member).

    >>> c = defaulted("gemshop", "repayment_deadline", "drawing 4 unpaid", -5, house=True)
    >>> c.dedup_key, c.severity, c.message
    ('default:gemshop', 'critical', 'gemshop in default (repayment_deadline): drawing 4 unpaid; balance -5 declared')
    """
    return Condition(
        AlertKind.MEMBER_DEFAULTED,
        f"default:{member}" if house else AlertKind.MEMBER_DEFAULTED,
        Severity.CRITICAL,
        f"{member} in default ({trigger}): {reason[:300]}; balance {balance} declared",
        {"member": member, "trigger": trigger, "reason": reason, "balance": balance},
    )


def liquidator_short(member: str, liquidator: str, value: int, can_pay: int) -> Condition:
    """The operator's alert that the liquidator cannot buy a defaulter's seized pledges at their valuation.

    >>> c = liquidator_short("gemshop", "0xabc", 900, 100)
    >>> c.dedup_key, c.severity, c.message[:69]
    ('liquidator:gemshop', 'critical', "gemshop's pledges are valued 900 but the liquidator 0xabc can pay 100")
    """
    return Condition(
        AlertKind.LIQUIDATOR_SHORT,
        f"liquidator:{member}",
        Severity.CRITICAL,
        f"{member}'s pledges are valued {value} but the liquidator {liquidator} can pay {can_pay}: "
        "fund it and approve the house, or the default's allocation cannot sell them",
        {"member": member, "liquidator": liquidator, "value": value, "can_pay": can_pay},
    )
