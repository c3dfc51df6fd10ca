"""Zero-cost proxies computed on one minibatch at initialisation (NASWOT, ...)."""

from __future__ import annotations

import math

import numpy as np

from ntkcheck.metrics.networks import _conv_net, _torch_batch
from ntkcheck.metrics.registry import Arch, Value, register
from ntkcheck.sweep.inputs import Inputs


@register("naswot", "NASWOT hook_logdet: log|det K|, K = c cᵀ + (1−c)(1−c)ᵀ of the ReLU binary codes c "
          "(higher is better; Mellor et al. 2021)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          config={"C": 16, "N": 5, "batch": 128})
def _naswot(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """Mellor et al.'s code: the NB201 benchmark network (C=16, N=5, default init), one batch of 128 in train mode;
    every nn.ReLU's input x gives codes c = (x > 0) per sample, K accumulates c cᵀ + (1−c)(1−c)ᵀ (the number of
    units on which two samples agree), score = slogdet(K)[1].  K is accumulated per ReLU (exact integer counts in
    float64) instead of storing all codes, which would need ~10⁸ bits per batch."""
    import torch
    from torch import nn

    net = _conv_net(arch, cfg, seed, "default", dtype="float32")
    X = _torch_batch(inputs.batch(cfg["batch"])[0], arch, "float32")
    K = torch.zeros(X.shape[0], X.shape[0], dtype=torch.float64, device=arch.device)

    def hook(mod, inp, out):
        c = (inp[0] > 0).reshape(inp[0].shape[0], -1).to(torch.float32)
        K.add_((c @ c.T + (1 - c) @ (1 - c).T).to(torch.float64))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(X)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = np.linalg.slogdet(K.cpu().numpy())
    if sign <= 0:
        return Value(-math.inf, "singular", "K is singular (two samples share every ReLU code)")
    return float(logdet)
