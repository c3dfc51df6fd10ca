r"""The convolutional NAS-Bench-201 cell network (and the TE-NAS supernet over it).

This is the *real* NB201 network, not the fully connected analog (which
lives in :mod:`ntkcheck.empirical.networks`).  Behaviour follows the NAS-Bench-201 macro skeleton as
described in the TE-NAS paper and its released code (``lib/procedures``):

* stem: 3×3 conv (no bias) + BN, from ``in_channels`` to C channels (absent in the "thin" preset);
* three stages with C, 2C, 4C channels, N cells each, separated by two ResNet reduction blocks
  (``ResNetBasicblock`` with stride 2: ReLU-Conv3×3(stride 2)-BN → ReLU-Conv3×3-BN, plus a shortcut
  AvgPool2d(2) + Conv1×1);
* a cell is a 4-node DAG: node 0 is the cell input, node j = Σ_{i<j} op_{ij}(node i) over the edges
  (0→1), (0→2), (1→2), (0→3), (1→3), (2→3) (:data:`ntkcheck.spec.NB201_EDGES`); the cell output is node 3;
* ops: ``none`` (x·0), ``skip_connect`` (identity), ``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-Conv-BN,
  "same" padding, no conv bias by default), ``avg_pool_3x3`` (3×3 average pooling, stride 1, padding 1,
  ``count_include_pad=False``);
* final BN + ReLU ("lastact"), global average pooling, a linear layer named ``classifier``.

**Supernet mode** (TE-NAS Algorithm 1, §2.4): each edge instantiates every op of ``candidate_ops`` and
carries a set of *alive* ops; the edge output is the equal-weight average (1/k) Σ_{o alive} o(x).  This is
what TE-NAS's DARTS search network computes with softmax(α) when pruned ops carry α = −1000 and live ops
α = 0 (§2.2 "Networks").  Because every candidate op keeps its weights when it is pruned, ``N_t \ o`` is
literally ``N_t`` minus one op with all other weights unchanged (:meth:`NB201ConvNet.set_alive`).  A
supernet whose edges each hold one op computes exactly the discrete cell.

**Presets**: :func:`tenas_ntk_config` (C=3, N=1: 3 cells with C=3, 6, 12 and two reduction blocks,
TE-NAS §2.2) and :func:`thin_config` (C=1, N=1, one cell, no stem, 1-channel input: the network of
TE-NAS's linear-region counter, §2.3).

Initialisation (``init``): ``"default"`` keeps PyTorch's default (kaiming-uniform a=√5, BN γ=1, β=0),
which is what the released TE-NAS code ends up using (its ``--init kaiming_normal`` matches none of ``init_model``'s names); ``"kaiming_normal"`` /
``"kaiming_normal_fan_in"`` / ``"kaiming_normal_fan_out"`` draw conv and linear weights from
N(0, 2/fan) (the paper's intent: fan_out for κ_N networks, fan_in for R_N networks), biases 0, BN γ=1,
β=0.  Construction is seeded without touching the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_EDGES, NB201_OPS, nb201_string, parse_nb201

__all__ = [
    "NB201ConvConfig",
    "NB201ConvNet",
    "build_nb201_conv",
    "tenas_ntk_config",
    "thin_config",
    "mok_config",
    "CANDIDATE_OPS",
    "INIT_METHODS",
    "alive_from_cell",
    "cell_from_alive",
    "reinitialize",
]

#: TE-NAS prunes 'none' before the search starts (§2.4), leaving these four candidates per edge.
CANDIDATE_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Weight inits (:func:`reinitialize`).  ``"default"`` = ``"pytorch_default"``: each module's own
#: ``reset_parameters`` (Kaiming-uniform a=√5 for conv/linear, BN γ=1, β=0) — what the TE-NAS released code
#: ends up using (the released code's init bug). ``"kaiming_normal_fan_out"``: W ~ N(0, 2/fan_out), what the
#: TE-NAS code intends for its κ networks ("for backward"); ``"kaiming_normal_fan_in"``: N(0, 2/fan_in), its
#: intent for the R networks ("for forward").  ``"kaiming_normal"`` is the fan_in variant (PyTorch's
#: ``kaiming_normal_`` default mode, He et al. 2015), kept as this module's default for existing callers.
INIT_METHODS = ("default", "pytorch_default", "kaiming_normal", "kaiming_normal_fan_in", "kaiming_normal_fan_out")

Alive = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class NB201ConvConfig:
    """Macro-skeleton hyper-parameters of the NB201 conv network.

    ``C`` channels in stage 1 (2C, 4C after the reductions), ``N`` cells per stage, ``stages`` ∈ {1, 2, 3}
    (1 = one stage, no reduction block, as the thin preset), ``stem`` whether the 3×3 conv + BN stem is
    present (if not, ``in_channels`` must equal C), ``input_size`` the spatial side (for shape checks only).

    BN flags per location: ``bn_affine`` and ``bn_track_running_stats`` hold for every BN layer (stem,
    reduction blocks, the final BN) unless ``cell_bn_affine`` / ``cell_bn_track_running_stats`` (None =
    inherit) override them for the BN layers inside the cells' ops.  ``conv_bias``: whether the convs of the
    cells' ops have a bias (the stem, reduction and shortcut convs never do).  The TE-NAS code: every BN
    affine and tracked (``--track_running_stats 1``), no conv bias.  Mok et al.'s NB201 model
    (``foresight/models/nasbench2*.py``): cell BN non-affine without running statistics and
    cell convs with a bias (``bias=not affine``), while the stem, reduction and final BN stay affine and
    tracked — :func:`mok_config`.
    """

    C: int = 16
    N: int = 5
    in_channels: int = 3
    num_classes: int = 10
    input_size: int = 32
    stages: int = 3
    stem: bool = True
    bn_affine: bool = True
    bn_track_running_stats: bool = True
    conv_bias: bool = False
    cell_bn_affine: bool | None = None
    cell_bn_track_running_stats: bool | None = None

    @property
    def cell_affine(self) -> bool:
        """The BN ``affine`` flag inside the cells."""
        return self.bn_affine if self.cell_bn_affine is None else self.cell_bn_affine

    @property
    def cell_track(self) -> bool:
        """The BN ``track_running_stats`` flag inside the cells."""
        return self.bn_track_running_stats if self.cell_bn_track_running_stats is None else self.cell_bn_track_running_stats

    def __post_init__(self) -> None:
        for name in ("C", "N", "in_channels", "num_classes", "input_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise NtkcheckError(f"NB201ConvConfig.{name} must be a positive integer, got {v!r}")
        if self.stages not in (1, 2, 3):
            raise NtkcheckError(f"NB201ConvConfig.stages must be 1, 2 or 3, got {self.stages!r}")
        for name in ("stem", "bn_affine", "bn_track_running_stats", "conv_bias"):
            if not isinstance(getattr(self, name), bool):
                raise NtkcheckError(f"NB201ConvConfig.{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("cell_bn_affine", "cell_bn_track_running_stats"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                raise NtkcheckError(f"NB201ConvConfig.{name} must be True, False or None, got {getattr(self, name)!r}")
        if not self.stem and self.in_channels != self.C:
            raise NtkcheckError(f"without a stem the cell reads the input directly, so in_channels "
                                f"({self.in_channels}) must equal C ({self.C})")


def tenas_ntk_config(**kw) -> NB201ConvConfig:
    """TE-NAS's κ_N network on NB201: C=3, N=1, three stages, stem, 10 classes."""
    return NB201ConvConfig(**{"C": 3, "N": 1, "in_channels": 3, "num_classes": 10, "input_size": 32, **kw})


def thin_config(**kw) -> NB201ConvConfig:
    """TE-NAS's R_N network: one 1-channel cell on a 1×3×3 input, no stem, then BN+ReLU, GAP, linear."""
    return NB201ConvConfig(**{"C": 1, "N": 1, "in_channels": 1, "num_classes": 10, "input_size": 3,
                              "stages": 1, "stem": False, **kw})


# ---- operations ------------------------------------------------------------------------------------

class ZeroOp(nn.Module):
    """NB201 ``none``: x·0 (keeps the shape and the graph, contributes no gradient)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Module):
    """ReLU → Conv(k×k, stride, padding) → BN: NB201's ``nor_conv_kxk`` and the reduction block's convs."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, pad: int, *, bias: bool, affine: bool,
                 track: bool):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, bias=bias),
                                nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def mok_config(**kw) -> NB201ConvConfig:
    """Mok et al.'s NB201 network (``get_model_from_arch_str``): C=16, N=5 cells per stage, three
    stages, 3-channel stem, 10 classes; inside the cells non-affine BN without running statistics and conv
    bias, elsewhere affine tracked BN."""
    return NB201ConvConfig(**{"C": 16, "N": 5, "in_channels": 3, "num_classes": 10, "input_size": 32,
                              "cell_bn_affine": False, "cell_bn_track_running_stats": False, "conv_bias": True,
                              **kw})


def make_op(name: str, C: int, cfg: NB201ConvConfig) -> nn.Module:
    """One NB201 op on C channels, stride 1 (cells never change the shape); the cells' BN flags."""
    kw = dict(bias=cfg.conv_bias, affine=cfg.cell_affine, track=cfg.cell_track)
    if name == "none":
        return ZeroOp()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(C, C, 1, 1, 0, **kw)
    if name == "nor_conv_3x3":
        return ReLUConvBN(C, C, 3, 1, 1, **kw)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise NtkcheckError(f"unknown NB201 op {name!r} (known: {', '.join(NB201_OPS)})")


class ResNetReduction(nn.Module):
    """NB201's reduction block: y = shortcut(x) + B(A(x)), A = ReLU-Conv3×3(s=2)-BN, B = ReLU-Conv3×3-BN,
    shortcut = AvgPool2d(2, 2) then Conv1×1 (no bias)."""

    def __init__(self, c_in: int, c_out: int, cfg: NB201ConvConfig):
        super().__init__()
        kw = dict(bias=False, affine=cfg.bn_affine, track=cfg.bn_track_running_stats)
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, **kw)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, **kw)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class SearchCell(nn.Module):
    """A 4-node NB201 cell whose every edge holds ``candidate_ops`` and a set of alive ops.

    Edge output = (1/k) Σ_{o ∈ alive} o(x), k = #alive (equal softmax weights, TE-NAS §2.2).  With one
    alive op per edge this is the discrete NB201 cell.
    """

    def __init__(self, C: int, edge_ops: Alive, cfg: NB201ConvConfig):
        super().__init__()
        self.edge_ops = edge_ops
        self.edges = nn.ModuleList(nn.ModuleDict({op: make_op(op, C, cfg) for op in ops}) for ops in edge_ops)
        self.alive: Alive = edge_ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            acc = None
            for e, (s, t) in enumerate(NB201_EDGES):
                if t != j:
                    continue
                ops = self.alive[e]
                w = 1.0 / len(ops)
                for op in ops:
                    y = self.edges[e][op](nodes[s])
                    y = y if len(ops) == 1 else y * w
                    acc = y if acc is None else acc + y
            nodes.append(acc)
        return nodes[3]


class NB201ConvNet(nn.Module):
    """The NB201 macro network (module docstring).  ``forward(x)`` returns the logits (N, num_classes)."""

    def __init__(self, cfg: NB201ConvConfig, edge_ops: Alive):
        super().__init__()
        self.cfg = cfg
        #: the ops instantiated on each edge (all candidates in a supernet, one op in a discrete net)
        self.edge_ops = edge_ops
        C = cfg.C
        kw = dict(affine=cfg.bn_affine, track_running_stats=cfg.bn_track_running_stats)
        self.stem = (nn.Sequential(nn.Conv2d(cfg.in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C, **kw))
                     if cfg.stem else nn.Identity())
        layers: list[nn.Module] = []
        c = C
        for stage in range(cfg.stages):
            if stage > 0:
                layers.append(ResNetReduction(c, 2 * c, cfg))
                c *= 2
            layers.extend(SearchCell(c, self.edge_ops, cfg) for _ in range(cfg.N))
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c, **kw), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, cfg.num_classes)

    # ---- architecture ------------------------------------------------------------------------------
    @property
    def search_cells(self) -> list[SearchCell]:
        return [m for m in self.cells if isinstance(m, SearchCell)]

    @property
    def alive(self) -> Alive:
        """The alive ops per edge (shared by all cells: NB201 repeats one cell)."""
        return self.search_cells[0].alive

    def set_alive(self, alive: Iterable[Iterable[str]]) -> "NB201ConvNet":
        """Set the alive ops of every edge (in :data:`NB201_EDGES` order) in every cell; returns self."""
        checked = _check_alive(alive, self.edge_ops)
        for cell in self.search_cells:
            cell.alive = checked
        return self

    @property
    def cell_string(self) -> str:
        """The NB201 string of the current cell; only when every edge has exactly one alive op."""
        return cell_from_alive(self.alive)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels:
            raise NtkcheckError(f"NB201 conv net expects input (N, {self.cfg.in_channels}, H, W), "
                                f"got shape {tuple(x.shape)}")
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h)
        h = self.global_pooling(self.lastact(h)).flatten(1)
        return self.classifier(h)


# ---- helpers -------------------------------------------------------------------------------------

def _check_alive(alive: Iterable[Iterable[str]], edge_ops: Alive) -> Alive:
    try:
        al = tuple(tuple(a) if not isinstance(a, str) else (a,) for a in alive)
    except TypeError:
        raise NtkcheckError("alive ops must be a list of 6 lists of op names") from None
    if len(al) != len(NB201_EDGES):
        raise NtkcheckError(f"alive ops must list {len(NB201_EDGES)} edges, got {len(al)}")
    for e, ops in enumerate(al):
        if not ops:
            raise NtkcheckError(f"edge {NB201_EDGES[e]} has no alive op (use 'none' for an empty edge)")
        for op in ops:
            if op not in edge_ops[e]:
                raise NtkcheckError(f"op {op!r} on edge {NB201_EDGES[e]} is not among this network's ops there "
                                    f"{list(edge_ops[e])}")
        if len(set(ops)) != len(ops):
            raise NtkcheckError(f"edge {NB201_EDGES[e]} lists an op twice: {list(ops)}")
    return al


def alive_from_cell(cell: str) -> Alive:
    """One alive op per edge from an NB201 string."""
    return tuple((op,) for op in parse_nb201(cell))


def cell_from_alive(alive: Alive) -> str:
    """The NB201 string of a single-path alive set (error if an edge still has several ops)."""
    if any(len(a) != 1 for a in alive):
        raise NtkcheckError("the supernet is not single-path yet: some edge has several alive ops")
    return nb201_string(a[0] for a in alive)


def _init_weights(model: nn.Module, method: str) -> None:
    """Kaiming-normal init (TE-NAS's intended init): conv/linear W ~ N(0, 2/fan), bias 0,
    BN γ=1, β=0."""
    if method in ("default", "pytorch_default"):
        return
    mode = "fan_out" if method == "kaiming_normal_fan_out" else "fan_in"
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_nb201_conv(cell: str | Iterable[Iterable[str]] | None = None, config: NB201ConvConfig | None = None, *,
                     candidate_ops: Sequence[str] | None = None, seed: int = 0, init: str = "kaiming_normal",
                     device: str | torch.device | None = None, dtype: torch.dtype = torch.float64) -> NB201ConvNet:
    """Build an NB201 conv network.

    ``cell``: an NB201 string (discrete network: each edge instantiates only its own op), or a list of 6
    alive-op lists (supernet: each edge instantiates every op of ``candidate_ops``, default
    :data:`CANDIDATE_OPS`, and the given ones are alive), or None (supernet with every candidate alive).  The weights are drawn from a
    private RNG seeded with ``seed`` (the global torch RNG is left untouched), on CPU, then moved to
    ``device``/``dtype`` (default float64, TE-NAS). ``device=None`` picks cuda when available.
    """
    cfg = config or NB201ConvConfig()
    if init not in INIT_METHODS:
        raise NtkcheckError(f"unknown init {init!r} (known: {', '.join(INIT_METHODS)})")
    if isinstance(cell, str):
        if candidate_ops is not None:
            raise NtkcheckError("candidate_ops is for supernets; a discrete NB201 string fixes the ops")
        edge_ops: Alive = alive_from_cell(cell)
        alive = None
    else:
        cands = tuple(candidate_ops) if candidate_ops is not None else CANDIDATE_OPS
        if not cands or len(set(cands)) != len(cands):
            raise NtkcheckError(f"candidate_ops must be distinct NB201 op names, got {list(cands)}")
        for op in cands:
            if op not in NB201_OPS:
                raise NtkcheckError(f"unknown NB201 op {op!r} (known: {', '.join(NB201_OPS)})")
        edge_ops = tuple(cands for _ in NB201_EDGES)
        alive = None if cell is None else cell
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NtkcheckError(f"seed must be an integer, got {seed!r}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = NB201ConvNet(cfg, edge_ops)
    reinitialize(model, seed=seed, init=init)
    if alive is not None:
        model.set_alive(alive)
    return model.to(device=device, dtype=dtype)


def reinitialize(model: nn.Module, *, seed: int, init: str = "kaiming_normal") -> nn.Module:
    """Redraw every parameter (and reset BN running statistics) in place from a private RNG seeded with
    ``seed``: each module's ``reset_parameters()`` (PyTorch's default init) in ``modules()`` order, then
    ``init``.  :func:`build_nb201_conv` ends with this call, so ``reinitialize(net, seed=s, init=i)`` gives
    the same weights as building the network anew with ``seed=s, init=i`` — without the cost of
    constructing the modules again (used by the pruning search).  Draws happen on the CPU in float32 and are
    then copied, so the weights do not depend on the device.  Returns the model."""
    if init not in INIT_METHODS:
        raise NtkcheckError(f"unknown init {init!r} (known: {', '.join(INIT_METHODS)})")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NtkcheckError(f"seed must be an integer, got {seed!r}")
    p0 = next(model.parameters(), None)
    dev, dt = (p0.device, p0.dtype) if p0 is not None else (torch.device("cpu"), torch.float32)
    cpu = model.to(device="cpu", dtype=torch.float32) if (dev.type != "cpu" or dt != torch.float32) else model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in cpu.modules():
            if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
                m.reset_parameters()
        _init_weights(cpu, init)
    return cpu.to(device=dev, dtype=dt)
