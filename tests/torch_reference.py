"""Independent torch references used by several test modules (a second method, not the engines under test)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev


def jac_kernel(model: nn.Module, X: torch.Tensor, keep) -> np.ndarray:
    """Sum-of-logits NTK from jacrev of the batched map θ ↦ (Σ_c f_c(x_i))_i (train-mode BN coupling kept);
    ``keep(name)`` selects the parameters."""
    names = [n for n, _ in model.named_parameters() if keep(n)]
    sel = {n: p.detach() for n, p in model.named_parameters() if n in names}
    rest = {n: p.detach() for n, p in model.named_parameters() if n not in names}
    bufs = dict(model.named_buffers())
    J = jacrev(lambda ps: functional_call(model, {**rest, **ps, **bufs}, (X,)).sum(1))(sel)
    G = torch.cat([J[n].reshape(X.shape[0], -1) for n in names], 1).double()
    return (G @ G.T).numpy()
