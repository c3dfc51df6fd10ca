r"""NASWOT: neural architecture search without training (Mellor, Turner, Storkey & Crowley, ICML 2021).

For a batch x_1..x_N, the binary code c_i ∈ {0,1}^{N_A} of sample i lists, for every ReLU unit of the
untrained network, whether its pre-activation is positive.  The kernel

    K_H = c cᵀ + (1 − c)(1 − c)ᵀ,      (K_H)_{ij} = N_A − d_H(c_i, c_j)

counts the units on which samples i and j agree (d_H: Hamming distance), and the score is

    s = log |det K_H|      (``np.linalg.slogdet(K)[1]``; higher is better).

This is ``hook_logdet`` of the released code (BayesWatch/nas-without-training, ``score_networks.py`` and
``scores.py``; reused unchanged by Chen et al. 2022's WOT+DAG):
forward hooks on every ReLU module add x xᵀ + (1 − x)(1 − x)ᵀ with x = (input > 0), i.e. the per-layer
kernels summed, which equals the kernel of the concatenated codes.  The network runs in train mode (batch
statistics in BN), as a freshly built network does in that code; ``train_mode=False`` uses eval mode.

Domain: any module with ``nn.ReLU`` submodules; K_H is N×N, positive semi-definite with diagonal N_A.
A singular K_H (two samples with identical codes) gives s = −inf.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ntkcheck.empirical.linear_regions import activation_patterns

__all__ = ["naswot_codes", "naswot_kernel", "hook_logdet"]


def naswot_codes(model: nn.Module, X: torch.Tensor, *, train_mode: bool = True) -> torch.Tensor:
    """c ∈ {0,1}^{N×N_A}: the sign pattern (pre-activation > 0) of every ReLU unit, one row per sample."""
    return activation_patterns(model, X, train_mode=train_mode, only_4d=False)


def naswot_kernel(codes: torch.Tensor | np.ndarray) -> np.ndarray:
    """K_H = c cᵀ + (1 − c)(1 − c)ᵀ in float64 (exact: integer counts)."""
    c = np.asarray(codes.cpu().numpy() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    return c @ c.T + (1.0 - c) @ (1.0 - c).T


def hook_logdet(model: nn.Module, X: torch.Tensor, *, train_mode: bool = True) -> float:
    """NASWOT score s = log|det K_H| of the batch X (module docstring); −inf when K_H is singular."""
    return float(np.linalg.slogdet(naswot_kernel(naswot_codes(model, X, train_mode=train_mode)))[1])
