r"""Zero-cost proxies computed on one minibatch at initialisation, under NAS-Bench-Suite-Zero's names.

NAS-Bench-Suite-Zero (Krishnakumar, White, Zela, Tu, Safari, Hutter, NeurIPS 2022 Datasets and Benchmarks) computed
``synflow, snip, grasp, fisher, grad_norm, jacov, l2_norm, epe_nas, zen, plain, nwot`` (plus params and flops)
with NASLib on the NB201 benchmark network (C=16, N=5, 10 classes for CIFAR-10), PyTorch's default
initialisation, BN in train mode, one CIFAR-10 training batch of 64 with its labels (the batch size shows in
their ``nwot`` values: log|det K| ≈ 750–800 needs a 64×64 K), mean cross-entropy.  Every metric here follows
that protocol on the same network (:mod:`ntkcheck.empirical.nb201_conv`); the formulas and each reference
code's behaviour are in :mod:`ntkcheck.empirical.zero_cost`.  ``zico`` (Li et al. ICLR 2023) and ``meco``
(Jiang et al. NeurIPS 2023) follow their papers' released codes.

Inputs: ``--images DIR`` gives CIFAR training images with their true labels (CIFAR-100: a 100-way classifier);
otherwise the bundled natural-image crops with their stand-in labels (photo × horizontal fifth, 10 classes;
:func:`ntkcheck.sweep.inputs.natural_images`).  Each metric reads the first ``batch`` images of the source, so
every architecture sees the same batch.  Degenerate values (a network whose output does not depend on its input or
weights, e.g. the cell of ``none`` ops only): ``grad_norm``, ``snip``, ``plain``, ``grasp``, ``synflow``
and ``zico`` give 0, ``fisher`` only its classifier term (logits × their loss gradient), ``jacov`` / ``epe_nas`` /
``nwot`` / ``zen`` give −inf with status "singular" (NASLib records −1e8).
"""

from __future__ import annotations

import math

import numpy as np

from ntkcheck.metrics.networks import _conv_net, _torch_batch
from ntkcheck.metrics.registry import Arch, Value, register
from ntkcheck.sweep.inputs import Inputs


_BATCH = {"C": 16, "N": 5, "batch": 64}


def _naswot_fn(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _naswot(arch, inputs, seed, cfg)


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


register("nwot", "NASWOT under NAS-Bench-Suite-Zero's name: the same log|det K| as naswot on a batch of 64 "
         "(higher is better; Mellor et al. 2021)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
         config=dict(_BATCH))(_naswot_fn)


# ---- NAS-Bench-Suite-Zero's proxies (formulas: ntkcheck.empirical.zero_cost) ------------------------------

def _net(arch: Arch, cfg: dict, seed: int, inputs: Inputs):
    """The NB201 benchmark network with as many outputs as the source has classes (10; CIFAR-100: 100)."""
    classes = 100 if int(inputs.labels.max()) >= 10 else 10
    return _conv_net(arch, cfg, seed, "default", dtype="float32", num_classes=classes)


def _xy(arch: Arch, inputs: Inputs, cfg: dict):
    import torch

    X, y = inputs.batch(cfg["batch"])
    return _torch_batch(X, arch, "float32"), torch.as_tensor(y, dtype=torch.long, device=arch.device)


def _loss_grads(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """(W, ∂L/∂W) of one train-mode pass, shared by grad_norm, snip and plain within a task."""
    from ntkcheck.empirical.zero_cost import loss_weight_grads

    key = ("zc_loss_grads", seed, cfg["C"], cfg["N"], cfg["batch"])
    if key not in arch.memo:
        X, y = _xy(arch, inputs, cfg)
        arch.memo[key] = loss_weight_grads(_net(arch, cfg, seed, inputs), X, y)
    return arch.memo[key]


def _jacobian(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """The input Jacobian rows (of Σ logits) and the labels, shared by jacov and epe_nas within a task."""
    from ntkcheck.empirical.zero_cost import input_jacobian

    key = ("zc_input_jacobian", seed, cfg["C"], cfg["N"], cfg["batch"])
    if key not in arch.memo:
        X, y = _xy(arch, inputs, cfg)
        arch.memo[key] = (input_jacobian(_net(arch, cfg, seed, inputs), X), y.cpu().numpy())
    return arch.memo[key]


def _finite_or_singular(v: float, what: str):
    if math.isfinite(v):
        return v
    return Value(-math.inf, "singular", what)


_LOSS = {"torch", "gpu", "labels"}


@register("grad_norm", "Σ_l ‖∂L/∂W_l‖ of the cross-entropy on one batch (NAS-Bench-Suite-Zero; higher is better)",
          needs=_LOSS, direction="max", spaces=("nb201",), config=dict(_BATCH))
def _grad_norm(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``grad_norm``: per weighted layer (conv, linear) the Frobenius norm of the loss gradient, summed.
    Differs only by the inputs (module docstring); the pass is shared with ``snip`` and ``plain`` in a task."""
    from ntkcheck.empirical.zero_cost import grad_norm

    return grad_norm(*_loss_grads(arch, inputs, seed, cfg))


@register("snip", "SNIP Σ|W ⊙ ∂L/∂W| (Lee et al. 2019; NAS-Bench-Suite-Zero; higher is better)",
          needs=_LOSS, direction="max", spaces=("nb201",), config=dict(_BATCH))
def _snip(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``snip`` differentiates a multiplicative all-ones mask on every conv/linear weight; that gradient
    is W ⊙ ∂L/∂W, which is computed here directly (the same number, no patched forward)."""
    from ntkcheck.empirical.zero_cost import snip

    return snip(*_loss_grads(arch, inputs, seed, cfg))


@register("plain", "Σ W ⊙ ∂L/∂W, signed (NAS-Bench-Suite-Zero; higher is better)",
          needs=_LOSS, direction="max", spaces=("nb201",), config=dict(_BATCH))
def _plain(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``plain``."""
    from ntkcheck.empirical.zero_cost import plain

    return plain(*_loss_grads(arch, inputs, seed, cfg))


@register("grasp", "GraSP Σ −W ⊙ Hg, g = ∂L/∂W (Wang et al. 2020; NAS-Bench-Suite-Zero; higher is better)",
          needs=_LOSS, direction="max", spaces=("nb201",), config=dict(_BATCH))
def _grasp(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``grasp`` (T = 1, one iteration; g from a first pass, the Hessian-gradient product Hg by double
    backward through a second train-mode pass of the same batch).  The reference accumulates Hg into ``.grad``
    by ``z.backward()``; here it is ``autograd.grad(z, W)``: the same number."""
    from ntkcheck.empirical.zero_cost import grasp

    return grasp(_net(arch, cfg, seed, inputs), *_xy(arch, inputs, cfg))


@register("fisher", "Fisher Σ_layers Σ_k ½ mean_n(Σ a·∂L/∂a)² per channel (Theis et al. 2018; "
          "NAS-Bench-Suite-Zero; higher is better)", needs=_LOSS, direction="max", spaces=("nb201",),
          config=dict(_BATCH))
def _fisher(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``fisher`` at each conv/linear output, each channel's value counted once per weight of its filter.
    The reference captures ∂L/∂a with a backward hook on an identity module after each layer; here the layer's
    output keeps its gradient (``retain_grad``): the same tensor."""
    from ntkcheck.empirical.zero_cost import fisher

    return fisher(_net(arch, cfg, seed, inputs), *_xy(arch, inputs, cfg))


@register("jacov", "Jacobian covariance −Σ log(λ+k)+1/(λ+k) of corrcoef(∂f/∂x) (Mellor et al. 2021 v1; "
          "NAS-Bench-Suite-Zero; higher is better)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          config=dict(_BATCH))
def _jacov(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``jacov``; an undefined correlation (constant Jacobian) is −inf, status singular (NASLib: −1e8).
    The reference takes the eigenvalues with the general ``np.linalg.eig``; the correlation matrix is symmetric,
    so the symmetric solver is used (equal to rounding)."""
    from ntkcheck.empirical.zero_cost import jacov

    return _finite_or_singular(jacov(_jacobian(arch, inputs, seed, cfg)[0]),
                               "the input Jacobian's correlation matrix is undefined or not positive")


@register("epe_nas", "EPE-NAS Σ_c |Σ log(|R_c|+k)| over per-class Jacobian correlations (Lopes et al. 2021; "
          "NAS-Bench-Suite-Zero; higher is better)", needs=_LOSS, direction="max", spaces=("nb201",),
          config=dict(_BATCH))
def _epe_nas(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``epe_nas`` (the ≤ 100-class branch); an undefined correlation is −inf, status singular."""
    from ntkcheck.empirical.zero_cost import epe_nas

    J, y = _jacobian(arch, inputs, seed, cfg)
    return _finite_or_singular(epe_nas(J, y), "a class's Jacobian correlation matrix is undefined")


@register("l2_norm", "Σ_l ‖W_l‖ of the conv and linear weights at initialisation (NAS-Bench-Suite-Zero; "
          "higher is better)", needs={"torch"}, direction="max", spaces=("nb201",), config={"C": 16, "N": 5})
def _l2_norm(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``l2_norm`` (PyTorch's default initialisation, which NAS-Bench-Suite-Zero's values show: on 10
    cited cells they agree within 0.5%, tests/metrics; reads no data)."""
    from ntkcheck.empirical.zero_cost import l2_norm

    return l2_norm(_net(arch, cfg, seed, inputs))


@register("synflow", "SynFlow log Σ|W ⊙ ∂R/∂W|, R = Σ f(𝟙) of |θ| without BN in float64 (Tanaka et al. 2020; "
          "NAS-Bench-Suite-Zero; higher is better)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          config={"C": 16, "N": 5})
def _synflow(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``synflow`` then its query's log (score 0 stays 0); reads no data (the input is all ones).  The
    reference takes |·| of the network's whole state dict in place and restores the signs afterwards; here a
    BN-free float64 copy is changed, so the network is never modified."""
    from ntkcheck.empirical.zero_cost import synflow

    S = synflow(_net(arch, cfg, seed, inputs), (3, 32, 32))
    return math.log(S) if S > 0 else 0.0


def _features_before_pool(net, x):
    h = net.stem(x)
    for layer in net.cells:
        h = layer(h)
    return net.lastact(h)


@register("zen", "Zen-score log E|φ(x)−φ(x+0.01ε)| + Σ_BN log σ̄ with N(0,1) weights and Gaussian inputs "
          "(Lin et al. 2021; NAS-Bench-Suite-Zero; higher is better)", needs={"torch", "gpu"}, direction="max",
          spaces=("nb201",), config=dict(_BATCH))
def _zen(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """NASLib ``zen`` (one repeat, γ = 0.01): reads no data, only the batch shape; the Gaussian draws are seeded
    (NASLib uses the global RNG)."""
    import torch
    from ntkcheck.empirical.zero_cost import zen

    g = torch.Generator().manual_seed(int(seed))
    v = zen(_net(arch, cfg, seed, inputs), _features_before_pool, (cfg["batch"], 3, 32, 32), generator=g)
    return _finite_or_singular(v, "the pre-pooling features do not depend on the input")


@register("zico", "ZiCo Σ_l log Σ mean|g|/std(g) of loss gradients over two half-batches (Li et al. ICLR 2023; "
          "higher is better)", needs=_LOSS, direction="max", spaces=("nb201",), config=dict(_BATCH))
def _zico(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """ZiCo's released code reads gradients of successive loader batches; here the batch is split into two halves
    (the integration of ZiCo into the zero-cost-nas framework does the same)."""
    from ntkcheck.empirical.zero_cost import zico

    return zico(_net(arch, cfg, seed, inputs), *_xy(arch, inputs, cfg), splits=2)


@register("meco", "MeCo Σ_modules λ_min of the channel correlation of sample 0's feature map (Jiang et al. "
          "NeurIPS 2023; higher is better)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          config=dict(_BATCH))
def _meco(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """MeCo's released code: forward hooks on every module, one train-mode pass of the batch, sample 0 read."""
    from ntkcheck.empirical.zero_cost import meco

    return meco(_net(arch, cfg, seed, inputs), _xy(arch, inputs, cfg)[0])
