r"""Checks for Mok, Na, Kim, Han, Yoon, "Demystifying the Neural Tangent Kernel from a Practical Perspective:
Can it be trusted for Neural Architecture Search without training?", CVPR 2022 (arXiv 2203.14577).
Claims L1–L11 (labels of this toolkit).

**No numeric result of the paper is available** (only the abstract, the Fig. 1 caption and the official code
could be verified).  So no check compares against a number of the paper: toolkit records test the code-level
definitions (LGA, kernel distance, the logit-sum kernel, the linearization L4); the paper's NB201 claims (L3, L7,
L8, L11) run on the seeded, stratified NB201 conv proxy of :mod:`ntkcheck.paper_checks.nb201_proxy` (small conv
nets with Mok et al.'s cell BN and optimiser, trained briefly on digits) against NB201's real 200-epoch
accuracies.  That protocol is a smaller stand-in for the paper's (full-size networks on CIFAR / ImageNet16-120), so
these records are hypotheses, and each states both protocols; so are L6a/L6b (fc nets on digits).  L5 (the lazy
regime of prior work) is a toolkit extension.  ``mok2022.numbers`` records that the paper's tables cannot be
checked here.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ntkcheck.paper_checks.check import (Check, Context, Outcome, power_kendall, power_mean_difference, skipped,
                                         verdict_condition, verdict_fraction, verdict_powered)
from ntkcheck.paper_checks.nb201_proxy import PAPER_PROTOCOL

PAPER = "mok2022"


def _torch():
    import torch

    return torch


# ---- L1: LGA's exact properties ----------------------------------------------------------------------------

def _l1(ctx: Context) -> Outcome:
    from ntkcheck.empirical.metrics import label_similarity, lga

    rng = ctx.rng
    N, P = 40, 120
    G = rng.standard_normal((N, P))
    K = G @ G.T
    y = rng.integers(0, 5, N)
    L = label_similarity(y)
    Y = np.eye(5)[y]
    vals = {"lga": lga(K, y), "lga(L)": lga(L, y), "lga(-L)": lga(-L, y),
            "lga(2.5K+7)": lga(2.5 * K + 7.0, y)}
    # YYᵀ ∈ {0,1} encoding: Pearson correlation of entries of K with YYᵀ (independent: numpy corrcoef)
    vals["corr(K, YY^T)"] = float(np.corrcoef(K.reshape(-1), (Y @ Y.T).reshape(-1))[0, 1])
    tol = 1e-10
    checks = {"range": -1 - tol <= vals["lga"] <= 1 + tol,
              "lga(L)=1": abs(vals["lga(L)"] - 1) <= tol,
              "lga(-L)=-1": abs(vals["lga(-L)"] + 1) <= tol,
              "affine invariance": abs(vals["lga(2.5K+7)"] - vals["lga"]) <= tol * max(1, abs(vals["lga"])),
              "YY^T encoding": abs(vals["corr(K, YY^T)"] - vals["lga"]) <= tol}
    bad = [k for k, v in checks.items() if not v]
    return verdict_condition(not bad, vals, {"lga(L)": 1, "lga(-L)": -1, "lga(2.5K+7)": "= lga",
                                              "corr(K, YY^T)": "= lga"},
                             reason=f"failed: {bad}", details={"properties": checks})


# ---- L2: the random baseline ----------------------------------------------------------------------------------

def _l2(ctx: Context) -> Outcome:
    from ntkcheck.empirical.metrics import lga

    rng = ctx.rng
    N, P, draws = 64, 200, ctx.pick(200, 1000)
    off, full = [], []
    for _ in range(draws):
        G = rng.standard_normal((N, P))
        K = G @ G.T
        y = rng.integers(0, 10, N)
        off.append(lga(K, y, include_diag=False))
        full.append(lga(K, y))
    off, full = np.array(off), np.array(full)
    bound = 4 / math.sqrt(N * (N - 1) / 2)          # |LGA_off| < 4/√(#pairs): about 4 null standard deviations
    viol = int(np.sum(np.abs(off) >= bound))
    se = float(full.std(ddof=1) / math.sqrt(draws))
    ok = viol <= max(1, int(0.01 * draws)) and full.mean() - 1.96 * se > 0
    return verdict_condition(ok, {"offdiag_mean": float(off.mean()), "offdiag_violations": viol,
                                  "diag_inclusive_mean": float(full.mean())},
                             {"offdiag": f"|LGA| < {bound:.3f}", "diag_inclusive": "> 0 (derivation: about 0.29)"},
                             reason="off-diagonal LGA not centred at 0 or diagonal-inclusive LGA not positive",
                             details={"draws": draws, "N": N, "P": P, "bound": bound,
                                      "offdiag_std": float(off.std()), "diag_inclusive_se": se})


# ---- NB201 claims on the conv proxy, judged on NB201's accuracies: L3, L7, L8, L11 ----------------------------

#: |τ| below this is "weak" (L8) — the toolkit's reading of the abstract's "unreliable"; the paper's numbers are
#: unavailable, so no claimed effect size exists and the power of each design is stated as its MDE.
WEAK_TAU = 0.3
#: Kernel distance S(Θ_0, Θ_t) = 1 − cos(Θ_0, Θ_t) above which a kernel has "moved far" (L11a): cosine < 0.9.
FAR_DISTANCE = 0.1


def _proxy(ctx: Context):
    from ntkcheck.paper_checks.nb201_proxy import conv_proxy

    return conv_proxy(ctx)


def data_source() -> str:
    from ntkcheck.paper_checks.nb201_proxy import data_source as src

    return src()


def _stage_metric(t, name: str, stage: int) -> np.ndarray:
    """Per cell of the conv proxy: LGA (``"lga"``) or an at-init NTK metric of the kernel after ``stage`` epochs,
    computed by the metric engine from the cached kernels."""
    from ntkcheck.empirical import metrics as M

    s = t.stage_epochs.index(stage)
    if name == "lga":
        return np.array([M.lga(K[s], y) for K, y in zip(t.kernels, t.labels)])
    if name == "mean":
        return np.array([M.ntk_mean(K[s]) for K in t.kernels])
    if name == "fnorm":
        return np.array([M.frobenius_norm(K[s]) for K in t.kernels])
    if name == "kappa":
        return np.array([M.condition_number(K[s]).value for K in t.kernels])
    if name == "distance":        # kernel distance from the kernel at init
        return np.array([M.kernel_distance(K[0], K[s]) for K in t.kernels])
    raise KeyError(name)


#: Initialisations per architecture in L3's high-accuracy stratum (the population's own run + replicates).
L3_SEEDS = 2


def _l3(ctx: Context) -> Outcome:
    """Fig. 1: the NTK of a *high-accuracy* architecture twists towards the labels during training.  Judged per
    architecture over seeds in the high-accuracy stratum (the sample's top CIFAR-10 accuracy bin): for each
    architecture the LGA change from init after each named epoch k, averaged over ``L3_SEEDS`` initialisations;
    supported when the 95% t-interval of these per-architecture means lies above 0 at every named epoch, not
    supported when it lies below 0 at some epoch, else inconclusive.  The bottom bin's changes (one run each) are
    reported beside it, the contrast Fig. 1 draws."""
    from scipy.stats import ttest_1samp

    from ntkcheck.empirical.metrics import lga
    from ntkcheck.paper_checks.nb201_proxy import high_accuracy_stratum, seed_replicates

    t = _proxy(ctx)
    top = high_accuracy_stratum(t)
    runs = seed_replicates(ctx, t, top, L3_SEEDS)
    stages = t.stage_epochs[1:]
    per_arch, per_stage, verdicts = {}, {}, []
    for j, p in enumerate(top):
        y = t.labels[p]
        ch = np.array([[lga(K[s], y) - lga(K[0], y) for s in range(1, len(t.stage_epochs))] for K in runs[j]])
        per_arch[t.cells[p]] = {"nb201_cifar10": float(t.accuracy("cifar10")[p]),
                                "lga_change_per_seed": ch.tolist(),
                                "seeds_with_growth_at_every_epoch": int(np.sum(np.all(ch > 0, axis=1)))}
    means = np.array([np.mean(v["lga_change_per_seed"], axis=0) for v in per_arch.values()])   # (arch, stage)
    for s, k in enumerate(stages):
        res = ttest_1samp(means[:, s], 0.0)
        lo, hi = (float(x) for x in res.confidence_interval(0.95))
        v = "pass" if lo > 0 else "fail" if hi < 0 else "inconclusive"
        per_stage[f"epoch {k}"] = {"mean_change": float(np.mean(means[:, s])), "ci95": [lo, hi],
                                   "p_value": float(res.pvalue), "verdict": v}
        verdicts.append(v)
    verdict = "fail" if "fail" in verdicts else "pass" if all(v == "pass" for v in verdicts) else "inconclusive"
    acc = t.accuracy("cifar10")
    bottom = np.sort(np.argsort(acc, kind="stable")[:len(top)])
    l0 = _stage_metric(t, "lga", 0)
    low = {f"epoch {k}": float(np.mean(_stage_metric(t, "lga", k)[bottom] - l0[bottom])) for k in stages}
    last = per_stage[f"epoch {stages[-1]}"]
    det = {"per_epoch": per_stage, "per_architecture": per_arch, "ci95": last["ci95"],
           "low_accuracy_bin_mean_change": low, "seeds_per_architecture": L3_SEEDS,
           "stratum": f"the top CIFAR-10 accuracy bin of the sample ({len(top)} cells, "
                      f"{float(acc[top].min()):.2f}-{float(acc[top].max()):.2f}%)",
           "proxy": t.describe(), "data_source": data_source()}
    out = Outcome(verdict, {k: v["mean_change"] for k, v in per_stage.items()},
                  f"mean LGA change from init > 0 over high-accuracy architectures, every k in {list(stages)}",
                  det, reason="; ".join(f"{k}: 95% CI [{v['ci95'][0]:.3g}, {v['ci95'][1]:.3g}]"
                                        for k, v in per_stage.items() if v["verdict"] != "pass"))
    sd = float(np.std(means[:, -1], ddof=1)) if len(means) > 1 else math.inf
    out.power = power_mean_difference(len(top), sd, None, test="per-architecture mean LGA change vs 0 (t interval)")
    return out


def _tau_verdict(x: np.ndarray, t, ctx: Context, key: str, claimed: str) -> Outcome:
    from ntkcheck.paper_checks.nb201_proxy import combine_datasets, kendall_per_dataset

    cs = kendall_per_dataset(x, t.index, n_boot=ctx.pick(1000, 2000), seed=ctx.seed_for(key), sign=1)
    outs = {d: verdict_powered(c["value"], c["ci95"], sign=1, power=power_kendall(c["n"], None), claimed=claimed,
                               details={"n": c["n"], "p_value": c["p_value"],
                                        **({"size_baselines": c["size_baselines"]} if "size_baselines" in c else {})})
            for d, c in cs.items()}
    out = combine_datasets(outs)
    out.details["proxy"] = t.describe()
    return out


def _l7a(ctx: Context) -> Outcome:
    t = _proxy(ctx)
    out = _tau_verdict(_stage_metric(t, "lga", 1), t, ctx, "l7a", "tau(LGA after 1 epoch, NB201 accuracy) > 0")
    out.details["tau_lga_init"] = {d: v for d, v in
                                   _taus(_stage_metric(t, "lga", 0), t).items()}
    return out


def _taus(x: np.ndarray, t) -> dict[str, float]:
    from ntkcheck.paper_checks.nb201_proxy import kendall_per_dataset

    return {d: c["value"] for d, c in kendall_per_dataset(x, t.index, n_boot=0, seed=0).items()}


def _l7b(ctx: Context) -> Outcome:
    """d = τ(LGA_ep1, acc) − |τ(LGA_init, acc)|: LGA after one epoch must correlate *positively* and more
    strongly than LGA at init does in either direction (a wrong-sign τ after training counts against the claim)."""
    from scipy.stats import kendalltau

    from ntkcheck.paper_checks.nb201_proxy import accuracies, combine_datasets

    t = _proxy(ctx)
    e, i0 = _stage_metric(t, "lga", 1), _stage_metric(t, "lga", 0)
    keep = np.isfinite(e) & np.isfinite(i0)
    e, i0, idx = e[keep], i0[keep], t.index[keep]
    n = int(idx.size)

    def diff(a, sel):
        return kendalltau(e[sel], a[sel])[0] - abs(kendalltau(i0[sel], a[sel])[0])

    outs = {}
    for d in ("cifar10", "cifar100", "ImageNet16-120"):
        a = accuracies(d)[idx]
        rng = np.random.default_rng(ctx.seed_for("l7b", d))
        d0 = float(diff(a, np.arange(n)))
        boots = [v for v in (diff(a, rng.integers(0, n, n)) for _ in range(ctx.pick(500, 1000))) if math.isfinite(v)]
        ci = [float(x) for x in np.quantile(boots, [0.025, 0.975])] if boots else [math.nan, math.nan]
        outs[d] = verdict_powered(d0, ci, sign=1, power=power_kendall(n, None),
                                  claimed="tau(LGA ep1) - |tau(LGA init)| > 0",
                                  details={"n": n, "tau_ep1": float(kendalltau(e, a)[0]),
                                           "tau_init": float(kendalltau(i0, a)[0])})
    out = combine_datasets(outs)
    out.details["proxy"] = t.describe()
    return out


def _l8(ctx: Context) -> Outcome:
    """Per at-init metric (mean, κ, ‖Θ‖_F) and dataset: Kendall τ with NB201 accuracy and its bootstrap CI.
    A metric is *reliable* (against the claim) when its CIs lie beyond ±WEAK_TAU on the same side on every dataset;
    *weak or inconsistent* (for the claim) when on some dataset its CI lies inside (−WEAK_TAU, WEAK_TAU), or two
    datasets' CIs exclude 0 with opposite signs.  supported: every metric weak or inconsistent; not supported: some
    metric reliable; else inconclusive."""
    from ntkcheck.paper_checks.nb201_proxy import kendall_per_dataset

    t = _proxy(ctx)
    res, status = {}, {}
    for m in ("mean", "kappa", "fnorm"):
        cs = kendall_per_dataset(_stage_metric(t, m, 0), t.index, n_boot=ctx.pick(500, 1000), seed=ctx.seed_for(m))
        res[m] = {d: {"tau": c["value"], "ci95": c["ci95"]} for d, c in cs.items()}
        cis = [c["ci95"] for c in cs.values()]
        reliable = all(lo > WEAK_TAU for lo, hi in cis) or all(hi < -WEAK_TAU for lo, hi in cis)
        weak = any(-WEAK_TAU < lo and hi < WEAK_TAU for lo, hi in cis)
        flip = any(lo > 0 for lo, hi in cis) and any(hi < 0 for lo, hi in cis)
        status[m] = "reliable" if reliable else "weak or inconsistent" if (weak or flip) else "undecided"
    tl = _taus(_stage_metric(t, "lga", 0), t)
    verdict = ("fail" if "reliable" in status.values() else
               "pass" if all(v == "weak or inconsistent" for v in status.values()) else "inconclusive")
    out = Outcome(verdict, {m: res[m]["cifar10"]["tau"] for m in res},
                  f"weak (95% CI inside ±{WEAK_TAU}) or sign-inconsistent across datasets, for every metric",
                  {"per_metric": res, "status": status, "tau_lga_init": tl, "proxy": t.describe(),
                   "data_source": data_source(),
                   "ci95": res["kappa"]["cifar10"]["ci95"]},
                  reason="" if verdict == "pass" else
                  f"metric status: {status}")
    out.power = power_kendall(len(t.index), None)
    return out


def _l11a(ctx: Context) -> Outcome:
    t = _proxy(ctx)
    last = t.stage_epochs[-1]
    dist = _stage_metric(t, "distance", last)
    ok = np.isfinite(dist)
    out = verdict_fraction(int(np.sum(dist[ok] > FAR_DISTANCE)), int(ok.sum()), required=0.8,
                           claimed=f"S(Theta_0, Theta_{last}) > {FAR_DISTANCE} in >= 80% of nets",
                           details={"median_distance": float(np.median(dist[ok])),
                                    "quartiles": [float(q) for q in np.quantile(dist[ok], [0.25, 0.75])],
                                    "epochs": last, "proxy": t.describe()})
    return out


def _l11b(ctx: Context) -> Outcome:
    """Fig. 1's "kernel twisting" is alignment of the NTK with the labels: the record ranks the label-alignment
    gain LGA(Θ_k) − LGA(Θ_0) against NB201 accuracy (the kernel distance S(Θ_0, Θ_k) is reported beside it; it
    measures how far the kernel moves, not whether it moves towards the labels)."""
    t = _proxy(ctx)
    last = t.stage_epochs[-1]
    gain = _stage_metric(t, "lga", last) - _stage_metric(t, "lga", 0)
    out = _tau_verdict(gain, t, ctx, "l11b", f"tau(LGA after {last} epochs - LGA at init, NB201 accuracy) > 0")
    out.details["tau_kernel_distance"] = _taus(_stage_metric(t, "distance", last), t)
    return out


# ---- L4: the linearized model keeps its NTK -------------------------------------------------------------------

def _linearized(net, params0: dict):
    """f_lin(x; θ) = f(x; θ0) + J(x; θ0)(θ − θ0) via torch.func.jvp (Lee et al. 2019)."""
    from torch.func import functional_call, jvp

    names = list(params0)

    def f_lin(theta: dict, x):
        def f(*ps):
            return functional_call(net, dict(zip(names, ps)), (x,))

        out0, tangent = jvp(f, tuple(params0[n] for n in names), tuple(theta[n] - params0[n] for n in names))
        return out0 + tangent

    return f_lin


def _sum_logit_kernel(fn, theta: dict, X):
    """Θ_ij = ⟨∂Σ_c f_c(x_i)/∂θ, ∂Σ_c f_c(x_j)/∂θ⟩ of a functional model, by torch.func.jacrev."""
    torch = _torch()
    from torch.func import jacrev

    J = jacrev(lambda th: fn(th, X).sum(dim=1))(theta)
    G = torch.cat([J[n].reshape(X.shape[0], -1) for n in theta], dim=1)
    return (G @ G.T).detach().numpy()


def _l4(ctx: Context) -> Outcome:
    torch = _torch()
    from torch.func import functional_call
    from ntkcheck.empirical.metrics import kernel_correlation, lga, relative_kernel_difference
    from ntkcheck.empirical.networks import build_network
    from ntkcheck.paper_checks.microbench import digits_data

    Xtr, _, ytr, _ = digits_data()
    X = torch.as_tensor(Xtr[:16])
    y = ytr[:16]
    Xt, yt = torch.as_tensor(Xtr[:256]), torch.as_tensor(ytr[:256])
    net = build_network({"fc": ["relu", "tanh", "relu"]}, 64, 32, out_dim=10, parametrization="ntk",
                        seed=ctx.seed_for("net"), device="cpu")
    theta0 = {n: p.detach().clone() for n, p in net.named_parameters()}
    f_lin = _linearized(net, theta0)
    f_nl = lambda th, x: functional_call(net, th, (x,))  # noqa: E731
    K0 = _sum_logit_kernel(f_lin, theta0, X)
    out = {}
    for name, fn in (("linearized", f_lin), ("network", f_nl)):
        theta = {n: p.clone().requires_grad_(True) for n, p in theta0.items()}
        opt = torch.optim.SGD(theta.values(), lr=1.0)
        for _ in range(ctx.pick(30, 100)):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(fn(theta, Xt), yt)
            loss.backward()
            opt.step()
        Kt = _sum_logit_kernel(fn, {n: p.detach() for n, p in theta.items()}, X)
        out[name] = {"corr": kernel_correlation(K0, Kt), "reldiff": relative_kernel_difference(K0, Kt),
                     "lga_change": lga(Kt, y) - lga(K0, y), "final_loss": float(loss.detach())}
    lin = out["linearized"]
    ok = abs(lin["corr"] - 1) <= 1e-6 and lin["reldiff"] <= 1e-6 and abs(lin["lga_change"]) <= 1e-6
    return verdict_condition(ok, {k: lin[k] for k in ("corr", "reldiff", "lga_change")},
                             {"corr": 1, "reldiff": 0, "lga_change": 0},
                             reason="the linearized model's NTK moved", details={"per_model": out})


# ---- L5: lazy-regime scaling -------------------------------------------------------------------------------

def _l5(ctx: Context) -> Outcome:
    torch = _torch()
    from ntkcheck.empirical.metrics import logit_sum_ntk
    from ntkcheck.empirical.networks import build_network
    from ntkcheck.paper_checks.microbench import digits_data

    Xtr, _, ytr, _ = digits_data()
    X = torch.as_tensor(Xtr[:12])
    Xt, yt = torch.as_tensor(Xtr[:128]), torch.as_tensor(ytr[:128])
    widths = ctx.pick((32, 128, 512), (64, 256, 1024, 4096))
    seeds = range(ctx.pick(3, 5))
    rel = np.zeros((len(seeds), len(widths)))
    for si, s in enumerate(seeds):
        for wi, w in enumerate(widths):
            net = build_network({"fc": ["relu", "relu"]}, 64, w, out_dim=10, parametrization="ntk",
                                seed=ctx.seed_for(s, w), device="cpu")
            K0 = logit_sum_ntk(net, X, params="all").numpy()
            opt = torch.optim.SGD(net.parameters(), lr=0.5)
            for _ in range(20):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(Xt), yt).backward()
                opt.step()
            Kt = logit_sum_ntk(net, X, params="all").numpy()
            rel[si, wi] = np.linalg.norm(Kt - K0) / np.linalg.norm(K0)
    lw = np.log(widths)
    slopes = [float(np.polyfit(lw, np.log(rel[i]), 1)[0]) for i in range(len(seeds))]
    m = float(np.mean(slopes))
    se = float(np.std(slopes, ddof=1) / math.sqrt(len(slopes))) if len(slopes) > 1 else math.inf
    tq = 4.303 if len(slopes) == 3 else 2.776   # t(0.975) for 2 or 4 degrees of freedom
    pw = power_mean_difference(len(slopes), float(np.std(slopes, ddof=1)), -0.5,
                               test="mean slope over seeds vs 0 (t interval)")
    return verdict_powered(m, (m - tq * se, m + tq * se), sign=-1, power=pw, claimed="slope < 0 (NTK theory: about -0.5)",
                        details={"widths": list(widths), "rel_change": rel.tolist(), "slopes": slopes,
                                 "parametrization": "ntk", "steps": 20, "lr": 0.5})


# ---- L6: non-linear advantage ------------------------------------------------------------------------------

def _l6_runs(ctx: Context):
    memo = ctx.shared.get("mok_l6")
    if memo is not None:
        return memo
    torch = _torch()
    from torch.func import functional_call
    from ntkcheck.empirical.networks import build_network
    from ntkcheck.paper_checks.microbench import digits_data

    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv
    from ntkcheck.spec import NB201_OPS, nb201_string, parse_spec

    Xtr, Xte, ytr, yte = digits_data()
    xtr, xte = torch.as_tensor(Xtr).reshape(-1, 1, 8, 8), torch.as_tensor(Xte).reshape(-1, 1, 8, 8)
    ttr = torch.as_tensor(ytr)
    rng = np.random.default_rng([ctx.seed, 606])   # shared by L6a and L6b (not check-specific)
    cells: list[str] = []
    while len(cells) < ctx.pick(6, 20):
        c = nb201_string([NB201_OPS[i] for i in rng.integers(0, 5, 6)])
        if c not in cells and not parse_spec({"nb201": c}).is_degenerate:
            cells.append(c)
    # small CNNs: NB201 conv nets, C=4, two stages; BN without running statistics, so that f and
    # f_lin see the same batch-statistics function and no buffer is mutated inside the jvp
    cfg = NB201ConvConfig(C=4, N=1, in_channels=1, num_classes=10, input_size=8, stages=2,
                          bn_track_running_stats=False)
    small = ctx.scale == "small"
    if small:
        # at small scale: mixed-activation fc nets (the conv version costs about a minute per network on 2 cores)
        acts = ("relu", "tanh", "gelu", "sigmoid")
        specs = [{"fc": [acts[i] for i in rng.integers(0, 4, int(rng.integers(2, 4)))]} for _ in range(12)]
        xtr, xte = xtr.reshape(-1, 64), xte.reshape(-1, 64)
    else:
        specs = cells
    rows = []
    for k, spec in enumerate(specs):
        if small:
            net = build_network(spec, 64, 64, out_dim=10, parametrization="standard", seed=ctx.seed * 1000 + k,
                                device="cpu")
        else:
            net = build_nb201_conv(spec, cfg, seed=ctx.seed * 1000 + k, device="cpu")
        theta0 = {n: p.detach().clone() for n, p in net.named_parameters()}
        accs = {}
        for name in ("network", "linearized"):
            fn = _linearized(net, theta0) if name == "linearized" else (lambda th, x: functional_call(net, th, (x,)))
            theta = {n: p.clone().requires_grad_(True) for n, p in theta0.items()}
            opt = torch.optim.Adam(theta.values(), lr=1e-3 if small else 1e-2)
            g = torch.Generator().manual_seed(k)
            for _ in range(ctx.pick(3, 10)):
                perm = torch.randperm(xtr.shape[0], generator=g)
                for b in range(0, xtr.shape[0], 64):
                    i = perm[b:b + 64]
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(fn(theta, xtr[i]), ttr[i]).backward()
                    opt.step()
            with torch.no_grad():
                pred = torch.cat([fn({n: p.detach() for n, p in theta.items()}, xte[b:b + 64]).argmax(1)
                                  for b in range(0, xte.shape[0], 64)]).numpy()
            accs[name] = float(100 * np.mean(pred == yte))
        rows.append({"spec": spec, "acc": accs["network"], "acc_lin": accs["linearized"],
                     "advantage": accs["network"] - accs["linearized"]})
        ctx.progress(f"L6 {k + 1}/{len(specs)}")
    ctx.shared["mok_l6"] = rows
    return rows


def _l6a(ctx: Context) -> Outcome:
    rows = _l6_runs(ctx)
    wins = sum(r["advantage"] > 0 for r in rows)
    return verdict_fraction(wins, len(rows), required=0.8, claimed="Acc(f) - Acc(f_lin) > 0 in >= 80% of nets",
                            details={"runs": rows})


def _l6b(ctx: Context) -> Outcome:
    from ntkcheck.paper_checks.microbench import correlation

    rows = _l6_runs(ctx)
    c = correlation([r["advantage"] for r in rows], [r["acc"] for r in rows], n_boot=1000, seed=ctx.seed_for("b"))
    return verdict_powered(c["value"], c["ci95"], sign=1, power=power_kendall(c["n"], None),
                           claimed="tau(advantage, accuracy) > 0", details={**c, "runs": rows})


# ---- L9, L10 -------------------------------------------------------------------------------------------------

def _l9(ctx: Context) -> Outcome:
    from ntkcheck.empirical.metrics import kernel_correlation, kernel_distance, relative_kernel_difference

    rng = ctx.rng
    res, bad = {}, []
    for trial in range(20):
        A = rng.standard_normal((12, 30))
        B = rng.standard_normal((12, 30))
        K1, K2 = A @ A.T, B @ B.T
        a = float(rng.uniform(0.1, 10))
        vals = {"S(K,K)": kernel_distance(K1, K1), "S(K,aK)": kernel_distance(K1, a * K1),
                "S(K1,K2)": kernel_distance(K1, K2), "corr(K,K)": kernel_correlation(K1, K1),
                "reldiff(K,K)": relative_kernel_difference(K1, K1)}
        if not (abs(vals["S(K,K)"]) <= 1e-12 and abs(vals["S(K,aK)"]) <= 1e-12 and -1e-12 <= vals["S(K1,K2)"] <= 1 + 1e-12
                and abs(vals["corr(K,K)"] - 1) <= 1e-12 and vals["reldiff(K,K)"] == 0):
            bad.append(trial)
        res = vals
    return verdict_condition(not bad, res, {"S(K,K)": 0, "S(K,aK)": 0, "S(K1,K2)": "in [0,1]", "corr(K,K)": 1,
                                            "reldiff(K,K)": 0}, reason=f"axioms failed in trials {bad}",
                             details={"trials": 20})


def _l10(ctx: Context) -> Outcome:
    torch = _torch()
    from torch.func import functional_call, jacrev
    from ntkcheck.empirical.metrics import logit_sum_ntk
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv

    cell = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    # BN without running statistics (as the cells of Mok et al.'s NB201 networks, official code): batch statistics
    # always, and no buffer is mutated inside the jacrev transform
    net = build_nb201_conv(cell, NB201ConvConfig(C=3, N=1, in_channels=1, num_classes=5, input_size=8, stages=2,
                                                 bn_track_running_stats=False),
                           seed=ctx.seed_for("net"), device="cpu")
    g = torch.Generator().manual_seed(ctx.seed_for("x"))
    X = torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64)
    Ks = logit_sum_ntk(net, X, params="weight", bn_train_mode=True).numpy()
    # independent side: the full per-logit Jacobian of the batched function (BN coupling included)
    names = [n for n, _ in net.named_parameters() if "weight" in n]
    params = {n: p.detach() for n, p in net.named_parameters()}
    net.train()

    def f(sel):
        return functional_call(net, {**params, **sel}, (X,))        # (N, C)

    J = jacrev(f)({n: params[n] for n in names})
    N, C = 6, 5
    G = torch.cat([J[n].reshape(N, C, -1) for n in names], dim=2).reshape(N * C, -1)
    Kfull = (G @ G.T).numpy()
    contracted = Kfull.reshape(N, C, N, C).sum(axis=(1, 3))
    err = float(np.max(np.abs(contracted - Ks)))
    scale = float(np.max(np.abs(Ks)))
    return verdict_condition(err <= 1e-6 * max(1.0, scale), {"max_abs_diff": err}, {"max_abs_diff": 0},
                             reason="contraction of the per-logit kernel differs from the logit-sum kernel",
                             details={"kernel_scale": scale, "N": N, "C": C})


def _numbers(ctx: Context) -> Outcome:
    return skipped("the numbers of the paper's body (correlation tables, kernel-tracking curves, search results) "
                   "are not available to this toolkit, so they cannot be compared here")


_METRICS = "module:ntkcheck.empirical.metrics"
_SPECTRA = "module:ntkcheck.theory.spectra"


_PROXY = ("the NB201 conv proxy: a stratified sample of 64 non-degenerate NB201 cells (8 per CIFAR-10 accuracy "
          "octile, seeded), each a small NB201 conv net (C = 4, one cell per stage, 2 stages, 1×8×8 input) with Mok "
          "et al.'s cell BN, trained with their SGD settings for 3 epochs on 1200 sklearn digits; NTK on 30 probe "
          "images; judged against the real NATS-Bench 200-epoch accuracies")


def _toy(what: str) -> str:
    """how_measured of a record on the conv proxy: what the paper ran, then what was run here."""
    return f"{PAPER_PROTOCOL}. Run here (a smaller stand-in, so a hypothesis): {what}"


_TOY_FC = ("paper's protocol: not released (the abstract and Fig. 1 name the non-linear advantage of NB201 networks "
           "on CIFAR). Run here (a smaller stand-in, so a hypothesis): ")
_c = functools.partial(Check.record, PAPER)  # _c(label, claim, source, kind, how_m, how_c, tol, why, fn, needs, budget)


CHECKS: list[Check] = [
    _c("L1", "LGA ∈ [−1, 1]; LGA(L) = 1; LGA(−L) = −1; LGA(aΘ + b) = LGA(Θ) for a > 0; the ±1 and the YYᵀ ∈ {0,1} "
       "label encodings give the same value.", "Mok et al. 2022 §3 (LGA); official code, label_align_eig.py", "exact",
       "metrics.lga on a random Gram matrix (N=40, P=120) and 5 random classes",
       "exact algebra (Pearson correlation is affine invariant; 2YYᵀ − 1 = L); YYᵀ side by numpy corrcoef",
       "1e-10 absolute", "float64 sums of 1600 terms", _l1, (_METRICS,), 2),
    _c("L2", "For a random Gram matrix and independent labels the off-diagonal LGA is ≈ 0 (|LGA| < 4/√#pairs), "
       "while the diagonal-inclusive LGA is biased positive (≈ 0.29).", "Mok et al. 2022 §3 (LGA definition); "
       "derived null distribution", "numeric",
       "200 draws: G ∈ R^{64×200} Gaussian, 10 random classes; lga with and without the diagonal",
       "derivation: off-diagonal mean 0, std ≈ 0.022; diagonal-inclusive ≈ 0.29",
       "≤ 1% of draws beyond 4/√2016 = 0.089; diagonal-inclusive mean − 1.96 SE > 0",
       "the bound is ≈ 4 standard deviations of the null; the bias claim is a sign", _l2, (_METRICS,), 10),
    _c("L3", "NTK–label alignment grows with training for high-accuracy architectures (kernel twisting, Fig. 1).",
       "Mok et al. 2022, abstract and Fig. 1 caption", "hypothesis",
       _toy("LGA (logit-sum NTK, classifier excluded, train-mode BN) at init and after each named epoch k in {1, 3} "
            "for every cell of the top CIFAR-10 accuracy bin of " + _PROXY + ", each cell trained from "
            f"{L3_SEEDS} initialisations; per architecture the mean LGA change over its seeds; the bottom bin "
            "reported beside it"),
       "direction of Fig. 1 ('kernel twisting towards the labels' of a high-accuracy architecture)",
       "at every named epoch: the 95% t-interval of the per-architecture mean LGA change lies above 0 -> supported; "
       "below 0 at some epoch -> not supported; else inconclusive",
       "seeds are averaged within an architecture, architectures are the units", _l3, (_METRICS,), 40),
    _c("L4", "A linearized model keeps its NTK during training: kernel correlation 1, relative difference 0, LGA "
       "constant (the toolkit's linearization, used by L6).", "Lee et al. 2019 (linearized networks), as used by "
       "Mok et al. 2022 §4", "exact",
       "f_lin = f(θ0) + J(θ0)(θ − θ0) via torch.func.jvp, trained 30 SGD steps on digits; its logit-sum NTK by "
       "jacrev at θ_t vs at θ0 (the non-linear net's change reported alongside)",
       "exact: ∂f_lin/∂θ = J(θ0) for every θ", "1e-6 absolute", "float64 autograd through jvp", _l4,
       (_METRICS, "torch"), 20, role="toolkit"),
    _c("L5", "Lazy regime: the relative NTK change after a fixed number of steps shrinks with width (≈ width^−1/2, NTK "
       "parametrization) — prior work the paper builds on, not a claim of Mok et al.; a toolkit extension.",
       "Jacot et al. 2018; Lee et al. 2019 (cited by Mok et al. 2022 §2)", "statistical",
       "fc nets on digits: ‖Θ_t − Θ_0‖_F/‖Θ_0‖_F after 20 SGD steps (lr 0.5, NTK parametrization) at widths "
       "32/128/512, 3 seeds; slope of log change vs log width", "sign of the theory's −1/2 exponent",
       "t-interval of the mean slope over seeds below 0 → pass; above → fail; else inconclusive",
       "finite-width fluctuations; the exponent itself is reported, not asserted", _l5, (_METRICS, "torch"), 40,
       role="extension"),
    _c("L6a", "Non-linear advantage: networks beat their linearization after a few epochs, Acc(f) − Acc(f_lin) > 0.",
       "Mok et al. 2022, abstract and Fig. 1", "hypothesis",
       _TOY_FC + "small scale: 12 fc nets (mixed activations, width 64, Adam lr 1e-3, 3 epochs); paper scale: 20 "
       "random NB201 conv nets (C=4, two stages, batch-statistics BN, Adam lr 1e-2, 10 epochs); each net vs its jvp "
       "linearization on sklearn digits",
       "direction stated in the abstract", "advantage > 0 in ≥ 80% of nets", "qualitative claim",
       _l6a, (_METRICS, "torch"), 60),
    _c("L6b", "The non-linear advantage is larger for higher-accuracy architectures.",
       "Mok et al. 2022, abstract and Fig. 1", "hypothesis",
       _TOY_FC + "Kendall τ(advantage, digits accuracy) over the L6a nets with a bootstrap CI",
       "direction in the abstract", "CI above 0 → supported", "12 nets: low power; informational", _l6b,
       (_METRICS, "torch"), 5),
    _c("L7a", "After minimal training LGA correlates positively with final accuracy (NB201).",
       "Mok et al. 2022, abstract", "hypothesis",
       _toy("Kendall tau-b(LGA after 1 epoch, NB201 200-epoch test accuracy) on CIFAR-10, CIFAR-100 and "
            "ImageNet16-120 over " + _PROXY + "; bootstrap 95% CI over cells"),
       "abstract: 'meaningful rank correlation' (direction; the paper's values are not available)",
       "per dataset: CI above 0 -> pass, below -> fail, else inconclusive; combined: fail if any fails, pass if all "
       "pass", "directional claim; power stated as the MDE of the design", _l7a, (_METRICS,), 10),
    _c("L7b", "LGA after 1 epoch correlates positively with NB201 accuracy, and more strongly than LGA at init: "
       "tau(LGA ep1) − |tau(LGA init)| > 0.", "Mok et al. 2022, abstract", "hypothesis",
       _toy("the signed difference over " + _PROXY + ", per dataset; bootstrap 95% CI resampling cells (paired)"),
       "abstract", "CI above 0 -> pass; below -> fail; else inconclusive (combined over the three datasets)",
       "a negative tau after training counts against the claim (signed, not |tau|)", _l7b, (_METRICS,), 20),
    _c("L8", "At-init NTK metrics (mean, κ, ‖Θ‖_F) give weak or inconsistent correlations with NB201 accuracy.",
       "Mok et al. 2022, abstract", "hypothesis",
       _toy("Kendall tau-b of each at-init metric with NB201 accuracy on the three datasets over " + _PROXY +
            ", bootstrap 95% CIs"), "the abstract's 'unreliable' (no value stated)",
       f"supported: every metric has a CI inside ±{WEAK_TAU} on some dataset or CIs of opposite sign on two; "
       f"not supported: some metric's CIs lie beyond ±{WEAK_TAU} on the same side on every dataset",
       "the threshold is this toolkit's reading of 'unreliable'", _l8, (_METRICS,), 10),
    _c("L11a", "Practical NTKs move far from initialisation during training (outside the lazy regime).",
       "Mok et al. 2022, abstract ('highly non-linear characteristics') and Fig. 1", "hypothesis",
       _toy("kernel distance S(Θ_0, Θ_k) = 1 − cos (Fort et al. 2020; metrics.kernel_distance) after the last "
            "named epoch, every net of " + _PROXY), "abstract: the NTK changes a lot during training",
       f"S > {FAR_DISTANCE} (kernel cosine below 0.9) in >= 80% of nets (Clopper-Pearson 95%)",
       "'far' made concrete: a lazy-regime kernel keeps cosine ~ 1 (L5 measures the width scaling)", _l11a,
       (_METRICS,), 5),
    _c("L11b", "Better architectures twist their NTK more towards the labels (kernel twisting, Fig. 1).",
       "Mok et al. 2022, Fig. 1 caption", "hypothesis",
       _toy("Kendall tau-b(label-alignment gain LGA(Θ_k) − LGA(Θ_0), NB201 accuracy) over " + _PROXY + " on the "
            "three datasets; tau of the kernel distance S(Θ_0, Θ_k) reported beside it"),
       "Fig. 1 caption (direction)", "per dataset: CI above 0 -> pass, below -> fail, else inconclusive; combined "
       "as L7a", "directional claim; power stated as the MDE", _l11b, (_METRICS,), 10),
    _c("L9", "Kernel distance axioms: S(Θ, Θ) = 0, S(Θ, aΘ) = 0 (a > 0), S ∈ [0, 1] for PSD kernels; kernel "
       "correlation with itself 1; relative difference with itself 0.", "Fort et al. 2020; Mok et al. 2022 official "
       "code (kernel tracking)", "exact",
       "metrics.kernel_distance / kernel_correlation / relative_kernel_difference on 20 random PSD pairs",
       "exact algebra (⟨Θ1, Θ2⟩_F ≥ 0 for PSD)", "1e-12 absolute", "float64 on 12×12 matrices", _l9, (_METRICS,), 2),
    _c("L10", "The sum-of-logits N×N NTK equals the per-logit NC×NC kernel contracted over class blocks.",
       "Mok et al. 2022 official code (logit-sum NTK of the LGA code)", "exact",
       "metrics.logit_sum_ntk (per-row backward passes, train-mode BN) of an NB201 conv net, 6 images, 5 classes",
       "independent: torch.func.jacrev of the batched function, NC×NC kernel summed over class blocks",
       "1e-6 × max(1, ‖Θ‖_max)", "float64; two autograd paths", _l10, (_METRICS, "torch"), 5),
    _c("numbers", "The paper's reported correlation tables, tracking curves and search results.",
       "Mok et al. 2022 (CVPR), body of the paper", "numeric", "—", "not available", "—", "—", _numbers, (), 1,
       role="paper"),
]
