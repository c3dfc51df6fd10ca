"""Chen et al. (NeurIPS 2022): effective depth d̄ and width m̄ of a DAG."""

from __future__ import annotations



from ntkcheck.metrics.registry import Arch, register
from ntkcheck.sweep.inputs import Inputs


def _depth_width(arch: Arch) -> tuple[float, float]:
    from ntkcheck.theory.connectivity import depth_width, nb201_depth_width

    if arch.space == "nb201":
        return nb201_depth_width(arch.cell)
    dw = depth_width(arch.spec)
    return dw["d_bar"], dw["m_bar"]


@register("dbar", "effective depth d̄ = mean number of weighted ops over input→output paths (official-code rule) "
          "[C] Eq. 13", direction="max")
def _dbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[0]


@register("mbar", "effective width m̄ = #paths with depth > 0 / d̄ (official-code rule) [C] Eq. 13", direction="max")
def _mbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[1]
