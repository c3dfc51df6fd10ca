"""Every mok2022.* and zhu2022.* record can change its verdict: each test perturbs what the check measures — the
engine function it calls (an error at the claim's size, a reversed correlation, a kernel × 1.05, argmin for
argmax, permuted accuracies, an identically-0 bound) — and asserts the verdict moves away from pass/supported
(and, where the unperturbed run is cheap, that it is pass/supported without the perturbation).

The NB201 population checks run on a synthetic conv-proxy table (real NB201 indices and accuracies, synthetic
kernels whose LGA and kernel distance grow with accuracy), so no network is trained here."""

import dataclasses
import json

import numpy as np
import pytest

from ntkcheck.empirical import metrics as M
from ntkcheck.paper_checks import microbench, mok2022, nb201_proxy, zhu2022
from ntkcheck.paper_checks.check import Context, run_check

OK = ("pass", "supported", "consistent")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """As ``ntkcheck verify`` runs its checks (runner: one torch thread per worker); avoids oversubscribing CI."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _check(cid):
    return next(c for c in mok2022.CHECKS + zhu2022.CHECKS if c.id == cid)


def _perturb(monkeypatch, module, name, make):
    """Replace ``module.name`` by ``make(original)``: the engine function a check calls, perturbed."""
    monkeypatch.setattr(module, name, make(getattr(module, name)))


def _run(cid, tmp_path, seed=0):
    r = run_check(_check(cid), Context(seed=seed, cache_dir=tmp_path))
    assert r.verdict != "error", r.error
    return r.verdict


# ---- a synthetic conv proxy -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def proxy():
    idx = nb201_proxy.stratified_cells(96, 8, 0)
    acc = nb201_proxy.accuracies("cifar10")[idx]
    z = np.argsort(np.argsort(acc)) / (len(idx) - 1)            # accuracy rank in [0, 1]
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 3)
    L = M.label_similarity(y)
    Ks = []
    for zi in z:
        G = rng.standard_normal((30, 40))
        K0 = G @ G.T / 40
        Ks.append(np.stack([K0 + k * (0.05 + 0.4 * zi) * L for k in (0, 1, 3)]))
    return nb201_proxy.ProxyTable(nb201_proxy.ProxyConfig(n_cells=96), idx, tuple(f"c{i}" for i in idx), (0, 1, 3),
                                  Ks, [y] * len(idx), np.full(len(idx), 50.0))


@pytest.fixture
def use_proxy(monkeypatch, proxy):
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: proxy)
    # L3's further initialisations of the top-accuracy cells: the synthetic kernels again (nothing is trained)
    monkeypatch.setattr(nb201_proxy, "seed_replicates", lambda ctx, t, pos, n: [[t.kernels[p]] * n for p in pos])
    return proxy


def _patch_accuracies(monkeypatch, f):
    orig = nb201_proxy.accuracies
    monkeypatch.setattr(nb201_proxy, "accuracies", lambda d: f(orig(d)))


@pytest.mark.parametrize("cid", ["mok2022.L3", "mok2022.L7a", "mok2022.L7b", "mok2022.L8", "mok2022.L11a",
                                 "mok2022.L11b"])
def test_proxy_checks_pass_unperturbed(cid, use_proxy, tmp_path):
    assert _run(cid, tmp_path) in OK


def test_l3_lga_reversed_fails(use_proxy, monkeypatch, tmp_path):
    _perturb(monkeypatch, M, "lga", lambda f: lambda K, y, **kw: -f(K, y, **kw))   # alignment falls with training
    assert _run("mok2022.L3", tmp_path) == "not supported"


def test_l3_judged_at_every_stage(use_proxy, monkeypatch, tmp_path, proxy):
    # only the epoch-1 kernel loses alignment: the epoch-3 stage alone must not rescue the verdict
    broken = [np.stack([K[0], K[0] - 0.2 * M.label_similarity(y), K[2]]) for K, y in zip(proxy.kernels, proxy.labels)]
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: dataclasses.replace(proxy, kernels=broken))
    assert _run("mok2022.L3", tmp_path) == "not supported"


@pytest.mark.parametrize("cid", ["mok2022.L7a", "mok2022.L7b", "mok2022.L11b"])
def test_reversed_accuracy_fails(cid, use_proxy, monkeypatch, tmp_path):
    _patch_accuracies(monkeypatch, lambda a: -a)
    assert _run(cid, tmp_path) == "not supported"


@pytest.mark.parametrize("cid", ["mok2022.L7a", "mok2022.L11b"])
def test_permuted_accuracy_is_not_a_pass(cid, use_proxy, monkeypatch, tmp_path):
    _patch_accuracies(monkeypatch, lambda a: np.random.default_rng(3).permutation(a))
    assert _run(cid, tmp_path) not in OK


def test_l7b_counts_a_wrong_sign_tau_against_the_claim(use_proxy, monkeypatch, tmp_path):
    # LGA after training strongly *anti*-correlated with accuracy: |tau| large, sign wrong
    _perturb(monkeypatch, M, "lga", lambda f: lambda K, y, **kw: -f(K, y, **kw))
    assert _run("mok2022.L7b", tmp_path) == "not supported"


def test_l8_not_supported_when_accuracy_is_the_mean_of_theta(use_proxy, monkeypatch, tmp_path, proxy):
    mean0 = np.array([M.ntk_mean(K[0]) for K in proxy.kernels])

    def acc(a):
        out = np.zeros_like(a)
        out[proxy.index] = mean0
        return out

    _patch_accuracies(monkeypatch, acc)
    assert _run("mok2022.L8", tmp_path) == "not supported"


def test_l11a_kernel_that_does_not_move_fails(use_proxy, monkeypatch, tmp_path):
    _perturb(monkeypatch, M, "kernel_distance", lambda f: lambda A, B: 0.01 * f(A, B))
    assert _run("mok2022.L11a", tmp_path) == "not supported"


# ---- Mok: exact and toy checks ------------------------------------------------------------------------------

def test_l1_lga_off_by_one_percent_fails(monkeypatch, tmp_path):
    assert _run("mok2022.L1", tmp_path) == "pass"
    _perturb(monkeypatch, M, "lga", lambda f: lambda K, y, **kw: 0.99 * f(K, y, **kw))
    assert _run("mok2022.L1", tmp_path) == "fail"


def test_l2_biased_lga_fails(monkeypatch, tmp_path):
    _perturb(monkeypatch, M, "lga", lambda f: lambda K, y, **kw: f(K, y, **kw) + 0.1)
    assert _run("mok2022.L2", tmp_path) == "fail"


def test_l4_a_linearization_that_is_the_network_fails(monkeypatch, tmp_path):
    from torch.func import functional_call

    monkeypatch.setattr(mok2022, "_linearized", lambda net, p0: (lambda th, x: functional_call(net, th, (x,))))
    assert _run("mok2022.L4", tmp_path) == "fail"


def test_l5_width_independent_kernel_change_is_not_a_pass(monkeypatch, tmp_path):
    import torch

    orig = M.logit_sum_ntk
    gen = torch.Generator().manual_seed(0)

    def noisy(model, X, **kw):      # a relative change of ~1 at every width: no lazy-regime scaling
        K = orig(model, X, **kw)
        E = torch.randn(K.shape, generator=gen, dtype=K.dtype)
        return K + torch.linalg.norm(K) * (E + E.T) / (2 * K.shape[0])

    monkeypatch.setattr(M, "logit_sum_ntk", noisy)
    assert _run("mok2022.L5", tmp_path) not in OK


def _l6_rows(sign):
    return [{"spec": f"s{i}", "acc": 50.0 + i, "acc_lin": 50.0 + i - sign * (1 + i), "advantage": sign * (1.0 + i)}
            for i in range(20)]


@pytest.mark.parametrize("cid", ["mok2022.L6a", "mok2022.L6b"])
def test_l6_negative_advantage_flips(cid, monkeypatch, tmp_path):
    monkeypatch.setattr(mok2022, "_l6_runs", lambda ctx: _l6_rows(+1))
    assert _run(cid, tmp_path) in OK
    monkeypatch.setattr(mok2022, "_l6_runs", lambda ctx: _l6_rows(-1))
    assert _run(cid, tmp_path) in ("fail", "not supported")


def test_l9_distance_off_by_001_fails(monkeypatch, tmp_path):
    _perturb(monkeypatch, M, "kernel_distance", lambda f: lambda A, B: f(A, B) + 0.01)
    assert _run("mok2022.L9", tmp_path) == "fail"


def test_l10_kernel_times_105_fails(monkeypatch, tmp_path):
    _perturb(monkeypatch, M, "logit_sum_ntk", lambda f: lambda *a, **kw: 1.05 * f(*a, **kw))
    assert _run("mok2022.L10", tmp_path) == "fail"


# ---- Zhu --------------------------------------------------------------------------------------------------

def test_zhu1_can_pass_and_fail(monkeypatch, tmp_path):
    """zhu2022.1 on the paper's score over a synthetic 220-cell population (no network is built): accuracies under
    which the argmax of the score lands on the paper's numbers pass; the reversed score selects the worst cells."""
    from ntkcheck.paper_checks import conv_nb201_space, nb201_population

    score = np.random.default_rng(0).permutation(220) / 219.0
    ref = {"cifar10": 93.46, "cifar100": 71.42, "ImageNet16-120": 45.54}
    acc = {d: ref[d] - 30 * (1 - score) ** 4 for d in ref}
    cells = [f"cell{k}" for k in range(score.size)]
    monkeypatch.setattr(nb201_population, "population",
                        lambda ctx: {"cells": cells, "accuracy": acc, "sampling": "synthetic"})
    monkeypatch.setattr(conv_nb201_space, "eigennas_values", lambda ctx, c: score)
    assert _run("zhu2022.1", tmp_path) == "supported"
    monkeypatch.setattr(conv_nb201_space, "eigennas_values", lambda ctx, c: -score)
    assert _run("zhu2022.1", tmp_path) == "not supported"


def test_zhu2_is_the_papers_arithmetic(monkeypatch, tmp_path):
    assert _run("zhu2022.2", tmp_path) == "consistent"
    monkeypatch.setitem(zhu2022.EIGENNAS_REF, "cifar10", 95.0)
    assert _run("zhu2022.2", tmp_path) == "inconsistent"


def test_zhu3_argmin_selection_fails(monkeypatch, tmp_path):
    from ntkcheck.empirical import eigen_nas

    assert _run("zhu2022.3", tmp_path) == "pass"
    orig = eigen_nas.rank_search_space

    def argmin(*a, **kw):
        rk = orig(*a, **kw)
        rk.order = {k: v[::-1] for k, v in rk.order.items()}
        rk.selected = {k: rk.names[v[0]] for k, v in rk.order.items()}
        return rk

    monkeypatch.setattr(eigen_nas, "rank_search_space", argmin)
    assert _run("zhu2022.3", tmp_path) == "fail"


def _scaled_moments(monkeypatch, f):
    from ntkcheck.theory import bounds

    orig = bounds.gaussian_moments
    monkeypatch.setattr(bounds, "gaussian_moments",
                        lambda *a, **kw: dataclasses.replace(orig(*a, **kw), mu=f(orig(*a, **kw).mu)))


@pytest.mark.parametrize("cid", ["zhu2022.4", "zhu2022.5", "zhu2022.6", "zhu2022.7"])
def test_hermite_coefficients_times_105_fail(cid, monkeypatch, tmp_path):
    assert _run(cid, tmp_path) == "pass"
    _scaled_moments(monkeypatch, lambda mu: 1.05 * mu)
    assert _run(cid, tmp_path) == "fail"


def test_zhu8_kernel_times_105_fails(monkeypatch, tmp_path):
    from ntkcheck.empirical import ntk

    _perturb(monkeypatch, ntk, "empirical_ntk", lambda f: lambda *a, **kw: 1.05 * f(*a, **kw))
    assert _run("zhu2022.8", tmp_path) == "fail"


def test_zhu9_overstated_lambda_min_fails(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    _perturb(monkeypatch, bounds, "lam_min_certified", lambda f: lambda A: (0.5 * f(A)[0], f(A)[1]))
    assert _run("zhu2022.9", tmp_path) == "fail"


def test_zhu10_parity_zero_not_zero_fails(monkeypatch, tmp_path):
    _scaled_moments(monkeypatch, lambda mu: mu + 1e-6)
    assert _run("zhu2022.10", tmp_path) == "fail"


def test_zhu11_limit_times_12_fails(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    _perturb(monkeypatch, bounds, "exact_kernel", lambda f: lambda *a, **kw: 1.2 * f(*a, **kw))
    assert _run("zhu2022.11", tmp_path) == "fail"


def test_zhu12_identically_zero_bound_is_vacuous_and_a_monotone_one_supported(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    monkeypatch.setattr(bounds, "lb_schur_recursion", lambda spec, X, *a, **kw: 0.0)
    assert _run("zhu2022.12", tmp_path) == "vacuous"
    monkeypatch.setattr(bounds, "lb_schur_recursion", lambda spec, X, *a, **kw: 1.0 + spec.n_skips)
    assert _run("zhu2022.12", tmp_path) == "supported"
    monkeypatch.setattr(bounds, "lb_schur_recursion", lambda spec, X, *a, **kw: 1.0 / (1.0 + spec.n_skips))
    assert _run("zhu2022.12", tmp_path) == "not supported"


def test_zhuLB_bound_above_lambda_min_fails_and_zero_bound_is_vacuous(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    orig_lb, orig_k = bounds.lower_bounds, bounds.exact_kernel

    def over(spec, X, kernel="ntk", **kw):
        out = orig_lb(spec, X, kernel, **kw)
        out["schur_recursion"] = 1.05 * float(np.linalg.eigvalsh(orig_k(spec, X, kernel))[0])
        return out

    monkeypatch.setattr(bounds, "lower_bounds", over)
    assert _run("zhu2022.LB", tmp_path) == "fail"
    monkeypatch.setattr(bounds, "lower_bounds", lambda spec, X, kernel="ntk", **kw: dict.fromkeys(zhu2022.LB_NAMES, 0.0))
    assert _run("zhu2022.LB", tmp_path) == "vacuous"


def test_zhu13_follows_the_measured_lambda_min(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    orig_m = bounds.gaussian_moments

    def energy(spec):
        act = spec["fc"][0]
        m = orig_m(act, 2.0 / 20, 60)
        return float(np.sum(m.mu[2:, 0] ** 2) / max(m.e2[0], 1e-300))

    monkeypatch.setattr(bounds, "exact_kernel", lambda spec, X, *a, **kw: (1 + energy(spec)) * np.eye(len(X)))
    assert _run("zhu2022.13", tmp_path) == "supported"
    monkeypatch.setattr(bounds, "exact_kernel", lambda spec, X, *a, **kw: np.eye(len(X)) / (1 + energy(spec)))
    assert _run("zhu2022.13", tmp_path) == "not supported"


def test_zhu14_reversed_bound_not_supported(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    assert _run("zhu2022.14", tmp_path) == "supported"
    _perturb(monkeypatch, bounds, "lb_schur_recursion", lambda f: lambda *a, **kw: 1.0 / f(*a, **kw))
    assert _run("zhu2022.14", tmp_path) == "not supported"


def test_zhu15_loose_upper_bound_not_supported(monkeypatch, tmp_path):
    from ntkcheck.theory import bounds

    orig = bounds.bounds_report

    def loose(*a, **kw):
        rep = orig(*a, **kw)
        rep.upper_bounds = {k: 100 * v for k, v in rep.upper_bounds.items()}
        return rep

    monkeypatch.setattr(bounds, "bounds_report", loose)
    assert _run("zhu2022.15", tmp_path) == "not supported"


def test_zhu16_kernel_times_two_not_supported(monkeypatch, tmp_path):
    from ntkcheck.empirical import ntk

    orig = ntk.iter_seed_kernels
    monkeypatch.setattr(ntk, "iter_seed_kernels", lambda *a, **kw: (dataclasses.replace(sk, ntk=2 * sk.ntk)
                                                                    for sk in orig(*a, **kw)))
    assert _run("zhu2022.16", tmp_path) == "not supported"


def _fc_table(sign):
    rng = np.random.default_rng(1)
    archs, recs = [], []
    for i in range(24):
        spec = {"fc": ["relu", ["tanh", "relu", "gelu"][i % 3]], "skips": []}
        archs.append(microbench.Arch(f"fc{i}", "fc", json.dumps(spec)))
        G = rng.standard_normal((8, 20))
        K = G @ G.T + (1 + i) * np.eye(8)          # lambda_min grows with i
        recs.append({"acc_test": 50.0 + sign * i, "R_N": 1.0, "ntk_labels": np.arange(8) % 3, "K_init_weight": K,
                     "K_init_nocls": K, "K_ep1_nocls": K})
    return microbench.AccuracyTable("microbench", "synthetic", archs, recs, {"key": "x"})


def test_zhu17_reversed_accuracy_not_supported(monkeypatch, tmp_path):
    monkeypatch.setattr(microbench, "build_table", lambda cfg, cache_dir, **kw: _fc_table(+1))
    assert _run("zhu2022.17", tmp_path) == "supported"
    monkeypatch.setattr(microbench, "build_table", lambda cfg, cache_dir, **kw: _fc_table(-1))
    assert _run("zhu2022.17", tmp_path) == "not supported"


def test_zhuG_reversed_ordering_not_supported(monkeypatch, tmp_path):
    from ntkcheck.empirical import eigen_nas

    orig = eigen_nas.rank_correlation       # test error := -quantity: the template's ordering reversed
    monkeypatch.setattr(eigen_nas, "rank_correlation", lambda x, y, **kw: orig(x, -np.asarray(x, float), **kw))
    assert _run("zhu2022.G", tmp_path) == "not supported"


def test_every_mok_and_zhu_record_has_a_mutation_test():
    import inspect
    import sys

    src = inspect.getsource(sys.modules[__name__])
    untestable = {"mok2022.numbers"}              # always skipped: the paper's numbers are unavailable
    for c in mok2022.CHECKS + zhu2022.CHECKS:
        if c.id in untestable:
            continue
        assert f'"{c.id}"' in src, f"no mutation test names {c.id}"
