"""From a score to the tier and credit line a member gets: hysteresis, the tier policy table, the
provisional line of a new member, an operator's pin, and the caps.

:func:`decide` is pure: the score's inputs (:mod:`clearing.domain.credit`), what the previous
assessment left (:class:`TierState`), the member's position on chain and the operator's pin in
force go in; the tier, the line, the limit to set on chain and every reason come out.

- *Hysteresis*: a member is demoted when the score, with every threshold lowered by
  ``demote_margin``, puts it in a lower tier (at once: a default is not noise); it is promoted
  only when the score, with every threshold raised by ``promote_margin``, has put it in a higher
  tier at every assessment for at least ``promote_after_days`` days (counted on the member's own
  age, so the number of rescorings in between does not matter). Between the two it stays.
- *Line*: ``line_bps`` of the tier × the average monthly volume of the months given (the last 3
  by default), capped by the tier's ``line_cap``; tier C has none. No line exceeds 30% of that
  average (:data:`~clearing.domain.credit.MAX_TIER_A_LINE_BPS`) except a provisional line
  (bounded by policy and collateral instead) and a pin the operator marks ``above_cap``.
- *Provisional*: a new member gets ``provisional_tier`` and a line of at most
  ``provisional_line_cap`` and ``provisional_collateral_bps`` of its collateral for its first
  ``provisional_days``; the score confirms it earlier (qualifying for that tier for
  ``promote_after_days``) or withdraws it (a default); at the end of the period the score decides.
- *On chain*: the limit is ``max(line, drawn)``: the contract refuses a limit below the debt, so a
  line cut below what is drawn leaves the limit at the debt (no new credit), and the service gives
  the drawn part a deadline (``repayment_days`` of the new tier).

>>> tok = 10**6
>>> good = CreditInputs((1_000_000 * tok,) * 3, 400, 0, 0, 0, 0, age_days=400)
>>> first = decide(good, TierState("B"), Position(collateral=0, drawn=0))
>>> first.tier, first.state.pending_tier, first.state.pending_since, first.credit_line // tok
('B', 'A', 400, 100000)
>>> second = decide(replace(good, age_days=414), first.state, Position(0, 0))
>>> second.tier, second.credit_line // tok, second.formula
('A', 300000, '30% × average monthly volume of the last 3 months (1000000000000) = 300000000000')
>>> cut = decide(CreditInputs((10 * tok,), 10, 0, 0, 0, 2, 400), second.state, Position(0, drawn=250_000 * tok))
>>> cut.tier, cut.credit_line, cut.chain_limit // tok, cut.frozen
('C', 0, 250000, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from clearing.domain.credit import (
    MAX_TIER_A_LINE_BPS,
    CreditAssessment,
    CreditConfig,
    CreditInputs,
    assess,
)
from clearing.domain.errors import InvalidConfig, UnknownTier

__all__ = [
    "TIERS",
    "TierPolicy",
    "TieringConfig",
    "TierState",
    "Pin",
    "Position",
    "Decision",
    "decide",
    "average_volume",
    "line_cap",
    "provisional_line",
    "chain_limit",
]

TIERS = ("A", "B", "C")
_RANK = {"C": 0, "B": 1, "A": 2}
_TOKEN = 10**6


def _rank(tier: str) -> int:
    if tier not in _RANK:
        raise UnknownTier(f"unknown tier {tier!r} (expected A, B or C)", field="tier", tier=str(tier))
    return _RANK[tier]


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """What a tier gets: its line as basis points of average monthly volume, an absolute cap
    (None: none), and the days within which each drawing of credit must be repaid."""

    line_bps: int
    line_cap: int | None
    repayment_days: int


def _default_policies() -> Mapping[str, TierPolicy]:
    return {"A": TierPolicy(3_000, None, 14), "B": TierPolicy(1_000, None, 7), "C": TierPolicy(0, 0, 3)}


@dataclass(frozen=True)
class TieringConfig:
    """The tier policy table, the hysteresis band and the provisional line (amounts in token units)."""

    policies: Mapping[str, TierPolicy] = field(default_factory=_default_policies)
    promote_margin: int = 25
    demote_margin: int = 25
    #: Days the score must keep qualifying for a higher tier before the member is promoted.
    promote_after_days: int = 14
    provisional_tier: str = "B"
    provisional_days: int = 30
    provisional_line_cap: int = 10_000 * _TOKEN
    provisional_collateral_bps: int = 5_000

    def validate(self) -> None:
        """Raise :class:`~clearing.domain.errors.InvalidConfig` if inconsistent.

        >>> TieringConfig(policies={**_default_policies(), "A": TierPolicy(3_500, None, 14)}).validate()
        Traceback (most recent call last):
        ...
        clearing.domain.errors.InvalidConfig: policies.A.line_bps must be ≤ 3000 (30% of average monthly ...), got 3500
        """
        if set(self.policies) != set(TIERS):
            raise InvalidConfig("policies must give a policy for each tier A, B and C", field="policies")
        for tier, p in self.policies.items():
            for name in ("line_bps", "repayment_days"):
                value = getattr(p, name)
                if type(value) is not int or value < 0:
                    raise InvalidConfig(f"policies.{tier}.{name} must be an int ≥ 0", field=f"policies.{tier}.{name}")
            if p.line_cap is not None and (type(p.line_cap) is not int or p.line_cap < 0):
                raise InvalidConfig(f"policies.{tier}.line_cap must be None or an int ≥ 0", field="policies")
            if p.repayment_days == 0:
                raise InvalidConfig(f"policies.{tier}.repayment_days must be > 0", field="policies")
        if self.policies["A"].line_bps > MAX_TIER_A_LINE_BPS:
            raise InvalidConfig(
                f"policies.A.line_bps must be ≤ {MAX_TIER_A_LINE_BPS} (30% of average monthly volume), "
                f"got {self.policies['A'].line_bps}",
                field="policies.A.line_bps",
            )
        if self.policies["B"].line_bps > self.policies["A"].line_bps:
            raise InvalidConfig("policies.B.line_bps must not exceed policies.A.line_bps", field="policies.B.line_bps")
        if self.policies["C"].line_bps != 0:
            raise InvalidConfig("tier C has no credit line: policies.C.line_bps must be 0", field="policies.C.line_bps")
        for name in ("promote_margin", "demote_margin", "provisional_days", "provisional_line_cap"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InvalidConfig(f"{name} must be an int ≥ 0, got {value!r}", field=name)
        if type(self.promote_after_days) is not int or self.promote_after_days < 0:
            raise InvalidConfig("promote_after_days must be an int ≥ 0", field="promote_after_days")
        bps = self.provisional_collateral_bps
        if type(bps) is not int or not 0 <= bps <= 10_000:
            raise InvalidConfig(
                "provisional_collateral_bps must be an int from 0 to 10000", field="provisional_collateral_bps"
            )
        _rank(self.provisional_tier)

    def credit_config(self, base: CreditConfig | None = None) -> CreditConfig:
        """The score's configuration with this table's line fractions (so both say the same line)."""
        return replace(
            base or CreditConfig(),
            tier_a_line_bps=self.policies["A"].line_bps,
            tier_b_line_bps=self.policies["B"].line_bps,
        )


@dataclass(frozen=True, slots=True)
class TierState:
    """What the previous assessment left: the tier the score put the member in (a pin aside), the
    higher tier it is earning and since when (the member's age in days when it began qualifying),
    and whether its line is still provisional (with the line asked for it at admission, if any)."""

    tier: str
    provisional: bool = False
    pending_tier: str | None = None
    pending_since: int | None = None
    provisional_request: int | None = None


@dataclass(frozen=True, slots=True)
class Pin:
    """An operator's override in force: a tier and/or a line; ``above_cap`` lets the line exceed the cap."""

    tier: str | None = None
    credit_line: int | None = None
    above_cap: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    """The member on chain: collateral it has posted (what bounds a provisional line), credit drawn
    (``max(0, -balance)``), and whether it is in default (declared, not cured)."""

    collateral: int
    drawn: int
    in_default: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    assessment: CreditAssessment
    #: Where the score (with hysteresis) puts the member, pins aside.
    score_tier: str
    tier: str
    credit_line: int
    #: The credit limit to hold on chain: ``max(credit_line, drawn)``.
    chain_limit: int
    #: 30% of the average monthly volume: no line exceeds it but a provisional one or an ``above_cap`` pin.
    line_cap: int
    #: The most a pin without ``above_cap`` may set: ``line_cap``, or the provisional bound while provisional.
    ceiling: int
    average_volume: int
    months: int
    formula: str
    state: TierState
    #: The line is below what is drawn: no new credit, the drawn part is due.
    frozen: bool
    #: What set the tier: ``score``, ``provisional``, ``override`` or ``default``.
    source: str
    reasons: tuple[str, ...]


def average_volume(monthly_volumes: tuple[int, ...]) -> int:
    """Average of the monthly volumes given (0 for none), rounded down."""
    return sum(monthly_volumes) // len(monthly_volumes) if monthly_volumes else 0


def line_cap(monthly_volumes: tuple[int, ...]) -> int:
    """30% of the average monthly volume: the most any earned line may be.

    >>> line_cap((100, 200, 301))
    60
    """
    return average_volume(monthly_volumes) * MAX_TIER_A_LINE_BPS // 10_000


def provisional_line(collateral: int, config: TieringConfig, requested: int | None = None) -> int:
    """A new member's line: at most the policy's cap, ``provisional_collateral_bps`` of its collateral,
    and what was asked at admission.

    >>> provisional_line(3_000 * 10**6, TieringConfig()) // 10**6, provisional_line(10**15, TieringConfig(), 7)
    (1500, 7)
    """
    bound = min(config.provisional_line_cap, collateral * config.provisional_collateral_bps // 10_000)
    return bound if requested is None else min(bound, requested)


def chain_limit(credit_line: int, drawn: int) -> int:
    """The on-chain limit for a line: never below the debt (the contract's invariant: balance ≥ −limit)."""
    return max(credit_line, drawn)


@lru_cache(maxsize=64)  # a rescoring shifts the same configuration for every member
def _shifted(config: CreditConfig, delta: int) -> CreditConfig:
    return replace(
        config,
        tier_a_min_score=max(0, config.tier_a_min_score + delta),
        tier_b_min_score=max(0, config.tier_b_min_score + delta),
    )


@dataclass(frozen=True, slots=True)
class _Step:
    tier: str
    pending: str | None
    since: int | None
    reason: str


def _qualifying(state: TierState, target: str, age: int, cfg: TieringConfig) -> tuple[int, bool]:
    """Since when (age in days) the member qualifies for ``target``, and whether that is long enough."""
    since = state.pending_since if state.pending_tier == target and state.pending_since is not None else age
    since = min(since, age)
    return since, age - since >= cfg.promote_after_days


class _Band:
    """The tiers the score gives with every threshold raised by the promote margin (``up``) and lowered
    by the demote margin (``down``), each assessed only when asked (a tier-A member never needs ``up``).

    A score farther than the margin from every threshold gets the same tier either way (the thresholds
    enter the tier only as ``score ≥ threshold``), so it is not assessed again: rescoring every member
    costs one assessment each, two or three only near a threshold.
    """

    __slots__ = ("_a", "_inputs", "_cc", "_cfg", "_up", "_down")

    def __init__(self, a: CreditAssessment, inputs: CreditInputs, cc: CreditConfig, cfg: TieringConfig) -> None:
        self._a, self._inputs, self._cc, self._cfg = a, inputs, cc, cfg
        self._up: str | None = None
        self._down: str | None = None

    def _shift(self, delta: int) -> str:
        cc = self._cc
        if all(abs(self._a.score - t) > abs(delta) for t in (cc.tier_a_min_score, cc.tier_b_min_score)):
            return self._a.tier
        return assess(self._inputs, _shifted(cc, delta)).tier

    @property
    def up(self) -> str:
        if self._up is None:
            self._up = self._shift(self._cfg.promote_margin)
        return self._up

    @property
    def down(self) -> str:
        if self._down is None:
            self._down = self._shift(-self._cfg.demote_margin)
        return self._down


def _hysteresis(
    state: TierState, a: CreditAssessment, age: int, band: _Band, cfg: TieringConfig, cc: CreditConfig
) -> _Step:
    """The next score tier from ``state.tier``: ``band.down`` (thresholds lowered) demotes at once,
    ``band.up`` (thresholds raised) promotes once it has held for ``promote_after_days``."""
    cur, score = state.tier, a.score
    threshold = {"A": cc.tier_a_min_score, "B": cc.tier_b_min_score, "C": 0}
    if cur != "C" and _rank(band.down) < _rank(cur):
        down = band.down
        floor = max(0, threshold[cur] - cfg.demote_margin)
        why = (
            f"demoted {cur} → {down}: score {score} (tier {cur} is kept down to {floor}, or while its conditions hold)"
        )
        return _Step(down, None, None, why)
    if cur != "A" and _rank(band.up) > _rank(cur):
        up = band.up
        bar = threshold[up] + cfg.promote_margin
        since, done = _qualifying(state, up, age, cfg)
        if done:
            return _Step(up, None, None, f"promoted {cur} → {up}: score ≥ {bar} for {age - since} days")
        why = (
            f"earning tier {up}: score {score} ≥ {bar} for {age - since} of the {cfg.promote_after_days} days "
            f"a promotion needs"
        )
        return _Step(cur, up, since, why)
    if _rank(a.tier) < _rank(cur):
        return _Step(cur, None, None, f"tier {cur} kept: score {score} is inside the hysteresis band")
    return _Step(cur, None, None, f"tier {cur}: score {score}")


def _score_tier(
    inputs: CreditInputs, a: CreditAssessment, state: TierState, cfg: TieringConfig, cc: CreditConfig
) -> tuple[_Step, bool]:
    """The score tier and whether the line stays provisional."""
    band = _Band(a, inputs, cc, cfg)
    age = inputs.age_days
    if not state.provisional:
        return _hysteresis(state, a, age, band, cfg, cc), False
    prov = cfg.provisional_tier
    if inputs.defaults:
        step = _hysteresis(replace(state, tier=prov), a, age, band, cfg, cc)
        why = f"provisional line withdrawn: {inputs.defaults} drawing(s) unpaid past the deadline; {step.reason}"
        return replace(step, reason=why), False
    if age >= cfg.provisional_days:
        step = _hysteresis(replace(state, tier=prov), a, age, band, cfg, cc)
        why = f"provisional period of {cfg.provisional_days} days over, the score decides: {step.reason}"
        return replace(step, reason=why), False
    if _rank(band.up) >= _rank(prov):
        since, done = _qualifying(state, prov, age, cfg)
        if done:
            return _Step(
                prov, None, None, f"provisional tier {prov} confirmed by the score ({age - since} days)"
            ), False
        why = (
            f"provisional tier {prov}: the score qualifies for it ({age - since} of the {cfg.promote_after_days} "
            f"days that confirm it)"
        )
        return _Step(prov, prov, since, why), True
    why = f"provisional tier {prov} until the account is {cfg.provisional_days} days old or the score confirms it"
    return _Step(prov, None, None, why), True


def _earned_line(tier: str, avg: int, months: int, cfg: TieringConfig) -> tuple[int, str]:
    policy = cfg.policies[tier]
    if tier == "C" or policy.line_bps == 0:
        return 0, f"tier {tier} has no credit line"
    line = avg * policy.line_bps // 10_000
    text = f"{policy.line_bps / 100:g}% × average monthly volume of the last {months} months ({avg}) = {line}"
    if policy.line_cap is not None and line > policy.line_cap:
        line = policy.line_cap
        text += f", capped by tier {tier}'s policy at {policy.line_cap}"
    return line, text


def decide(
    inputs: CreditInputs,
    state: TierState,
    position: Position,
    pin: Pin | None = None,
    config: TieringConfig = TieringConfig(),
    credit: CreditConfig | None = None,
) -> Decision:
    """The tier, line and on-chain limit for one member, with every reason (see the module docstring)."""
    config.validate()
    cc = credit or config.credit_config()
    _rank(state.tier)
    a = assess(inputs, cc)
    step, provisional = _score_tier(inputs, a, state, config, cc)
    # The deciding reason first; the score's own view of the tier after it (the line is this module's).
    reasons = [step.reason] + [f"the score alone: {r}" for r in a.reasons if "credit line" not in r]
    tier, source = step.tier, "score"
    if provisional:
        source = "provisional"
    if pin is not None and pin.tier is not None:
        _rank(pin.tier)
        tier, source = pin.tier, "override"
        reasons.insert(0, f"tier {pin.tier} pinned by the operator: {pin.reason}")

    months = len(inputs.monthly_volumes)
    avg = average_volume(inputs.monthly_volumes)
    cap = line_cap(inputs.monthly_volumes)
    line, formula = _earned_line(tier, avg, months, config)
    ceiling = cap
    if provisional and tier != "C":
        prov = provisional_line(position.collateral, config, state.provisional_request)
        ceiling = max(cap, prov)
        if prov > line:
            line = prov
            formula = (
                f"provisional: min(policy cap {config.provisional_line_cap}, "
                f"{config.provisional_collateral_bps / 100:g}% of collateral {position.collateral}"
                + ("" if state.provisional_request is None else f", {state.provisional_request} asked at admission")
                + f") = {prov}"
            )
    if pin is not None and pin.credit_line is not None:
        if pin.above_cap or pin.credit_line <= ceiling:
            line = pin.credit_line
            formula = f"pinned by the operator at {line}" + (" (above the cap)" if pin.above_cap else "")
        else:
            line = ceiling
            formula = (
                f"pinned by the operator at {pin.credit_line}, capped at {ceiling} (30% of average monthly volume)"
            )
        reasons.append(f"credit line pinned by the operator: {pin.reason}")
    limit = chain_limit(line, position.drawn)
    frozen = line < position.drawn
    if frozen:
        reasons.append(
            f"credit line {line} is below the {position.drawn} drawn: no new credit; the drawn part is due within "
            f"{config.policies[tier].repayment_days} days, and the limit on chain stays at what is drawn until repaid"
        )
    next_state = TierState(
        tier=step.tier,
        provisional=provisional,
        pending_tier=step.pending,
        pending_since=step.since,
        provisional_request=state.provisional_request if provisional else None,
    )
    decision = Decision(
        assessment=a,
        score_tier=step.tier,
        tier=tier,
        credit_line=line,
        chain_limit=limit,
        line_cap=cap,
        ceiling=ceiling,
        average_volume=avg,
        months=months,
        formula=formula,
        state=next_state,
        frozen=frozen,
        source=source,
        reasons=tuple(reasons),
    )
    return _in_default(decision, position) if position.in_default else decision


def _in_default(d: Decision, position: Position) -> Decision:
    """A member in default: tier C and no line whatever the score or a pin say, the limit on chain at what is
    drawn; once cured it starts again from tier C (the score must earn a promotion, and remembers the default).

    >>> tok = 10**6
    >>> good = CreditInputs((1_000_000 * tok,) * 3, 400, 0, 0, 0, 1, age_days=400)
    >>> owing = Position(collateral=0, drawn=5 * tok, in_default=True)
    >>> d = decide(good, TierState("A"), owing, Pin("A", 10, False, "x"))
    >>> d.tier, d.credit_line, d.chain_limit, d.source, d.state.tier
    ('C', 0, 5000000, 'default', 'C')
    """
    why = "in default: no credit until the risk role cures it (the tier starts again from C)"
    return replace(
        d,
        score_tier="C",
        tier="C",
        credit_line=0,
        chain_limit=chain_limit(0, position.drawn),
        formula="in default: no credit line",
        state=TierState("C"),
        frozen=position.drawn > 0,
        source="default",
        reasons=(why, *(r for r in d.reasons if " is below the " not in r)),
    )
