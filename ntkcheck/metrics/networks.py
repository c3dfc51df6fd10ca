"""Helpers shared by the torch metrics: the NB201 conv network and the fc net of an architecture, a batch as a tensor on the architecture's device."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.metrics.registry import Arch



def _torch_batch(x: np.ndarray, arch: Arch, dtype: str = "float64"):
    import torch

    return torch.as_tensor(x, dtype=getattr(torch, dtype), device=arch.device)


def _nb201_config(cfg: Mapping[str, Any], **kw):
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig

    return NB201ConvConfig(**{"C": cfg["C"], "N": cfg["N"], "num_classes": 10, **kw})


def _conv_net(arch: Arch, cfg: Mapping[str, Any], seed: int, init: str, dtype: str = "float64", **kw):
    import torch
    from ntkcheck.empirical.nb201_conv import build_nb201_conv

    return build_nb201_conv(arch.cell, _nb201_config(cfg, **kw), seed=seed, init=init, device=arch.device,
                            dtype=getattr(torch, dtype))


def _fc_net(arch: Arch, cfg: Mapping[str, Any], seed: int, d_in: int):
    from ntkcheck.empirical.networks import build_network

    return build_network(arch.spec, d_in, cfg["width"], out_dim=10, seed=seed, device=arch.device)
