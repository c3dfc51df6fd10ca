r"""What a network's forward pass returns, reduced to the logits that the NTK differentiates.

The NB201 search models of the TE-NAS and NAS-Bench-201 code return a pair ``(features, logits)`` (and a
third element, the per-cell features, when asked), and the TE-NAS code reads ``logit[1]`` when the output is
a tuple (``lib/procedures/ntk.py:get_ntk_n``). :func:`model_logits`
applies that rule once for every consumer (``empirical_ntk``, ``logit_sum_ntk``, ``tenas_kappa``):

    out                      → out            (a tensor)
    (features, logits, ...)  → logits         (element 1 of a tuple/list of length ≥ 2)
    (logits,)                → logits         (a 1-tuple)

Anything else is an error naming what was returned.
"""

from __future__ import annotations

from typing import Any

import torch

from ntkcheck.errors import NtkcheckError

__all__ = ["model_logits"]


def model_logits(out: Any) -> torch.Tensor:
    """The logits tensor of a model output (module docstring): a tensor as is, element 1 of a
    ``(features, logits, ...)`` tuple or list, element 0 of a 1-tuple."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        if len(out) == 1 and isinstance(out[0], torch.Tensor):
            return out[0]
        if len(out) >= 2 and isinstance(out[1], torch.Tensor):
            return out[1]
        kinds = ", ".join(type(o).__name__ for o in out)
        raise NtkcheckError(f"the model returned a {type(out).__name__} ({kinds}) whose logits could not be "
                            "found: expected a tensor or (features, logits, ...) with a tensor at position 1")
    raise NtkcheckError(f"the model returned a {type(out).__name__}, not a tensor or (features, logits) tuple")
