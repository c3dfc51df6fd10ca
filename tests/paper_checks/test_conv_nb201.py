"""paper_checks/conv_nb201.py: the exact conv kernel vs real NB201 accuracies — verdict logic with mutations
that flip it, and one real run at small scale."""

from __future__ import annotations

import numpy as np

from ntkcheck.paper_checks.check import Context, run_check
from ntkcheck.paper_checks.conv_nb201 import CHECK_DATA, CHECKS, rank_outcome
from ntkcheck.paper_checks.registry import all_checks


def _synthetic(n=80, seed=0):
    """κ decreasing in accuracy, λ_conv increasing, λ_fc pure noise: every claim holds with a large effect."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(40, 75, n)
    return {"acc": acc, "kappa": 1e4 / (acc + rng.normal(0, 3, n)), "lambda_conv": acc + rng.normal(0, 3, n),
            "lambda_fc": rng.normal(0, 1, n)}


def test_verdicts_hold_on_a_planted_effect_and_flip_under_mutation():
    pop = _synthetic()
    for label in ("K1", "K2", "K3"):
        assert rank_outcome(CHECK_DATA[label], pop, n_boot=200).verdict == "pass", label
    flipped = {**pop, "acc": -pop["acc"]}  # reversed sign of the effect
    for label in ("K1", "K2"):
        assert rank_outcome(CHECK_DATA[label], flipped, n_boot=200).verdict == "fail", label
    swapped = {**pop, "lambda_conv": pop["lambda_fc"], "lambda_fc": pop["lambda_conv"]}  # fc better than conv
    assert rank_outcome(CHECK_DATA["K3"], swapped, n_boot=200).verdict == "fail"
    # K1's claimed effect (−0.42) is below what 10 cells can detect: never 'pass'
    small = {k: v[:10] for k, v in pop.items()}
    assert rank_outcome(CHECK_DATA["K1"], small, n_boot=200).verdict in ("underpowered", "fail")


def test_registered_and_runs_on_the_real_table_at_small_scale():
    ids = {c.id for c in all_checks()}
    assert {"conv_nb201.K1", "conv_nb201.K2", "conv_nb201.K3"} <= ids
    ctx = Context(scale="small", seed=0)
    res = [run_check(c, ctx) for c in CHECKS]
    for r in res:
        assert r.verdict in ("supported", "not supported", "inconclusive", "underpowered"), (r.id, r.verdict, r.error)
        assert r.details["n"] == 60 and r.power is not None and "BN" in r.details["note"]
    assert -1 <= res[2].details["tau_conv_vs_fc_order"] <= 1
