r"""The finite-channel convolutional NB201 network whose infinite-channel limit is
:mod:`ntkcheck.theory.conv_kernels` (spec ``{"nb201": CELL, "kernel": "conv", "image": [C, H, W]}``).

Same definition, n channels everywhere, NTK parametrization (weights ~ N(0, 1), multiplied in the forward
pass by σ_w/√fan_in), no biases, **no batch normalization**:

* stem  X⁰ = (σ_w/√(9C)) W₀ ⋆ x  (3×3, SAME zero padding);
* ``nor_conv_k×k``  (σ_w/√(n k²)) W_e ⋆ relu(Xⁱ)  (k×k, SAME);  ``avg_pool_3x3``  3×3 average, stride 1,
  SAME, ``count_include_pad=False``;  ``skip_connect``  Xⁱ;  ``none``  0;  Xʲ = Σ_{i<j} op_ij(Xⁱ);
* f(x) = (σ_w/√n) vᵀ GAP(relu(X³)).

As n → ∞ at fixed seed the empirical NNGP σ_w²/n ⟨GAP relu X³(x_i), GAP relu X³(x_j)⟩ and the empirical NTK
converge to the exact kernels with fluctuations O(n^{-1/2}) (tested in ``tests/empirical/test_conv_limit.py``).
This is not :mod:`ntkcheck.empirical.nb201_conv` (the benchmark's real network with BN, reductions, stages).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_EDGES, ConvCellSpec, parse_any_spec

__all__ = ["NB201ConvLimitNet", "build_conv_limit_net"]

_K = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


class NB201ConvLimitNet(nn.Module):
    """Finite-width network of a :class:`~ntkcheck.spec.ConvCellSpec` with ``channels`` channels (module doc)."""

    def __init__(self, spec: ConvCellSpec, channels: int, *, seed: int = 0, dtype: torch.dtype = torch.float64):
        super().__init__()
        if channels < 1:
            raise NtkcheckError(f"channels must be >= 1, got {channels}")
        self.spec, self.n = spec, channels
        C = spec.image[0]
        g = torch.Generator().manual_seed(int(seed))
        sw = math.sqrt(spec.sigma_w2)
        self.stem = nn.Parameter(torch.randn(channels, C, 3, 3, generator=g, dtype=dtype))
        self.stem_mult = sw / math.sqrt(9 * C)
        self.convs = nn.ParameterDict()
        self.mults: dict[str, float] = {}
        for (s, t), o in zip(NB201_EDGES, spec.cell):
            if o in _K:
                k = _K[o]
                self.convs[f"e{s}{t}"] = nn.Parameter(torch.randn(channels, channels, k, k, generator=g, dtype=dtype))
                self.mults[f"e{s}{t}"] = sw / math.sqrt(channels * k * k)
        self.readout = nn.Parameter(torch.randn(1, channels, generator=g, dtype=dtype))
        self.readout_mult = sw / math.sqrt(channels)

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        C, H, W = self.spec.image
        return x.reshape(x.shape[0], C, H, W)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """GAP(relu(X³)) of shape (N, n)."""
        nodes = [F.conv2d(self._images(x), self.stem, padding=1) * self.stem_mult]
        for j in (1, 2, 3):
            acc = None
            for (s, t), o in zip(NB201_EDGES, self.spec.cell):
                if t != j or o == "none":
                    continue
                v = nodes[s]
                if o in _K:
                    key = f"e{s}{t}"
                    v = F.conv2d(torch.relu(v), self.convs[key], padding=_K[o] // 2) * self.mults[key]
                elif o == "avg_pool_3x3":
                    v = F.avg_pool2d(v, 3, stride=1, padding=1, count_include_pad=False)
                acc = v if acc is None else acc + v
            nodes.append(acc if acc is not None else torch.zeros_like(nodes[0]))
        return torch.relu(nodes[3]).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) @ self.readout.T * self.readout_mult

    @torch.no_grad()
    def nngp(self, x: torch.Tensor) -> np.ndarray:
        """σ_w²/n Φ Φᵀ of the readout features (the finite-width NNGP estimate; the readout's own kernel)."""
        phi = self.features(x)
        return (self.spec.sigma_w2 / self.n * (phi @ phi.T)).double().cpu().numpy()


def build_conv_limit_net(spec, channels: int, *, seed: int = 0, dtype: torch.dtype = torch.float64) -> NB201ConvLimitNet:
    """:class:`NB201ConvLimitNet` from anything :func:`~ntkcheck.spec.parse_any_spec` turns into a ConvCellSpec."""
    spec = parse_any_spec(spec)
    if not isinstance(spec, ConvCellSpec):
        raise NtkcheckError('the conv-limit network needs {"nb201": CELL, "kernel": "conv", "image": [C, H, W]}')
    return NB201ConvLimitNet(spec, channels, seed=seed, dtype=dtype)
