"""A structural engine bug fails a toolkit record and so makes ``ntkcheck verify`` exit 1 — also with a warm cache.

Each test (a) relies on a session fixture that ran the clean toolkit records (and cheap paper records that use
the same engines) once with a fresh cache directory, so the cache is warm from the clean tree; (b) applies one
*structural* bug — an edit of a copy of the engine's source: a dropped term, a wrong mode, a wrong edge,
misaligned rows; never a rescaling of an output or a patched statistic; (c) runs verify in-process on the same
cache and asserts exit status 1 and the toolkit record's verdict ``fail`` in report.json.

First the six realistic bugs that once passed verify unnoticed: skip–skip cross terms dropped, conv cross terms
dropped, BN in eval mode in the NTK, accuracy rows shifted by one, regions from the last ReLU only, κ inverted;
then one per remaining engine (NASWOT, LGA, (d̄, m̄), the bounds).
"""

from __future__ import annotations

import __future__
import inspect
import json
import sys
import textwrap

import pytest

from ntkcheck.cli import main
from ntkcheck.paper_checks import toolkit_engines as TE

torch = pytest.importorskip("torch")

#: The records run by every test: all toolkit records (≈ 10 s) and the cheap paper records that use the same
#: engines (TE-NAS T1 uses κ_N and the BN NTK, T5/T6 the region counter; Mok L1/L2 LGA, L10 the BN NTK; Chen C4
#: the DAG kernel).  ``T[1]``, ``L[1]``: globs of T1, L1 alone.
TOOLKIT = [c.id for c in TE.CHECKS]
PAPER_CONSUMERS = ["tenas2021.T[1]", "tenas2021.T5", "tenas2021.T6", "mok2022.L[1]", "mok2022.L2", "mok2022.L10",
                   "chen2022.C4"]


def run_verify(ids, cache, report):
    code = main(["verify", "--only", ",".join(ids), "--report", str(report), "--cache-dir", str(cache), "--quiet",
                 "--no-figures"])
    return code, json.loads((report / "report.json").read_text())


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory):
    """A cache directory warmed by the clean tree, and the clean report (every toolkit record passes)."""
    cache = tmp_path_factory.mktemp("ntkcheck-cache")
    _, rep = run_verify(TOOLKIT + PAPER_CONSUMERS, cache, tmp_path_factory.mktemp("clean-report"))
    verdicts = {r["id"]: r["verdict"] for r in rep["results"]}
    assert all(verdicts[i] == "pass" for i in TOOLKIT), verdicts
    return cache, verdicts


def patch_source(monkeypatch, owner, name: str, old: str, new: str) -> None:
    """Replace ``owner.name`` (a function or method) by a copy of its source with ``old`` replaced by ``new``,
    compiled in (a copy of) its module's namespace: a real edit of the engine's code, undone after the test."""
    fn = inspect.unwrap(getattr(owner, name))
    src = textwrap.dedent(inspect.getsource(fn))
    assert src.count(old) == 1, f"{old!r} occurs {src.count(old)} times in {fn.__qualname__}"
    ns = dict(vars(sys.modules[fn.__module__]))
    code = compile(src.replace(old, new), f"<structural bug in {fn.__module__}.{fn.__qualname__}>", "exec",
                   flags=__future__.annotations.compiler_flag, dont_inherit=True)
    exec(code, ns)
    monkeypatch.setattr(owner, name, ns[name])


def assert_caught(warm_cache, tmp_path, record: str, extra=()):
    cache, clean = warm_cache
    code, rep = run_verify([record, *extra], cache, tmp_path / "report")
    verdicts = {r["id"]: r["verdict"] for r in rep["results"]}
    assert verdicts[record] == "fail", (record, verdicts)
    assert clean[record] == "pass"
    assert code == 1
    return rep


# ---- the six bugs that once passed verify unnoticed --------------------------------------------------------

def test_skip_skip_cross_terms_dropped(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.theory import kernels

    patch_source(monkeypatch, kernels._Recursion, "_edge_pair",
                 "return e.scale * e2.scale * self.moment(e.src, e2.src)", "return None")
    rep = assert_caught(warm_cache, tmp_path, "toolkit.kernel_cross_terms", ["toolkit.kernel_finite_width",
                                                                             "chen2022.C4"])
    assert {r["id"]: r["verdict"] for r in rep["results"]}["toolkit.kernel_finite_width"] == "fail"


def test_conv_cross_terms_dropped(warm_cache, tmp_path, monkeypatch):
    """neural-tangents' FanInSum behaviour: each linear in-edge contributes only L Σ_ii Lᵀ."""
    from ntkcheck.theory import conv_kernels

    patch_source(monkeypatch, conv_kernels._Chunk, "_diag", "if self.cross:", "if False:")
    assert_caught(warm_cache, tmp_path, "toolkit.conv_kernel_cross_terms")


def test_bn_eval_mode_in_the_ntk(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import metrics

    patch_source(monkeypatch, metrics, "logit_sum_ntk", "model.train(bn_train_mode)", "model.train(False)")
    rep = assert_caught(warm_cache, tmp_path, "toolkit.bn_ntk_train_mode",
                        ["toolkit.kappa_N", "tenas2021.T[1]", "mok2022.L10"])
    assert {r["id"]: r["verdict"] for r in rep["results"]}["toolkit.kappa_N"] == "fail"


def test_accuracy_rows_shifted_by_one(warm_cache, tmp_path, monkeypatch):
    from ntkcheck import data

    patch_source(monkeypatch, data, "nb201_table", "        a.setflags(write=False)",
                 "        a = np.roll(a, 1)\n        a.setflags(write=False)")
    try:
        assert_caught(warm_cache, tmp_path, "toolkit.accuracy_table")
    finally:
        data.nb201_table.cache_clear()


def test_regions_from_the_last_relu_only(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import linear_regions

    patch_source(monkeypatch, linear_regions, "activation_patterns",
                 "handles = [m.register_forward_hook(hook) for m in relus]",
                 "handles = [m.register_forward_hook(hook) for m in relus[-1:]]")
    assert_caught(warm_cache, tmp_path, "toolkit.linear_regions", ["tenas2021.T5", "tenas2021.T6"])


def test_kappa_inverted(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import metrics

    patch_source(monkeypatch, metrics, "condition_number", "value = math.inf if singular else lmax / lmin",
                 "value = math.inf if singular else lmin / lmax")
    assert_caught(warm_cache, tmp_path, "toolkit.kappa_N", ["tenas2021.T[1]"])


# ---- the other engines -------------------------------------------------------------------------------------

def test_naswot_kernel_without_the_disagreement_term(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import naswot

    patch_source(monkeypatch, naswot, "naswot_kernel", "return c @ c.T + (1.0 - c) @ (1.0 - c).T", "return c @ c.T")
    assert_caught(warm_cache, tmp_path, "toolkit.naswot")


def test_naswot_codes_from_the_last_relu_only(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import linear_regions, naswot

    patch_source(monkeypatch, linear_regions, "activation_patterns",
                 "handles = [m.register_forward_hook(hook) for m in relus]",
                 "handles = [m.register_forward_hook(hook) for m in relus[-1:]]")
    monkeypatch.setattr(naswot, "activation_patterns", linear_regions.activation_patterns)   # its imported name
    assert_caught(warm_cache, tmp_path, "toolkit.naswot")


def test_lga_labels_misaligned_to_rows(warm_cache, tmp_path, monkeypatch):
    from ntkcheck.empirical import metrics

    patch_source(monkeypatch, metrics, "lga", "L = label_similarity(y)", "L = label_similarity(np.roll(y, 1))")
    assert_caught(warm_cache, tmp_path, "toolkit.lga", ["mok2022.L[1]", "mok2022.L2"])


def test_depth_width_wrong_edge(warm_cache, tmp_path, monkeypatch):
    """Route 0→1→3 read through edge 2←1 instead of 3←1 (a wrong edge index)."""
    from ntkcheck.theory import connectivity

    monkeypatch.setattr(connectivity, "_NB201_ROUTES", ((0, 2, 5), (0, 2), (1, 5), (3,)))
    assert_caught(warm_cache, tmp_path, "toolkit.depth_width")


def test_bound_with_the_wrong_eigenvalue_of_the_ones_matrix(warm_cache, tmp_path, monkeypatch):
    """λ_min(11ᵀ) taken as 1 (its value for N = 1) for every N: the constant Hermite term enters every bound.
    (A bug that only loosens a lower bound — e.g. a Gershgorin radius of one neighbour instead of N − 1 — leaves
    it valid and cannot be caught by comparing with λ_min; that is not what this record guards.)"""
    from ntkcheck.theory import bounds

    patch_source(monkeypatch, bounds, "_lam_ones", "return 1.0 if N == 1 else 0.0", "return 1.0")
    assert_caught(warm_cache, tmp_path, "toolkit.bounds_vs_exact")


def test_kappa_from_the_per_logit_kernel(warm_cache, tmp_path, monkeypatch):
    """κ_N built from the wrong output: the NC×NC per-logit kernel instead of the logit-sum NTK."""
    from ntkcheck.empirical import metrics

    patch_source(monkeypatch, metrics, "tenas_kappa", "params=params, output=output,", 'params=params, output="full",')
    assert_caught(warm_cache, tmp_path, "toolkit.kappa_N")


def test_every_toolkit_record_is_a_complete_toolkit_record():
    ids = [c.id for c in TE.CHECKS]
    assert len(ids) == len(set(ids))
    for c in TE.CHECKS:
        assert c.id.startswith("toolkit.") and c.paper == "ntkcheck"
        assert c.role == "toolkit" and c.kind in ("exact", "numeric")
        assert c.claim and c.source and c.how_measured and c.how_claimed and c.tolerance and c.tolerance_reason
