"""Size baselines: number of parameters and FLOPs."""

from __future__ import annotations



from ntkcheck.metrics.networks import _conv_net, _fc_net
from ntkcheck.metrics.registry import Arch, register
from ntkcheck.sweep.inputs import Inputs, flat_rows


@register("params", "number of parameters of the NB201 benchmark network (C=16, N=5), or of the fc net "
          "(width 256)", needs={"torch"}, direction="max", config={"C": 16, "N": 5, "width": 256})
def _params(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    net = _conv_net(arch, cfg, 0, "default", dtype="float32") if arch.space == "nb201" else \
        _fc_net(arch, cfg, 0, flat_rows(inputs, 1).shape[1])
    return float(sum(p.numel() for p in net.parameters()))


@register("flops", "forward FLOPs (torch FlopCounterMode, 2 per multiply-add) for one 3×32×32 image of the NB201 "
          "benchmark network, or one row of the fc net", needs={"torch"}, direction="max",
          config={"C": 16, "N": 5, "width": 256})
def _flops(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if arch.space == "nb201":
        net, x = _conv_net(arch, cfg, 0, "default", dtype="float32"), torch.zeros(1, 3, 32, 32)
    else:
        d = flat_rows(inputs, 1).shape[1]
        net, x = _fc_net(arch, cfg, 0, d), torch.zeros(1, d, dtype=torch.float64)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net.eval()(x.to(arch.device))
    return float(counter.get_total_flops())
