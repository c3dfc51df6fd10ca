r"""The empirical NTK of a torch network, by four engines behind one function.

For parameters θ (a selection of the network's parameters) and outputs f_c(x),

    Θ̂_{(i,c),(j,c')} = ⟨∂f_c(x_i)/∂θ, ∂f_{c'}(x_j)/∂θ⟩ .

``output`` says which outputs are differentiated and how the output axes are contracted:

* ``"scalar"``: a network with one output; Θ̂ is N×N;
* ``"sum_logits"``: the gradient of Σ_c f_c(x_i) (the convention of the TE-NAS and LGA code, see
  ``tenas_chen2021.md`` §1 and ``lga_mok2022.md`` §3); N×N;
* ``"full"``: the NC×NC kernel, rows ordered sample-major (index i·C + c);
* ``"trace"``: Σ_c Θ̂_{(i,c),(j,c)}; ``"mean"``: the trace divided by C — the per-coordinate kernel, which
  is the convention for ``readout="none"`` (the output is the last node, C = n).

``params`` selects θ: ``"all"`` (every trainable parameter), ``"weight"`` (names containing 'weight':
TE-NAS), ``"no_classifier"`` (names not containing 'classifier'), ``"weight_no_classifier"`` (LGA: 'weight'
and not 'classifier'), or a callable ``(name, parameter) -> bool``.

Engines (all return a float64 tensor; their agreement is tested to ~1e-10 relative in float64):

* ``"loop"`` — the NAS papers' reference: one forward pass of the batch, then one backward pass per sample
  (and per output) collecting the flattened gradient rows G, Θ̂ = G Gᵀ.  Memory N·C·P.
* ``"batched"`` — the loop engine's numbers in one vectorised backward pass: the same single forward pass of
  the batch (train-mode BN couples the samples exactly as in the loop), then all N·C' gradient rows at once by
  ``torch.autograd.grad(..., is_grads_batched=True)`` with the identity as the batch of upstream gradients
  (a vmap over the backward graph).  Same memory N·C·P; the per-row Python loop and its N·C' graph traversals
  are gone, so it is the engine for the NAS codes' batch-coupled kernels (κ_N, LGA).
* ``"jacobian"`` — ``torch.func.vmap(jacrev)`` per-sample Jacobians in sample chunks, contracted as J Jᵀ.
  Memory N·C·P (stored) + the vmap working set of one chunk.
* ``"ntvp"`` — NTK-vector products (Novak, Sohl-Dickstein & Schoenholz 2022, "Fast finite width neural
  tangent kernel", §3): for a column block B, the rows g_j = Jᵀe_j (j ∈ B) by reverse mode, then
  Θ̂[:, B] = J g_B by forward mode (``torch.func.jvp``) over sample chunks.  Memory chunk·C·P, never N·P.
* ``"structured"`` — for networks whose selected parameters all sit in linear layers (``nn.Linear`` or
  :class:`~ntkcheck.empirical.networks.ScaledLinear`) each applied once per sample to (N, fan_in) inputs,
  with samples that never interact: for a layer y = m_W a Wᵀ + m_b b the gradient of output c is
  ∂f_c/∂W = m_W δ_c aᵀ with δ_c = ∂f_c/∂y, so its kernel contribution is
  ``m_W² (A Aᵀ) ⊙ (D_c D_{c'}ᵀ) + m_b² D_c D_{c'}ᵀ`` — the Gram of the layer inputs times the Gram of the
  back-propagated signals.  The full Jacobian is never formed: memory O(N² + N·width) per layer (layers
  are grouped under ``max_feature_bytes``; each group costs one forward/backward sweep in chunks).

``engine="auto"``: ``structured`` for a :class:`SpecNetwork`, else ``jacobian`` when N·C·P·8 bytes fits in
``max_feature_bytes``, else ``ntvp``.

The batched engines (jacobian, ntvp, structured) assume samples do not interact (no train-mode batch
norm); the loop engine reproduces the NAS code's coupling through one batched forward pass when
``chunk_size`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from ntkcheck.errors import NtkcheckError
from ntkcheck.empirical.networks import ScaledLinear, SpecNetwork, build_network, resolve_device, resolve_dtype
from ntkcheck.empirical.outputs import model_logits
from ntkcheck.spec import ArchSpec, parse_spec

__all__ = [
    "ENGINES",
    "OUTPUTS",
    "PARAM_SELECTIONS",
    "select_parameters",
    "empirical_ntk",
    "choose_engine",
    "seed_list",
    "SeedKernels",
    "iter_seed_kernels",
    "empirical_nngp",
    "EmpiricalKernels",
    "empirical_kernels",
]

ENGINES = ("auto", "loop", "batched", "jacobian", "ntvp", "structured")
OUTPUTS = ("scalar", "full", "trace", "mean", "sum_logits")
PARAM_SELECTIONS = ("all", "weight", "no_classifier", "weight_no_classifier")
_DEFAULT_BUDGET = 1 << 30  # 1 GiB of stored features / Jacobians


# ---- parameter selection and output contraction ---------------------------------------------------

def select_parameters(model: nn.Module, params="all") -> list[tuple[str, nn.Parameter]]:
    """The (name, parameter) pairs that make up θ (see the module docstring); never empty."""
    if callable(params):
        keep = params
    elif params == "all":
        keep = lambda n, p: True  # noqa: E731
    elif params == "weight":
        keep = lambda n, p: "weight" in n  # noqa: E731
    elif params == "no_classifier":
        keep = lambda n, p: "classifier" not in n  # noqa: E731
    elif params == "weight_no_classifier":
        keep = lambda n, p: "weight" in n and "classifier" not in n  # noqa: E731
    else:
        raise NtkcheckError(f"params must be one of {PARAM_SELECTIONS} or a callable, got {params!r}")
    sel = [(n, p) for n, p in model.named_parameters() if p.requires_grad and keep(n, p)]
    if not sel:
        raise NtkcheckError(f"parameter selection {params!r} selects no trainable parameter")
    return sel


def _channels(out: torch.Tensor, output: str) -> torch.Tensor:
    """Model output (N,) or (N, C), or a ``(features, logits)`` tuple (:func:`model_logits`) → the
    differentiated channels (N, C')."""
    out = model_logits(out)
    if out.dim() == 1:
        out = out[:, None]
    if out.dim() != 2:
        raise NtkcheckError(f"empirical_ntk needs outputs of shape (N,) or (N, C), got {tuple(out.shape)}")
    if output == "scalar":
        if out.shape[1] != 1:
            raise NtkcheckError(f"output='scalar' needs one output per sample, the network has {out.shape[1]}; "
                                "use 'full', 'trace', 'mean' or 'sum_logits'")
        return out
    if output == "sum_logits":
        return out.sum(dim=1, keepdim=True)
    return out


def _finish(theta4: torch.Tensor, output: str) -> torch.Tensor:
    """(N, C', N, C') → the requested kernel (float64)."""
    N, C = theta4.shape[0], theta4.shape[1]
    if output in ("scalar", "sum_logits"):
        return theta4[:, 0, :, 0].contiguous()
    if output == "full":
        return theta4.reshape(N * C, N * C).contiguous()
    tr = torch.diagonal(theta4, dim1=1, dim2=3).sum(-1)
    return tr / C if output == "mean" else tr


def _as_input(model: nn.Module, X) -> torch.Tensor:
    p = next(model.parameters(), None)
    dev = p.device if p is not None else torch.device("cpu")
    dt = p.dtype if p is not None else torch.float64
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(np.ascontiguousarray(X))
    if not isinstance(X, torch.Tensor):
        raise NtkcheckError(f"X must be a numpy array or a torch tensor, got {type(X).__name__}")
    if X.dim() < 1 or X.shape[0] < 1:
        raise NtkcheckError(f"X must hold at least one sample, got shape {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise NtkcheckError("X contains NaN or infinite values")
    return X.to(device=dev, dtype=dt)


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _num_channels(model: nn.Module, X: torch.Tensor, output: str) -> int:
    """C' of :func:`_channels` from a forward pass of the first two samples in eval mode (so that a
    train-mode batch norm neither fails on one sample nor updates its running statistics); the
    model's mode is restored."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _channels(model(X[:2]), output).shape[1]
    finally:
        model.train(was)


# ---- engine: loop ----------------------------------------------------------------------------------

def _ntk_loop(model, X, sel, output, chunk_size) -> torch.Tensor:
    params = [p for _, p in sel]
    N = X.shape[0]
    rows = []
    for sl in ([slice(0, N)] if chunk_size is None else _chunks(N, chunk_size)):
        ch = _channels(model(X[sl]), output)
        for i in range(ch.shape[0]):
            per_c = []
            for c in range(ch.shape[1]):
                grads = torch.autograd.grad(ch[i, c], params, retain_graph=True, allow_unused=True)
                per_c.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                        for g, p in zip(grads, params)]).to(torch.float64))
            rows.append(torch.stack(per_c))
    G = torch.stack(rows)  # (N, C', P)
    return torch.einsum("icp,jdp->icjd", G, G)


def _ntk_batched(model, X, sel, output, chunk_size) -> torch.Tensor:
    params = [p for _, p in sel]
    N = X.shape[0]
    rows = []
    for sl in ([slice(0, N)] if chunk_size is None else _chunks(N, chunk_size)):
        ch = _channels(model(X[sl]), output)
        n, C = ch.shape
        # upstream gradient k selects output (i, c) = divmod(k, C): row k of the batched backward is ∂ch[i, c]/∂θ
        eye = torch.eye(n * C, dtype=ch.dtype, device=ch.device).reshape(n * C, n, C)
        grads = torch.autograd.grad(ch, params, grad_outputs=eye, is_grads_batched=True, allow_unused=True)
        G = torch.cat([(g if g is not None else torch.zeros((n * C, *p.shape), dtype=p.dtype, device=p.device))
                       .reshape(n * C, -1) for g, p in zip(grads, params)], dim=1).to(torch.float64)
        rows.append(G.reshape(n, C, -1))
    G = torch.cat(rows)  # (N, C', P)
    return torch.einsum("icp,jdp->icjd", G, G)


# ---- engines based on torch.func -------------------------------------------------------------------

def _functional(model, sel, output):
    from torch.func import functional_call

    names = [n for n, _ in sel]
    fixed = {n: p.detach() for n, p in model.named_parameters() if n not in set(names)}
    fixed.update({n: b for n, b in model.named_buffers()})
    primals = {n: p.detach() for n, p in sel}

    def f_batch(ps, xb):
        return _channels(functional_call(model, {**fixed, **ps}, (xb,)), output)

    def f_single(ps, x):
        return f_batch(ps, x.unsqueeze(0))[0]

    return primals, f_batch, f_single


def _flat_jac(jac: dict, names: list[str], b: int, C: int) -> torch.Tensor:
    return torch.cat([jac[n].reshape(b, C, -1) for n in names], dim=2).to(torch.float64)


def _ntk_jacobian(model, X, sel, output, chunk_size) -> torch.Tensor:
    from torch.func import jacrev, vmap

    primals, _, f_single = _functional(model, sel, output)
    names = list(primals)
    N = X.shape[0]
    blocks = []
    for sl in _chunks(N, chunk_size or N):
        xb = X[sl]
        jac = vmap(jacrev(f_single), in_dims=(None, 0))(primals, xb)
        C = jac[names[0]].shape[1]
        blocks.append(_flat_jac(jac, names, xb.shape[0], C))
    J = torch.cat(blocks)  # (N, C', P)
    return torch.einsum("icp,jdp->icjd", J, J)


def _ntk_ntvp(model, X, sel, output, chunk_size) -> torch.Tensor:
    from torch.func import jacrev, jvp, vmap

    primals, f_batch, f_single = _functional(model, sel, output)
    names = list(primals)
    N = X.shape[0]
    size = chunk_size or min(N, 64)
    theta = None
    for slj in _chunks(N, size):
        # reverse mode: the gradient rows g_{j,c} = ∂f_c(x_j)/∂θ of this column block
        jac = vmap(jacrev(f_single), in_dims=(None, 0))(primals, X[slj])
        bj, C = X[slj].shape[0], jac[names[0]].shape[1]
        tangents = {n: jac[n].reshape(bj * C, *primals[n].shape) for n in names}
        if theta is None:
            theta = torch.zeros(N, C, N, C, dtype=torch.float64, device=X.device)
        for sli in _chunks(N, size):
            xi = X[sli]

            def push(t, xi=xi):
                return jvp(lambda ps: f_batch(ps, xi), (primals,), (t,))[1]

            cols = vmap(push)(tangents)  # (bj·C, bi, C): Θ̂[(i,c'), (j,c)] = ⟨J_i, g_j⟩ by forward mode
            theta[sli, :, slj, :] = cols.reshape(bj, C, xi.shape[0], C).permute(2, 3, 0, 1).to(torch.float64)
    return theta


# ---- engine: structured (Gram of layer inputs ⊙ Gram of back-propagated signals) -----------------

class StructuredUnsupported(NtkcheckError):
    """The structured engine cannot analyse this model (``engine="auto"`` then uses another engine)."""


@dataclass
class _Layer:
    name: str
    module: nn.Module
    w_coef: float  # m_W² if the weight is selected, else 0
    b_coef: float  # m_b² if the bias is selected, else 0
    fan_in: int
    fan_out: int
    conv: bool = False  # nn.Conv2d: per-sample weight gradients from unfolded patches

    @property
    def n_params(self) -> int:
        return self.module.weight.numel() + (self.module.bias.numel() if self.module.bias is not None else 0)


_BATCH_COUPLING = (nn.modules.batchnorm._BatchNorm,)


def _linear_layers(model: nn.Module, sel) -> list[_Layer]:
    """The linear (nn.Linear, ScaledLinear) and convolutional (nn.Conv2d) layers holding the selected
    parameters; raises :class:`StructuredUnsupported` when a selected parameter lies elsewhere, is shared by two
    layers, or when a module couples the samples of a batch (batch norm in training mode)."""
    selected = {id(p) for _, p in sel}
    covered: set[int] = set()
    layers = []
    for name, mod in model.named_modules():
        if isinstance(mod, _BATCH_COUPLING) and mod.training:
            raise StructuredUnsupported(f"engine 'structured': {name!r} couples the samples of a batch "
                                        "(batch norm in training mode)")
        conv = False
        if isinstance(mod, ScaledLinear):
            wm, bm = mod.w_mult, mod.b_mult
        elif isinstance(mod, nn.Linear):
            wm, bm = 1.0, 1.0
        elif isinstance(mod, nn.Conv2d):
            if mod.groups != 1 or mod.padding_mode != "zeros" or isinstance(mod.padding, str):
                if any(id(p) in selected for p in mod.parameters(recurse=False)):
                    raise StructuredUnsupported(f"engine 'structured': conv layer {name!r} has groups, a "
                                                "padding mode or string padding it does not handle")
                continue
            wm, bm, conv = 1.0, 1.0, True
        else:
            continue
        wsel = id(mod.weight) in selected
        bsel = mod.bias is not None and id(mod.bias) in selected
        mine = [id(p) for p, s in ((mod.weight, wsel), (mod.bias, bsel)) if s]
        if covered.intersection(mine):
            raise StructuredUnsupported(f"engine 'structured': a parameter of {name!r} is shared with another layer")
        covered.update(mine)
        if wsel or bsel:
            fan_in = mod.weight[0].numel()
            layers.append(_Layer(name, mod, wm * wm if wsel else 0.0, bm * bm if bsel else 0.0,
                                 fan_in, mod.weight.shape[0], conv))
    missing = [n for n, p in sel if id(p) not in covered]
    if missing:
        raise StructuredUnsupported(f"engine 'structured' needs every selected parameter in a linear or conv "
                                    f"layer; not supported: {missing[:3]}")
    return layers


def _conv_sample_grads(mod: nn.Conv2d, a: torch.Tensor, d: torch.Tensor, w_sel: bool, b_sel: bool) -> torch.Tensor:
    """Per-sample gradients of a conv layer, flattened: (C, b, P_layer).

    For y = W ⋆ a + b the gradient of output c w.r.t. W is the convolution weight-gradient of one sample,
    ∂f_c/∂W = Σ_ℓ δ_c(ℓ) U(ℓ)ᵀ over output positions ℓ (U the input patches), and ∂f_c/∂b = Σ_ℓ δ_c(ℓ).  All b
    samples at once: the batch is folded into the channels, (1, b·C_in, H, W), and the weight gradient of a
    convolution with ``groups = b`` gives the b per-sample gradients in one call (the per-example-gradient
    trick of Rochette, Manoel & Tramel 2019), without unfolding the patches.
    """
    C, b, out_ch = d.shape[0], d.shape[1], d.shape[2]
    parts = []
    if w_sel:
        inp = a.reshape(1, b * a.shape[1], *a.shape[2:])
        wb = mod.weight.detach().repeat(b, 1, 1, 1)  # only its shape matters: (b·out, in, k, k)
        gw = [torch.ops.aten.convolution_backward(d[c].reshape(1, b * out_ch, *d.shape[3:]), inp, wb, None,
                                                  list(mod.stride), list(mod.padding), list(mod.dilation), False,
                                                  [0, 0], b, [False, True, False])[1].reshape(b, -1)
              for c in range(C)]
        parts.append(torch.stack(gw))
    if b_sel:
        parts.append(d.reshape(C, b, out_ch, -1).sum(-1))
    return torch.cat(parts, dim=2)


def _group_layers(layers: list[_Layer], N: int, C: int, budget: int) -> list[list[_Layer]]:
    groups: list[list[_Layer]] = [[]]
    used = 0
    for lay in layers:
        need = 8 * N * (C * lay.n_params if lay.conv else lay.fan_in + C * lay.fan_out)
        if groups[-1] and used + need > budget:
            groups.append([])
            used = 0
        groups[-1].append(lay)
        used += need
    return groups


def _ntk_structured(model, X, sel, output, chunk_size, budget) -> torch.Tensor:
    """Returns (N, C, N, C) for scalar/sum_logits/full, and the already contracted trace (N, 1, N, 1)
    for trace/mean (only the c = c' products are formed: Σ_c D_c D_cᵀ, never the C² blocks)."""
    layers = _linear_layers(model, sel)
    N = X.shape[0]
    C = _num_channels(model, X, output)
    diag_only = output in ("trace", "mean")
    Cout = 1 if diag_only else C
    if chunk_size is None:
        # keep one chunk's back-propagated signals (C·b·fan_out) and batched cotangents (C·b·C) near 2**24 numbers
        widest = max(max(g.fan_in, g.fan_out) for g in layers)
        chunk_size = max(1, min(N, 1024, (1 << 24) // (C * (widest + C))))
    chunk = chunk_size
    theta = torch.zeros(N, Cout, N, Cout, dtype=torch.float64, device=X.device)
    for group in _group_layers(layers, N, C, budget):
        A: dict[str, list[torch.Tensor]] = {g.name: [] for g in group}
        D: dict[str, list[torch.Tensor]] = {g.name: [] for g in group}
        for sl in _chunks(N, chunk):
            record: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            counts: dict[str, int] = {}

            def hook(mod, inp, out, name):
                counts[name] = counts.get(name, 0) + 1
                record[name] = (inp[0], out)

            handles = [g.module.register_forward_hook(lambda m, i, o, name=g.name: hook(m, i, o, name))
                       for g in group]
            try:
                ch = _channels(model(X[sl]), output)
            finally:
                for h in handles:
                    h.remove()
            b = ch.shape[0]
            for g in group:
                if counts.get(g.name, 0) != 1:
                    raise StructuredUnsupported(f"engine 'structured': layer {g.name!r} ran "
                                                f"{counts.get(g.name, 0)} times in one forward pass (needs once)")
                a = record[g.name][0]
                if a.dim() != (4 if g.conv else 2) or a.shape[0] != b:
                    raise StructuredUnsupported(f"engine 'structured': layer {g.name!r} input has shape "
                                                f"{tuple(a.shape)}, needs (batch, {'C, H, W' if g.conv else 'fan_in'})")
                A[g.name].append(a.detach() if g.conv else a.detach().to(torch.float64))
            outs = [record[g.name][1] for g in group]
            # samples are independent, so ∂(Σ_i f_c(x_i))/∂y(x_i) = ∂f_c(x_i)/∂y(x_i) = δ_c(x_i); the C
            # cotangents e_c are pushed back together (a batched vector-Jacobian product)
            if C == 1:
                gr = torch.autograd.grad(ch.sum(), outs, allow_unused=True)
                gr = [None if g is None else g.unsqueeze(0) for g in gr]
            else:
                eye = torch.eye(C, dtype=ch.dtype, device=ch.device)
                cot = eye[:, None, :].expand(C, b, C)
                gr = torch.autograd.grad(ch, outs, grad_outputs=cot, is_grads_batched=True, allow_unused=True)
            for g, o, lay in zip(gr, outs, group):
                g = (g if g is not None else o.new_zeros((C, *o.shape))).detach()
                if lay.conv:  # store the per-sample parameter gradients (C, b, P_layer) instead
                    a = A[lay.name].pop()
                    A[lay.name].append(_conv_sample_grads(lay.module, a, g, bool(lay.w_coef), bool(lay.b_coef))
                                       .to(torch.float64))
                    continue
                D[lay.name].append(g.to(torch.float64))  # (C, b, fan_out)
        for g in group:
            if g.conv:
                G = torch.cat(A.pop(g.name), dim=1)        # (C, N, P_layer)
                D.pop(g.name)
                for sl in _chunks(N, chunk):
                    if diag_only:
                        theta[sl, 0, :, 0] += torch.einsum("cik,cjk->ij", G[:, sl], G)
                    else:
                        for c in range(C):
                            for c2 in range(C):
                                theta[sl, c, :, c2] += G[c, sl] @ G[c2].T
                del G
                continue
            a_all = torch.cat(A.pop(g.name))            # (N, fan_in)
            d_all = torch.cat(D.pop(g.name), dim=1)     # (C, N, fan_out)
            for sl in _chunks(N, chunk):
                GA = a_all[sl] @ a_all.T if g.w_coef else None          # (b, N)
                pairs = [(None, None)] if diag_only else [(c, c2) for c in range(C) for c2 in range(C)]
                for c, c2 in pairs:
                    if c is None:   # Σ_c D_c D_cᵀ
                        GD = torch.einsum("cik,cjk->ij", d_all[:, sl], d_all)
                        c = c2 = 0
                    else:
                        GD = d_all[c, sl] @ d_all[c2].T                 # (b, N)
                    blk = g.b_coef * GD if g.b_coef else torch.zeros_like(GD)
                    if GA is not None:
                        blk = blk + g.w_coef * GA * GD
                    theta[sl, c, :, c2] += blk
            del a_all, d_all
    return theta


# ---- the public function ---------------------------------------------------------------------------

def _fallback_engine(model: nn.Module, X, sel, output: str, budget: int) -> str:
    P = sum(p.numel() for _, p in sel)
    C = 1 if output in ("scalar", "sum_logits") else _num_channels(model, X, output)
    return "jacobian" if 8 * X.shape[0] * C * P <= budget else "ntvp"


#: Samples of the spot check that guards ``engine="auto"``'s choice of the structured engine.
_SPOT_SAMPLES = 3


def choose_engine(model: nn.Module, X, sel, output: str, budget: int = _DEFAULT_BUDGET) -> str:
    """The engine ``"auto"`` picks (see :func:`empirical_ntk`), without running it on all of X."""
    return _choose(model, X, sel, output, budget)[0]


def _choose(model, X, sel, output, budget) -> tuple[str, str]:
    """(engine, reason) for ``engine="auto"``."""
    if isinstance(model, SpecNetwork):
        return "structured", "ntkcheck network (linear layers)"
    coupled = [n for n, m in model.named_modules() if isinstance(m, _BATCH_COUPLING) and m.training]
    if coupled:  # only the loop engine reproduces a batch-coupled forward pass
        return "loop", f"{coupled[0]!r} couples the samples of a batch (batch norm in training mode)"
    try:
        layers = _linear_layers(model, sel)
        k = min(X.shape[0], _SPOT_SAMPLES)
        got = _ntk_structured(model, X[:k], sel, output, None, budget)
        ref = _ntk_loop(model, X[:k], sel, output, 1)  # plain autograd, one sample per pass
        if output in ("trace", "mean"):
            ref = torch.diagonal(ref, dim1=1, dim2=3).sum(-1)[:, None, :, None]
        scale = float(ref.abs().max()) or 1.0
        if float((got - ref).abs().max()) > 1e-8 * scale:
            return _fallback_engine(model, X, sel, output, budget), \
                "structured engine disagreed with the loop engine on a spot check (parameters used outside their layers?)"
    except StructuredUnsupported as exc:
        return _fallback_engine(model, X, sel, output, budget), str(exc)
    kinds = sorted({"conv" if lay.conv else "linear" for lay in layers})
    if "conv" in kinds:
        # conv layers need the per-sample gradients (N·P numbers) either way; measured (benchmarks/RESULTS.md),
        # torch.func's Jacobian is as fast or faster while it fits the budget, so structured only beyond it
        fallback = _fallback_engine(model, X, sel, output, budget)
        if fallback == "jacobian":
            return "jacobian", "conv layers: the Jacobian fits max_feature_bytes (as fast as structured there)"
    return "structured", f"every selected parameter in {'/'.join(kinds)} layers applied once per sample " \
                         f"(spot-checked against the loop engine on {k} samples)"


def empirical_ntk(model: nn.Module, X, *, params="all", output: str = "scalar", engine: str = "auto",
                  chunk_size: int | None = None, max_feature_bytes: int = _DEFAULT_BUDGET,
                  return_info: bool = False):
    """The empirical NTK Θ̂ of ``model`` on ``X`` (float64 tensor on the model's device).

    See the module docstring for ``params``, ``output`` and ``engine``.  ``chunk_size`` bounds the number
    of samples processed at once (None: engine default).  With ``return_info=True`` returns ``(Θ̂, info)``,
    ``info = {"engine": the engine used, "reason": why auto chose it}``.  Bad arguments raise
    :class:`~ntkcheck.errors.NtkcheckError`.

    ``engine="auto"`` uses ``structured`` for ntkcheck's own networks and for any model whose selected
    parameters all sit in ``nn.Linear``/``nn.Conv2d`` layers (with conv layers: only when the Jacobian would
    not fit ``max_feature_bytes``), each applied once per sample, with no module
    coupling the samples (batch norm in training mode) — plain ``nn.Sequential`` MLPs and convnets — after a
    spot check against the loop engine on the first 3 samples (which catches parameters also used outside
    their layer); otherwise ``jacobian`` when N·C·P·8 bytes fits in ``max_feature_bytes``, else ``ntvp``.
    """
    if output not in OUTPUTS:
        raise NtkcheckError(f"output must be one of {OUTPUTS}, got {output!r}")
    if engine not in ENGINES:
        raise NtkcheckError(f"engine must be one of {ENGINES}, got {engine!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise NtkcheckError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    X = _as_input(model, X)
    sel = select_parameters(model, params)
    reason = "requested"
    if engine == "auto":
        engine, reason = _choose(model, X, sel, output, max_feature_bytes)
    theta = _run_engine(model, X, sel, output, engine, chunk_size, max_feature_bytes)
    return (theta, {"engine": engine, "reason": reason}) if return_info else theta


def _run_engine(model, X, sel, output, engine, chunk_size, max_feature_bytes) -> torch.Tensor:
    if engine == "loop":
        theta = _ntk_loop(model, X, sel, output, chunk_size)
    elif engine == "batched":
        theta = _ntk_batched(model, X, sel, output, chunk_size)
    elif engine == "jacobian":
        theta = _ntk_jacobian(model, X, sel, output, chunk_size)
    elif engine == "ntvp":
        theta = _ntk_ntvp(model, X, sel, output, chunk_size)
    else:
        theta = _ntk_structured(model, X, sel, output, chunk_size, max_feature_bytes)
        if output in ("trace", "mean"):  # already contracted over the outputs
            C = _num_channels(model, X, output) if output == "mean" else 1
            return theta[:, 0, :, 0] / C
    return _finish(theta, output)


# ---- kernels of the contract's network, over seeds -----------------------------------------------

def width_seed(seed: int, width: int) -> int:
    """An independent network seed for (seed, width): ``SeedSequence([seed, width])``.

    Seeding every width with the same ``seed`` makes networks of different widths share weights (the first rows
    of a wider layer equal the narrower one), so width sweeps use this to keep their points independent.
    """
    return int(np.random.SeedSequence([int(seed), int(width)]).generate_state(1)[0])


def seed_list(seeds, base_seed: int = 0) -> list[int]:
    """``seeds`` as a list: an int s means base_seed, …, base_seed + s − 1; an iterable is taken as is."""
    if isinstance(seeds, bool):
        raise NtkcheckError(f"seeds must be a positive integer or a list of integers, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds <= 0:
            raise NtkcheckError(f"the number of seeds must be >= 1, got {int(seeds)}")
        return [int(base_seed) + k for k in range(int(seeds))]
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise NtkcheckError(f"seeds must be a positive integer or a list of integers, got {seeds!r}") from None
    if not out:
        raise NtkcheckError("seeds is empty")
    return out


def _spec_output(spec: ArchSpec) -> str:
    return "mean" if spec.readout == "none" else "scalar"


@dataclass(frozen=True)
class SeedKernels:
    """The NTK and NNGP of one network (one seed), float64 numpy (N×N)."""

    seed: int
    ntk: np.ndarray = field(repr=False)
    nngp: np.ndarray = field(repr=False)


def iter_seed_kernels(spec, X, width: int, seeds, *, parametrization: str = "ntk", device="auto",
                      dtype=torch.float64, engine: str = "auto", params="all", chunk_size: int | None = None,
                      bias: bool | None = None, base_seed: int = 0, ntk: bool = True,
                      progress: bool = False) -> Iterator[SeedKernels]:
    """Yield the NTK and NNGP (contract normalization) of one network per seed.

    The NTK is the scalar-output kernel, or the per-coordinate (``output="mean"``) kernel of the last node
    for ``readout="none"``; the NNGP is :meth:`SpecNetwork.nngp`.  ``ntk=False`` skips the NTK (its field
    is then an empty array).
    """
    from ntkcheck.io import validate_data

    spec = parse_spec(spec)
    Xn = validate_data(X if not isinstance(X, torch.Tensor) else X.detach().cpu().numpy())
    sl = seed_list(seeds, base_seed)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    it: Iterable[int] = sl
    if progress:
        from tqdm import tqdm

        it = tqdm(sl, desc=f"width {width}", unit="seed", leave=False)
    for s in it:
        net = build_network(spec, Xn.shape[1], width, parametrization=parametrization, seed=s, device=device,
                            dtype=dtype, bias=bias)
        Xt = torch.from_numpy(Xn).to(device=dev, dtype=dt)
        K = net.nngp(Xt).cpu().numpy()
        if not ntk:
            T = np.empty((0, 0))
        elif not any(p.requires_grad for p in net.parameters()):
            T = np.zeros((Xn.shape[0], Xn.shape[0]))  # no weighted layer at all: θ is empty, Θ̂ = 0
        else:
            T = empirical_ntk(net, Xt, params=params, output=_spec_output(spec), engine=engine,
                              chunk_size=chunk_size).cpu().numpy()
        yield SeedKernels(seed=s, ntk=T, nngp=K)


@dataclass(frozen=True)
class EmpiricalKernels:
    """Mean NTK and NNGP over seeds, and the per-seed kernels (S×N×N), all float64 numpy."""

    ntk: np.ndarray = field(repr=False)
    nngp: np.ndarray = field(repr=False)
    ntk_per_seed: np.ndarray = field(repr=False)
    nngp_per_seed: np.ndarray = field(repr=False)
    seeds: tuple[int, ...]
    width: int
    parametrization: str


def empirical_kernels(spec, X, width: int, seeds, **kw) -> EmpiricalKernels:
    """All per-seed kernels of :func:`iter_seed_kernels` and their means (keeps S·N² numbers per kernel)."""
    res = list(iter_seed_kernels(spec, X, width, seeds, **kw))
    T = np.stack([r.ntk for r in res])
    K = np.stack([r.nngp for r in res])
    return EmpiricalKernels(ntk=T.mean(0), nngp=K.mean(0), ntk_per_seed=T, nngp_per_seed=K,
                            seeds=tuple(r.seed for r in res), width=int(width),
                            parametrization=kw.get("parametrization", "ntk"))


def empirical_nngp(spec, X, width: int, seeds, **kw) -> np.ndarray:
    r"""Mean over seeds of the readout-input features' Gram in the contract's normalization
    (σ_w² (1/n)⟨φ_out, φ_out⟩ + σ_b² for an activation readout, (1/n)⟨h, h⟩ for ``readout="none"``),
    which converges to theory's NNGP at rate O(n^{-1/2}) per seed.  float64 (N×N)."""
    kw = {**kw, "ntk": False}
    acc = None
    n = 0
    for r in iter_seed_kernels(spec, X, width, seeds, **kw):
        acc = r.nngp.copy() if acc is None else acc + r.nngp
        n += 1
    return acc / n
