"""neural-tangents (stax) reference networks for the convolutional NB201 cells (optional dependency).

stax expresses a DAG only as a tree of branches (FanOut / parallel / FanInSum) and FanInSum adds the branches'
kernels as if they were independent, so the tree below is stax's kernel of the cell: exact where no node sums
two correlated linear paths (:func:`ntkcheck.theory.conv_kernels.stax_exact`), else the no-cross-term kernel.
Import only after ``pytest.importorskip("neural_tangents")``.
"""

from __future__ import annotations

import math

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from neural_tangents import stax  # noqa: E402

from ntkcheck.spec import NB201_EDGES  # noqa: E402


def stax_conv_cell(ops, sigma_w2: float = 2.0):
    """kernel_fn of stem Conv3×3(SAME) → cell → Relu → GlobalAvgPool → Dense(1), NTK parametrization, no biases."""
    sw = math.sqrt(sigma_w2)

    def op_layer(o):
        if o == "skip_connect":
            return stax.Identity()
        if o == "avg_pool_3x3":
            return stax.AvgPool((3, 3), strides=(1, 1), padding="SAME", normalize_edges=True)
        k = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}[o]
        return stax.serial(stax.Relu(), stax.Conv(1, (k, k), padding="SAME", W_std=sw, b_std=None,
                                                  parameterization="ntk"))

    def node(j):
        if j == 0:
            return stax.Identity()
        terms = []
        for (s, t), o in zip(NB201_EDGES, ops):
            if t == j and o != "none":
                sub = node(s)
                if sub is not None:
                    terms.append(stax.serial(sub, op_layer(o)))
        if not terms:
            return None
        if len(terms) == 1:
            return terms[0]
        return stax.serial(stax.FanOut(len(terms)), stax.parallel(*terms), stax.FanInSum())

    body = node(3)
    if body is None:
        return None
    _, _, kernel_fn = stax.serial(
        stax.Conv(1, (3, 3), padding="SAME", W_std=sw, b_std=None, parameterization="ntk"), body,
        stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1, W_std=sw, b_std=None, parameterization="ntk"))
    return kernel_fn


def stax_kernels(ops, X_nchw: np.ndarray, sigma_w2: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(NNGP, NTK) of :func:`stax_conv_cell` on (N, C, H, W) images (stax wants NHWC)."""
    kfn = stax_conv_cell(ops, sigma_w2)
    x = np.transpose(np.asarray(X_nchw, dtype=np.float64), (0, 2, 3, 1))
    k = kfn(x, None, ("nngp", "ntk"))
    return np.asarray(k.nngp, dtype=np.float64), np.asarray(k.ntk, dtype=np.float64)
