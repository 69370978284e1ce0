"""The credit score predicts: on generated populations it ranks later defaults (AUC ≥ 0.80) and its
tiers order them (default rate A < B < C), for several seeds; and it never sees the future."""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import subprocess

import numpy as np
import pytest

from clearing.bench import credit_backtest, credit_population
from clearing.bench.credit_backtest import auc, run
from clearing.bench.credit_population import generate, inputs_at
from clearing.progress import Progress
from tests.conftest import CLEARING_EXE, clearing_env

QUIET = Progress("test", stream=io.StringIO())


@pytest.mark.parametrize("seed", [11, 2026, 90210])
def test_the_score_ranks_later_defaults_and_its_tiers_order_them(seed):
    out = run(members=5_000, months=12, seed=seed, progress=QUIET)
    assert out["auc"] >= 0.80, out["auc"]
    rates = [out["tiers"][t]["default_rate"] for t in "ABC"]
    assert rates[0] < rates[1] < rates[2], rates
    assert out["meets_target"] is True
    # the score is below the ceiling the hidden health itself would reach, not above it
    assert out["auc"] < out["auc_hidden_health"]
    assert sum(t["members"] for t in out["tiers"].values()) == 5_000
    assert sum(d["members"] for d in out["deciles"]) == 5_000
    assert sum(d["defaults"] for d in out["deciles"]) == out["defaults"]


def test_auc_is_exact_mann_whitney():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 30, 300).tolist()
    bad = (rng.random(300) < 0.2).tolist()
    # brute force over every (defaulted, sound) pair
    pairs = [(s, t) for s, b in zip(scores, bad, strict=True) if b for t, c in zip(scores, bad, strict=True) if not c]
    wins = sum(2 if s < t else 1 if s == t else 0 for s, t in pairs)
    assert auc(scores, bad) * 2 * len(pairs) == wins
    with pytest.raises(ValueError):
        auc([1, 2], [False, False])


def test_the_score_sees_nothing_after_the_scoring_month():
    pop = generate(1_000, months=12, seed=4)
    before = inputs_at(pop, 9)
    later = slice(9, None)
    rng = np.random.default_rng(0)
    tampered = dataclasses.replace(
        pop,
        **{
            name: np.concatenate([getattr(pop, name)[:, :9], rng.integers(0, 10**9, (1_000, 3))], axis=1)
            for name in ("obligations", "carried", "disputes", "complaints", "volume")
        },
        default_month=np.where(pop.default_month > 0, 0, 10),
        health=np.concatenate([pop.health[:, :9], -pop.health[:, later]], axis=1),
    )
    assert inputs_at(tampered, 9) == before
    # and the future is really there to leak: months 10-12 had activity and defaults
    assert pop.obligations[:, later].sum() > 0 and (pop.default_month > 9).sum() > 0
    assert (pop.default_month[pop.default_month > 0] > 9).all()


def test_another_future_keeps_the_same_past():
    """The months up to the score come from their own random stream: another future, the same past."""
    a, b = generate(2_000, seed=8), generate(2_000, seed=8, outcome_seed=1)
    assert np.array_equal(a.volume[:, :9], b.volume[:, :9]) and np.array_equal(a.carried[:, :9], b.carried[:, :9])
    assert inputs_at(a, 9) == inputs_at(b, 9)
    assert not np.array_equal(a.default_month, b.default_month)
    assert not np.array_equal(a.volume[:, 9:], b.volume[:, 9:])
    assert np.array_equal(generate(300, seed=8).volume, generate(300, seed=8).volume)  # and it is deterministic


def test_cli_prints_json_and_progress_on_stderr(tmp_path):
    proc = subprocess.run(
        [CLEARING_EXE, "bench", "credit-backtest", "--members", "2000", "--seed", "3"],
        cwd=tmp_path,
        env=clearing_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["members"] == 2000 and out["seed"] == 3 and out["score_month"] == 9
    assert out["outcome_months"] == [10, 11, 12]
    assert set(out) >= {"auc", "defaults", "tiers", "deciles", "auc_hidden_health"}
    assert all(line.startswith("bench credit-backtest: ") for line in proc.stderr.splitlines())


@pytest.mark.parametrize("module", [credit_population, credit_backtest], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0
