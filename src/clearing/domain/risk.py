"""Risk rules: which obligations to hold for review, and for how long.

Pure functions of an obligation, the two members' risk state, the debtor's
history (its velocity window as a count and a total, and the creditors it
has dealt with) and a configuration. Every hold names its rule and the
numbers that triggered it. Rules (a rule triggers when the value is
strictly above its limit; exactly at the limit passes):

- ``member-suspended``: debtor or creditor is suspended (always manual review);
- ``single-order-limit``: amount > the debtor tier's single-order limit;
- ``velocity-count``: the debtor's obligations in the window, this one
  included, > the tier's max count;
- ``velocity-amount``: their total, this one included, > the tier's max amount;
- ``new-counterparty``: the creditor is new to the debtor and the amount >
  the tier's first-order threshold.

A member may have limits of its own (:data:`MEMBER_LIMITS`, set by an
operator): each replaces its tier's value for that member as debtor, and a
hold it raises says so (``limit_source: "member"`` among its values).

Hold policy by the debtor's tier: A releases fast (``release_after = now +
fast_release_seconds`` unless a reviewer rejects first); B is graded —
the further over the limit, the longer the hold, and beyond the last step
a reviewer must decide (``release_after=None``); C always waits for review,
and its obligations settle through a per-order prepaid escrow
(:func:`settlement_route`).

Default limits are in smallest units of a 6-decimal token (1 token = 10^6).
:func:`evaluator` fixes a configuration (validated once) and ``now`` for a
caller that evaluates many obligations at once.

>>> from clearing.domain.types import Obligation
>>> cfg = RiskConfig()
>>> ob = Obligation("o1", "shop", "games", 200_000 * 10**6)
>>> holds = evaluate(ob, MemberRisk("shop", "B", False), MemberRisk("games", "A", False),
...                  History(known_counterparties=frozenset({"games"})), cfg, now=1_000)
>>> [(h.rule, h.values["limit"], h.release_after) for h in holds]
[('single-order-limit', 100000000000, None)]
>>> settlement_route("C"), settlement_route("A")
('escrow', 'net')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clearing.domain.errors import InvalidConfig, InvalidRiskInput, UnknownTier
from clearing.domain.netting import validate_obligations
from clearing.domain.types import Obligation

__all__ = [
    "TIERS",
    "RULES",
    "MEMBER_LIMITS",
    "member_limits",
    "GradedHoldStep",
    "RiskConfig",
    "MemberRisk",
    "History",
    "Hold",
    "evaluate",
    "evaluator",
    "settlement_route",
]

TIERS = ("A", "B", "C")
RULES = ("member-suspended", "single-order-limit", "velocity-count", "velocity-amount", "new-counterparty")
#: The per-tier limits of :class:`RiskConfig` a member may have of its own, replacing its tier's value.
MEMBER_LIMITS = ("single_order_limit", "velocity_max_count", "velocity_max_amount", "new_counterparty_threshold")
_UINT256_MAX = 2**256 - 1
_TOKEN = 10**6


@dataclass(frozen=True, slots=True)
class GradedHoldStep:
    """A step of tier B's grading: a hold at most ``max_excess_bps`` basis points
    over its limit is released after ``hold_seconds``."""

    max_excess_bps: int
    hold_seconds: int


def _per_tier(a: int, b: int, c: int) -> Mapping[str, int]:
    return {"A": a, "B": b, "C": c}


@dataclass(frozen=True)
class RiskConfig:
    """Limits per tier (amounts in smallest token units) and the hold policy."""

    single_order_limit: Mapping[str, int] = field(
        default_factory=lambda: _per_tier(1_000_000 * _TOKEN, 100_000 * _TOKEN, 10_000 * _TOKEN)
    )
    velocity_window_seconds: int = 3600
    velocity_max_count: Mapping[str, int] = field(default_factory=lambda: _per_tier(10_000, 1_000, 100))
    velocity_max_amount: Mapping[str, int] = field(
        default_factory=lambda: _per_tier(10_000_000 * _TOKEN, 1_000_000 * _TOKEN, 100_000 * _TOKEN)
    )
    new_counterparty_threshold: Mapping[str, int] = field(
        default_factory=lambda: _per_tier(50_000 * _TOKEN, 5_000 * _TOKEN, 1_000 * _TOKEN)
    )
    #: Tier A: holds release this many seconds after they are raised.
    fast_release_seconds: int = 900
    #: Tier B: graded holds, by how far over the limit; beyond the last step, manual review.
    graded_levels: tuple[GradedHoldStep, ...] = (GradedHoldStep(1_000, 3_600), GradedHoldStep(5_000, 86_400))

    def validate(self) -> None:
        """Raise :class:`~clearing.domain.errors.InvalidConfig` if inconsistent.

        >>> RiskConfig(velocity_window_seconds=0).validate()
        Traceback (most recent call last):
        ...
        clearing.domain.errors.InvalidConfig: velocity_window_seconds must be a positive int, got 0
        """
        for name in ("single_order_limit", "velocity_max_count", "velocity_max_amount", "new_counterparty_threshold"):
            table = getattr(self, name)
            if not isinstance(table, Mapping) or set(table) != set(TIERS):
                raise InvalidConfig(f"{name} must give a value for each tier {', '.join(TIERS)}", field=name)
            for tier, value in table.items():
                if type(value) is not int or value < 0:
                    raise InvalidConfig(f"{name}[{tier}] must be an int ≥ 0, got {value!r}", field=name)
        for name in ("velocity_window_seconds", "fast_release_seconds"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise InvalidConfig(f"{name} must be a positive int, got {value!r}", field=name)
        last = 0
        for step in self.graded_levels:
            if (
                not isinstance(step, GradedHoldStep)
                or type(step.max_excess_bps) is not int
                or type(step.hold_seconds) is not int
            ):
                raise InvalidConfig("graded_levels must be GradedHoldStep(int, int) entries", field="graded_levels")
            if step.max_excess_bps <= last or step.hold_seconds <= 0:
                raise InvalidConfig(
                    "graded_levels must have increasing max_excess_bps > 0 and positive hold_seconds",
                    field="graded_levels",
                )
            last = step.max_excess_bps


@dataclass(frozen=True, slots=True)
class MemberRisk:
    """What the rules know of a member: its tier, whether it is suspended, and its own limits.

    ``limits`` (keys from :data:`MEMBER_LIMITS`, ints ≥ 0) replace the tier's values for this
    member as debtor; checked here, once per member, so the rules read them per obligation as they are.

    >>> MemberRisk("x", "A", False, {"velocity_max_cnt": 3})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidRiskInput: unknown limit 'velocity_max_cnt' (expected one of single_order_limit, ...)
    """

    member: str
    tier: str
    suspended: bool
    limits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.limits:
            member_limits(None, self.limits)


def member_limits(
    single_order_limit: int | None, overrides: Mapping[str, object] | None, *, strict: bool = True
) -> dict[str, int]:
    """A member's own limits, checked: ``single_order_limit`` (its column) plus ``overrides`` (``limit_overrides``).

    Keys must be in :data:`MEMBER_LIMITS`; values are ints (or decimal strings, as the ledger's JSON
    keeps them) from 0 to 2^256 − 1. A bad entry raises
    :class:`~clearing.domain.errors.InvalidRiskInput` naming ``limit_overrides.<key>``; with
    ``strict=False`` it is left out instead (overrides stored before they were checked must not
    stop a member's submissions).

    >>> member_limits(500, {"velocity_max_count": "20"})
    {'velocity_max_count': 20, 'single_order_limit': 500}
    >>> member_limits(None, {"velocity_max_amount": -1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidRiskInput: limit velocity_max_amount must be an integer from 0 to 2^256-1, got -1
    """
    out: dict[str, int] = {}
    for key, raw in (overrides or {}).items():
        try:
            if key not in MEMBER_LIMITS:
                raise InvalidRiskInput(
                    f"unknown limit {key!r} (expected one of {', '.join(MEMBER_LIMITS)})",
                    field=f"limit_overrides.{key}",
                )
            out[key] = _limit_value(key, raw, f"limit_overrides.{key}")
        except InvalidRiskInput:
            if strict:
                raise
    if single_order_limit is not None:
        out["single_order_limit"] = _limit_value("single_order_limit", single_order_limit, "single_order_limit")
    return out


def _limit_value(key: str, raw: object, field_name: str) -> int:
    value: int | None = None
    if type(raw) is int:
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 78:
        value = int(raw)
    if value is None or not 0 <= value <= _UINT256_MAX:
        raise InvalidRiskInput(
            f"limit {key} must be an integer from 0 to 2^256-1, got {raw!r}", field=field_name, limit=key
        )
    return value


@dataclass(frozen=True, slots=True)
class History:
    """The debtor's velocity window, as a count and a total, and the creditors it has dealt with before.

    - ``known_counterparties``: the creditors the debtor has dealt with before;
      ``new-counterparty`` may hold a first order to any other;
    - ``window_count`` / ``window_total``: how many of the debtor's obligations,
      and their total amount, fall in the velocity window at the ``now`` the
      rules are evaluated at, this obligation not among them. The window is
      every unix time ``> now − velocity_window_seconds``: an obligation exactly
      ``velocity_window_seconds`` old is out, one a second younger is in, and
      later ones are in too (clock skew should not hide volume). The rules see
      no timestamps, so drawing that edge is the caller's part (the service
      does it with :meth:`clearing.domain.velocity.VelocityWindow.since`). A
      caller that evaluates many obligations of one debtor at one ``now``
      advances the aggregate by each as it goes: each call is O(1).

    Every obligation has an amount ≥ 1, so ``window_total ≥ window_count``,
    and both are 0 together; the rules reject anything else.

    >>> cfg = RiskConfig(velocity_max_count={"A": 2, "B": 2, "C": 2})
    >>> from clearing.domain.types import Obligation
    >>> ob, x, y = Obligation("o", "x", "y", 1), MemberRisk("x", "A", False), MemberRisk("y", "A", False)
    >>> counted = History(known_counterparties=frozenset(), window_count=2, window_total=12)
    >>> [(h.values["count"], h.values["max_count"]) for h in evaluate(ob, x, y, counted, cfg, now=1_000)]
    [(3, 2)]
    >>> impossible = History(known_counterparties=frozenset(), window_count=2, window_total=1)
    >>> evaluate(ob, x, y, impossible, cfg, now=1_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidRiskInput: history window_count and window_total must be ... got count=2, total=1
    """

    known_counterparties: frozenset[str]
    window_count: int = 0
    window_total: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """An obligation kept out of netting: which rule, why, with what numbers.

    ``release_after`` is a unix time after which the hold lapses unless a
    reviewer rejected the obligation first; ``None`` means a reviewer must
    release or reject it.
    """

    rule: str
    message: str
    values: Mapping[str, int | str]
    release_after: int | None


def settlement_route(tier: str) -> str:
    """``"escrow"`` for tier C (prepaid per order), ``"net"`` otherwise.

    >>> settlement_route("D")
    Traceback (most recent call last):
    ...
    clearing.domain.errors.UnknownTier: unknown tier 'D' (expected A, B or C)
    """
    _tier(tier)
    return "escrow" if tier == "C" else "net"


def _tier(tier: str) -> str:
    if tier not in TIERS:
        raise UnknownTier(f"unknown tier {tier!r} (expected A, B or C)", field="tier", tier=str(tier))
    return tier


def _excess_bps(value: int, limit: int) -> int | None:
    """Ceil of how far over the limit, in basis points; None if the limit is 0."""
    if limit <= 0:
        return None
    return -((-(value - limit) * 10_000) // limit)


@dataclass(frozen=True, slots=True)
class _Limits:
    """A validated configuration, copied: what the rules read per obligation."""

    single_order_limit: Mapping[str, int]
    velocity_window_seconds: int
    velocity_max_count: Mapping[str, int]
    velocity_max_amount: Mapping[str, int]
    new_counterparty_threshold: Mapping[str, int]
    fast_release_seconds: int
    graded_levels: tuple[GradedHoldStep, ...]

    @classmethod
    def of(cls, config: RiskConfig) -> _Limits:
        config.validate()
        return cls(
            single_order_limit={t: config.single_order_limit[t] for t in TIERS},
            velocity_window_seconds=config.velocity_window_seconds,
            velocity_max_count={t: config.velocity_max_count[t] for t in TIERS},
            velocity_max_amount={t: config.velocity_max_amount[t] for t in TIERS},
            new_counterparty_threshold={t: config.new_counterparty_threshold[t] for t in TIERS},
            fast_release_seconds=config.fast_release_seconds,
            graded_levels=tuple(config.graded_levels),
        )


def _release_after(tier: str, value: int, limit: int, limits: _Limits | RiskConfig, now: int) -> int | None:
    if tier == "A":
        return now + limits.fast_release_seconds
    if tier == "B":
        excess = _excess_bps(value, limit)
        if excess is not None:
            for step in limits.graded_levels:
                if excess <= step.max_excess_bps:
                    return now + step.hold_seconds
    return None


def evaluate(
    obligation: Obligation,
    debtor: MemberRisk,
    creditor: MemberRisk,
    history: History,
    config: RiskConfig,
    now: int,
) -> tuple[Hold, ...]:
    """All holds the rules raise for ``obligation`` (empty: it may proceed).

    The velocity rules count ``history.window_count`` obligations plus this
    one, for ``history.window_total`` plus its amount (which obligations
    belong in the window: :class:`History`); a hold reports those true numbers.

    >>> from clearing.domain.types import Obligation
    >>> cfg = RiskConfig(velocity_max_count={"A": 3, "B": 2, "C": 1})
    >>> h = History(known_counterparties=frozenset({"y"}), window_count=2, window_total=10)
    >>> [x.rule for x in evaluate(Obligation("o", "x", "y", 5), MemberRisk("x", "B", False),
    ...                            MemberRisk("y", "B", True), h, cfg, now=1_000)]
    ['member-suspended', 'velocity-count']
    """
    (ob,) = validate_obligations([obligation])
    config.validate()
    return _evaluate(ob, debtor, creditor, history, config, now)


def evaluator(
    config: RiskConfig, now: int
) -> Callable[[Obligation, MemberRisk, MemberRisk, History], tuple[Hold, ...]]:
    """:func:`evaluate` with ``config`` and ``now`` fixed, for many obligations at one ``now``.

    The configuration is validated once, here, and copied: changing ``config``
    afterwards does not reach the returned function. Each call validates its
    obligation, members and history as :func:`evaluate` does.

    >>> from clearing.domain.types import Obligation
    >>> cfg = RiskConfig(velocity_max_count={"A": 1, "B": 1, "C": 1})
    >>> rules = evaluator(cfg, now=1_000)
    >>> x, y = MemberRisk("x", "A", False), MemberRisk("y", "A", False)
    >>> seen = History(known_counterparties=frozenset({"y"}), window_count=1, window_total=5)
    >>> [h.values["count"] for h in rules(Obligation("o", "x", "y", 5), x, y, seen)]
    [2]
    >>> evaluator(RiskConfig(fast_release_seconds=0), now=1_000)
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidConfig: fast_release_seconds must be a positive int, got 0
    """
    limits = _Limits.of(config)
    if type(now) is not int:
        raise InvalidRiskInput(f"now must be an int unix time, got {now!r}", field="now")

    def rules(obligation: Obligation, debtor: MemberRisk, creditor: MemberRisk, history: History) -> tuple[Hold, ...]:
        (ob,) = validate_obligations([obligation])
        return _evaluate(ob, debtor, creditor, history, limits, now)

    return rules


def _checked(ob: Obligation, debtor: MemberRisk, creditor: MemberRisk, history: History, now: int) -> tuple[int, int]:
    """The members, ``now`` and the history checked; returns the window's (count, total) before ``ob``."""
    for role, member, expected in (("debtor", debtor, ob.debtor), ("creditor", creditor, ob.creditor)):
        if not isinstance(member, MemberRisk) or member.member != expected:
            raise InvalidRiskInput(
                f"{role} risk state is for {getattr(member, 'member', None)!r}, not {expected!r}", field=role
            )
        _tier(member.tier)
        if not isinstance(member.suspended, bool):
            raise InvalidRiskInput(f"{role}.suspended must be a bool", field=role)
    if type(now) is not int:
        raise InvalidRiskInput(f"now must be an int unix time, got {now!r}", field="now")
    pre_count, pre_total = history.window_count, history.window_total
    if (
        type(pre_count) is not int
        or type(pre_total) is not int
        or pre_count < 0
        or pre_total < pre_count
        or (pre_count == 0 and pre_total != 0)
    ):
        raise InvalidRiskInput(
            "history window_count and window_total must be ints with 0 <= count <= total (both 0 together), "
            f"got count={pre_count!r}, total={pre_total!r}",
            field="history",
        )
    return pre_count, pre_total


def _evaluate(
    ob: Obligation, debtor: MemberRisk, creditor: MemberRisk, history: History, limits: _Limits | RiskConfig, now: int
) -> tuple[Hold, ...]:
    """The rules for a validated obligation and configuration (``limits`` reads as a RiskConfig)."""
    pre_count, pre_total = _checked(ob, debtor, creditor, history, now)
    tier = debtor.tier
    amount = ob.amount
    own = debtor.limits
    holds: list[Hold] = []

    for role, member in (("debtor", debtor), ("creditor", creditor)):
        if member.suspended:
            holds.append(
                Hold(
                    "member-suspended",
                    f"{role} {member.member!r} is suspended",
                    {"member": member.member, "role": role},
                    None,
                )
            )

    # A member's own limit replaces its tier's (one dict lookup, only for members that have any).
    limit = own.get("single_order_limit", limits.single_order_limit[tier]) if own else limits.single_order_limit[tier]
    if amount > limit:
        whose, source = _whose(own, "single_order_limit", ob.debtor, tier)
        holds.append(
            Hold(
                "single-order-limit",
                f"amount {amount} exceeds {whose} single-order limit {limit}",
                {"tier": tier, "amount": amount, "limit": limit, **source},
                _release_after(tier, amount, limit, limits, now),
            )
        )

    window = limits.velocity_window_seconds
    count = pre_count + 1
    max_count = (
        own.get("velocity_max_count", limits.velocity_max_count[tier]) if own else limits.velocity_max_count[tier]
    )
    if count > max_count:
        whose, source = _whose(own, "velocity_max_count", ob.debtor, tier)
        holds.append(
            Hold(
                "velocity-count",
                f"{count} obligations by {ob.debtor!r} in {window}s exceed {whose} maximum {max_count}",
                {
                    "tier": tier,
                    "window_seconds": window,
                    "count": count,
                    "max_count": max_count,
                    **source,
                },
                _release_after(tier, count, max_count, limits, now),
            )
        )
    total = pre_total + amount
    max_amount = (
        own.get("velocity_max_amount", limits.velocity_max_amount[tier]) if own else limits.velocity_max_amount[tier]
    )
    if total > max_amount:
        whose, source = _whose(own, "velocity_max_amount", ob.debtor, tier)
        holds.append(
            Hold(
                "velocity-amount",
                f"{total} owed by {ob.debtor!r} in {window}s exceeds {whose} maximum {max_amount}",
                {
                    "tier": tier,
                    "window_seconds": window,
                    "total": total,
                    "max_amount": max_amount,
                    **source,
                },
                _release_after(tier, total, max_amount, limits, now),
            )
        )

    threshold = (
        own.get("new_counterparty_threshold", limits.new_counterparty_threshold[tier])
        if own
        else limits.new_counterparty_threshold[tier]
    )
    if ob.creditor not in history.known_counterparties and amount > threshold:
        whose, source = _whose(own, "new_counterparty_threshold", ob.debtor, tier)
        holds.append(
            Hold(
                "new-counterparty",
                f"first order from {ob.debtor!r} to {ob.creditor!r} is {amount}, above {whose} threshold {threshold}",
                {
                    "tier": tier,
                    "creditor": ob.creditor,
                    "amount": amount,
                    "threshold": threshold,
                    **source,
                },
                _release_after(tier, amount, threshold, limits, now),
            )
        )
    return tuple(holds)


def _whose(own: Mapping[str, int], name: str, debtor: str, tier: str) -> tuple[str, dict[str, str]]:
    """How a hold names the limit it broke: the debtor's own (``limit_source: "member"`` in its values), or its
    tier's. Built only when a hold is raised."""
    return (f"{debtor!r}'s own", {"limit_source": "member"}) if name in own else (f"the tier {tier}", {})
