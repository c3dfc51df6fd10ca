r"""Paper checks for Chen, Huang, Gong, Hanin, Wang 2022, "Deep Architecture Connectivity Matters for Its
Convergence: A Fine-Grained Analysis" (NeurIPS 2022, arXiv 2205.05662).

One check per checkable claim C1–C20 of the paper (its theorems, lemmas, figures and tables).  Each
compares two independently computed sides: closed forms vs the general recursion
(:func:`ntkcheck.theory.connectivity.chen_exact_reference`, the project's engine
:func:`ntkcheck.theory.kernels.infinite_width_kernels`), Monte Carlo finite-width networks vs the exact
recursion, this project's implementation of the official code's (d̄, m̄) rule vs reference numbers
(obtained by running the official code's functions), measured GD curves vs Theorem 3.1.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from ntkcheck.paper_checks.check import (Check, Outcome, skipped, verdict_condition, verdict_fraction,
                                         verdict_numeric)

PAPER = "chen2022"
#: Role of the toolkit's own questions (not claims of the paper): "extension" where the record roles have it.
try:
    from ntkcheck.paper_checks.check import ROLES as _ROLES
except ImportError:  # pragma: no cover
    _ROLES = ()
_EXTENSION_ROLE = "extension" if "extension" in _ROLES else ""

__all__ = ["CHECKS"]


def _unit(rng: np.random.Generator, N: int, d: int) -> np.ndarray:
    X = rng.standard_normal((N, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


FIG3 = (("dag1", "2_02_002"), ("dag2", "1_01_222"), ("dag3", "2_21_112"))


# ---- C1 ------------------------------------------------------------------------------------------------

def _c1(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import F_map, f_arccos, h_paper

    g = np.linspace(-1, 1, 20001)
    err_h = float(np.max(np.abs(h_paper(g) - f_arccos(g))))
    A = ctx.rng.standard_normal((6, 8))
    K = A @ A.T
    err_hom = max(float(np.max(np.abs(F_map(c * K) - c * F_map(K)))) / c for c in (0.1, 3.0, 50.0))
    ends = [float(f_arccos(1.0)), float(f_arccos(0.0)), float(f_arccos(-1.0))]
    measured = [err_h, err_hom, *ends]
    return verdict_numeric(measured, [0.0, 0.0, 1.0, 1 / math.pi, 0.0], atol=1e-12,
                           details={"grid_points": g.size, "max|h-f|": err_h, "homogeneity_err": err_hom})


# ---- C2, C5 --------------------------------------------------------------------------------------------

def _two_by_two(code: str, rho: float, cross: bool) -> float:
    from ntkcheck.theory.connectivity import chen_kernels

    X = np.array([[1.0, 0.0], [rho, math.sqrt(1 - rho * rho)]])
    K = chen_kernels(code, X, cross_terms=cross)
    return float(K[0, 0] - K[0, 1])  # equal diagonals: diag − offdiag (the closed forms' quantity)


def _fig3_grid(closed_form, cross: bool) -> tuple[float, bool]:
    """Max |engine 2×2 − closed form| over 40 ρ and the ordering λ1 < λ2 < λ3 of the closed forms on 400 ρ."""
    err = 0.0
    for r in np.linspace(-0.95, 0.995, 40):
        cf = closed_form(r)
        for name, code in FIG3:
            err = max(err, abs(_two_by_two(code, float(r), cross) - float(cf[name])))
    lam = closed_form(np.linspace(-0.999, 0.999, 400))
    return err, bool(np.all(lam["dag1"] < lam["dag2"]) and np.all(lam["dag2"] < lam["dag3"]))


def _c2(ctx) -> Outcome:
    """Paper-rule 2×2 values from the project's engine vs Eqs. 7, 9, 11; ordering on a 400-point grid."""
    from ntkcheck.theory.connectivity import fig3_paper_2x2

    err, order = _fig3_grid(fig3_paper_2x2, cross=False)
    if not order:
        return verdict_condition(False, err, 0.0, reason="ordering λ1 < λ2 < λ3 violated on the grid")
    return verdict_numeric(err, 0.0, atol=1e-12, details={"ordering_holds_400_grid": order, "rhos": 40})


def _c5(ctx) -> Outcome:
    """Exact 2×2: DAG#2 = 3(1 − f) as in the paper; DAG#3 closed form (paper §3, Eq. 12); ordering (exact)."""
    from ntkcheck.theory.connectivity import fig3_exact_2x2

    err, order = _fig3_grid(fig3_exact_2x2, cross=True)
    vals = {r: float(fig3_exact_2x2(r)["dag3"]) for r in (0.0, 0.5, 0.9)}
    if not order:
        return verdict_condition(False, err, 0.0, reason="exact ordering violated")
    return verdict_numeric([err, *vals.values()], [0.0, 2.7425, 1.5432, 0.3571], atol=5e-5,
                           details={"max_err_closed_form": err, "ordering_holds_400_grid": order,
                                    "note": "closed form vs engine to 1e-12 shown in max_err; hand-derived values to 4 dp"})


# ---- C3 ------------------------------------------------------------------------------------------------

def _c3(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import chen_exact_reference, as_spec

    rng = ctx.rng
    worst = 0.0
    n = 0
    for _ in range(60):
        H = int(rng.integers(1, 5))
        code = "_".join("".join(rng.choice(list("012"), size=g)) for g in range(1, H + 1))
        spec = as_spec(code)
        X = _unit(rng, 4, 3)
        K = chen_exact_reference(spec, X @ X.T, cross_terms=False).nngp
        worst = max(worst, float(np.max(np.abs(np.diag(K) - spec.n_paths))))
        n += 1
    return verdict_numeric(worst, 0.0, atol=1e-12, details={"random_dags": n})


# ---- C4 ------------------------------------------------------------------------------------------------

def _mc(code, X, m, draws, rng):
    from ntkcheck.empirical.chen_monte_carlo import chen_mc_errors

    return chen_mc_errors(code, X, m, draws, rng)


def _c4(ctx) -> Outcome:
    """Finite numpy networks → exact recursion; the paper rule is off.  Reference points of the paper's §3."""
    from ntkcheck.theory.connectivity import chen_exact_reference

    one = np.ones((1, 1))
    ref_pts = [chen_exact_reference("1_01_222", one).nngp[0, 0], chen_exact_reference("2_21_112", one).nngp[0, 0],
               chen_exact_reference("2_21_112", one, np.array([1 / math.sqrt(math.pi)])).nngp[0, 0]]
    if abs(ref_pts[0] - 4.9099) > 5e-5 or abs(ref_pts[1] - 5.6703) > 5e-5 or abs(ref_pts[2] - 7.3407) > 5e-5:
        return verdict_condition(False, ref_pts, [4.9099, 5.6703, 7.3407], reason="reference points differ")
    widths = ctx.pick((256, 1024, 2048), (1024, 2048, 4096))
    draws = ctx.pick(4, 20)
    X = _unit(ctx.rng, 3 if ctx.small else 4, 5)
    per_width = {}
    gap = []
    for m in widths:
        ex, pa = _mc("2_21_112", X, m, draws, ctx.rng)
        per_width[m] = float(np.mean(np.abs(ex)))
        gap.append(float(np.min(np.abs(pa.mean(axis=0)))))
    ex_final = per_width[widths[-1]]
    ok = ex_final < 0.25 and per_width[widths[-1]] < per_width[widths[0]] and gap[-1] > 1.0
    return verdict_condition(ok, per_width, "mean |MC − exact| shrinks with m, < 0.25 at the largest m; "
                                            "|MC − paper| > 1", reason="finite width does not approach exact",
                             details={"mean_abs_err_exact_by_width": per_width, "min_abs_err_paper": gap,
                                      "draws": draws, "reference_points": ref_pts,
                                      "tolerance_reason": "per-draw sd ≈ 0.1 at m = 2048 (measured)"})


# ---- C6 ------------------------------------------------------------------------------------------------

def _c6(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import lemma33_bound

    worst = -math.inf
    for _ in range(300):
        N = int(ctx.rng.integers(2, 15))
        A = ctx.rng.standard_normal((N, N + int(ctx.rng.integers(0, 4))))
        K = A @ A.T
        worst = max(worst, (np.linalg.eigvalsh(K)[0] - lemma33_bound(K)) / np.abs(K).max())
    return verdict_condition(worst <= 1e-12, worst, "<= 0 (λ_min − Lemma 3.3 bound, relative)",
                             details={"matrices": 300})


# ---- C7 ------------------------------------------------------------------------------------------------

def _c7(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import depth_width, eq12_bound, fig3_paper_2x2, chen_kernels

    err = 0.0
    for r in np.linspace(-0.9, 0.99, 25):
        K0 = np.array([[1.0, r], [r, 1.0]])
        for name, code in FIG3:
            err = max(err, abs(eq12_bound(depth_width(code)["depths"], K0) - float(fig3_paper_2x2(r)[name])))
    Kp = chen_kernels("2_11_002", np.eye(2), cross_terms=False)
    rec = float(Kp[0, 0] - Kp[0, 1])
    e12 = eq12_bound(depth_width("2_11_002")["depths"], np.eye(2))
    out = verdict_numeric([err, e12, rec], [0.0, 1.1880, 1.1961], atol=5e-5,
                          details={"max_err_fig3": err, "eq12_2_11_002": e12, "paper_rule_2x2_2_11_002": rec})
    if out.verdict == "pass" and not (e12 < rec and err < 1e-12):
        return verdict_condition(False, [err, e12, rec], "Eq.12 == 2x2 on Fig.3 DAGs, < on 2_11_002")
    return out


# ---- C8 ------------------------------------------------------------------------------------------------

def _c8(ctx) -> Outcome:
    """Does the Eq. 12 ordering (DAG#1 < DAG#2 < DAG#3) order the exact N×N λ_min?  Fraction of data sets
    where λ_min(DAG#2) < λ_min(DAG#1), per (d, N)."""
    from ntkcheck.theory.connectivity import chen_kernels

    settings = [(5, 100), (10, 100), (20, 30), (50, 30), (10, 10)]
    reps = ctx.pick(5, 20)
    frac = {}
    dag3_best = True
    for d, N in settings:
        inv = 0
        for _ in range(reps):
            X = _unit(ctx.rng, N, d)
            lam = [np.linalg.eigvalsh(chen_kernels(code, X))[0] for _, code in FIG3]
            inv += lam[1] < lam[0]
            dag3_best &= lam[2] > max(lam[0], lam[1])
        frac[f"d={d},N={N}"] = inv / reps
    ordered = all(v == 0 for v in frac.values())
    from ntkcheck.paper_checks.check import Power

    n = reps * len(settings)
    pw = Power(f"exact lambda_min ordering in each of {n} random data sets (one violation refutes)", n,
               1 - 0.2 ** (1 / n), None, 0.0, 0.05, 0.8,
               "smallest violation rate p seen at least once with probability 0.8: 1 - (1 - p)^n >= 0.8")
    out = verdict_condition(ordered, frac, "λ_min ordered as the bounds in every data set",
                            reason="the bound ordering does not order λ_min when N ≫ d (the ordering is not a theorem when N ≫ d)",
                            details={"fraction_lambda2_below_lambda1": frac, "datasets_per_setting": reps,
                                     "dag3_largest_everywhere": bool(dag3_best)})
    out.power = pw
    return out


# ---- C9 ------------------------------------------------------------------------------------------------

def _c9(ctx) -> Outcome:
    """Fig. 4 ordering (DAG#3 > DAG#2 > DAG#1 in early-epoch training accuracy)."""
    import torch

    from ntkcheck.empirical.training import fig4_sgd_experiment

    torch.manual_seed(ctx.seed_for("torch"))
    if ctx.small:
        res = fig4_sgd_experiment([c for _, c in FIG3], width=128, lr=0.02, epochs=4, n_train=600,
                                  seeds=range(10), device=ctx.device)
    else:
        res = fig4_sgd_experiment([c for _, c in FIG3], width=1024, lr=1e-5, epochs=1000, seeds=range(10),
                                  device=ctx.device)
    early = {code: float(res["curves"][code]["train_acc"][:, 1:].mean()) for _, code in FIG3}
    seeds_ordered = 0
    accs = [res["curves"][c]["train_acc"][:, 1:].mean(axis=1) for _, c in FIG3]
    for s in range(accs[0].size):
        seeds_ordered += int(accs[2][s] > accs[1][s] > accs[0][s])
    # Per-seed ordering as a qualitative claim over seeds (over >= 5 seeds), decided on the exact 95%
    # interval: 10 seeds are the fewest for which 10/10 establishes a 2/3 rate (lower end 0.69) and 0/10 refutes it.
    out = verdict_fraction(seeds_ordered, int(accs[0].size), required=2 / 3,
                           claimed="DAG#3 > DAG#2 > DAG#1 in early-epoch train accuracy, in >= 2/3 of seeds",
                           details={"mean_early_train_acc": early, "config": res["config"],
                                    "scale_note": "small: lr raised to 0.02 and width 128 so that 4 epochs move"})
    return out


# ---- C10 -----------------------------------------------------------------------------------------------

def _fig3_theory(X: np.ndarray) -> dict[str, dict]:
    """Exact K^(H) and NTK of the three Fig. 3 DAGs on X (the engine Theorem 3.1's bound is computed from)."""
    from ntkcheck.empirical.training import _cell_spec
    from ntkcheck.theory.connectivity import lambda_min
    from ntkcheck.theory.kernels import infinite_width_kernels

    out = {}
    for _, code in FIG3:
        spec = _cell_spec(code)
        k = infinite_width_kernels(spec, X, cross_terms=True)
        KH = k.nngp / spec.sigma_w2
        lam_ntk, V = np.linalg.eigh(k.ntk)
        out[code] = {"spec": spec, "KH": KH, "lam_KH": lambda_min(KH)[0], "lam_ntk": lambda_min(k.ntk)[0],
                     "lam_max_ntk": float(lam_ntk[-1]), "v_min": V[:, 0]}
    return out


#: C10's design per scale (tests use a smaller one): data points, width, GD steps, seeds for K̂^(H).
C10_CONFIG = {"small": {"N": 8, "width": 1024, "steps": 40, "seeds": 4},
              "paper": {"N": 50, "width": 4096, "steps": 400, "seeds": 8}}
#: C19's design per scale: random DAGs, width, GD steps.
C19_CONFIG = {"small": {"dags": 12, "width": 256, "steps": 40}, "paper": {"dags": 30, "width": 1024, "steps": 200}}


def _c10(ctx) -> Outcome:
    """Theorem 3.1 against measurements: (a) the bound holds at every step of GD started with the residual on the
    slowest NTK direction (the theorem's worst case); (b) the λ_min(K^(H)) the bound uses agrees with the
    network's own measured output-node kernel K̂^(H) = NNGP estimate / σ_w² (mean over seeds), so a wrong λ_min
    fails; the measured late rate is reported against the exact NTK's slowest mode and against the bound."""
    import torch

    from ntkcheck.empirical.networks import build_network
    from ntkcheck.empirical.training import digits_data, embed_isometric, theorem31_experiment
    from ntkcheck.theory.connectivity import lambda_min

    cfg = C10_CONFIG[ctx.scale]
    X, _ = digits_data(cfg["N"], seed=ctx.seed)
    n, steps, seeds = cfg["width"], cfg["steps"], range(cfg["seeds"])
    th = _fig3_theory(X)
    lr = 1.0 / max(t["lam_max_ntk"] for t in th.values())          # one η for all DAGs (Remark 3.2)
    rows, problems = {}, []
    for _, code in FIG3:
        t = th[code]
        lam_emp = []
        for s in seeds:
            Xe = torch.tensor(embed_isometric(X, n, seed=10_000 + s))
            net = build_network(t["spec"], d_in=n, width=n, seed=s, device="cpu")
            # measured side: numpy's eigensolver on the network's own kernel (not the engine under test)
            lam_emp.append(float(np.linalg.eigvalsh(net.nngp(Xe).numpy() / t["spec"].sigma_w2)[0]))
            if s == 0:
                y = net(Xe).detach().numpy().reshape(-1) + t["v_min"]      # r_0 = f(0) − y = −v_min(Θ)
        lam_emp = np.asarray(lam_emp)
        se = float(np.std(lam_emp, ddof=1) / math.sqrt(lam_emp.size))
        lam_b = lambda_min(t["KH"])[0]          # the λ_min Theorem 3.1's bound uses (the engine under test)
        tol = 4 * se + 0.05 * abs(lam_b)
        run = theorem31_experiment([code], X, y, widths=[n], seeds=[0], steps=steps, lr=lr, device="cpu")["rows"][0]
        b = 1 - lr * lam_b / 2
        L = np.asarray(run.losses)
        holds = bool(np.all(L[1:] <= L[0] * b ** np.arange(1, L.size) * (1 + 1e-9)))
        agree = abs(float(lam_emp.mean()) - lam_b) <= tol
        r_pred = (1 - lr * t["lam_ntk"]) ** 2
        rows[code] = {"lambda_min_KH_bound": lam_b, "lambda_min_KH_measured_mean": float(lam_emp.mean()),
                      "lambda_min_KH_measured_se": se, "tolerance": tol, "bound_holds_every_step": holds,
                      "late_rate_measured": run.late_measured, "late_rate_exact_ntk_slowest_mode": float(r_pred),
                      "bound_rate": b, "bound_rate_fraction_of_measured":
                          float(math.log(b) / math.log(run.late_measured)) if 0 < run.late_measured < 1 else None}
        if not holds:
            problems.append(f"{code}: bound violated")
        if not agree:
            problems.append(f"{code}: lambda_min(K^H) {lam_b:.4g} vs measured {lam_emp.mean():.4g} ± {tol:.2g}")
    measured = {c: {"bound_holds": r["bound_holds_every_step"], "lambda_KH_measured": r["lambda_min_KH_measured_mean"]}
                for c, r in rows.items()}
    claimed = {c: {"bound_holds": True, "lambda_KH": r["lambda_min_KH_bound"]} for c, r in rows.items()}
    return verdict_condition(not problems, measured, claimed, reason="; ".join(problems),
                             details={"per_dag": rows, "lr": lr, "steps": steps, "width": n, "seeds": len(seeds),
                                      "N": int(X.shape[0]), "start": "y = f(0) + v_min(NTK_exact): the residual "
                                      "starts on the slowest NTK direction (the theorem's worst case)"})


def random_nonlinear_dags(rng: np.random.Generator, count: int, depths=(3,)) -> list[str]:
    """``count`` distinct random Chen DAG codes (H nodes, H drawn from ``depths``) with an input→output path
    through at least one nonlinear (linear + ReLU) edge, and every nonlinear edge on some input→output path
    (no trainable weight that cannot reach the output)."""
    from ntkcheck.theory.connectivity import as_spec, dag_paths

    codes: list[str] = []
    while len(codes) < count:
        H = int(rng.choice(list(depths)))
        code = "_".join("".join(rng.choice(list("012"), size=g)) for g in range(1, H + 1))
        if code in codes:
            continue
        spec = as_spec(code)
        on_path = {(i, j) for p in dag_paths(spec) for (i, j, op) in p if op.split(":")[0] != "skip"}
        lin = {(e.src, e.dst) for e in spec.edges if e.kind == "linact"}
        if lin and lin <= on_path:
            codes.append(code)
    return codes


def _c19(ctx) -> Outcome:
    """Theorem 3.1 / Remark 3.2 as a comparison: with one η, DAGs with a larger λ_min(K^(H)) converge faster.
    Kendall τ between λ_min(K^(H)) and the measured late convergence speed −ln(per-step loss ratio) over random
    Chen DAGs trained by full-batch GD on the same data, bootstrap CI over DAGs."""
    from ntkcheck.empirical.training import _cell_spec, digits_data, theorem31_experiment
    from ntkcheck.paper_checks.check import power_kendall, verdict_powered
    from ntkcheck.paper_checks.microbench import correlation
    from ntkcheck.theory.connectivity import lambda_min
    from ntkcheck.theory.kernels import infinite_width_kernels

    X, y = digits_data(8, seed=ctx.seed)
    cfg = C19_CONFIG[ctx.scale]
    codes = random_nonlinear_dags(ctx.rng, cfg["dags"])
    lam = {}
    lam_max = 0.0
    for c in codes:
        spec = _cell_spec(c)
        k = infinite_width_kernels(spec, X, cross_terms=True)
        lam[c] = lambda_min(k.nngp / spec.sigma_w2)[0]
        lam_max = max(lam_max, float(np.linalg.eigvalsh(k.ntk)[-1]))
    res = theorem31_experiment(codes, X, y, widths=[cfg["width"]], seeds=[0], steps=cfg["steps"],
                               lr=1.0 / lam_max, device="cpu")
    speed = {r.cell: -math.log(r.late_measured) if 0 < r.late_measured < 1 else math.nan for r in res["rows"]}
    x = np.array([lam[c] for c in codes])
    v = np.array([speed[c] for c in codes])
    c = correlation(x, v, n_boot=ctx.pick(1000, 2000), seed=ctx.seed_for("boot"))
    return verdict_powered(c["value"], c["ci95"], sign=1, power=power_kendall(c["n"], None),
                           claimed="> 0 (Remark 3.2: one eta, comparison rests on lambda_min(K^H))",
                           details={"dags": codes, "lambda_min_KH": [lam[k] for k in codes],
                                    "late_speed": [speed[k] for k in codes], "ci95": c["ci95"], "n": c["n"],
                                    "p_value": c["p_value"],
                                    "lr": res["lr"], "width": res["widths"][0], "steps": res["steps"]})


def _c20(ctx) -> Outcome:
    """Lemma 3.1: λ_min(K^(H)) > 0 for data without parallel points (certified: λ_min − error bound > 0) on
    random Chen DAGs with a nonlinear path; the lemma assumes an analytic σ, the paper's ReLU is checked."""
    from ntkcheck.theory.connectivity import chen_kernels, lambda_min

    rng = ctx.rng
    worst = math.inf
    rows = []
    for code in random_nonlinear_dags(rng, ctx.pick(30, 100), depths=(1, 2, 3, 4)):
        N, d = int(rng.integers(5, 25)), int(rng.integers(3, 8))
        X = _unit(rng, N, d)
        lam, err = lambda_min(chen_kernels(code, X))
        rows.append({"dag": code, "N": N, "d": d, "lambda_min": lam, "error_bound": err})
        worst = min(worst, lam - err)
    return verdict_condition(worst > 0, worst, "> 0 (certified lambda_min - error bound)",
                             reason="a certified lambda_min is not positive",
                             details={"dags": len(rows), "min_certified": worst, "rows": rows[:10],
                                      "note": "N up to 24 > d: nonparallel unit data; Lemma 3.1 assumes an analytic "
                                              "sigma, the paper uses ReLU (§3)"})


# ---- C11, C12, C13 ---------------------------------------------------------------------------------------

_WORKED = [  # (cell, depths, d̄, m̄, code keep, paper keep) — worked examples of the official code's rule
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", [2, 0], 1.0, 1.0, 1, 0),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [3, 2, 2, 0], 1.75, 1.7143, 1, 1),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [3, 2, 2, 1], 2.0, 2.0, 1, 1),
    ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
     [0, 0, 0, 0], 0.0, 0.0, 0, 0),
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|", [3], 3.0, 0.3333, 0, 0),
    ("|skip_connect~0|+|none~0|skip_connect~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", [1, 1, 1],
     1.0, 3.0, 1, 1),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|",
     [2, 1, 2, 0], 1.25, 2.4, 1, 1),
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|", [1, 1, 0],
     0.6667, 3.0, 0, 0),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|", [3, 2, 2],
     2.3333, 1.2857, 1, 0),
    ("|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|", [1], 1.0, 1.0, 1, 0),
]
_DARTS = {
    "DARTS-V2": ([("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                  ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)], 1.0, 7.0),
    "DARTS-V1": ([("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
                  ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)], 0.7778, 9.0),
    "all-sep": ([("sep_conv_3x3", k % 2) for k in range(8)], 1.0, 8.0),
}


def _c11(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import (PAPER_WINDOW_NB201, darts_depth_width, filter_code, filter_paper,
                                              nb201_depth_width, nb201_routes)

    meas, claim = [], []
    bad = []
    c, h = PAPER_WINDOW_NB201["center"], PAPER_WINDOW_NB201["half_radius"]
    for cell, depths, d, m, kc, kp in _WORKED:
        dd, mm = nb201_depth_width(cell)
        meas += [dd, mm, float(filter_code(dd, mm)), float(filter_paper(dd, mm, c, (2 * h[0], 2 * h[1])))]
        claim += [d, m, float(kc), float(kp)]
        if sorted(nb201_routes(cell)) != sorted(depths):
            bad.append(cell)
    for name, (g, d, m) in _DARTS.items():
        r = darts_depth_width(g)
        meas += [r["d_bar"], r["m_bar"]]
        claim += [d, m]
    if bad:
        return verdict_condition(False, bad, "route depths as in the worked examples", reason="route depths differ")
    return verdict_numeric(meas, claim, atol=5e-5, details={"rows": len(_WORKED), "darts": list(_DARTS),
                                                            "note": "reference values are rounded to 4 decimals"})


def _nb201_dm():
    from ntkcheck.theory.connectivity import all_nb201_op_tuples, nb201_depth_width

    dm = np.array([nb201_depth_width(c) for c in all_nb201_op_tuples()])
    return dm[:, 0], dm[:, 1]


def _c12(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import space_window

    d, m = _nb201_dm()
    nz = d > 0
    w = space_window(d, m)
    w0 = space_window(d, m, exclude_zero_depth=False)
    meas = [len(set(zip(np.round(d, 9), np.round(m, 9)))), int((~nz).sum()), d[nz].min(), d.max(), m[nz].min(),
            m.max(), *w["center"], w["radius"][0] / 2, w["radius"][1] / 2, *w0["center"]]
    claim = [32, 1983, 0.25, 3.0, 1 / 3, 4.0, 1.625, 2.1667, 0.6875, 0.9167, 1.5, 2.0]
    return verdict_numeric(meas, claim, atol=5e-5, details={"paper_stated_center": (1.6, 2.2),
                                                            "paper_stated_half_radius": (0.7, 0.9)})


def _c13(ctx) -> Outcome:
    from ntkcheck.theory.connectivity import filter_code, filter_paper, space_window

    d, m = _nb201_dm()
    w = space_window(d, m)
    meas = [int(filter_code(d, m).sum())]
    meas += [int(filter_paper(d, m, w["center"], w["radius"], fr).sum()) for fr in (0.5, 0.75, 1.0, 0.25)]
    meas += [int(filter_paper(d, m, (1.6, 2.2), (1.4, 1.8), fr).sum()) for fr in (0.5, 0.25, 1.0)]
    claim = [8226, 6256, 9762, 13642, 1376, 6256, 1760, 13634]
    keep_code = filter_code(d, m)
    extra = keep_code & ~filter_paper(d, m, w["center"], w["radius"], 0.5)
    groups = {f"({a:.3f}, {b:.3f})": n for (a, b), n in Counter(zip(d[extra], m[extra])).items()}
    return verdict_numeric(meas, claim, atol=0, details={
        "labels": ["code", "paper 1/2", "paper 3/4", "paper full", "paper 1/4", "rounded 1/2", "rounded 1/4",
                   "rounded full"], "fractions": [round(x / 15625, 4) for x in meas], "extra_code_groups": groups})


# ---- C14, C15, C16 -------------------------------------------------------------------------------------

#: Table 2 (NB201 test accuracy %, search cost in GPU-seconds).
TABLE2 = {"WOT": (92.81, 69.48, 43.10, 30.01), "WOT + DAG": (92.98, 69.86, 43.44, 17.95),
          "TE-NAS": (93.9, 71.24, 42.38, 1558.0), "TE-NAS + DAG": (93.6, 71.26, 44.38, 1077.0)}
TABLE2_REDUCTION = {"WOT + DAG": -40.2, "TE-NAS + DAG": -30.9}
NB201_OPTIMUM = (94.37, 73.51, 47.31)


def _c14(ctx) -> Outcome:
    """The paper's own arithmetic in Table 2: the stated cost reductions and accuracies below the NB201 optimum.
    (The accuracies themselves need per-architecture WOT scores on CIFAR batches: not reproduced here.)"""
    red = {k: round(100 * (TABLE2[k][3] / TABLE2[base][3] - 1), 1)
           for k, base in (("WOT + DAG", "WOT"), ("TE-NAS + DAG", "TE-NAS"))}
    below = all(v <= o for row in TABLE2.values() for v, o in zip(row[:3], NB201_OPTIMUM))
    ok = red == TABLE2_REDUCTION and below
    return verdict_condition(ok, {"reductions_%": red, "all_below_optimum": below},
                             {"reductions_%": TABLE2_REDUCTION, "all_below_optimum": True},
                             reason="Table 2's stated reductions or accuracies are inconsistent")


def _c15(ctx) -> Outcome:
    return skipped("paper scale only: ImageNet training of DARTS-space networks (GPU-days) and TE-NAS search "
                   "timings")


NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")   # Fig. 5 has one NB201 panel per dataset


def table_depth_width(cells) -> tuple[np.ndarray, np.ndarray]:
    """(d̄, m̄) of every cell string in ``cells`` (the official code's rules, this project's implementation)."""
    from ntkcheck.spec import parse_nb201
    from ntkcheck.theory.connectivity import all_nb201_op_tuples

    d, m = _nb201_dm()
    pos = {t: i for i, t in enumerate(all_nb201_op_tuples())}
    idx = np.array([pos[tuple(parse_nb201(c))] for c in cells])
    return d[idx], m[idx]


def _table(ctx, dataset: str):
    from ntkcheck.paper_checks.nb201_population import accuracies

    return accuracies(ctx, dataset)


def group_means(d: np.ndarray, m: np.ndarray, acc: np.ndarray) -> dict[tuple[float, float], tuple[int, float]]:
    """{(d̄, m̄) rounded to 4 decimals: (number of cells, mean accuracy)} over all cells."""
    keys = list(zip(np.round(d, 4).tolist(), np.round(m, 4).tolist()))
    out: dict[tuple[float, float], list[float]] = {}
    for k, a in zip(keys, acc.tolist()):
        out.setdefault(k, []).append(a)
    return {k: (len(v), float(np.mean(v))) for k, v in sorted(out.items())}


def _quadratic_design(d: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(d), d, m, d ** 2, m ** 2, d * m])


def multiple_R(design: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Multiple correlation R of accuracy on the design's columns, for one accuracy vector (n,) or many (n, B)."""
    A = acc if acc.ndim == 2 else acc[:, None]
    Q, _ = np.linalg.qr(design)
    pred = Q @ (Q.T @ A)
    Ac = A - A.mean(axis=0)
    Pc = pred - pred.mean(axis=0)
    R = np.sqrt(np.maximum((Pc * Pc).sum(axis=0), 0) / (Ac * Ac).sum(axis=0))
    return R if acc.ndim == 2 else R[0]


def _extreme(d: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Cells whose (d̄, m̄) lies in the outer 15 % of either range (over the space, d̄ = 0 included)."""
    dn = (d - d.min()) / max(np.ptp(d), 1e-12)
    mn = (m - m.min()) / max(np.ptp(m), 1e-12)
    return (np.abs(dn - 0.5) > 0.35) | (np.abs(mn - 0.5) > 0.35)


#: Smallest effects of interest on the NB201 census (a census has no sampling error: a permutation null over all
#: 15,625 cells rejects any non-zero effect, so it decides nothing; the effect size decides, with its robustness).
#: 1 percentage point of accuracy: the size of the gains NB201 search methods report over one another (the paper's
#: Table 2: +DAG changes TE-NAS / NAS-WOT by < 1.5 points).  R = 0.1: Cohen's "small" correlation (R² = 1 %).
GAP_OF_INTEREST = 1.0
R_OF_INTEREST = 0.1
CENSUS_RULE = ("census of all cells: effect sizes against stated smallest effects of interest (gap >= 1 accuracy "
               "point, R >= 0.1, top-1% enrichment > 1), in the whole table and without the d-bar = 0 cells (which "
               "have no input-output path and chance accuracy); no sampling test, so no p-value")


def enrichment(acc: np.ndarray, inside: np.ndarray, frac: float = 0.01) -> dict[str, float]:
    """Top-``frac`` retention of a region: the share of the best ``frac`` cells (by accuracy) that lie inside, the
    region's share of all cells, and their ratio (> 1: the best cells are over-represented inside)."""
    top = acc >= np.quantile(acc, 1 - frac)
    share_top, share_all = float(inside[top].mean()), float(inside.mean())
    return {"top_share_inside": share_top, "share_inside": share_all,
            "enrichment": share_top / share_all if share_all > 0 else math.nan}


def _central_effects(d: np.ndarray, m: np.ndarray, acc: np.ndarray) -> dict[str, Any]:
    ext = _extreme(d, m)
    return {"R_quadratic": float(multiple_R(_quadratic_design(d, m), acc)),
            "central_minus_extreme": float(acc[~ext].mean() - acc[ext].mean()),
            "n_extreme": int(ext.sum()), "n_central": int((~ext).sum()), **enrichment(acc, ~ext)}


#: Smallest partial τ (given #params) that counts as "adds beyond size" on the census (Cohen's small effect as a
#: rank correlation, the same 0.1 as R).
PARTIAL_OF_INTEREST = 0.1


def census_size_baselines(ctx, cells, d: np.ndarray, m: np.ndarray, acc: np.ndarray) -> dict[str, Any]:
    """Size baselines over the whole table: Kendall τ of #params, FLOPs and #conv with accuracy, and the partial τ
    of the Fig. 5 metric — the accuracy predicted from (d̄, m̄) by the quadratic fit — given #params.  A census:
    point values, judged against :data:`PARTIAL_OF_INTEREST`."""
    from scipy.stats import kendalltau

    from ntkcheck import stats
    from ntkcheck.paper_checks.nb201_population import census_sizes

    key = ("chen2022_census_sizes", tuple(cells[:3]), len(cells))
    if key not in ctx.shared:
        ctx.shared[key] = census_sizes(cells)
    sizes = ctx.shared[key]
    X = _quadratic_design(d, m)
    Q, _ = np.linalg.qr(X)
    pred = Q @ (Q.T @ acc)
    taus = {k: float(kendalltau(v, acc)[0]) for k, v in sizes.items()}
    part = stats.partial_tau(pred, acc, sizes["params"])
    adds = "yes" if part >= PARTIAL_OF_INTEREST else "no"
    return {"tau_params": taus["params"], "tau_flops": taus["flops"], "tau_n_conv": taus["n_conv"],
            "tau_metric": float(kendalltau(pred, acc)[0]), "partial_tau_given_params": part,
            "adds_beyond_size": adds,
            "line": f"tau(#params) = {taus['params']:+.3f}, tau(FLOPs) = {taus['flops']:+.3f}, tau(#conv) = "
                    f"{taus['n_conv']:+.3f}; partial tau((d-bar, m-bar) fit, acc | #params) = {part:+.3f}; adds "
                    f"beyond size: {adds} (census: >= {PARTIAL_OF_INTEREST})",
            "metric": "accuracy predicted from (d-bar, m-bar) by the quadratic least-squares fit of Fig. 5",
            "sizes": "#params / FLOPs of the NB201 benchmark network in closed form (nb201_population.census_sizes)"}


def _census_ok(e: dict[str, Any], gap_key: str) -> bool:
    return bool(e[gap_key] >= GAP_OF_INTEREST and e.get("R_quadratic", math.inf) >= R_OF_INTEREST
                and e["enrichment"] > 1)


def _c16(ctx) -> Outcome:
    """Fig. 5 on the whole NB201 table, per dataset (each is a panel of the figure): quadratic multiple correlation
    R of accuracy on (d̄, m̄), the accuracy gap central − extreme and the top-1% enrichment of the central region —
    judged as effect sizes against stated smallest effects of interest, in the whole table and again without the
    d̄ = 0 cells (recomputing the ranges), since cells without an input→output path sit at chance accuracy in the
    extreme corner and could carry the whole effect."""
    per = {}
    ok_all = True
    for ds in NB201_DATASETS:
        cells, acc, src = _table(ctx, ds)
        d, m = table_depth_width(cells)
        live = d > 0
        full, robust = _central_effects(d, m, acc), _central_effects(d[live], m[live], acc[live])
        ok = _census_ok(full, "central_minus_extreme") and _census_ok(robust, "central_minus_extreme")
        ok_all &= ok
        per[ds] = {**full, "without_dbar0": {**robust, "n": int(live.sum())}, "meets_effects_of_interest": ok,
                   "size_baselines": census_size_baselines(ctx, cells, d, m, acc),
                   "group_means": {f"({k[0]:.4f}, {k[1]:.4f})": {"n": n, "mean": mu}
                                   for k, (n, mu) in group_means(d, m, acc).items()}}
    measured = {ds: {"R": round(v["R_quadratic"], 3), "gap": round(v["central_minus_extreme"], 2),
                     "R_without_dbar0": round(v["without_dbar0"]["R_quadratic"], 3),
                     "gap_without_dbar0": round(v["without_dbar0"]["central_minus_extreme"], 2),
                     "top1_enrichment": round(v["enrichment"], 2)} for ds, v in per.items()}
    bad = [ds for ds, v in per.items() if not v["meets_effects_of_interest"]]
    out = verdict_condition(
        ok_all, measured, f"R >= {R_OF_INTEREST}, central - extreme >= {GAP_OF_INTEREST} accuracy points and top-1% "
        "enrichment > 1 on every panel, with and without the d-bar = 0 cells",
        reason=f"effect below the smallest effect of interest on {', '.join(bad)}",
        details={"per_dataset": per, "n": len(cells), "data_source": src, "test": CENSUS_RULE,
                 "extreme": "outer 15% of the d-bar or m-bar range", "p_raw": None,
                 "panels": "each NB201 panel of Fig. 5 is a claim of the paper; a census has no sampling error, so "
                           "requiring every panel is not a multiple test"})
    return out


def _c16_size(ctx) -> Outcome:
    """The toolkit's own question of Fig. 5's metric: does (d̄, m̄) rank the NB201 cells by accuracy beyond their
    size?  Census of every cell, per dataset: partial τ of the quadratic (d̄, m̄) fit with accuracy given #params,
    against :data:`PARTIAL_OF_INTEREST`."""
    per = {}
    for ds in NB201_DATASETS:
        cells, acc, src = _table(ctx, ds)
        d, m = table_depth_width(cells)
        per[ds] = census_size_baselines(ctx, cells, d, m, acc)
    ok = all(v["adds_beyond_size"] == "yes" for v in per.values())
    return verdict_condition(ok, {ds: round(v["partial_tau_given_params"], 3) for ds, v in per.items()},
                             f"partial tau given #params >= {PARTIAL_OF_INTEREST} on every dataset",
                             reason="(d-bar, m-bar) adds less than the smallest effect of interest beyond #params",
                             details={"per_dataset": per, "n": len(cells), "data_source": src, "test": CENSUS_RULE,
                                      "p_raw": None, "question": "toolkit extension: not a claim of the paper"})


def _c18(ctx) -> Outcome:
    """The connectivity filter keeps better cells (the premise of WOT+DAG, §5.3): over the whole NB201 table, mean
    accuracy of kept − dropped cells for the code's window and the paper's ½-radius rule, and the top-1% retention
    of the kept set, on every dataset, judged as effect sizes (a census), also without the d̄ = 0 cells; the
    kept-set mean by window size reported (Table 3's direction)."""
    from ntkcheck.theory.connectivity import filter_code, filter_paper, space_window

    per = {}
    ok_all = True
    for ds in NB201_DATASETS:
        cells, acc, src = _table(ctx, ds)
        d, m = table_depth_width(cells)
        live = d > 0
        w = space_window(d, m)
        rules = {"code": filter_code(d, m), "paper_half": filter_paper(d, m, w["center"], w["radius"], 0.5)}
        per[ds] = {}
        for name, keep in rules.items():
            diff = float(acc[keep].mean() - acc[~keep].mean())
            k2, a2 = keep[live], acc[live]
            diff_live = float(a2[k2].mean() - a2[~k2].mean()) if k2.any() and (~k2).any() else math.nan
            e = enrichment(acc, keep)
            ok = bool(diff >= GAP_OF_INTEREST and diff_live >= GAP_OF_INTEREST and e["enrichment"] > 1)
            ok_all &= ok
            per[ds][name] = {"kept": int(keep.sum()), "kept_fraction": float(keep.mean()),
                             "mean_kept": float(acc[keep].mean()), "mean_dropped": float(acc[~keep].mean()),
                             "kept_minus_dropped": diff, "kept_minus_dropped_without_dbar0": diff_live,
                             "best_kept": float(acc[keep].max()), "best_dropped": float(acc[~keep].max()),
                             "top1pct_kept_fraction": e["top_share_inside"], "top1pct_enrichment": e["enrichment"],
                             "meets_effects_of_interest": ok}
        per[ds]["kept_mean_by_window"] = {str(fr): float(acc[filter_paper(d, m, w["center"], w["radius"], fr)].mean())
                                          for fr in (1.0, 0.75, 0.5, 0.25)}
    measured = {ds: {k: round(v[k]["kept_minus_dropped"], 3) for k in ("code", "paper_half")} for ds, v in per.items()}
    out = verdict_condition(ok_all, measured, f"kept - dropped >= {GAP_OF_INTEREST} accuracy points (also without the "
                            "d-bar = 0 cells) and top-1% enrichment > 1, both rules, every dataset",
                            reason="a filter does not keep better cells by the smallest effect of interest on some "
                                   "dataset",
                            details={"per_dataset": per, "n": len(cells), "data_source": src, "test": CENSUS_RULE,
                                     "p_raw": None})
    return out


# ---- C17 -----------------------------------------------------------------------------------------------

def _prob_depth_width(edge_fracs: list[dict[str, float]]) -> tuple[float, float]:
    r"""The official TE-NAS supernet rule (the released code): each NB201 edge has fractions of its alive ops in the
    classes {none, 0, 1}; every (route, value assignment) has weight π = Π fractions; routes with a none are
    dropped; d̄ = Σπ·d/Σπ; m̄ = Σ_{d>0} π / d̄ (numerator not normalised by Σπ)."""
    import itertools

    from ntkcheck.theory.connectivity import _NB201_ROUTES

    num = den = width = 0.0
    for route in _NB201_ROUTES:
        for vals in itertools.product(("none", 0, 1), repeat=len(route)):
            pi = float(np.prod([edge_fracs[e][v] for e, v in zip(route, vals)]))
            if pi == 0 or "none" in vals:
                continue
            dep = sum(vals)
            num += pi * dep
            den += pi
            width += pi * (dep > 0)
    if den == 0:
        return 0.0, 0.0
    dbar = num / den
    return dbar, (width / dbar if dbar > 0 else 0.0)


def _c17(ctx) -> Outcome:
    """TE-NAS+DAG evaluation counts (prune_number p, pre_reserve 2, capped at #alive − p − 1) and round-1
    equidistance of the candidate removals from their centroid (NB201 TE-NAS space without 'none')."""
    def evals(alive_seq, p, keep=2):
        return sum(a - min(keep, max(a - p - 1, 0)) for a in alive_seq), sum(alive_seq)

    nb, nb_base = evals([4, 3, 2], 1)
    im, im_base = evals([7, 5, 3], 2)
    cls = {"skip_connect": 0, "avg_pool_3x3": 0, "nor_conv_1x1": 1, "nor_conv_3x3": 1}
    alive = list(cls)
    max_spread = 0.0
    for edge in range(6):
        pts = []
        for rm in alive:
            fr = []
            for e in range(6):
                ops = [o for o in alive if not (e == edge and o == rm)]
                f = {"none": 0.0, 0: 0.0, 1: 0.0}
                for o in ops:
                    f[cls[o]] += 1 / len(ops)
                fr.append(f)
            pts.append(_prob_depth_width(fr))
        P = np.array(pts)
        dist = np.linalg.norm(P - P.mean(axis=0), axis=1)
        max_spread = max(max_spread, float(dist.max() - dist.min()))
    # a supernet whose edges each hold one op is that cell: the supernet rule must give the cell rule's (d̄, m̄)
    # (theory.connectivity.nb201_depth_width, checked against the official code's worked examples by C11) for
    # 400 seeded NB201 cells, 'none' edges included
    from ntkcheck.data import nb201_table
    from ntkcheck.spec import parse_nb201
    from ntkcheck.theory.connectivity import nb201_depth_width

    cells = nb201_table().arch
    onehot = {"none": "none", "skip_connect": 0, "avg_pool_3x3": 0, "nor_conv_1x1": 1, "nor_conv_3x3": 1}
    cell_err = 0.0
    for i in np.random.default_rng(ctx.seed_for("cells")).choice(len(cells), 400, replace=False):
        fr = [{"none": 0.0, 0: 0.0, 1: 0.0} for _ in range(6)]
        for e, op in enumerate(parse_nb201(cells[i])):
            fr[e][onehot[op]] = 1.0
        cell_err = max(cell_err, float(np.max(np.abs(np.subtract(_prob_depth_width(fr),
                                                                  nb201_depth_width(cells[i]))))))
    return verdict_numeric([nb, nb_base, im, im_base, max_spread, cell_err], [6, 9, 11, 15, 0.0, 0.0], atol=1e-12,
                           details={"labels": ["NB201 evals with DAG", "NB201 evals without", "DARTS-ImageNet with",
                                               "DARTS-ImageNet without", "round-1 max distance spread",
                                               "max |(d̄, m̄) of one-op supernets − cell rule| over 400 cells"]})


# ---- the records ---------------------------------------------------------------------------------------

def _c(label, claim, source, kind, how_m, how_c, tol, why, fn, needs=(), budget=5.0, trust="",
       scales=("small", "paper"), role=""):
    return Check.record(PAPER, label, claim, source, kind, how_m, how_c, tol, why, fn, needs, budget, trust, scales,
                        role)


_ENGINE = "module:ntkcheck.theory.kernels"
CHECKS = [
    _c("C1", "Lemma 3.2: the paper's h equals the arc-cosine map f; f(1) = 1, f(0) = 1/π, f(−1) = 0; F is "
       "1-homogeneous", "§3.2, Lemma 3.2, Eq. 6", "exact",
       "h_paper vs f_arccos on 20,001 grid points; F(cK) vs cF(K) on a random PSD K",
       "exact identities (arcsin = π/2 − arccos)", "atol 1e-12", "float64 rounding of a few trig evaluations",
       _c1, budget=1),
    _c("C2", "Paper-rule 2×2 λ of DAG#1/#2/#3 = 1 − f³, 3(1 − f), 4 − ρ − f − 2f² (f^k = k-fold composition) and "
       "λ1 < λ2 < λ3", "§4, Eqs. 7, 9, 11, Fig. 3", "exact",
       "project engine (cross_terms=False) 2×2 eigenvalue at 40 ρ in [−0.95, 0.995]; ordering of the closed forms "
       "on 400 ρ", "closed forms Eqs. 7, 9, 11", "atol 1e-12", "float64 rounding", _c2, needs=(_ENGINE,), budget=3),
    _c("C3", "Paper rule: diag K^(H) = number of input→output paths (unit-diagonal input)", "§3.3 (stated rule)",
       "exact", "reference recursion (cross terms dropped) on 60 random DAGs",
       "path count by DFS (ArchSpec.n_paths)", "atol 1e-12", "float64 sums of O(10) terms", _c3, budget=2),
    _c("C4", "A finite network's K^(H) converges to the exact (cross-term) recursion, not to the paper rule",
       "§3.2, Lemma 3.2", "numeric",
       "numpy networks of Eq. 1-2 (DAG#3) at 3 widths, several draws; reference points 4.9099, 5.6703, 7.3407",
       "exact recursion fed the realised K^0, ν^0", "mean |MC − exact| < 0.25 at the largest width and smaller "
       "than at the smallest; |MC − paper| > 1", "per-draw sd ≈ 0.1 at m = 2048 (measured); the exact/paper gap "
       "is ≥ 1.6", _c4, budget=15),
    _c("C5", "Exact 2×2 values: DAG#2 = 3(1 − f) as in the paper, DAG#3 = (2+2/π)(1 − h(·)) + (1 − f) + (1 − ρ); "
       "ordering λ1 < λ2 < λ3 holds for the exact values", "§4, Eqs. 7, 9, 11 (closed forms derived by hand)", "exact",
       "project engine (cross_terms=True) 2×2 at 40 ρ; closed forms on 400 ρ",
       "closed forms derived by hand from §4, Eqs. 7, 9, 11; values 2.7425, 1.5432, 0.3571", "atol 5e-5 (reference values to 4 decimals); engine vs "
       "closed form reported (1e-12 expected)", "the hand-derived reference values have 4 decimals", _c5, needs=(_ENGINE,), budget=3),
    _c("C6", "Lemma 3.3: λ_min(K) ≤ min over pairs of the 2×2 principal block's λ_min", "§4, Lemma 3.3", "exact",
       "eigvalsh of 300 random PSD matrices (N 2..14)", "Cauchy interlacing", "relative 1e-12",
       "eigvalsh backward error ≈ N·eps", _c6, budget=2),
    _c("C7", "Eq. 12 equals the paper-rule 2×2 value on the Fig. 3 DAGs and is below it on mixed-depth DAGs "
       "(2_11_002: 1.1880 < 1.1961 at ρ = 0)", "§4, Eq. 12", "exact", "eq12_bound from DFS path depths",
       "paper-rule 2×2 from the engine; hand-derived values", "atol 5e-5", "reference values to 4 decimals", _c7, needs=(_ENGINE,),
       budget=2),
    _c("C8", "Larger Eq. 12 bound ⇒ larger λ_min (the DAG ordering transfers to the exact N×N λ_min)", "§4 "
       "(comparison of DAGs; the ordering is not a theorem when N ≫ d)", "hypothesis",
       "exact N×N λ_min of the three DAGs on random unit data for (d, N) ∈ {(5,100), (10,100), (20,30), (50,30), "
       "(10,10)}", "the paper's ordering of the bounds", "none (ordering must hold in every data set)",
       "a qualitative claim", _c8, needs=(_ENGINE,), budget=25),
    _c("C9", "Fig. 4: DAG#3 trains fastest and DAG#2 faster than DAG#1 (training accuracy, early epochs)",
       "§5.1, Fig. 4", "hypothesis",
       "toy protocol (the paper trains width 1024 for 1000 epochs on its own data set); small: stem + DAG + readout "
       "on 600 digits, width 128, SGD lr 0.02, batch 128, 4 epochs, 10 seeds; paper: "
       "width 1024, lr 1e-5, 1000 epochs, 10 seeds", "per-seed ordering of early-epoch train accuracy",
       "exact 95% interval of the ordered-seed rate above 2/3 → pass; below → fail; else inconclusive",
       "a qualitative trend over seeds (>= 5 seeds); 10 seeds so that the interval can decide both "
       "ways; small scale raises lr to see movement in 4 epochs", _c9,
       needs=("torch", "module:ntkcheck.empirical.networks"), budget=180),
    _c("C10", "Theorem 3.1: ‖y − f(k)‖² ≤ (1 − ηλ_min(K^(H))/2)^k ‖y − f(0)‖² under full-batch GD, with λ_min(K^(H)) "
       "the output node's kernel of the network being trained", "§3.2, Theorem 3.1", "numeric",
       "GD on ½‖f − y‖² (8 digits, width 1024, 40 steps, one η = 1/max λ_max(NTK) for the three DAGs, float64) "
       "started with the residual on the slowest exact-NTK direction (worst case); λ_min of the network's own "
       "output-node kernel K̂^(H) measured with numpy over 4 seeds",
       "bound from the engine's λ_min(K^(H)) (exact recursion)",
       "bound at every step (rel 1e-9); |mean measured λ_min(K̂^(H)) − λ_min(K^(H))| ≤ 4·SE + 5%",
       "SE: the measured spread over seeds; 5%: the O(1/n) finite-width bias at n = 1024; a λ_min off by ×20 "
       "fails the second condition", _c10, needs=("torch", "module:ntkcheck.empirical.networks", _ENGINE), budget=60),
    _c("C11", "(d̄, m̄) of the worked NB201 cells and DARTS genotypes under the official code's rules", "Def. 4.1, "
       "Eq. 13; official code", "exact", "nb201_depth_width / darts_depth_width (this project)",
       "worked examples computed by the official functions run unchanged", "atol 5e-5", "reference values rounded to 4 decimals", _c11, budget=1,
       trust="[D]"),
    _c("C12", "NB201: 32 distinct (d̄, m̄); d̄ ∈ {0} ∪ [0.25, 3], m̄ ∈ {0} ∪ [1/3, 4]; centre (1.625, 2.167) and "
       "half-radius (0.6875, 0.917) only when d̄ = 0 is excluded", "§5.3", "exact",
       "all 15,625 cells", "numbers computed from the official code's rule", "atol 5e-5", "reference values rounded to 4 decimals", _c12, budget=5, trust="[D]"),
    _c("C13", "Kept fractions of NB201: code 8,226; paper ½ radius 6,256; ¾ 9,762; full 13,642; ¼ 1,376 (rounded "
       "numbers: ¼ 1,760, full 13,634)", "§5.3, Table 3; official code", "exact", "all 15,625 cells",
       "counts computed from the official code's rule", "exact integer counts", "counting", _c13, budget=5, trust="[D]"),
    _c("C14", "Table 2: the search-cost reductions −40.2% (WOT+DAG) and −30.9% (TE-NAS+DAG) follow from the stated "
       "costs, and every accuracy is below the NB201 optimum (the WOT/TE-NAS accuracies themselves are not "
       "reproduced: they need CIFAR batches and per-architecture WOT scores)", "§5.3, Table 2", "consistency",
       "the paper's own numbers, recomputed", "Table 2 as printed", "reductions to 0.1 percentage point",
       "the table rounds to 0.1%", _c14, budget=0),
    _c("C15", "Table 1: DARTS-space ImageNet results and TE-NAS+DAG search times", "§5.3, Table 1", "statistical",
       "—", "paper table", "—", "—", _c15, budget=0, scales=("paper",)),
    _c("C16", "Fig. 5: extreme d̄ or m̄ gives worse accuracy; the multiple correlation R of accuracy on (d̄, m̄) is "
       "positive (NB201 panels: CIFAR-10, CIFAR-100, ImageNet16-120)", "§5.2, Fig. 5, Remark 5.1", "statistical",
       "all 15,625 NB201 cells of the shipped NATS-Bench table, each dataset: quadratic least-squares R of accuracy "
       "on (d̄, m̄) and mean accuracy of central − extreme cells (outer 15% of either range); group means of the 32 "
       "(d̄, m̄) groups reported; the same without the d̄ = 0 cells; top-1% enrichment of the central region",
       "sign of R and of the gap (Fig. 5)",
       "R ≥ 0.1, central − extreme ≥ 1 accuracy point and top-1% enrichment > 1 on every dataset, with and "
       "without the d̄ = 0 cells",
       "a census of the whole space has no sampling error, so a permutation null decides nothing: effect sizes "
       "against stated smallest effects of interest (1 point: the gains of Table 2; R = 0.1: a small correlation), "
       "and their robustness", _c16, budget=10),
    _c("C16_size", "Fig. 5's (d̄, m̄) ranks NB201 cells by accuracy beyond their size: Kendall's partial τ of the "
       "quadratic (d̄, m̄) fit and accuracy given #params ≥ 0.1 (a question of this toolkit, not a claim of the "
       "paper)", "toolkit extension of Fig. 5 (size baseline)", "statistical",
       "all 15,625 NB201 cells, each dataset: τ of #params, FLOPs, #conv with accuracy and the partial τ of the "
       "quadratic (d̄, m̄) prediction given #params (#params / FLOPs in closed form)",
       "published re-evaluations find #params competitive with training-free metrics",
       "partial τ ≥ 0.1 on every dataset (a census: effect size, no sampling test)",
       "Cohen's small effect as the smallest effect of interest; a census has no sampling error", _c16_size,
       budget=10, role=_EXTENSION_ROLE),
    _c("C17", "The toolkit's supernet (d̄, m̄) rule: TE-NAS+DAG evaluates 6 instead of 9 ops per NB201 edge (11 vs "
       "15 on DARTS ImageNet); in round 1 all candidate removals are equidistant from the centroid",
       "Chen et al. 2022 §5.3; official TENAS/prune_tenas.py", "exact",
       "this toolkit's implementation of the supernet (d̄, m̄) rule and its evaluation counts; one-op supernets of "
       "400 seeded NB201 cells against the cell rule (checked by C11)",
       "counts from the pruning schedule of the official code (prune_number, pre_reserve 2); symmetry of the round-1 "
       "candidates", "exact", "integer counts / distances of identical points", _c17, budget=1),
    _c("C18", "The connectivity filter keeps better cells than it drops (the premise of WOT+DAG and TE-NAS+DAG, "
       "§5.3, Tables 2-3)", "§5.3", "statistical",
       "all 15,625 NB201 cells, each dataset: mean accuracy of kept − dropped cells under the code's window "
       "(0.99-2.51 × 0.99-3.01) and the paper's ½-radius rule; kept-set mean for full/¾/½/¼ windows reported",
       "the paper's premise: the filter removes bad (extreme) cells",
       "kept − dropped ≥ 1 accuracy point (also without the d̄ = 0 cells) and top-1% enrichment > 1, both rules, "
       "every dataset",
       "a census of the whole space: effect sizes against a stated smallest effect of interest (1 point, the gains "
       "of Table 2), not a permutation null", _c18, budget=10),
    _c("C19", "Theorem 3.1 / Remark 3.2 as a comparison: with one learning rate, DAGs with larger λ_min(K^(H)) "
       "converge faster", "§3.2, Theorem 3.1, Remark 3.2", "statistical",
       "12 random Chen DAGs (3 nodes, a nonlinear path each), full-batch GD on 8 digits (width 256, 40 steps, "
       "η = 1/max λ_max(NTK)); late convergence speed −ln(per-step loss ratio over steps 20-40)",
       "λ_min(K^(H)) of each DAG from the exact recursion",
       "Kendall τ(λ_min, speed) bootstrap 95% CI above 0 → pass; below → fail; else inconclusive",
       "direction only (the theorem gives no per-DAG constant); n = 12 DAGs", _c19,
       needs=("torch", "module:ntkcheck.empirical.networks", _ENGINE), budget=30),
    _c("C20", "Lemma 3.1: λ_min(K^(H)) > 0 when no two data points are parallel", "§3.2, Lemma 3.1", "exact",
       "certified λ_min (eigenvalue − error bound) of the exact K^(H) of 30 random Chen DAGs with a nonlinear path "
       "on random unit data (N 5-24 > d 3-7)", "Lemma 3.1", "certified λ_min − error bound > 0",
       "the certified eigensolver's error bound; the lemma assumes an analytic σ, the paper's ReLU is used",
       _c20, needs=(_ENGINE,), budget=5, role="paper"),
]
