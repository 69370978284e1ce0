"""Explainable credit score, tier and credit line.

The score is a sum of integer factor contributions, so a member can see
exactly why it has its tier (``docs/credit.md`` gives each rule and the
backtest that tuned the defaults):

- ``base``: every member starts with ``base_points``;
- ``volume``: average monthly volume: all ``volume_points`` at ``volume_target``
  or more, an equal share less for each halving below it, none after
  ``volume_halvings`` halvings (size is evidence, so it counts in doublings,
  not linearly);
- ``on-time``: share of settlements on time above ``on_time_floor_bps``,
  scaled to ``on_time_points``, in full only after
  ``on_time_full_settlements`` settlements (a few lucky ones prove little);
  settlements count obligations settled in their first cycle against those
  carried, and credit drawn repaid by its deadline against credit repaid after it;
- ``age``: account age, linear up to ``age_target_days``;
- ``incidents``: disputes and complaints per settlement (negative, capped);
- ``defaults``: a penalty per default (negative, capped);
- ``trend``: the latest month's volume against the average of the earlier
  months (``monthly_volumes`` is oldest first): a penalty per 1% of decline
  (negative, capped; growth earns nothing);
- ``floor``: only when the rest is negative, lifts the score to 0.

Tier A needs ``score ≥ tier_a_min_score``, no defaults and at least
``tier_a_min_age_days``; tier B needs ``score ≥ tier_b_min_score``; the rest
is tier C. The credit line is a fraction (basis points) of the average
monthly volume: tier A at most 30% (``tier_a_line_bps ≤ 3000``), tier B
smaller, tier C none.

>>> tok = 10**6
>>> a = assess(CreditInputs(monthly_volumes=(900_000 * tok, 1_100_000 * tok), settled_on_time=990,
...                         settled_late=10, disputes=2, complaints=1, defaults=0, age_days=400))
>>> a.score, a.tier, a.credit_line // tok
(908, 'A', 300000)
>>> [(f.name, f.contribution) for f in a.factors]
[('base', 250), ('volume', 150), ('on-time', 373), ('age', 150), ('incidents', -15), ('defaults', 0), ('trend', 0)]
>>> sum(f.contribution for f in a.factors) == a.score
True

A member whose volume halved last month, with one settlement in ten carried:

>>> b = assess(CreditInputs((400_000 * tok, 400_000 * tok, 200_000 * tok), 270, 30, 0, 0, 0, 400))
>>> b.score, b.tier, [(f.name, f.value, f.contribution) for f in b.factors if f.name in ("on-time", "trend")]
(503, 'B', [('on-time', 9000, 133), ('trend', -5000, -150)])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from clearing.domain.errors import InvalidConfig, InvalidCreditInputs

__all__ = [
    "CreditInputs",
    "CreditConfig",
    "Factor",
    "CreditAssessment",
    "Improvement",
    "assess",
    "factor_rule",
    "improvements",
    "MAX_TIER_A_LINE_BPS",
]

#: Tier A's credit line may never exceed 30% of average monthly volume.
MAX_TIER_A_LINE_BPS = 3_000
_TOKEN = 10**6


@dataclass(frozen=True, slots=True)
class CreditInputs:
    """What the score is computed from (amounts in smallest token units; ``monthly_volumes`` oldest first)."""

    monthly_volumes: tuple[int, ...]
    settled_on_time: int
    settled_late: int
    disputes: int
    complaints: int
    defaults: int
    age_days: int
    #: Credit drawings repaid by their deadline, and after it (they count with on-time settlement).
    repaid_on_time: int = 0
    repaid_late: int = 0


@dataclass(frozen=True, slots=True)
class CreditConfig:
    """Weights, thresholds and credit-line fractions (basis points).

    The defaults are the ones the backtest in ``docs/credit.md`` measured.
    """

    base_points: int = 250
    volume_points: int = 150
    #: Average monthly volume that earns all volume points (default 1M tokens of 6 decimals).
    volume_target: int = 1_000_000 * _TOKEN
    on_time_points: int = 400
    age_points: int = 150
    age_target_days: int = 365
    #: Points lost per 100 bps (1%) of disputes + complaints per settlement.
    incident_points_per_pct: int = 50
    incident_cap: int = 250
    default_penalty: int = 300
    default_cap: int = 600
    tier_a_min_score: int = 750
    tier_a_min_age_days: int = 180
    tier_b_min_score: int = 500
    tier_a_line_bps: int = 3_000
    tier_b_line_bps: int = 1_000
    #: Halvings of ``volume_target`` after which volume earns nothing (points fall evenly per halving).
    volume_halvings: int = 10
    #: On-time share (bps) that earns no on-time points; the points grow linearly from it to 100%.
    on_time_floor_bps: int = 8_500
    #: Settlements needed for the full on-time points (fewer scale them down pro rata).
    on_time_full_settlements: int = 50
    #: Points lost per 1% by which the latest month's volume falls short of the earlier months' average.
    trend_points_per_pct: int = 3
    trend_cap: int = 150

    def validate(self) -> None:
        """Raise :class:`~clearing.domain.errors.InvalidConfig` if inconsistent.

        >>> CreditConfig(tier_a_line_bps=3_500).validate()
        Traceback (most recent call last):
        ...
        clearing.domain.errors.InvalidConfig: tier_a_line_bps must be ≤ 3000 (30% of average monthly volume), got 3500
        """
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InvalidConfig(f"{name} must be an int ≥ 0, got {value!r}", field=name)
        for name in ("volume_target", "age_target_days", "volume_halvings", "on_time_full_settlements"):
            if getattr(self, name) == 0:
                raise InvalidConfig(f"{name} must be > 0", field=name)
        if self.on_time_floor_bps >= 10_000:
            raise InvalidConfig(
                f"on_time_floor_bps must be < 10000, got {self.on_time_floor_bps}", field="on_time_floor_bps"
            )
        if self.tier_a_line_bps > MAX_TIER_A_LINE_BPS:
            raise InvalidConfig(
                f"tier_a_line_bps must be ≤ {MAX_TIER_A_LINE_BPS} (30% of average monthly volume), "
                f"got {self.tier_a_line_bps}",
                field="tier_a_line_bps",
            )
        if self.tier_b_line_bps > self.tier_a_line_bps:
            raise InvalidConfig("tier_b_line_bps must not exceed tier_a_line_bps", field="tier_b_line_bps")
        if self.tier_b_min_score > self.tier_a_min_score:
            raise InvalidConfig("tier_b_min_score must not exceed tier_a_min_score", field="tier_b_min_score")


@dataclass(frozen=True, slots=True)
class Factor:
    """One factor: its raw ``value`` (volume in units, rates in basis points,
    age in days, counts) and its signed ``contribution`` to the score."""

    name: str
    value: int
    contribution: int


@dataclass(frozen=True, slots=True)
class CreditAssessment:
    score: int
    tier: str
    credit_line: int
    factors: tuple[Factor, ...]
    reasons: tuple[str, ...]


def _validate(inputs: CreditInputs) -> None:
    if not isinstance(inputs.monthly_volumes, tuple):
        raise InvalidCreditInputs("monthly_volumes must be a tuple of ints", field="monthly_volumes")
    for v in inputs.monthly_volumes:
        if type(v) is not int or v < 0:
            raise InvalidCreditInputs(f"monthly volumes must be ints ≥ 0, got {v!r}", field="monthly_volumes")
    for name in (
        "settled_on_time",
        "settled_late",
        "disputes",
        "complaints",
        "defaults",
        "age_days",
        "repaid_on_time",
        "repaid_late",
    ):
        v = getattr(inputs, name)
        if type(v) is not int or v < 0:
            raise InvalidCreditInputs(f"{name} must be an int ≥ 0, got {v!r}", field=name)


def _volume_points(avg: int, c: CreditConfig) -> int:
    """``volume_points`` less an equal share per halving of ``volume_target`` above ``avg``.

    >>> c = CreditConfig()
    >>> [_volume_points(c.volume_target // d, c) for d in (1, 2, 3, 1024, 1025)]
    [150, 135, 120, 0, 0]
    """
    if avg >= c.volume_target:
        return c.volume_points
    if avg == 0:
        return 0
    halvings = (-(-c.volume_target // avg) - 1).bit_length()  # ceil(log2(target / avg)), exactly
    return c.volume_points * max(0, c.volume_halvings - halvings) // c.volume_halvings


def _trend_bps(vols: tuple[int, ...]) -> int:
    """The latest month against the earlier months' average, in bps (negative: a decline).

    >>> _trend_bps((100, 100, 50)), _trend_bps((0, 50)), _trend_bps((80,)), _trend_bps((100, 300))
    (-5000, 0, 0, 20000)
    """
    if len(vols) < 2:
        return 0
    earlier = sum(vols[:-1]) // (len(vols) - 1)
    if earlier == 0:
        return 0
    change = vols[-1] - earlier
    return change * 10_000 // earlier if change >= 0 else -(-change * 10_000 // earlier)


def _factors(inputs: CreditInputs, c: CreditConfig, avg: int) -> list[Factor]:
    settled = inputs.settled_on_time + inputs.settled_late
    # Repayments of drawn credit are settlements too: by the deadline or after it.
    paid = settled + inputs.repaid_on_time + inputs.repaid_late
    on_time_bps = (inputs.settled_on_time + inputs.repaid_on_time) * 10_000 // paid if paid else 0
    above = max(0, on_time_bps - c.on_time_floor_bps)
    weight = min(paid, c.on_time_full_settlements)
    on_time = c.on_time_points * above * weight // ((10_000 - c.on_time_floor_bps) * c.on_time_full_settlements)
    incidents = inputs.disputes + inputs.complaints
    incident_bps = incidents * 10_000 // max(1, settled) if incidents else 0
    trend_bps = _trend_bps(inputs.monthly_volumes)
    return [
        Factor("base", 0, c.base_points),
        Factor("volume", avg, _volume_points(avg, c)),
        Factor("on-time", on_time_bps, on_time),
        Factor("age", inputs.age_days, c.age_points * min(inputs.age_days, c.age_target_days) // c.age_target_days),
        Factor("incidents", incident_bps, -min(c.incident_cap, incident_bps * c.incident_points_per_pct // 100)),
        Factor("defaults", inputs.defaults, -min(c.default_cap, inputs.defaults * c.default_penalty)),
        Factor("trend", trend_bps, -min(c.trend_cap, max(0, -trend_bps) * c.trend_points_per_pct // 100)),
    ]


def assess(inputs: CreditInputs, config: CreditConfig = CreditConfig()) -> CreditAssessment:
    """Score, tier and credit line, with each factor's contribution and the reasons.

    Integer arithmetic throughout (floors), so the same inputs give the same
    score everywhere.

    >>> new = assess(CreditInputs((), 0, 0, 0, 0, 0, age_days=3))
    >>> new.score, new.tier, new.credit_line
    (251, 'C', 0)
    >>> bad = assess(CreditInputs((10**6,), 1, 9, 5, 5, 3, 30))
    >>> bad.score, [(f.name, f.contribution) for f in bad.factors][-1]
    (0, ('floor', 588))
    """
    _validate(inputs)
    config.validate()
    c = config
    vols = inputs.monthly_volumes
    avg = sum(vols) // len(vols) if vols else 0
    factors = _factors(inputs, c, avg)
    raw = sum(f.contribution for f in factors)
    if raw < 0:
        factors.append(Factor("floor", raw, -raw))
    score = max(0, raw)

    reasons: list[str] = []
    if score >= c.tier_a_min_score and inputs.defaults == 0 and inputs.age_days >= c.tier_a_min_age_days:
        tier = "A"
        reasons.append(f"score {score} ≥ {c.tier_a_min_score}, no defaults, {inputs.age_days} days old: tier A")
    elif score >= c.tier_b_min_score:
        tier = "B"
        if score >= c.tier_a_min_score:
            if inputs.defaults:
                reasons.append(f"score {score} would be tier A, but {inputs.defaults} default(s) cap it at tier B")
            else:
                reasons.append(
                    f"score {score} would be tier A, but the account is {inputs.age_days} days old"
                    f" (tier A needs {c.tier_a_min_age_days}): tier B"
                )
        else:
            reasons.append(f"score {score} ≥ {c.tier_b_min_score} and < {c.tier_a_min_score}: tier B")
    else:
        tier = "C"
        reasons.append(f"score {score} < {c.tier_b_min_score}: tier C (prepaid escrow, no credit)")

    line_bps = {"A": c.tier_a_line_bps, "B": c.tier_b_line_bps, "C": 0}[tier]
    credit_line = avg * line_bps // 10_000
    if tier == "C":
        reasons.append("tier C has no credit line")
    else:
        reasons.append(f"credit line {credit_line} = {line_bps / 100:g}% of average monthly volume {avg}")
    strongest = sorted((f for f in factors if f.name not in ("base", "floor")), key=lambda f: f.contribution)
    if strongest and strongest[0].contribution < 0:
        reasons.append(f"largest deduction: {strongest[0].name} ({strongest[0].contribution})")
    return CreditAssessment(score, tier, credit_line, tuple(factors), tuple(reasons))


# --------------------------------------------------------------------------- explanations
#: How each factor earns its points, as the member reads it (filled in with the configuration's numbers).
_RULES = {
    "base": "every member starts with {base_points} points",
    "volume": "{volume_points} points at an average monthly volume of {volume_target} or more, an equal share "
    "less for each halving below it, none after {volume_halvings} halvings",
    "on-time": "{on_time_points} points × (share on time − {on_time_floor_bps} bps) / (10000 − {on_time_floor_bps}) "
    "bps, scaled down below {on_time_full_settlements} settlements (on time: obligations settled in their first "
    "cycle, credit repaid by its deadline)",
    "age": "{age_points} points × account age in days / {age_target_days} (capped at {age_points})",
    "incidents": "−{incident_points_per_pct} points per 1% of disputes and complaints per settlement "
    "(at most −{incident_cap})",
    "defaults": "−{default_penalty} points per default: credit drawn and unpaid past its deadline "
    "(at most −{default_cap})",
    "trend": "−{trend_points_per_pct} points per 1% by which the latest month's volume falls short of the "
    "earlier months' average (at most −{trend_cap})",
    "floor": "the score is never below 0",
}


def factor_rule(name: str, config: CreditConfig = CreditConfig()) -> str:
    """The rule that gives factor ``name`` its points, with the configuration's numbers.

    >>> factor_rule("age")
    'age: 150 points × account age in days / 365 (capped at 150)'
    """
    rule = _RULES.get(name)
    if rule is None:
        return f"{name}: see clearing.domain.credit"
    fields = {f: getattr(config, f) for f in config.__dataclass_fields__}
    return f"{name}: {rule.format(**fields)}"


@dataclass(frozen=True, slots=True)
class Improvement:
    """One thing that would raise the score, and by how many points (computed by re-scoring, not guessed)."""

    factor: str
    action: str
    points: int


def improvements(inputs: CreditInputs, config: CreditConfig = CreditConfig()) -> tuple[Improvement, ...]:
    """What would raise the score, most points first: each lever is re-scored with :func:`assess`,
    so the answer follows the formula whatever its weights.

    A member 90 days old with one default, 20 settlements (2 late) and volume halved last month:

    >>> tok = 10**6
    >>> x = CreditInputs((400_000 * tok, 400_000 * tok, 200_000 * tok), settled_on_time=18, settled_late=2,
    ...                  disputes=0, complaints=0, defaults=1, age_days=90)
    >>> assess(x).score
    9
    >>> [(i.factor, i.points) for i in improvements(x)]
    [('defaults', 254), ('on-time', 240), ('volume', 180), ('trend', 150), ('age', 114)]
    >>> [i.action for i in improvements(x) if i.factor in ("on-time", "trend")]  # doctest: +NORMALIZE_WHITESPACE
    ['settle the next 30 obligations in their first cycle and repay drawn credit by its deadline',
     "keep the latest month's volume at the earlier months' level (400000000000, not 200000000000)"]

    Levers overlap (raising volume to the target also flattens the fall), so their points do not add up.
    """
    base = assess(inputs, config).score
    c = config
    settled = inputs.settled_on_time + inputs.settled_late
    paid = settled + inputs.repaid_on_time + inputs.repaid_late
    levers: list[tuple[str, str, CreditInputs]] = []
    if inputs.defaults:
        levers.append(
            (
                "defaults",
                f"repay the {inputs.defaults} drawing(s) past their deadline",
                replace(inputs, defaults=0, repaid_late=inputs.repaid_late + inputs.defaults),
            )
        )
    vols = inputs.monthly_volumes
    avg = sum(vols) // len(vols) if vols else 0
    if avg < c.volume_target:
        months = len(vols) or 1
        levers.append(
            (
                "volume",
                f"raise average monthly volume from {avg} to {c.volume_target}",
                replace(inputs, monthly_volumes=(c.volume_target,) * months),
            )
        )
    if _trend_bps(vols) < 0:
        earlier = sum(vols[:-1]) // (len(vols) - 1)
        levers.append(
            (
                "trend",
                f"keep the latest month's volume at the earlier months' level ({earlier}, not {vols[-1]})",
                replace(inputs, monthly_volumes=(*vols[:-1], earlier)),
            )
        )
    # Enough settlements to matter: the on-time points reach their full weight only at
    # on_time_full_settlements, and a few on time barely move a long record's share.
    more = max(10, paid, c.on_time_full_settlements - paid)
    levers.append(
        (
            "on-time",
            f"settle the next {more} obligations in their first cycle and repay drawn credit by its deadline",
            replace(inputs, settled_on_time=inputs.settled_on_time + more),
        )
    )
    if inputs.age_days < c.age_target_days:
        wait = c.age_target_days - inputs.age_days
        action = f"keep trading: in {wait} days the account is {c.age_target_days} days old"
        levers.append(("age", action, replace(inputs, age_days=c.age_target_days)))
    if inputs.disputes or inputs.complaints:
        levers.append(
            (
                "incidents",
                "no new disputes or complaints: each settlement without one dilutes those on record",
                replace(inputs, settled_on_time=inputs.settled_on_time + max(10, 4 * settled)),
            )
        )
    out = [Improvement(f, action, assess(x, config).score - base) for f, action, x in levers]
    return tuple(sorted((i for i in out if i.points > 0), key=lambda i: -i.points))
