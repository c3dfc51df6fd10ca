"""Tests of NTK tracking (empirical/tracking.py).

Second methods: the closed-form NTK of a linear model, Θ_{(i,c),(j,c')} = δ_cc' (x_i·x_j + 1), which does not
change under training (L4); zero learning rate leaves the kernel unchanged exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ntkcheck.empirical.tracking import TrackingConfig, track_ntk
from ntkcheck.errors import NtkcheckError




def data(n=32, d=5, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    return X, y


def test_linear_model_kernel_is_closed_form_and_constant():
    X, y = data()
    torch.manual_seed(0)
    model = nn.Linear(5, 3).double()
    w0 = model.weight.detach().clone()
    Xp = X[:4]
    res = track_ntk(model, X, y, Xp, config=TrackingConfig(epochs=2, batch_size=8, store_kernels=True))
    assert not torch.equal(model.weight, w0)  # it did train
    closed = np.kron((Xp @ Xp.T).numpy() + 1.0, np.eye(3))  # sample-major (i, c) ordering
    for K in res.kernels:
        assert np.allclose(K, closed, rtol=1e-12, atol=1e-12)
    assert np.allclose(res.distance, 0.0, atol=1e-12)
    assert np.allclose(res.correlation, 1.0, atol=1e-12)
    assert np.allclose(res.relative_difference, 0.0, atol=1e-8)
    assert len(res.train_loss) == 3 and np.isnan(res.train_loss[0]) and res.train_loss[-1] < 10


def test_zero_lr_keeps_kernel_and_training_changes_mlp_kernel():
    X, y = data()
    mk = lambda: nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)).double()  # noqa: E731
    torch.manual_seed(1)
    frozen = track_ntk(mk(), X, y, X[:4], config=TrackingConfig(epochs=2, lr=0.0, momentum=0.0, weight_decay=0.0),
                       y_probe=y[:4])
    assert frozen.distance == pytest.approx((0.0, 0.0, 0.0), abs=1e-14)
    assert frozen.relative_difference == (0.0, 0.0, 0.0)
    assert frozen.lga[0] == pytest.approx(frozen.lga[-1], abs=1e-14)
    torch.manual_seed(1)
    moving = track_ntk(mk(), X, y, X[:4], config=TrackingConfig(epochs=3, lr=0.5, momentum=0.9, batch_size=8))
    assert moving.distance[-1] > 1e-6 and np.isnan(moving.velocity[0]) and moving.velocity[1] > 0
    assert moving.distance[0] == pytest.approx(0.0, abs=1e-14) and moving.correlation[0] == pytest.approx(1.0)


def test_bad_config():
    with pytest.raises(NtkcheckError):
        TrackingConfig(epochs=-1)
    with pytest.raises(NtkcheckError):
        TrackingConfig(loss="hinge")
    X, y = data()
    with pytest.raises(NtkcheckError):
        track_ntk(nn.Linear(5, 3).double(), X, y[:5], X[:4])
