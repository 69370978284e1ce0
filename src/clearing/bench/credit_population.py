"""A seeded population of member platforms for the credit backtest.

Each member has a hidden *health* that drifts month to month; the health
drives what the ledger can see (volume trend, carried obligations, disputes,
complaints) with noise, and the chance of defaulting. The score never sees
the health, only the observable months up to the scoring month
(:func:`inputs_at`), so how well it ranks the later defaults measures how
much of the hidden risk the observable behaviour reveals.

The model (every number is a field of :class:`PopulationParams`; ``docs/credit.md``
states them as assumptions):

- long-run risk ``z ~ N(0, 1)``; health ``h`` is AR(1) around ``z``
  (``h_t = z + ρ (h_{t-1} − z) + σ ε_t``), so it persists but can turn;
- obligations per month: Poisson around a lognormal size (smaller for
  riskier members), times a volume level whose monthly log-growth falls
  as health worsens past a threshold, plus noise;
- carried (settled late) obligations: binomial with a logistic share in
  health plus a per-member habit (some sound members just run tight);
- disputes and complaints: Poisson per obligation, rising with health, plus
  a per-member product-category offset;
- earlier defaults (before the window): Poisson, rising with ``z``;
- accounts: 20% younger than 180 days, the rest 180 days and older;
- defaults after the scoring month: each month, a logistic hazard in that
  month's health (young accounts higher) plus a small hazard unrelated to
  anything observable (fraud, sudden exit); a defaulted member stops trading.

Two random streams come from the seed: one for everything up to the scoring
month, one for the months after, so what happens later cannot change what
the score sees; ``tests/bench/test_credit_backtest.py`` checks that, and that
:func:`inputs_at` reads nothing after its month.

>>> pop = generate(200, months=12, seed=1)
>>> pop.members, pop.months, pop.score_month, len(inputs_at(pop, 9))
(200, 12, 9, 200)
>>> bool((pop.default_month[pop.default_month > 0] > 9).all())
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearing.domain.credit import CreditInputs

__all__ = ["PopulationParams", "Population", "generate", "inputs_at", "DAYS_PER_MONTH", "OUTCOME_MONTHS"]

DAYS_PER_MONTH = 30
#: Defaults are counted over this many months after the scoring month.
OUTCOME_MONTHS = 3

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PopulationParams:
    """The generator's assumptions (see the module docstring)."""

    # health
    persistence: float = 0.9
    health_noise: float = 0.3
    # size: obligations per month (lognormal median, log-sd, shift per unit of z) and amount per obligation
    obligations_median: float = 120.0
    obligations_log_sd: float = 1.1
    obligations_risk_shift: float = -0.25
    amount_median: float = 800e6  # 800 tokens of 6 decimals
    amount_log_sd: float = 0.8
    # volume level: monthly log-growth = drift − decline · max(0, h − threshold) + noise
    growth_drift: float = 0.01
    growth_decline: float = 0.12
    growth_threshold: float = 0.3
    growth_noise: float = 0.08
    # carried share: logistic(intercept + slope · h + habit), habit ~ N(0, habit_sd)
    carried_intercept: float = -3.8
    carried_slope: float = 0.8
    carried_habit_sd: float = 0.4
    # disputes and complaints per obligation: base · exp(slope · h + category), category ~ N(0, sd)
    dispute_rate: float = 0.003
    complaint_rate: float = 0.0015
    incident_slope: float = 0.8
    incident_category_sd: float = 0.5
    # earlier defaults: Poisson(base · exp(slope · z))
    past_default_base: float = 0.03
    past_default_slope: float = 0.7
    # accounts
    young_share: float = 0.2
    young_days: int = 180
    established_mean_extra_days: float = 500.0
    max_age_days: int = 2_700
    # default hazard per month: logistic(intercept + slope · h + young_extra · young) + unexplained
    default_intercept: float = -7.4
    default_slope: float = 2.6
    default_young_extra: float = 0.6
    default_unexplained: float = 0.001


@dataclass(frozen=True)
class Population:
    """Per member (rows) and month (columns, month 1 first): what the ledger would hold.

    ``default_month`` is 0 for members that did not default, else the month
    (after ``score_month``) in which they did. ``health`` is hidden: only the
    ceiling figure of the backtest reads it.
    """

    months: int
    score_month: int
    params: PopulationParams
    obligations: IntArray
    carried: IntArray
    disputes: IntArray
    complaints: IntArray
    volume: IntArray
    #: Account age in days at the end of ``score_month``.
    age_days: IntArray
    past_defaults: IntArray
    default_month: IntArray
    health: FloatArray

    @property
    def members(self) -> int:
        return int(self.obligations.shape[0])

    def observed(self, month: int) -> Population:
        """The same population with every monthly array cut after ``month`` and no outcome:
        all a score at the end of ``month`` may see."""
        cut = slice(0, month)
        return dataclasses.replace(
            self,
            months=month,
            obligations=self.obligations[:, cut],
            carried=self.carried[:, cut],
            disputes=self.disputes[:, cut],
            complaints=self.complaints[:, cut],
            volume=self.volume[:, cut],
            default_month=np.zeros_like(self.default_month),
            health=self.health[:, cut],
        )


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


@dataclass
class _Traits:
    z: FloatArray
    created_day: IntArray
    age_days: IntArray
    size: FloatArray
    amount: FloatArray
    habit: FloatArray
    dispute_cat: FloatArray
    complaint_cat: FloatArray
    past_defaults: IntArray


def _traits(rng: np.random.Generator, n: int, score_month: int, p: PopulationParams) -> _Traits:
    z = rng.standard_normal(n)
    young = rng.random(n) < p.young_share
    established = p.young_days + np.minimum(
        rng.exponential(p.established_mean_extra_days, n), p.max_age_days - p.young_days
    ).astype(np.int64)
    age = np.where(young, rng.integers(15, p.young_days, n), established).astype(np.int64)
    log_size = np.log(p.obligations_median) + p.obligations_log_sd * rng.standard_normal(n)
    size = np.exp(log_size + p.obligations_risk_shift * z)
    return _Traits(
        z=z,
        created_day=score_month * DAYS_PER_MONTH - age,
        age_days=age,
        size=size,
        amount=np.exp(np.log(p.amount_median) + p.amount_log_sd * rng.standard_normal(n)),
        habit=p.carried_habit_sd * rng.standard_normal(n),
        dispute_cat=p.incident_category_sd * rng.standard_normal(n),
        complaint_cat=p.incident_category_sd * rng.standard_normal(n),
        past_defaults=rng.poisson(p.past_default_base * np.exp(p.past_default_slope * z)).astype(np.int64),
    )


def generate(
    members: int,
    *,
    months: int = 12,
    seed: int = 1,
    params: PopulationParams | None = None,
    outcome_seed: int | None = None,
) -> Population:
    """Simulate ``months`` months; the score month is ``months − 3``, defaults come after it.

    ``outcome_seed`` (default: derived from ``seed``) replaces only the random
    stream of the months after the scoring month: the same past, another future.
    """
    if members < 1 or months <= OUTCOME_MONTHS:
        raise ValueError(f"need members ≥ 1 and months > {OUTCOME_MONTHS}, got {members}, {months}")
    p = params or PopulationParams()
    score_month = months - OUTCOME_MONTHS
    history, outcome = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if outcome_seed is not None:
        outcome = np.random.default_rng(np.random.SeedSequence([seed, outcome_seed]))
    t = _traits(history, members, score_month, p)
    shape = (members, months)
    obligations, carried, disputes, complaints, volume = (np.zeros(shape, np.int64) for _ in range(5))
    health = np.zeros(shape)
    default_month = np.zeros(members, np.int64)
    stationary = p.health_noise / np.sqrt(1 - p.persistence**2)
    h = t.z + stationary * history.standard_normal(members)
    log_level = np.zeros(members)
    for month in range(1, months + 1):
        rng = history if month <= score_month else outcome
        h = t.z + p.persistence * (h - t.z) + p.health_noise * rng.standard_normal(members)
        health[:, month - 1] = h
        log_level += (
            p.growth_drift
            - p.growth_decline * np.maximum(h - p.growth_threshold, 0.0)
            + p.growth_noise * rng.standard_normal(members)
        )
        start = (month - 1) * DAYS_PER_MONTH
        active = np.clip((month * DAYS_PER_MONTH - np.maximum(t.created_day, start)) / DAYS_PER_MONTH, 0.0, 1.0)
        active[(default_month > 0) & (default_month < month)] = 0.0
        n = rng.poisson(t.size * np.exp(log_level) * active)
        col = month - 1
        obligations[:, col] = n
        carried[:, col] = rng.binomial(n, _sigmoid(p.carried_intercept + p.carried_slope * h + t.habit))
        disputes[:, col] = rng.poisson(n * p.dispute_rate * np.exp(p.incident_slope * h + t.dispute_cat))
        complaints[:, col] = rng.poisson(n * p.complaint_rate * np.exp(p.incident_slope * h + t.complaint_cat))
        # the sum of n lognormal amounts, approximated: n · amount with noise shrinking as 1/√n
        noise = np.exp(0.6 / np.sqrt(n + 1.0) * rng.standard_normal(members))
        volume[:, col] = np.floor(n * t.amount * noise).astype(np.int64)
        if month > score_month:
            young = (t.age_days + (month - score_month) * DAYS_PER_MONTH) < p.young_days
            hazard = _sigmoid(p.default_intercept + p.default_slope * h + p.default_young_extra * young)
            hit = (rng.random(members) < hazard + p.default_unexplained) & (default_month == 0)
            default_month[hit] = month
    return Population(
        months=months,
        score_month=score_month,
        params=p,
        obligations=obligations,
        carried=carried,
        disputes=disputes,
        complaints=complaints,
        volume=volume,
        age_days=t.age_days,
        past_defaults=t.past_defaults,
        default_month=default_month,
        health=health,
    )


def inputs_at(pop: Population, month: int, *, window: int = 3) -> list[CreditInputs]:
    """Every member's :class:`CreditInputs` at the end of ``month``, from that month's past only.

    The last ``window`` months (oldest first) give the volumes and the counts,
    as ``clearing.adapters.db.credit_inputs.gather_credit_inputs`` reads them
    from a ledger; age is at the end of ``month``.
    """
    seen = pop.observed(month)
    lo = max(0, month - window)
    vols = seen.volume[:, lo:month].tolist()
    n = seen.obligations[:, lo:month].sum(axis=1).tolist()
    late = seen.carried[:, lo:month].sum(axis=1).tolist()
    disputes = seen.disputes[:, lo:month].sum(axis=1).tolist()
    complaints = seen.complaints[:, lo:month].sum(axis=1).tolist()
    age = (seen.age_days - (seen.score_month - month) * DAYS_PER_MONTH).tolist()
    return [
        CreditInputs(
            monthly_volumes=tuple(vols[i]),
            settled_on_time=n[i] - late[i],
            settled_late=late[i],
            disputes=disputes[i],
            complaints=complaints[i],
            defaults=int(seen.past_defaults[i]),
            age_days=max(0, age[i]),
        )
        for i in range(seen.members)
    ]
