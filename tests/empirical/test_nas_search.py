"""Tests of the training-free searches (empirical/nas_search.py).

Second methods: scipy's ``rankdata`` recomputes the ranks and the pruning rule from the recorded Δκ/ΔR;
the bookkeeping of Algorithm 1 (rounds, 24 + 18 + 12 candidate evaluations, one op pruned per edge and
round) is counted independently from the trajectory; Eigen-NAS and LGA selections are recomputed from
kernels built with ``torch.func.jacrev`` and numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import rankdata

from ntkcheck.empirical.nas_search import (TenasConfig, dense_rank, eigen_nas_search, lga_search, ordinal_rank,
                                           select_by_score, tenas_prune)
from ntkcheck.empirical.nb201_conv import CANDIDATE_OPS, build_nb201_conv, tenas_ntk_config
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_EDGES, parse_nb201
from torch_reference import jac_kernel




TINY_NTK = tenas_ntk_config(C=2, input_size=4, stages=2, bn_track_running_stats=False)


def tiny(mode, **kw):
    return TenasConfig(mode=mode, ntk_net=TINY_NTK, repeats=1, batch_size=4, lr_samples=60, lr_batch=60, seed=0, **kw)


def walk_ranks(vals, sig, descending):
    """The released code's ranks, written from the digest's description: sort (stably) on the values rounded
    to ``sig`` significant figures, then walk the sorted list: equal *unrounded* value to the previous one →
    same rank, else the next rank.  Returns (ranks by position, sorted order)."""
    key = [float(f"{v:.{sig}g}") for v in vals]
    order = sorted(range(len(vals)), key=lambda i: -key[i] if descending else key[i])
    ranks = [0] * len(vals)
    for a, b in zip(order, order[1:]):
        ranks[b] = ranks[a] if vals[b] == vals[a] else ranks[a] + 1
    return ranks, order


def check_rounds(res, cfg):
    """Recompute ranks and pruning decisions from the recorded mean relative changes."""
    for rd in res.rounds:
        dk = np.array([c.d_kappa for c in rd.candidates])
        dr = np.array([c.d_regions for c in rd.candidates])
        if cfg.mode == "code":
            sk, order = walk_ranks(list(dk), cfg.precision, True)
            sr, _ = walk_ranks(list(dr), cfg.precision, False)
            pos = {i: k for k, i in enumerate(order)}  # rank-sum ties go to the earlier one in the Δκ order
        else:  # ordinal ranks (index in the stably sorted list)
            sk = rankdata(-dk, method="ordinal") - 1
            sr = rankdata(dr, method="ordinal") - 1
            pos = {i: i for i in range(len(dk))}
        assert [c.s_kappa for c in rd.candidates] == list(sk)
        assert [c.s_regions for c in rd.candidates] == list(sr)
        for c in rd.candidates:
            assert c.score == c.s_kappa + c.s_regions
        for e in NB201_EDGES:
            on_e = [i for i, c in enumerate(rd.candidates) if c.edge == e]
            if not on_e:
                continue
            pr = [i for i in on_e if rd.candidates[i].pruned]
            assert pr == [min(on_e, key=lambda i: (rd.candidates[i].score, pos[i]))]


@pytest.mark.parametrize("mode", ["paper", "code"])
def test_tenas_prune_terminates_single_path_T10(mode):
    cfg = tiny(mode)
    res = tenas_prune(cfg)
    ops = parse_nb201(res.cell)  # a valid NB201 string, one op per edge
    assert len(ops) == 6 and all(o in CANDIDATE_OPS for o in ops)
    assert len(res.rounds) == 3 and res.n_evaluations == 54
    assert [len(r.candidates) for r in res.rounds] == [24, 18, 12]
    assert [sum(c.pruned for c in r.candidates) for r in res.rounds] == [6, 6, 6]
    assert [len(r.alive[0]) for r in res.rounds] == [4, 3, 2]
    # the final op on each edge is the one never pruned
    for e, op in enumerate(ops):
        pruned = {c.op for r in res.rounds for c in r.candidates if c.edge == NB201_EDGES[e] and c.pruned}
        assert pruned == set(CANDIDATE_OPS) - {op}
    assert len(res.trajectory) == 4
    assert all(1 <= R <= 60 for _, R in res.trajectory) and all(k >= 1 for k, _ in res.trajectory)
    check_rounds(res, cfg)


def test_tenas_prune_is_deterministic_and_prune_number_caps():
    cfg = TenasConfig(mode="paper", ntk_net=TINY_NTK, repeats=1, batch_size=4, lr_samples=30, lr_batch=30, seed=3,
                      candidate_ops=("skip_connect", "nor_conv_3x3"))
    a, b = tenas_prune(cfg), tenas_prune(cfg)
    assert a.cell == b.cell and a.trajectory == b.trajectory
    assert len(a.rounds) == 1 and a.n_evaluations == 12
    c = tenas_prune(TenasConfig(mode="paper", ntk_net=TINY_NTK, repeats=1, batch_size=4, lr_samples=30, lr_batch=30,
                                prune_number=3))
    assert len(c.rounds) == 1 and c.n_evaluations == 24  # 4 -> 1 in one round (cap at #live − 1)


def test_ranks():
    v = [0.3, 0.1, 0.3, -0.2]
    assert dense_rank(v, descending=True) == [0, 1, 0, 2]
    assert dense_rank(v, descending=False) == [2, 1, 2, 0]
    assert ordinal_rank(v, descending=True) == [0, 2, 1, 3]
    assert list(rankdata(v, method="dense") - 1) == dense_rank(v, descending=False)


def test_select_by_score():
    cells = ["|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    table = dict(zip(cells, [2.0, math.nan, 5.0]))
    s = select_by_score(cells, table.__getitem__, "max")
    assert s.best == cells[2] and s.best_score == 5.0 and math.isnan(s.ranking[-1][1])
    assert select_by_score(cells, table.__getitem__, "min").best == cells[0]
    with pytest.raises(NtkcheckError):
        select_by_score(cells, table.__getitem__, "up")
    with pytest.raises(NtkcheckError):
        select_by_score(["|bad|"], lambda c: 1.0)
    with pytest.raises(NtkcheckError):
        select_by_score(cells[1:2], table.__getitem__)




def test_eigen_nas_and_lga_search_pick_the_argmax():
    cells = ["|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|",
             "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
             "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"]
    X = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = [0, 1, 0, 1, 1]
    s = eigen_nas_search(cells, X, config=TINY_NTK, seeds=(0, 1), device="cpu")
    ref = {c: np.mean([np.linalg.eigvalsh(jac_kernel(build_nb201_conv(c, TINY_NTK, seed=k, device="cpu"), X,
                                                     lambda n: True))[0] for k in (0, 1)]) for c in cells}
    assert s.best == max(ref, key=ref.get)
    for c, v in s.ranking:
        assert v == pytest.approx(ref[c], rel=1e-6, abs=1e-10)
    L = lga_search(cells, X, y, config=TINY_NTK, device="cpu")
    lab = np.where(np.equal.outer(y, y), 1.0, -1.0).ravel()
    ref_l = {c: np.corrcoef(jac_kernel(build_nb201_conv(c, TINY_NTK, seed=42, init="default", device="cpu"), X,
                                       lambda n: "weight" in n and "classifier" not in n).ravel(), lab)[0, 1]
             for c in cells}
    assert L.best == max(ref_l, key=ref_l.get)


def test_bad_config():
    with pytest.raises(NtkcheckError):
        TenasConfig(mode="fast")
    with pytest.raises(NtkcheckError):
        TenasConfig(repeats=0)
    with pytest.raises(NtkcheckError):
        TenasConfig(combine="sum")
    with pytest.raises(NtkcheckError):
        tenas_prune(tiny("paper"), images=torch.zeros(2, 3, 4, 4, dtype=torch.float64))
