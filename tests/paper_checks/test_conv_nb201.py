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
    res = [run_check(c, ctx) for c in CHECKS if c.id in ("conv_nb201.K1", "conv_nb201.K2", "conv_nb201.K3")]
    for r in res:
        assert r.verdict in ("supported", "not supported", "inconclusive", "underpowered"), (r.id, r.verdict, r.error)
        assert r.details["n"] == 60 and r.power is not None and "BN" in r.details["note"]
    assert -1 <= res[2].details["tau_conv_vs_fc_order"] <= 1


# ---- T1 and K4–K7 (the shipped whole-space table; theory vs estimator vs approximation) --------------------

def test_t1_passes_and_a_kernel_without_cross_terms_fails_it(monkeypatch, tmp_path):
    """T1 recomputes shipped rows with the engine: a structural bug in the conv kernel (here: the cross terms
    between linear paths dropped, what neural-tangents computes) moves λ_min far outside the tolerance."""
    from ntkcheck.theory import conv_kernels

    t1 = next(c for c in CHECKS if c.id == "conv_nb201.T1")
    assert run_check(t1, Context(cache_dir=tmp_path)).verdict == "pass"
    real = conv_kernels.conv_cell_kernels
    monkeypatch.setattr(conv_kernels, "conv_cell_kernels", lambda spec, X, **kw: real(spec, X, cross_terms=False))
    assert run_check(t1, Context(cache_dir=tmp_path)).verdict == "fail"


def _population_stub(exact, finite, no_cross, n=220, seed=0):
    rng = np.random.default_rng(seed)
    acc = {d: rng.uniform(40, 75, n) for d in ("cifar10", "cifar100", "ImageNet16-120")}
    a = acc["cifar100"]
    noise = lambda s: a + rng.normal(0, s, n)  # noqa: E731
    q = {"exact_ntk_kappa": 1e4 / noise(exact), "kappa_N": 1e4 / noise(finite), "eigennas": noise(finite),
         "no_cross_ntk_kappa": 1e4 / noise(no_cross), "exact_ntk_lambda_min": noise(exact),
         "no_cross_ntk_lambda_min": noise(no_cross)}
    return {"cells": [f"c{k}" for k in range(n)], "quantities": q, "accuracy": acc, "sampling": "synthetic",
            "networks": "synthetic", "eigennas_config": {}, "rows": []}


def test_k5_k6_follow_which_quantity_ranks_better(monkeypatch, tmp_path):
    from ntkcheck.paper_checks import conv_nb201

    by_id = {c.id: c for c in CHECKS}
    monkeypatch.setattr(conv_nb201, "_population", lambda ctx: _population_stub(exact=2, finite=30, no_cross=30))
    assert run_check(by_id["conv_nb201.K5"], Context(cache_dir=tmp_path)).verdict == "supported"
    assert run_check(by_id["conv_nb201.K6"], Context(cache_dir=tmp_path)).verdict == "supported"
    monkeypatch.setattr(conv_nb201, "_population", lambda ctx: _population_stub(exact=30, finite=2, no_cross=2))
    assert run_check(by_id["conv_nb201.K5"], Context(cache_dir=tmp_path)).verdict == "not supported"
    assert run_check(by_id["conv_nb201.K6"], Context(cache_dir=tmp_path)).verdict == "not supported"


def test_k7_follows_the_width_trend(monkeypatch, tmp_path):
    from ntkcheck.paper_checks import conv_nb201

    rng = np.random.default_rng(0)
    n = 120
    acc = {d: rng.uniform(40, 75, n) for d in ("cifar10", "cifar100", "ImageNet16-120")}
    a = acc["cifar100"]
    exact = 1e4 / (a + rng.normal(0, 2, n))
    near, far = exact * np.exp(rng.normal(0, 0.01, n)), rng.uniform(1, 2, n)

    def stub(k16, k256):
        return lambda ctx: {"widths": [16, 64, 256], "seeds": 1, "exact": exact, "accuracy": acc,
                            "kappa": {16: k16, 64: k256, 256: k256}}

    k7 = next(c for c in CHECKS if c.id == "conv_nb201.K7")
    monkeypatch.setattr(conv_nb201, "_width", stub(far, near))
    assert run_check(k7, Context(cache_dir=tmp_path)).verdict == "supported"
    monkeypatch.setattr(conv_nb201, "_width", stub(near, far))
    assert run_check(k7, Context(cache_dir=tmp_path)).verdict == "not supported"
