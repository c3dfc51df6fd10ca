"""The training-free metrics of ntkcheck: one registry (:mod:`ntkcheck.metrics.registry`), one module per family.

=========================================  ==================================================================
module                                     metrics
=========================================  ==================================================================
:mod:`ntkcheck.metrics.tenas`              TE-NAS κ_N (``kappa``) and linear regions R̂_N (``regions``)
:mod:`ntkcheck.metrics.zero_cost`          zero-cost proxies at initialisation, NAS-Bench-Suite-Zero's names
                                           (``naswot``/``nwot``, ``synflow``, ``snip``, ``grasp``, ``fisher``,
                                           ``grad_norm``, ``jacov``, ``l2_norm``, ``epe_nas``, ``zen``, ``plain``)
                                           and ``zico``, ``meco``
:mod:`ntkcheck.metrics.size`               size baselines (``params``, ``flops``, ``conv_ops``, ...)
:mod:`ntkcheck.metrics.mok`                Mok et al. (``lga``, ``knas``, ``ntk_fnorm``, ``ntk_cond``)
:mod:`ntkcheck.metrics.kernels`            exact and finite-width kernel spectra (``ntk_lambda_min``, ...)
:mod:`ntkcheck.metrics.connectivity`       Chen et al. 2022 effective depth/width (``dbar``, ``mbar``)
=========================================  ==================================================================

Importing this package registers every metric; ``sweep``, ``verify`` and ``search`` all read the one registry.
"""

from ntkcheck.metrics.registry import (METRICS, NO_INPUTS, Arch, Metric, Result, Value, better_score, config_hash,
                                       evaluate, get_metric, metric_names, register, resolve_config,
                                       single_threaded)
from ntkcheck.metrics import tenas, zero_cost, size, mok, kernels, connectivity  # noqa: F401,I001  (registration, in this order)

__all__ = ["NO_INPUTS", "better_score", "Metric", "Value", "Arch", "Result", "METRICS", "register", "get_metric",
           "resolve_config", "config_hash", "evaluate", "single_threaded", "metric_names"]
