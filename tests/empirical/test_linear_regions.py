"""Tests of linear-region counting (empirical/linear_regions.py).

Second methods: the exact cell count of a line arrangement (Euler formula / 1 + k + k(k−1)/2, computed
from the weights alone) against the pattern count on a dense grid; python ``set`` of tuples against
``torch.unique`` and TE-NAS's Hamming-matrix count (T6); hand-counted ReLU element numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ntkcheck.empirical.linear_regions import (ToyReLUNet, activation_patterns, arrangement_region_count,
                                               bounding_box, count_linear_regions, count_unique_rows,
                                               gaussian_patches, general_position_count, grid_region_count,
                                               tenas_hamming_count, tenas_region_count)
from ntkcheck.empirical.nb201_conv import build_nb201_conv, thin_config
from ntkcheck.errors import NtkcheckError




def lines(net):
    return net.hidden.weight.detach().numpy(), net.hidden.bias.detach().numpy()


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_grid_count_equals_arrangement_count_whole_plane(seed):
    # A box holding every crossing meets every cell, so the exact count is 1 + k + k(k-1)/2 = 22 (k = 6).
    # Grid: 257² points; for these seeds the smallest cell is wider than the grid step (a finer grid could
    # only add cells, never exceed the exact count, see the nested-grid test).
    net = ToyReLUNet(6, seed=seed)
    W, b = lines(net)
    box = bounding_box(W, b)
    assert arrangement_region_count(W, b, box) == general_position_count(6) == 22
    assert grid_region_count(net, box, 257) == 22


@pytest.mark.parametrize("seed", range(4))
def test_grid_count_equals_arrangement_count_in_a_box(seed):
    net = ToyReLUNet(6, seed=seed)
    W, b = lines(net)
    box = (-1.0, 1.0, -1.0, 1.0)
    assert grid_region_count(net, box, 257) == arrangement_region_count(W, b, box)


def test_nested_grids_never_lower_the_count_T5():
    net = ToyReLUNet(6, seed=5)
    W, b = lines(net)
    box = bounding_box(W, b)
    counts = [grid_region_count(net, box, 2 ** m + 1) for m in (3, 4, 5, 6, 7, 8)]  # nested point sets
    assert all(a <= c for a, c in zip(counts, counts[1:]))
    assert counts[-1] <= arrangement_region_count(W, b, box) == 22
    assert counts[0] < counts[-1]  # coarse grids miss thin cells for this seed


def test_arrangement_rejects_degenerate_lines():
    with pytest.raises(NtkcheckError):
        arrangement_region_count(np.array([[1.0, 0.0], [2.0, 0.0]]), np.array([0.0, 1.0]))
    with pytest.raises(NtkcheckError):  # three lines through the origin
        arrangement_region_count(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3))


@pytest.mark.parametrize("shape", [(300, 9), (500, 27), (1000, 5)])
def test_tenas_hamming_count_equals_unique_rows_T6(shape):
    A = torch.randint(0, 2, shape, generator=torch.Generator().manual_seed(shape[0]))
    expected = len({tuple(r) for r in A.tolist()})
    assert count_unique_rows(A) == expected
    assert tenas_hamming_count(A) == pytest.approx(expected, abs=1e-6)


def test_thin_cell_patterns_and_bounds():
    net = build_nb201_conv(None, thin_config(), seed=0, device="cpu")  # supernet: all 4 ops alive
    X = gaussian_patches(400, seed=1)
    A = activation_patterns(net, X)
    # 6 edges × 2 conv ops, one ReLU each on a 1×3×3 map, plus the final ReLU: 13 × 9 elements
    assert A.shape == (400, 13 * 9) and A.dtype == torch.bool
    assert not any(m._forward_hooks for m in net.modules())  # hooks removed
    R = count_linear_regions(net, X)
    assert R == len({tuple(r) for r in A.tolist()})
    assert 1 <= R <= 400
    # nested samples never lower the count
    assert count_linear_regions(net, X[:200], batch_size=None) <= count_linear_regions(net, X[:400], batch_size=None)
    res = tenas_region_count(lambda r: build_nb201_conv(None, thin_config(), seed=r, init="kaiming_normal_fan_in",
                                                        device="cpu"), repeats=2, n_samples=300, batch_size=100)
    assert len(res.counts) == 2 and all(1 <= c <= 300 for c in res.counts) and res.n_samples == 300


def test_bad_inputs():
    with pytest.raises(NtkcheckError):
        activation_patterns(torch.nn.Linear(2, 2), torch.zeros(3, 2))  # no ReLU
    with pytest.raises(NtkcheckError):
        ToyReLUNet(0)
    with pytest.raises(NtkcheckError):
        grid_region_count(ToyReLUNet(2), (1.0, 0.0, 0.0, 1.0), 10)


def test_all_skip_thin_cell_counts_sign_patterns_of_centred_input():
    # An all-skip cell outputs 4x (node1 = x, node2 = 2x, node3 = x + x + 2x); the only ReLU is the final
    # BN+ReLU, whose train-mode BN (γ=1, β=0) gives pattern = [x − μ_batch > 0] per pixel (9 bits, so ≤ 512).
    # Recount directly from the inputs, batch by batch, without the network.
    cell = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    net = build_nb201_conv(cell, thin_config(), seed=0, device="cpu")
    X = gaussian_patches(1500, seed=2)
    R = count_linear_regions(net, X, batch_size=500, only_4d=True)
    direct = set()
    for s in range(0, 1500, 500):
        xb = X[s:s + 500].reshape(500, 9)
        direct |= {tuple(r) for r in (xb - xb.mean() > 0).tolist()}
    assert R == len(direct) <= 512
