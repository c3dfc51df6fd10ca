r"""The zero-cost proxies of NAS-Bench-Suite-Zero, ZiCo and MeCo as torch computations on one network and batch.

Every function takes a freshly initialised ``model`` (an ``nn.Module`` returning logits), a batch ``X``
(N, ...) and, where the proxy uses a loss, integer labels ``y``; it returns the proxy's raw value (a float).
"Weighted layers" are the ``nn.Conv2d`` and ``nn.Linear`` modules (the reference codes' ``get_layer_metric_array``);
sums run over every weight of every weighted layer.  The loss is the mean cross-entropy of the logits.  All
data-dependent proxies run the model in train mode (batch statistics in BN), as the reference codes do on a
freshly built network.

References (read, not copied): NASLib ``naslib/predictors/utils/pruners/measures/*.py`` and
``naslib/predictors/zerocost.py`` (White et al., NAS-Bench-Suite-Zero, NeurIPS 2022 Datasets & Benchmarks),
itself based on SamsungLabs/zero-cost-nas (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021); ZiCo: Li, Wang, Ryoo, Yang, "ZiCo: Zero-shot NAS via inverse Coefficient of Variation on
Gradients", ICLR 2023; MeCo: Jiang, Wang, Bie, "Zero-Shot NAS with One Data and Single Forward Pass via
Minimum Eigenvalue of Correlation", NeurIPS 2023.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["weighted_layers", "loss_weight_grads", "grad_norm", "snip", "plain", "grasp", "fisher",
           "input_jacobian", "jacov", "epe_nas", "l2_norm", "synflow", "zen", "zico", "meco", "JACOV_EPS"]

#: the regulariser k of jacov's and epe_nas's logarithms (both reference codes: 1e-5)
JACOV_EPS = 1e-5


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The ``nn.Conv2d`` and ``nn.Linear`` modules in ``model.modules()`` order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _grads_or_zeros(grads, tensors) -> list[torch.Tensor]:
    return [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, tensors)]


def loss_weight_grads(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(W_l, ∂L/∂W_l) of every weighted layer for L = mean cross-entropy of one train-mode pass over the batch."""
    model.train()
    W = [m.weight for m in weighted_layers(model)]
    loss = F.cross_entropy(model(X), y)
    return [w.detach() for w in W], _grads_or_zeros(torch.autograd.grad(loss, W, allow_unused=True), W)


def grad_norm(W: list[torch.Tensor], G: list[torch.Tensor]) -> float:
    """Σ_l ‖∂L/∂W_l‖_F — one Frobenius norm per layer, summed (NASLib ``grad_norm``)."""
    return float(sum(torch.linalg.vector_norm(g).item() for g in G))


def snip(W: list[torch.Tensor], G: list[torch.Tensor]) -> float:
    """Σ |W ⊙ ∂L/∂W| (SNIP's connection sensitivity |∂L/∂c| at the all-ones mask c, since ∂L/∂c = W ⊙ ∂L/∂W)."""
    return float(sum((w * g).abs().sum().item() for w, g in zip(W, G)))


def plain(W: list[torch.Tensor], G: list[torch.Tensor]) -> float:
    """Σ W ⊙ ∂L/∂W, signed (NASLib ``plain``)."""
    return float(sum((w * g).sum().item() for w, g in zip(W, G)))


def grasp(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP: Σ −W ⊙ (H g), g = ∂L/∂W (held fixed), H g = ∂/∂W ⟨g, ∂L/∂W⟩ from a second pass (NASLib ``grasp``,
    temperature 1, one iteration)."""
    model.train()
    W = [m.weight for m in weighted_layers(model)]
    g = [t.detach() for t in _grads_or_zeros(torch.autograd.grad(F.cross_entropy(model(X), y), W,
                                                                 allow_unused=True), W)]
    gf = _grads_or_zeros(torch.autograd.grad(F.cross_entropy(model(X), y), W, create_graph=True, allow_unused=True), W)
    z = sum((a * b).sum() for a, b in zip(g, gf))
    if not z.requires_grad:  # the loss does not depend on any weight (e.g. a cell of 'none' ops only)
        return 0.0
    Hg = _grads_or_zeros(torch.autograd.grad(z, W, allow_unused=True), W)
    return float(sum((-w.detach() * h).sum().item() for w, h in zip(W, Hg)))


def fisher(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    r"""Fisher (Theis et al. 2018, as in NASLib ``fisher``): for every weighted layer with output a (N, K, …) and
    g = ∂L/∂a, Δ_k = ½ mean_n (Σ_spatial a_nk g_nk)²; the reference broadcasts Δ_k over the k-th filter's
    ``W.shape[1:]`` entries before summing, so the layer contributes Σ_k |Δ_k| · prod(W.shape[1:])."""
    model.train()
    acts: list[tuple[nn.Module, torch.Tensor]] = []

    def hook(mod, inp, out):
        out.retain_grad()
        acts.append((mod, out))

    handles = [m.register_forward_hook(hook) for m in weighted_layers(model)]
    try:
        loss = F.cross_entropy(model(X), y)
    finally:
        for h in handles:
            h.remove()
    loss.backward()
    total = 0.0
    for mod, a in acts:
        if a.grad is None:
            continue
        prod = (a.detach() * a.grad).reshape(a.shape[0], a.shape[1], -1).sum(-1)
        delta = 0.5 * prod.pow(2).mean(0)
        total += float(delta.abs().sum().item()) * int(np.prod(mod.weight.shape[1:]))
    return total


def input_jacobian(model: nn.Module, X: torch.Tensor) -> np.ndarray:
    """J_n = ∂(Σ_c f_c)/∂x_n of one train-mode pass over the batch (``y.backward(ones)``), flattened, float64."""
    model.train()
    x = X.detach().clone().requires_grad_(True)
    out = model(x)
    (g,) = torch.autograd.grad(out.sum(), x)
    return g.reshape(g.shape[0], -1).to(torch.float64).cpu().numpy()


def jacov(J: np.ndarray) -> float:
    r"""Jacobian covariance (Mellor et al. 2021 v1, NASLib ``jacov``): R = corrcoef(J) (N×N, over samples),
    score = −Σ_i [log(λ_i + k) + 1/(λ_i + k)], k = 1e-5.  NaN (a constant Jacobian row, or λ_i + k ≤ 0) is
    returned as NaN; NASLib's query maps it to −1e8."""
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.corrcoef(J)
        if not np.all(np.isfinite(R)):
            return math.nan
        v = np.linalg.eigvalsh(R)
        return float(-np.sum(np.log(v + JACOV_EPS) + 1.0 / (v + JACOV_EPS)))


def epe_nas(J: np.ndarray, y: np.ndarray) -> float:
    r"""EPE-NAS (Lopes et al. 2021, NASLib ``epe_nas``, ≤ 100 classes): per class c, s_c = Σ_{ij} log(|R^c_ij| + k)
    over the correlation matrix R^c of that class's Jacobian rows (a class with one sample: R = 1), k = 1e-5;
    score = Σ_c |s_c| over the classes present.  NaN when some R^c is undefined (a constant row)."""
    y = np.asarray(y)
    total = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in sorted(set(y.tolist())):
            rows = J[y == c]
            R = np.atleast_2d(np.corrcoef(rows)) if rows.shape[0] > 1 else np.ones((1, 1))
            total += abs(float(np.sum(np.log(np.abs(R) + JACOV_EPS))))
    return total


def l2_norm(model: nn.Module) -> float:
    """Σ_l ‖W_l‖_F over the weighted layers at initialisation (NASLib ``l2_norm``)."""
    return float(sum(torch.linalg.vector_norm(m.weight.detach()).item() for m in weighted_layers(model)))


def _strip_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every BatchNorm replaced by the identity (the reference's ``bn=False`` copy)."""
    net = copy.deepcopy(model)
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    r"""SynFlow (Tanaka et al. 2020, NASLib ``synflow``): on a copy without BN, in float64, every parameter
    replaced by its absolute value, R = Σ f(𝟙) for one all-ones input of ``input_shape`` (C, H, W);
    S = Σ_l Σ |W_l ⊙ ∂R/∂W_l|.  Returns S (the registered metric reports NASLib's log S)."""
    net = _strip_batchnorm(model).to(torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    W = [m.weight for m in weighted_layers(net)]
    R = net(torch.ones((1, *input_shape), dtype=torch.float64, device=W[0].device)).sum()
    G = _grads_or_zeros(torch.autograd.grad(R, W, allow_unused=True), W)
    return float(sum((w.detach() * g).abs().sum().item() for w, g in zip(W, G)))


def zen(model: nn.Module, features, batch_shape: tuple[int, ...], *, generator: torch.Generator,
        mixup_gamma: float = 1e-2) -> float:
    r"""Zen-score (Lin et al. ICCV 2021, NASLib ``zen``): weights of the weighted layers redrawn from N(0, 1)
    (biases 0, BN γ = 1, β = 0), two Gaussian batches x, ε of ``batch_shape``; with φ the features before
    global pooling (``features(model, x)``),
    Z = log mean_n Σ |φ(x) − φ(x + γ ε)|_n  +  Σ_BN log √(mean running_var),
    both passes in train mode (the running variances after those two passes, PyTorch's momentum 0.1)."""
    model.train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator, dtype=m.weight.dtype))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
        p = next(model.parameters())
        x = torch.randn(batch_shape, generator=generator, dtype=p.dtype).to(p.device)
        e = torch.randn(batch_shape, generator=generator, dtype=p.dtype).to(p.device)
        d = (features(model, x) - features(model, x + mixup_gamma * e)).abs()
        delta = float(d.reshape(d.shape[0], -1).sum(1).mean())
        log_bn = sum(0.5 * math.log(float(m.running_var.mean())) for m in model.modules()
                     if isinstance(m, nn.BatchNorm2d) and m.running_var is not None)
    return (math.log(delta) if delta > 0 else -math.inf) + log_bn


def zico(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, splits: int = 2) -> float:
    r"""ZiCo (Li et al. ICLR 2023, Eq. 8): the batch cut into ``splits`` equal parts; per part the gradient of the
    mean cross-entropy w.r.t. every weighted layer's weight; per layer, over the parts, mean |g| and the
    population std σ(g) of every weight; score = Σ_l log Σ_{σ≠0} mean|g|/σ (a layer with every σ = 0 is
    skipped, as in the released code)."""
    model.train()
    layers = weighted_layers(model)
    W = [m.weight for m in layers]
    N = X.shape[0]
    per_part = []
    for s in range(splits):
        lo, hi = s * N // splits, (s + 1) * N // splits
        loss = F.cross_entropy(model(X[lo:hi]), y[lo:hi])
        per_part.append([g.detach().to(torch.float64).reshape(-1)
                         for g in _grads_or_zeros(torch.autograd.grad(loss, W, allow_unused=True), W)])
    score = 0.0
    for k in range(len(W)):
        G = torch.stack([p[k] for p in per_part])  # (splits, |W_k|)
        sd = G.std(0, unbiased=False)
        nz = sd != 0
        tmp = float((G.abs().mean(0)[nz] / sd[nz]).sum())
        if tmp != 0:
            score += math.log(tmp)
    return score


def meco(model: nn.Module, X: torch.Tensor) -> float:
    r"""MeCo (Jiang et al. NeurIPS 2023, Eq. 6): one train-mode pass of the batch; for every module whose
    output is a tensor, the output of the FIRST sample reshaped to (channels, rest), its Pearson correlation
    matrix across channels (NaN/inf entries set to 0, as in the released code) and that matrix's smallest
    eigenvalue; score = the sum over modules (every module of ``model.modules()``, the model itself included,
    so the value depends on how the network is split into modules)."""
    model.train()
    mins: list[float] = []

    def hook(mod, inp, out):
        if not isinstance(out, torch.Tensor):
            return
        f = out[0].detach().to(torch.float64)
        if f.dim() == 0:
            return
        f = f.reshape(f.shape[0], -1)
        R = torch.nan_to_num(torch.corrcoef(f), nan=0.0, posinf=0.0, neginf=0.0) if f.shape[1] > 1 \
            else torch.zeros(f.shape[0], f.shape[0], dtype=torch.float64)
        mins.append(float(torch.linalg.eigvalsh(R)[0]))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(X)
    finally:
        for h in handles:
            h.remove()
    return float(np.sum([v for v in mins if not math.isnan(v)]))
