"""Fidelity to the papers' released code (issue 15, part 1): every behaviour a "code" mode claims.

Second methods: parameter counts and BN flags from closed-form layer arithmetic; ranks and tie-breaking on
hand-constructed values whose expected ranks are worked out in the comments; weight copies checked by
comparing state dicts recorded while the search runs; the supernet (d̄, m̄) against the theory module's
independent single-path rule and a hand-computed supernet value; NASWOT's kernel from explicit Hamming loops;
``recal_bn`` against running averages computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ntkcheck.empirical import nas_search
from ntkcheck.empirical.metrics import logit_sum_ntk, recal_bn, tenas_kappa
from ntkcheck.empirical.nas_search import (MODE_INITS, TenasConfig, prune_candidate, released_code_ranking,
                                           round_to_code, tenas_prune)
from ntkcheck.empirical.naswot import hook_logdet, naswot_kernel
from ntkcheck.empirical.nb201_conv import (NB201ConvConfig, SearchCell, build_nb201_conv, mok_config, reinitialize,
                                           tenas_ntk_config)
from ntkcheck.empirical.ntk import empirical_ntk
from ntkcheck.empirical.outputs import model_logits
from ntkcheck.empirical.supernet_connectivity import alive_alphas, pre_reserved, supernet_depth_width
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_OPS
from ntkcheck.theory.connectivity import nb201_depth_width

CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
SMALL = tenas_ntk_config(C=2, input_size=8, bn_track_running_stats=False)
TINY_NTK = tenas_ntk_config(C=2, input_size=4, stages=2, bn_track_running_stats=False)


def x_img(n=6, c=3, s=8, seed=0):
    return torch.randn(n, c, s, s, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- (features, logits) outputs --------------------------------------------------------------------------

class FeaturesLogits(nn.Module):
    """A TE-NAS / NB201-style model: returns (pooled features, logits)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits = self.net(x)
        return logits.detach() * 0 + 1.0, logits


def test_tuple_outputs_read_at_the_logits():
    net = build_nb201_conv(CELL, TINY_NTK, seed=0, device="cpu")
    wrapped = FeaturesLogits(net)
    X = x_img(n=4, s=4)
    K = logit_sum_ntk(net, X)
    assert torch.equal(logit_sum_ntk(wrapped, X), K)
    assert tenas_kappa(wrapped, [X], repeats=1).values == tenas_kappa(net, [X], repeats=1).values
    for engine in ("loop", "jacobian"):
        net.eval()
        wrapped.eval()
        a = empirical_ntk(wrapped, X, params="all", output="full", engine=engine)
        b = empirical_ntk(net, X, params="all", output="full", engine=engine)
        assert torch.allclose(a, b, rtol=1e-12, atol=0)
    # the rule itself: element 1 of (features, logits, ...), element 0 of a 1-tuple
    t = torch.ones(2, 3)
    assert model_logits((t * 0, t, t * 2)) is not None and torch.equal(model_logits((t * 0, t, t * 2)), t)
    assert torch.equal(model_logits((t,)), t)
    with pytest.raises(NtkcheckError, match="logits"):
        model_logits(("a", "b"))
    with pytest.raises(NtkcheckError):
        model_logits({"logits": t})


# ---- repeats with one module and one tensor vary the batch -----------------------------------------------

def test_module_and_tensor_repeats_draw_new_batches():
    net = build_nb201_conv(CELL, SMALL, seed=0, device="cpu")
    pool = x_img(n=12)
    res = tenas_kappa(net, pool, repeats=3, batch_size=5, seed=1)
    assert res.batch_indices is not None and len(res.batch_indices) == 3
    assert all(len(ix) == 5 == len(set(ix)) for ix in res.batch_indices)
    assert len(set(res.batch_indices)) == 3  # three different batches
    assert len(set(res.values)) == 3          # hence three different κ (the weights are fixed)
    for ix, v in zip(res.batch_indices, res.values):
        assert tenas_kappa(net, [pool[list(ix)]], repeats=1).values[0] == v
    default = tenas_kappa(net, pool, repeats=3)  # default batch size: len(X) // repeats
    assert [len(ix) for ix in default.batch_indices] == [4, 4, 4]
    # a factory (the paper's fresh weights per repeat) reuses the one batch
    fac = tenas_kappa(lambda s: build_nb201_conv(CELL, SMALL, seed=s, device="cpu"), pool[:5], repeats=2)
    assert fac.batch_indices is None
    with pytest.raises(NtkcheckError, match="batch"):
        tenas_kappa(net, pool[:3], repeats=3)  # 1 sample per batch
    with pytest.raises(NtkcheckError, match="exceeds"):
        tenas_kappa(net, pool, repeats=2, batch_size=13)


# ---- TE-NAS code mode: weight copies -------------------------------------------------------------------

def params_of(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items() if k in dict(net.named_parameters())}


def test_prune_candidate_copies_the_parent_parameters():
    parent = build_nb201_conv(None, TINY_NTK, seed=1, device="cpu")
    other = build_nb201_conv(None, TINY_NTK, seed=2, device="cpu")
    before = params_of(other)
    alive = tuple(tuple(o for o in a if o != "nor_conv_3x3") if e == 0 else a
                  for e, a in enumerate(parent.alive))
    child = prune_candidate(parent, alive, into=other)
    assert child is other and child.alive == alive and parent.alive != alive
    pa, ch = params_of(parent), params_of(child)
    assert pa.keys() == ch.keys() and all(torch.equal(pa[k], ch[k]) for k in pa)
    assert any(not torch.equal(before[k], ch[k]) for k in pa)  # the copy changed the target
    deep = prune_candidate(parent, alive)
    assert deep is not parent and all(torch.equal(pa[k], v) for k, v in params_of(deep).items())
    with pytest.raises(NtkcheckError, match="architecture"):
        prune_candidate(parent, alive, into=build_nb201_conv(None, tenas_ntk_config(C=3, input_size=4, stages=2),
                                                             seed=0, device="cpu"))


def tiny(mode, **kw):
    return TenasConfig(**{"mode": mode, "ntk_net": TINY_NTK, "repeats": 2, "batch_size": 4, "lr_samples": 40,
                          "lr_batch": 40, "seed": 0, **kw})


def test_code_mode_copies_parent_weights_into_every_candidate(monkeypatch):
    calls = []
    real = nas_search.prune_candidate

    def recording(parent, alive, *, into=None):
        child = real(parent, alive, into=into)
        pa, ch = params_of(parent), params_of(child)
        calls.append((child.cfg.C == TINY_NTK.C and child.cfg.input_size == TINY_NTK.input_size,
                      all(torch.equal(pa[k], ch[k]) for k in pa), hash(tuple(pa[k].sum().item() for k in sorted(pa)))))
        return child

    monkeypatch.setattr(nas_search, "prune_candidate", recording)
    # three ops per edge: two rounds, 18 + 12 candidates
    res = tenas_prune(tiny("code", candidate_ops=("skip_connect", "nor_conv_1x1", "nor_conv_3x3"), lr_samples=20,
                           lr_batch=20, batch_size=3))
    n_cands = sum(len(r.candidates) for r in res.rounds)
    assert n_cands == 18 + 12 and len(calls) == 2 * 2 * n_cands  # κ and R, 2 repeats each
    assert all(same for _, same, _ in calls)  # every candidate carries its parent's exact weights
    # per round: the κ parent (built once per round, default init never redrawn) is the same for all
    # candidates and both repeats; the R parent is rebuilt per candidate and fixed over its repeats
    for lo, n in ((0, 18), (4 * 18, 12)):
        rnd = calls[lo:lo + 4 * n]
        k_parents = {h for is_k, _, h in rnd if is_k}
        r_parents = [h for is_k, _, h in rnd if not is_k]
        assert len(k_parents) == 1
        assert all(r_parents[2 * i] == r_parents[2 * i + 1] for i in range(n))
        assert len(set(r_parents)) == n
    assert len({h for is_k, _, h in calls if is_k}) == 2  # a new κ parent in round 2


def test_inits_are_named_per_mode():
    assert tiny("paper").inits == MODE_INITS["paper"] == ("kaiming_normal_fan_out", "kaiming_normal_fan_in")
    assert tiny("code").inits == ("pytorch_default", "pytorch_default")
    assert tiny("code", init_ntk="kaiming_normal_fan_out").inits == ("kaiming_normal_fan_out", "pytorch_default")
    with pytest.raises(NtkcheckError, match="init_ntk"):
        tiny("code", init_ntk="xavier")
    # "pytorch_default" is "default": each module's own reset_parameters
    a = build_nb201_conv(CELL, SMALL, seed=3, init="default", device="cpu")
    b = build_nb201_conv(CELL, SMALL, seed=3, init="pytorch_default", device="cpu")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    # fan_out vs fan_in on a conv with fan_in = 9·64 ≠ fan_out = 9·16: std √(2/fan)
    conv = nn.Conv2d(64, 16, 3)
    for mode, fan in (("kaiming_normal_fan_in", 64 * 9), ("kaiming_normal_fan_out", 16 * 9)):
        reinitialize(conv, seed=0, init=mode)
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan), rel=0.05)  # 9216 draws: ~1% s.e.


# ---- TE-NAS code mode: ties --------------------------------------------------------------------------------

def test_round_to_code_by_hand():
    assert round_to_code(0.12345, 3) == pytest.approx(0.123, abs=1e-15)
    assert round_to_code(-0.0456789, 3) == pytest.approx(-0.0457, abs=1e-15)
    assert round_to_code(0.0, 3) == 0.0
    # the code adds eps = 1e-8 before rounding: 1e-9 → |x| + eps = 1.1e-8 → 1.1e-8
    assert round_to_code(1e-9, 3) == pytest.approx(1.1e-8, rel=1e-12)


def test_released_code_ranking_on_constructed_ties():
    # Δκ = [0.1, 0.1004, 0.1, 0.2] with 3 significant figures: rounded [0.1, 0.1, 0.1, 0.2].  Sorted
    # descending (stable): positions 3, 0, 1, 2.  Walk: 3 → 0; 0 (0.1 ≠ 0.2) → 1; 1 (0.1004 ≠ 0.1) → 2;
    # 2 (0.1 ≠ 0.1004, its predecessor) → 3.  A dense rank of the rounded values would give [1, 1, 1, 0].
    dk = [0.1, 0.1004, 0.1, 0.2]
    dr = [0.0, 0.0, 0.0, 0.0]
    sk, sr, score, pruned = released_code_ranking(dk, dr, [0, 1, 2, 3], precision=3, prune_number=1)
    assert sk == [1, 2, 3, 0] and sr == [0, 0, 0, 0] and score == [1, 2, 3, 0]
    # equal unrounded values adjacent in the sorted list share a rank
    sk, _, _, _ = released_code_ranking([0.3, 0.3, 0.1], [0, 0, 0], [0, 0, 0], precision=3, prune_number=1)
    assert sk == [0, 0, 1]
    # rank-sum tie on one edge: Δκ = [0.1, 0.2] → s_κ = [1, 0]; ΔR = [0.1, 0.2] → s_R = [0, 1]; s = [1, 1].
    # The tie goes to the earlier candidate in the Δκ-sorted order, i.e. candidate 1 (list order: candidate 0).
    sk, sr, score, pruned = released_code_ranking([0.1, 0.2], [0.1, 0.2], [0, 0], precision=3, prune_number=1)
    assert score == [1, 1] and pruned == [1]
    # and when candidate 0 comes first in Δκ order it is the one pruned (the test can fail both ways)
    _, _, score, pruned = released_code_ranking([0.2, 0.1], [0.2, 0.1], [0, 0], precision=3, prune_number=1)
    assert score == [1, 1] and pruned == [0]


# ---- Mok et al.'s NB201 model ------------------------------------------------------------------------------

def expected_mok_params(cell_ops, C=16, N=5, in_ch=3, classes=10):
    """Parameter count of Mok et al.'s discrete NB201 network from layer arithmetic: stem conv (no bias) +
    affine BN; per cell, each nor_conv k×k: c·c·k² weights + c biases (BN non-affine: none); reduction
    c → 2c: 3×3 convs c·2c·9 and 2c·2c·9 with affine BN (2·2c each) and a 1×1 shortcut c·2c; final affine
    BN 2·4C; classifier 4C·classes + classes."""
    per_k = {"nor_conv_3x3": 9, "nor_conv_1x1": 1}
    n = in_ch * C * 9 + 2 * C
    c = C
    for stage in range(3):
        if stage:
            n += c * 2 * c * 9 + 2 * 2 * c + 2 * c * 2 * c * 9 + 2 * 2 * c + c * 2 * c
            c *= 2
        n += N * sum(c * c * per_k[o] + c for o in cell_ops if o in per_k)
    return n + 2 * c + c * classes + classes


def test_mok_model_bn_flags_per_location_and_parameter_count():
    cfg = mok_config()
    assert (cfg.C, cfg.N, cfg.stages, cfg.in_channels) == (16, 5, 3, 3)
    net = build_nb201_conv(CELL, cfg, seed=0, init="default", device="cpu", dtype=torch.float32)
    cell_bn, other_bn = [], []
    for cell in net.modules():
        if isinstance(cell, SearchCell):
            cell_bn += [m for m in cell.modules() if isinstance(m, nn.BatchNorm2d)]
            convs = [m for m in cell.modules() if isinstance(m, nn.Conv2d)]
            assert convs and all(m.bias is not None for m in convs)
    ids = {id(m) for m in cell_bn}
    other_bn = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d) and id(m) not in ids]
    assert cell_bn and all(not m.affine and not m.track_running_stats for m in cell_bn)
    assert len(other_bn) == 1 + 2 * 2 + 1  # stem, 2 reductions × 2, final
    assert all(m.affine and m.track_running_stats for m in other_bn)
    outside = [m for m in net.modules() if isinstance(m, nn.Conv2d)
               and not any(m is c for cell in net.search_cells for c in cell.modules())]
    assert all(m.bias is None for m in outside)
    ops = [o for o in CELL.replace("+", "").strip("|").split("|")]
    ops = [o.split("~")[0] for o in ops]
    assert sum(p.numel() for p in net.parameters()) == expected_mok_params(ops)
    # the flags are per location: a global bn_affine=False without the cell override changes every BN
    glob = build_nb201_conv(CELL, NB201ConvConfig(C=2, N=1, input_size=8, bn_affine=False), seed=0, device="cpu")
    assert all(not m.affine for m in glob.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(NtkcheckError, match="cell_bn_affine"):
        NB201ConvConfig(cell_bn_affine="no")


def test_lga_search_uses_moks_model_by_default(monkeypatch):
    seen = []
    real = nas_search.build_nb201_conv

    def recording(cell, cfg, **kw):
        seen.append(cfg)
        return real(cell, cfg, **kw)

    monkeypatch.setattr(nas_search, "build_nb201_conv", recording)
    monkeypatch.setattr(nas_search, "lga_score", lambda net, X, y, **kw: float(sum(p.numel() for p in net.parameters())))
    X = x_img(n=4, c=1, s=8)
    sel = nas_search.lga_search([CELL], X, [0, 1, 0, 1], device="cpu")
    assert sel.best == CELL
    assert seen == [mok_config(in_channels=1, input_size=8)]


# ---- Chen et al.: supernet (d̄, m̄) and pre-reserve ------------------------------------------------------

def test_supernet_depth_width_single_path_and_by_hand():
    rng = np.random.default_rng(0)
    for _ in range(300):
        ops = [NB201_OPS[i] for i in rng.integers(0, 5, 6)]
        d, m = supernet_depth_width(alive_alphas([(o,) for o in ops]))
        d2, m2 = nb201_depth_width(ops)
        if d2 > 0:
            assert (d, m) == pytest.approx((d2, m2), rel=1e-12)
        else:
            assert d == 0 or math.isnan(d)
    # every edge alive with {skip, conv1x1, conv3x3, pool}: f₀ = f₁ = ½.  Routes of length 3, 2, 2, 1 each
    # carry Σπ = 1 and expected depth L/2: d̄ = (1.5 + 1 + 1 + 0.5)/4 = 1; width numerator
    # Σ_routes (1 − 2^−L) = 0.875 + 0.75 + 0.75 + 0.5 = 2.875 = m̄.
    full = [("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")] * 6
    assert supernet_depth_width(alive_alphas(full)) == pytest.approx((1.0, 2.875), rel=1e-14)
    with pytest.raises(NtkcheckError):
        supernet_depth_width(np.zeros((5, 5)))


def test_pre_reserve_skips_and_counts():
    full = [("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")] * 6
    res = pre_reserved(full, pre_reserve=2, prune_number=1)
    assert len(res) == 12 and all(sum(1 for e2, _ in res if e2 == e) == 2 for e in range(6))
    assert pre_reserved([a[:2] for a in full], pre_reserve=2, prune_number=1) == set()  # cap: 2 − 1 − 1 = 0
    out = tenas_prune(tiny("paper", pre_reserve=2, repeats=1, lr_samples=20, lr_batch=20))
    # per edge 4 → 3 → 2 → 1 alive; reserved min(2, #alive − 2) = 2, 1, 0; evaluated 2 + 2 + 2 (not 4 + 3 + 2)
    assert [len(r.candidates) for r in out.rounds] == [12, 12, 12] and out.n_evaluations == 36
    assert [len(r.reserved) for r in out.rounds] == [12, 6, 0]
    for r in out.rounds:
        evaluated = {(c.edge, c.op) for c in r.candidates}
        assert evaluated.isdisjoint(set(r.reserved))
    assert [sum(c.pruned for c in r.candidates) for r in out.rounds] == [6, 6, 6]


# ---- NASWOT and recal_bn -----------------------------------------------------------------------------------

def test_hook_logdet_against_hamming_loops():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 7), nn.ReLU(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 1)).double()
    X = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        h1 = net[0](X)
        h2 = net[2](torch.relu(h1))
    c = torch.cat([h1 > 0, h2 > 0], 1).numpy()
    NA = c.shape[1]
    K = np.array([[NA - np.sum(c[i] != c[j]) for j in range(6)] for i in range(6)], dtype=float)
    assert np.array_equal(naswot_kernel(c), K)
    assert hook_logdet(net, X) == pytest.approx(np.log(abs(np.linalg.det(K))), rel=1e-10)
    assert hook_logdet(net, torch.cat([X[:3], X[:3]])) == -math.inf  # repeated samples: K singular


def test_recal_bn_cumulative_average():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)).double()
    bs = [torch.randn(4, 2, 3, 3, dtype=torch.float64) for _ in range(3)]
    with torch.no_grad():
        outs = [net[0](b) for b in bs[:2]]
    net.eval()
    recal_bn(net, iter([(b, None) for b in bs]), 2)
    bn = net[1]
    assert net.training and bn.momentum is None and int(bn.num_batches_tracked) == 2
    means = [o.mean(dim=(0, 2, 3)) for o in outs]
    vars_ = [o.var(dim=(0, 2, 3), unbiased=True) for o in outs]
    assert torch.allclose(bn.running_mean, (means[0] + means[1]) / 2, rtol=1e-12, atol=0)
    assert torch.allclose(bn.running_var, (vars_[0] + vars_[1]) / 2, rtol=1e-12, atol=0)
    with pytest.raises(NtkcheckError):
        recal_bn(net, bs, -1)
