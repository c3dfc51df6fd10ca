"""Chen et al. (NeurIPS 2022): effective depth d̄ and width m̄ of a DAG."""

from __future__ import annotations

from ntkcheck.metrics.registry import Arch, register
from ntkcheck.sweep.inputs import Inputs


#: Chen et al. §5 NB201 window: the centre of the range of d̄ and m̄ over the cells with d̄ > 0 (d̄ ∈ [0.25, 3],
#: m̄ ∈ [1/3, 4]); the paper prints it rounded as d̄ = 1.6 ± 0.7, m̄ = 2.2 ± 0.9 and keeps the cells inside it.
DBAR_CENTRE = (0.25 + 3.0) / 2
MBAR_CENTRE = (1 / 3 + 4.0) / 2


def _depth_width(arch: Arch) -> tuple[float, float]:
    """(d̄, m̄), computed once per architecture and task (``dbar`` and ``mbar`` share it through ``arch.memo``)."""
    from ntkcheck.theory.connectivity import depth_width, nb201_depth_width

    if "depth_width" not in arch.memo:
        if arch.space == "nb201":
            arch.memo["depth_width"] = tuple(nb201_depth_width(arch.cell))
        else:
            dw = depth_width(arch.spec)
            arch.memo["depth_width"] = (dw["d_bar"], dw["m_bar"])
    return arch.memo["depth_width"]


@register("dbar", "effective depth d̄ = mean number of weighted ops over input→output paths (official-code rule) "
          "[C] Eq. 13; better: closest to the centre of Chen et al.'s NB201 window (§5)", direction="max",
          reads_inputs=False, centre=DBAR_CENTRE)
def _dbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[0]


@register("mbar", "effective width m̄ = #paths with depth > 0 / d̄ (official-code rule) [C] Eq. 13; better: "
          "closest to the centre of Chen et al.'s NB201 window (§5)", direction="max", reads_inputs=False,
          centre=MBAR_CENTRE)
def _mbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[1]
