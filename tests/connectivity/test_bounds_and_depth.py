r"""Lemma 3.3, Eq. 12, the Fig. 3 ordering (C2, C5-C7), (d̄, m̄) by the official code's rules (C11-C13),
the NAS filters, and bad input.

Expected values: closed forms (Eqs. 7, 9, 11) vs the recursion; eigvalsh vs the 2×2 formula; the digest's
[D] tables (produced by running the official code's functions) vs this module's independent implementation;
for the NB201 space, the code's route rule on strings vs a DFS over the fully connected analog spec vs
``ArchSpec.path_depths`` (three implementations).
"""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import nb201_spec, nb201_string, parse_spec
from ntkcheck.theory.connectivity import (CODE_WINDOW_NB201, PAPER_WINDOW_NB201, all_nb201_op_tuples,
                                          bound_report, chen_exact_reference, darts_depth_width, depth_width,
                                          eq12_bound, eq12_pairwise, f_arccos, fig3_exact_2x2, fig3_paper_2x2,
                                          filter_code, filter_paper, lemma33_bound, nb201_chen_spec,
                                          nb201_depth_width, nb201_routes, space_window)

from .conftest import chen_dag_strings, unit_data

RHO = np.linspace(-0.999, 0.999, 400)


# ---- Fig. 3 ordering (C2, C5) ---------------------------------------------------------------------------

def test_fig3_ordering_paper_and_exact_and_identities():
    """λ1 < λ2 < λ3 on a 400-point grid, paper and exact (C2, C5).

    Note: the digest's proof identities λ2 − λ1 = (1 − f)²(2 + f) and λ3 − λ2 = (1 − ρ) + 2f(1 − f) hold for
    *powers* f³, f² (the typo reading), not for the compositions f∘f∘f, f∘f of Eqs. 7/11 (whose values the
    digest's sample numbers use).  With compositions: λ2 − λ1 = 2 − 3f + f∘f∘f and
    λ3 − λ2 = (1 − ρ) − 2(f∘f − f) where f∘f ≥ f (since f(x) ≥ x), so the ordering is checked numerically."""
    for lam in (fig3_paper_2x2(RHO), fig3_exact_2x2(RHO)):
        assert np.all(lam["dag1"] < lam["dag2"]) and np.all(lam["dag2"] < lam["dag3"])
    p = fig3_paper_2x2(RHO)
    f = f_arccos(RHO)
    ff = f_arccos(f)
    assert np.allclose(p["dag3"] - p["dag2"], (1 - RHO) - 2 * (ff - f), atol=1e-12, rtol=0)
    assert np.allclose(p["dag2"] - p["dag1"], 2 - 3 * f + f_arccos(ff), atol=1e-12, rtol=0)
    assert np.all(f >= RHO) and np.all(ff >= f)
    # the digest's identities are those of the power reading:
    assert np.allclose((3 * (1 - f)) - (1 - f**3), (1 - f) ** 2 * (2 + f), atol=1e-12, rtol=0)
    assert np.allclose((4 - RHO - f - 2 * f**2) - 3 * (1 - f), (1 - RHO) + 2 * f * (1 - f), atol=1e-12, rtol=0)


def test_digest_sample_values_paper_rule():
    for rho, vals in ((0.0, (0.3952, 2.0451, 2.6942)), (0.5, (0.2619, 1.1730, 1.5232)),
                      (0.9, (0.0751, 0.2714, 0.3550))):
        p = fig3_paper_2x2(rho)
        assert [float(p[k]) for k in ("dag1", "dag2", "dag3")] == pytest.approx(vals, abs=5e-5)


# ---- Lemma 3.3 (C6) ------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_lemma33_interlacing_random_spd(N, seed):
    """λ_min(K) ≤ min over pairs of the 2×2 block's λ_min; the block formula checked against eigvalsh.
    Tolerance 1e-10·‖K‖ (eigvalsh backward error ≈ N·eps·‖K‖)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, N + rng.integers(0, 3)))
    K = A @ A.T
    lam = np.linalg.eigvalsh(K)[0]
    b = lemma33_bound(K)
    assert lam <= b + 1e-10 * np.abs(K).max()
    best = min(np.linalg.eigvalsh(K[np.ix_([i, j], [i, j])])[0] for i in range(N) for j in range(N) if i != j)
    assert b == pytest.approx(best, abs=1e-10 * np.abs(K).max())


# ---- Eq. 12 (C7) --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rho", [-0.5, 0.0, 0.3, 0.8])
def test_eq12_equals_paper_2x2_on_fig3_dags(rho):
    """C7: Eq. 12 equals the paper-rule 2×2 value for the three DAGs (their linear edges read equal-depth
    nodes)."""
    K0 = np.array([[1.0, rho], [rho, 1.0]])
    for name, code in (("dag1", "2_02_002"), ("dag2", "1_01_222"), ("dag3", "2_21_112")):
        depths = depth_width(code)["depths"]
        assert eq12_bound(depths, K0) == pytest.approx(float(fig3_paper_2x2(rho)[name]), abs=1e-12)


def test_eq12_mixed_depth_dag_below_recursion():
    """C7 / digest §4 caveat 1: `2_11_002` at ρ = 0: Eq. 12 = 1.1880 < paper-rule 2×2 = 1.1961."""
    K0 = np.eye(2)
    K = chen_exact_reference("2_11_002", K0, cross_terms=False).nngp
    rec = K[0, 0] - K[0, 1]
    e12 = eq12_bound(depth_width("2_11_002")["depths"], K0)
    assert e12 == pytest.approx(1.1880, abs=5e-5) and rec == pytest.approx(1.1961, abs=5e-5)
    assert e12 < rec


def test_eq12_at_rho_minus_one_is_the_larger_eigenvalue():
    """Digest §4 caveat 2: DAG#3 at ρ = −1: P − Σ = 4.363 while the paper-rule 2×2 λ_min is 3.637."""
    depths = depth_width("2_21_112")["depths"]
    v = float(eq12_pairwise(depths, -1.0))
    K = chen_exact_reference("2_21_112", np.array([[1.0, -1.0], [-1.0, 1.0]]), cross_terms=False).nngp
    assert v == pytest.approx(4.363, abs=5e-4)
    assert np.linalg.eigvalsh(K)[0] == pytest.approx(3.637, abs=5e-4)


@settings(max_examples=30, deadline=None)
@given(chen_dag_strings(min_nodes=2), st.integers(0, 2**31 - 1))
def test_bound_report_verdicts_consistent(code, seed):
    """Lemma 3.3 on a kernel always bounds that kernel's λ_min (interlacing), so its verdict must include it."""
    X = unit_data(np.random.default_rng(seed), 5, 4)
    rep = bound_report(code, X, engine="reference")
    if rep.degenerate:
        assert rep.lambda_min_exact is None
        return
    assert rep.holds["lemma33_bound_exact"] in ("both", "exact only", "vacuous")
    assert rep.holds["lemma33_bound_paper"] in ("both", "paper only", "vacuous")


# ---- (d̄, m̄): worked examples (C11) ---------------------------------------------------------------------

CONV, NONE, SKIP, POOL, C1 = "nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1"
# ops in NB201_EDGES order: 1←0, 2←0, 2←1, 3←0, 3←1, 3←2
WORKED = [
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", [2, 0], 1.0, 1.0, True, False),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [3, 2, 2, 0], 1.75, 12 / 7, True, True),
    (nb201_string([CONV] * 6), [3, 2, 2, 1], 2.0, 2.0, True, True),
    (nb201_string([SKIP] * 6), [0, 0, 0, 0], 0.0, 0.0, False, False),
    (nb201_string([CONV, NONE, CONV, NONE, NONE, CONV]), [3], 3.0, 1 / 3, False, False),
    (nb201_string([SKIP, NONE, SKIP, CONV, CONV, CONV]), [1, 1, 1], 1.0, 3.0, True, True),
    (nb201_string([CONV, CONV, SKIP, SKIP, SKIP, CONV]), [2, 1, 2, 0], 1.25, 2.4, True, True),
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|", [1, 1, 0],
     2 / 3, 3.0, False, False),
    (nb201_string([CONV, CONV, CONV, NONE, CONV, CONV]), [3, 2, 2], 7 / 3, 9 / 7, True, False),
    (nb201_string([NONE, NONE, NONE, C1, NONE, NONE]), [1], 1.0, 1.0, True, False),
]


@pytest.mark.parametrize("cell,depths,dbar,mbar,code_keep,paper_keep", WORKED)
def test_nb201_worked_table(cell, depths, dbar, mbar, code_keep, paper_keep):
    assert sorted(nb201_routes(cell)) == sorted(depths)
    d, m = nb201_depth_width(cell)
    assert (d, m) == (pytest.approx(dbar, abs=1e-12), pytest.approx(mbar, abs=1e-12))
    assert bool(filter_code(d, m)) is code_keep
    c, h = PAPER_WINDOW_NB201["center"], PAPER_WINDOW_NB201["half_radius"]
    assert bool(filter_paper(d, m, c, (2 * h[0], 2 * h[1]), 0.5)) is paper_keep
    # second implementation: DFS over the spec's fully connected analog gives the same (d̄, m̄)
    dw = depth_width(nb201_spec(cell))
    assert (dw["d_bar"], dw["m_bar"]) == (pytest.approx(d, abs=1e-12), pytest.approx(m, abs=1e-12))


def test_darts_examples():
    """Digest §5 DARTS examples (genotypes recalled from the DARTS release, [R] in the digest)."""
    v2 = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
          ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)]
    v1 = [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
          ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)]
    all_sep = [("sep_conv_3x3", k % 2) for k in range(8)]
    r2, r1, ra = darts_depth_width(v2), darts_depth_width(v1), darts_depth_width(all_sep)
    assert (r2["n_paths"], sum(r2["depths"]), r2["d_bar"], r2["m_bar"]) == (9, 9, 1.0, pytest.approx(7.0))
    assert (r1["n_paths"], sum(r1["depths"])) == (9, 7)
    assert r1["d_bar"] == pytest.approx(7 / 9) and r1["m_bar"] == pytest.approx(9.0)
    assert (ra["d_bar"], ra["m_bar"]) == (1.0, pytest.approx(8.0))
    with pytest.raises(NtkcheckError):
        darts_depth_width(v2[:7])
    with pytest.raises(NtkcheckError):
        darts_depth_width(v2[:7] + [("sep_conv_3x3", 5)])


# ---- the NB201 space (C12, C13) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nb201_dm():
    cells = all_nb201_op_tuples()
    dm = np.array([nb201_depth_width(c) for c in cells])
    return cells, dm[:, 0], dm[:, 1]


def test_nb201_space_statistics(nb201_dm):
    cells, d, m = nb201_dm
    assert len(cells) == 15625
    pairs = set(zip(np.round(d, 9), np.round(m, 9)))
    assert len(pairs) == 32
    assert int((d == 0).sum()) == 1983
    nz = d > 0
    assert d[nz].min() == pytest.approx(0.25) and d.max() == pytest.approx(3.0)
    assert m[nz].min() == pytest.approx(1 / 3) and m.max() == pytest.approx(4.0)
    assert np.all(m[~nz] == 0)
    w = space_window(d, m)
    assert w["center"] == (pytest.approx(1.625), pytest.approx(13 / 6))
    assert tuple(r / 2 for r in w["radius"]) == (pytest.approx(0.6875), pytest.approx(11 / 12))
    w0 = space_window(d, m, exclude_zero_depth=False)
    assert w0["center"] == (pytest.approx(1.5), pytest.approx(2.0))
    assert w0["radius"] == (pytest.approx(1.5), pytest.approx(2.0))


def test_nb201_kept_fractions(nb201_dm):
    """C13: code 8,226; paper ½ radius 6,256 (rounded or not); full 13,642; ¾ 9,762; ¼ 1,376; rounded ¼
    1,760 and rounded full 13,634; the code's 1,970 extra cells are the four listed (d̄, m̄) groups."""
    _, d, m = nb201_dm
    keep_code = filter_code(d, m, CODE_WINDOW_NB201)
    assert int(keep_code.sum()) == 8226
    w = space_window(d, m)
    counts = {fr: int(filter_paper(d, m, w["center"], w["radius"], fr).sum()) for fr in (1, 0.75, 0.5, 0.25)}
    assert counts == {1: 13642, 0.75: 9762, 0.5: 6256, 0.25: 1376}
    rounded = {fr: int(filter_paper(d, m, (1.6, 2.2), (1.4, 1.8), fr).sum()) for fr in (1, 0.5, 0.25)}
    assert rounded == {1: 13634, 0.5: 6256, 0.25: 1760}
    half = filter_paper(d, m, w["center"], w["radius"], 0.5)
    extra = keep_code & ~half
    groups = Counter(zip(np.round(d[extra], 3), np.round(m[extra], 3)))
    assert groups == {(1.0, 1.0): 1746, (1.667, 1.2): 64, (2.0, 1.0): 128, (2.333, 1.286): 32}
    assert not np.any(half & ~keep_code)


def test_nb201_three_implementations_agree(nb201_dm):
    """Route rule on strings == DFS over the analog spec == ArchSpec.path_depths, on one cell of each of
    the 729 Chen-analog classes (first in enumeration order) plus 700 random cells (the full sweep is the
    same code, 10× slower)."""
    from ntkcheck.theory.connectivity import nb201_chen_analog

    cells, d, m = nb201_dm
    first = {}
    for k, c in enumerate(cells):
        first.setdefault(nb201_chen_analog(c), k)
    idx = sorted(set(first.values()) | set(np.random.default_rng(3).choice(len(cells), 700, replace=False)))
    seen = set()
    for k in idx:
        spec = nb201_spec(cells[k])
        dw = depth_width(spec)
        assert sorted(dw["depths"]) == sorted(nb201_routes(cells[k])) == list(spec.path_depths)
        assert dw["d_bar"] == pytest.approx(d[k], abs=1e-12) and dw["m_bar"] == pytest.approx(m[k], abs=1e-12)
        assert sorted(nb201_chen_spec(cells[k]).path_depths) == sorted(dw["depths"])
        seen.add(nb201_chen_spec(cells[k]).name)
    assert len(seen) == 729


# ---- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["2_2_112", "3_21_112", "2_21_11", "", "2__1"])
def test_malformed_chen_strings(bad):
    with pytest.raises(NtkcheckError):
        depth_width(bad if bad else "{}")


def test_cyclic_and_malformed_cells():
    with pytest.raises(NtkcheckError, match="cycle"):
        parse_spec({"nodes": 3, "edges": [[0, 1, "skip"], [1, 2, "linact:relu"], [2, 1, "skip"]],
                    "readout": "none", "input": "raw"})
    with pytest.raises(NtkcheckError):
        nb201_depth_width("|nor_conv_3x3~0|+|none~0|")
    with pytest.raises(NtkcheckError):
        nb201_depth_width("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_degenerate_cell_is_not_an_error():
    X = unit_data(np.random.default_rng(0), 4, 3)
    cell = nb201_string([CONV, NONE, NONE, NONE, NONE, CONV])  # 0→1 but nothing reaches 3 from 0
    rep = bound_report(nb201_chen_spec(cell), X, engine="reference")
    assert rep.degenerate and rep.d_bar == 0 and rep.m_bar == 0 and rep.lambda_min_exact is None
