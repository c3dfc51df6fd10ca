r"""Size baselines of an architecture: #params, FLOPs in two named conventions, #conv ops.

For NB201 cells every number is a closed form, a sum of per-op contributions over the six edges plus the fixed
macro skeleton (stem, two ResNet reduction blocks, final BN, classifier), so the whole space of 15,625 cells takes
milliseconds (:func:`nb201_size`, numpy only).  The skeleton is NAS-Bench-201's (Dong & Yang, ICLR 2020, §2.1 and
Fig. 1): C channels in stage 1 (2C, 4C after each reduction), N cells per stage, a 3×3 stem conv + BN,
``ReLU-Conv-BN`` ops without conv bias and with affine BN, a reduction block
``shortcut(x) + ReLUConvBN3×3(ReLUConvBN3×3_{stride 2}(x))`` with ``shortcut = AvgPool2d(2) → Conv1×1`` (no bias),
a final BN + ReLU, global average pooling and a linear classifier with bias.  The tests check every formula
against the torch network of :mod:`ntkcheck.empirical.nb201_conv` (a seeded sample in the suite, all 15,625 cells
in ``benchmarks/bench_size_closed_form.py``).

Conventions (each metric says which it is):

* ``params``: the raw number of trainable parameters (conv weights, affine BN γ and β, classifier weight and
  bias); every op of the cell counts, reachable from the cell's input or not, as in the benchmark's networks.
* ``params_mb``: ``params / 1e6``, the "MB" of the NAS-Bench-201 / NATS-Bench API (``get_cost_info(...)['params']``,
  computed by ``count_parameters_in_MB`` = Σ numel / 1e6): 1.531546 for the all-``nor_conv_3x3`` cell on
  CIFAR-10.
* ``flops``: the NAS-Bench-201 / NATS-Bench API's FLOPs (``get_cost_info(...)['flops']``), in millions: the
  AutoDL-Projects counter (``get_model_infos``) counts one per multiply-add of every ``Conv2d`` (k·k·C_in·C_out per
  output position, plus C_out per position when the conv has a bias) and of the ``Linear`` classifier
  (C·K, plus K for its bias), and nothing for BN, ReLU or pooling, for one image.  The all-``nor_conv_3x3`` cell:
  220.11969 on CIFAR-10 (32×32, 10 classes), 220.12554 on CIFAR-100, 55.03756 on ImageNet16-120 (16×16, 120
  classes); a cell without convs: 7.78305 on CIFAR-10 — the values the benchmark's cost tables report.
* ``flops_torch``: what :class:`torch.utils.flop_counter.FlopCounterMode` counts for one forward pass of one
  image: 2 per multiply-add of convolutions and matrix products (the classifier's bias add is not counted), none
  for BN, ReLU or pooling.  For a conv-only count this is 2 × (``flops`` · 1e6 − the classifier's K bias adds).
* ``conv_ops``: the number of ``nor_conv_1x1`` / ``nor_conv_3x3`` ops among the cell's six edges (the "#conv"
  size baseline, and the stratum of ``sweep --sample``).

On the fully connected analogs (``fc`` space) ``params``, ``params_mb``, ``flops`` and ``flops_torch`` are counted
on the torch network of the spec (width ``width``, one 192-dimensional input row).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.metrics.registry import Arch, register
from ntkcheck.sweep.inputs import Inputs
from ntkcheck.threads import pin_torch_threads

__all__ = ["NB201Macro", "NB201Size", "nb201_size", "nb201_cell_ops", "CIFAR10", "CIFAR100", "IMAGENET16_120"]

#: kernel side of the conv ops of NB201 (0: the op holds no conv)
_KERNEL = {"none": 0, "skip_connect": 0, "nor_conv_1x1": 1, "nor_conv_3x3": 3, "avg_pool_3x3": 0}


@dataclass(frozen=True)
class NB201Macro:
    """The NB201 macro skeleton: ``C`` stage-1 channels, ``N`` cells per stage, ``num_classes``, input side
    ``input_size`` (a multiple of 4: two stride-2 reductions), ``in_channels`` of the image."""

    C: int = 16
    N: int = 5
    num_classes: int = 10
    input_size: int = 32
    in_channels: int = 3

    def __post_init__(self) -> None:
        for k in ("C", "N", "num_classes", "input_size", "in_channels"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise NtkcheckError(f"NB201 size: {k} must be a positive integer, got {v!r}")
        if self.input_size % 4:
            raise NtkcheckError(f"NB201 size: input_size must be a multiple of 4, got {self.input_size}")


#: the three NB201 datasets' skeletons (NAS-Bench-201 §2.2: CIFAR 32×32; ImageNet16-120 16×16, 120 classes)
CIFAR10 = NB201Macro(num_classes=10, input_size=32)
CIFAR100 = NB201Macro(num_classes=100, input_size=32)
IMAGENET16_120 = NB201Macro(num_classes=120, input_size=16)


@dataclass(frozen=True)
class NB201Size:
    """Sizes of a list of cells (arrays of one entry per cell, int64 except the derived floats)."""

    params: np.ndarray        # raw parameter count
    macs: np.ndarray          # multiply-adds of Conv2d and Linear, biases included (NB201 API rule, unscaled)
    flops_torch: np.ndarray   # torch FlopCounterMode count: 2 per multiply-add, classifier bias not counted
    conv_ops: np.ndarray      # nor_conv ops among the six edges

    @property
    def params_mb(self) -> np.ndarray:
        return self.params / 1e6

    @property
    def flops(self) -> np.ndarray:
        """NAS-Bench-201 API FLOPs in millions (``macs / 1e6``)."""
        return self.macs / 1e6


def nb201_cell_ops(cells: Sequence[str]) -> np.ndarray:
    """(n, 6) array of kernel sides (0, 1 or 3) of the ops on the six edges of each cell."""
    return np.array([_kernels(c) for c in cells], dtype=np.int64).reshape(-1, 6)


@lru_cache(maxsize=None)
def _kernels(cell: str) -> tuple[int, ...]:
    from ntkcheck.spec import parse_nb201

    return tuple(_KERNEL[o] for o in parse_nb201(cell))


@lru_cache(maxsize=4096)
def _cell_counts(kernels: tuple[int, ...], macro: NB201Macro) -> tuple[int, int, int, int]:
    """(params, macs, flops_torch, conv_ops) of one cell given its six kernel sides: the formulas of
    :func:`nb201_size` in exact integer arithmetic (the 5⁶ cells have only 3⁶ = 729 distinct kernel tuples)."""
    C, N, K, h, cin = macro.C, macro.N, macro.num_classes, macro.input_size, macro.in_channels
    k2 = sum(k * k for k in kernels)
    nconv = sum(k > 0 for k in kernels)
    params, macs = 9 * cin * C + 2 * C, 9 * cin * C * h * h
    c = C
    for stage in range(3):
        if stage:
            h //= 2
            params += 9 * c * 2 * c + 4 * c + 9 * (2 * c) ** 2 + 4 * c + c * 2 * c
            macs += (9 * c * 2 * c + 9 * (2 * c) ** 2 + c * 2 * c) * h * h
            c *= 2
        params += N * (k2 * c * c + nconv * 2 * c)
        macs += N * k2 * c * c * h * h
    params += 2 * c + c * K + K
    flops_torch = 2 * macs + 2 * c * K
    return params, macs + c * K + K, flops_torch, nconv


def nb201_size(cells: Sequence[str], macro: NB201Macro = CIFAR10) -> NB201Size:
    """Closed-form sizes of NB201 cells (module docstring).

    Per cell op on c channels at spatial side h (stage s: c = C·2^s, h = input_size / 2^s): a k×k conv op has
    k²c² weights + 2c BN parameters and k²c²h² multiply-adds; other ops have none.  Fixed parts: stem 9·c_in·C
    weights + 2C, 9·c_in·C·h₀² multiply-adds; a reduction c → 2c at output side h: conv_a 9·c·2c + 4c,
    conv_b 9·(2c)² + 4c, shortcut 1×1 c·2c, multiply-adds (9·2c² + 9·4c² + 2c²)·h²; final BN 2·c₃; classifier
    c₃·K + K parameters and multiply-adds (bias add included by the NB201 counter; torch counts 2·c₃·K)."""
    counts = np.array([_cell_counts(_kernels(c), macro) for c in cells], dtype=np.int64).reshape(-1, 4)
    return NB201Size(counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3])


def _macro(cfg: dict) -> NB201Macro:
    return NB201Macro(C=cfg["C"], N=cfg["N"])


def _fc_torch(arch: Arch, cfg: dict):
    from ntkcheck.metrics.networks import _fc_net
    from ntkcheck.sweep.inputs import FLAT_DIM

    pin_torch_threads()
    return _fc_net(arch, cfg, 0, FLAT_DIM), FLAT_DIM


def _fc_params(arch: Arch, cfg: dict) -> float:
    net, _ = _fc_torch(arch, cfg)
    return float(sum(p.numel() for p in net.parameters()))


def _fc_macs(arch: Arch, cfg: dict) -> float:
    """Multiply-adds of the fc net's Linear layers for one row, biases included (the NB201 counter's rule)."""
    from torch import nn

    net, _ = _fc_torch(arch, cfg)
    return float(sum(m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)
                     for m in net.modules() if isinstance(m, nn.Linear)))


_SIZE_CONFIG = {"C": 16, "N": 5, "width": 256}


@register("params", "number of parameters of the NB201 benchmark network (C=16, N=5, CIFAR-10 classifier; closed "
          "form), or of the fc net (width 256)", direction="max", config=_SIZE_CONFIG, reads_inputs=False)
def _params(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    if arch.space == "nb201":
        return float(nb201_size([arch.cell], _macro(cfg)).params[0])
    return _fc_params(arch, cfg)


@register("params_mb", "#params in millions, the 'MB' of the NAS-Bench-201 API (count_parameters_in_MB; "
          "1.531546 for the all-conv3x3 CIFAR-10 cell)", direction="max", config=_SIZE_CONFIG, reads_inputs=False)
def _params_mb(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _params(arch, inputs, seed, cfg) / 1e6


@register("flops", "FLOPs as the NAS-Bench-201 API reports them: millions of conv and linear multiply-adds for "
          "one image (220.12 for the all-conv3x3 CIFAR-10 cell; Dong & Yang 2020)", direction="max",
          config=_SIZE_CONFIG, version=2, reads_inputs=False)
def _flops(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    if arch.space == "nb201":
        return float(nb201_size([arch.cell], _macro(cfg)).flops[0])
    return _fc_macs(arch, cfg) / 1e6


@register("flops_torch", "forward FLOPs counted by torch's FlopCounterMode (2 per multiply-add, no pooling, BN or "
          "bias adds) for one 3x32x32 image of the NB201 network (closed form), or one row of the fc net",
          direction="max", config=_SIZE_CONFIG, reads_inputs=False)
def _flops_torch(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    if arch.space == "nb201":
        return float(nb201_size([arch.cell], _macro(cfg)).flops_torch[0])
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    net, d = _fc_torch(arch, cfg)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net.eval()(torch.zeros(1, d, dtype=torch.float64, device=arch.device))
    return float(counter.get_total_flops())


@register("conv_ops", "number of conv ops (nor_conv_1x1, nor_conv_3x3) among the six edges of an NB201 cell "
          "(the #conv size baseline)", direction="max", spaces=("nb201",), reads_inputs=False)
def _conv_ops(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return float(nb201_size([arch.cell]).conv_ops[0])
