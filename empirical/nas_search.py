r"""Training-free NAS searches on the NB201 cell space: TE-NAS pruning, Eigen-NAS and LGA selection.

**TE-NAS pruning-by-importance** (Chen et al. 2021, §3.2 and Algorithm 1).  Start from the supernet N_0 in which every edge carries every candidate op ('none' is pruned
before the search starts, so NB201 has 4 candidates per edge).  In round t, for every live op o_j on an edge
that still has more than one op:

    Δκ_{t,o_j} = κ_{N_t} − κ_{N_t \ o_j}   (higher → prune),      ΔR_{t,o_j} = R_{N_t} − R_{N_t \ o_j}  (lower → prune),

both as relative changes (÷ κ_{N_t}, ÷ R_{N_t}) rounded to ``precision`` decimals and averaged over the
repeats (released code).  s_κ = rank of Δκ in the descending list, s_R = rank of ΔR in the ascending list
(over all live candidates of the round), s = s_κ + s_R, and on every edge the ``prune_number`` ops with the
**smallest** s are removed (the least important ops; [TE] §2.4 item 3).  With 4 ops, 6 edges and one op
pruned per edge and round, the search takes 3 rounds and 24 + 18 + 12 = 54 candidate evaluations (T10).

Two modes; README section "Paper and released-code modes":

* ``"paper"``: the paper's protocol (Appendix A).  In each round and repeat r, fresh Kaiming-normal weights
  (``init_ntk`` default fan_out for the κ network, ``init_lr`` default fan_in for the R network — the inits
  the released code *intends*) and a fresh data batch; N_t and every N_t \ o_j share these weights (the
  supernet instantiates every op, pruning only masks it: ``NB201ConvNet.set_alive``) and this batch —
  common random numbers, a choice of this toolkit that the paper neither states nor excludes.  κ in
  float64 with the certified solver; ranks are ordinal (index in the sorted list; ties in list order).
* ``"code"``: what ``prune_tenas.py:prune_func_rank`` does.  The κ parent N_t is built once per round
  (PyTorch default init: the launcher's ``--init kaiming_normal`` matches none of ``init_model``'s names, so
  no re-initialisation ever happens); every candidate is a separate network into which **the parent's
  parameters are copied** (:func:`prune_candidate`); its repeats use the same weights and a new batch each
  (shared by parent and candidate).  The R parent is rebuilt per candidate with new default weights drawn
  from a stream that is never reseeded, the R candidate is again a copy of it, and each repeat reads new
  patches.  κ with fp32 eigenvalues and NaN → 1e5.  Ties as the code breaks them
  (:func:`released_code_ranking`): lists sorted on values rounded to ``precision`` significant figures
  (``round_to``, :func:`round_to_code`), equal ranks only when the *unrounded* means are equal, rank-sum
  ties broken in Δκ-sorted order.  With an effective ``init_ntk``/``init_lr`` (the bug fixed), the parent
  is redrawn in every repeat before the copy, as the code's ``init_model`` call would.

Non-finite κ (a singular kernel, float64 mode) enters Δκ as: both singular → 0, only N_t singular → +1
(pruning restores full rank: the largest possible improvement), only N_t \ o_j singular → −inf.

``pre_reserve`` > 0 adds Chen et al. 2022's TE-NAS+DAG rule (``architecture_convergence/TENAS``): per edge
and round the removals whose supernet (d̄, m̄) is nearest the centroid are skipped
(:func:`ntkcheck.empirical.supernet_connectivity.pre_reserved`; 2 on NB201 in their code).

``combine`` offers the ablations of Tables 4–5: ``"rank_sum"`` (TE-NAS), ``"kappa"`` (s = s_κ),
``"regions"`` (s = s_R), ``"min"``/``"max"`` of the two ranks.

**Score-based selection** (:func:`select_by_score`): Eigen-NAS picks the cell with the largest λ_min of the
NTK at initialisation (Zhu et al. 2022); LGA picks the largest
label-gradient alignment (Mok et al. 2022, §4) on Mok et al.'s own NB201 model
(:func:`ntkcheck.empirical.nb201_conv.mok_config`).  :func:`eigen_nas_search` and :func:`lga_search` wrap it.

The defaults are the papers' sizes; the toy sizes (tiny C, few samples) make a full search run on CPU in
seconds.  Synthetic Gaussian images and patches stand in for CIFAR when no data are given.  Not provided:
the DARTS supernet and the DARTS grouped pruning stage (``prune_func_rank_group``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from ntkcheck.errors import NtkcheckError
from ntkcheck.empirical.linear_regions import count_linear_regions, gaussian_patches
from ntkcheck.empirical.metrics import condition_number, eigen_nas_score, lga_score, logit_sum_ntk
from ntkcheck.empirical.nb201_conv import (CANDIDATE_OPS, INIT_METHODS, NB201ConvConfig, NB201ConvNet,
                                           build_nb201_conv, cell_from_alive, mok_config, reinitialize,
                                           tenas_ntk_config, thin_config)
from ntkcheck.empirical.supernet_connectivity import pre_reserved
from ntkcheck.spec import NB201_EDGES, NB201_OPS, parse_nb201

__all__ = [
    "TenasConfig",
    "CandidateScore",
    "PruneRound",
    "TenasResult",
    "tenas_prune",
    "prune_candidate",
    "round_to_code",
    "released_code_ranking",
    "dense_rank",
    "ordinal_rank",
    "Selection",
    "select_by_score",
    "eigen_nas_search",
    "lga_search",
]

MODES = ("paper", "code")
COMBINE = ("rank_sum", "kappa", "regions", "min", "max")
#: The default inits of each mode: (κ network, R network).
MODE_INITS = {"paper": ("kaiming_normal_fan_out", "kaiming_normal_fan_in"),
              "code": ("pytorch_default", "pytorch_default")}


@dataclass(frozen=True)
class TenasConfig:
    """Settings of :func:`tenas_prune` (defaults: the released code's NB201 settings, [TE] §2.2–§2.4).

    ``ntk_net`` / ``lr_net``: the κ network (TE-NAS: C=3, N=1, 32×32) and the thin R network.
    ``batch_size``: NTK mini-batch (code 72, paper 32).  ``lr_samples`` / ``lr_batch``: 3000 in batches of
    1000 (paper: 5000).  ``precision``: rounding of the relative changes.  ``prune_number``: ops removed per
    edge and round.  ``dtype``: network dtype (float64 by default).  ``init_ntk`` / ``init_lr``: weight
    inits of the κ and R networks (:data:`ntkcheck.empirical.nb201_conv.INIT_METHODS`); None = the mode's
    (:data:`MODE_INITS`: paper Kaiming-normal fan_out / fan_in, code PyTorch default).  ``pre_reserve``:
    TE-NAS+DAG's skipped removals per edge (0 = plain TE-NAS, 2 = Chen et al. 2022 on NB201).
    """

    mode: str = "paper"
    ntk_net: NB201ConvConfig = field(default_factory=tenas_ntk_config)
    lr_net: NB201ConvConfig = field(default_factory=thin_config)
    candidate_ops: tuple[str, ...] = CANDIDATE_OPS
    repeats: int = 3
    batch_size: int = 72
    lr_samples: int = 3000
    lr_batch: int = 1000
    precision: int = 3
    prune_number: int = 1
    combine: str = "rank_sum"
    seed: int = 0
    dtype: torch.dtype = torch.float64
    device: str | None = None
    init_ntk: str | None = None
    init_lr: str | None = None
    pre_reserve: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise NtkcheckError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.combine not in COMBINE:
            raise NtkcheckError(f"combine must be one of {COMBINE}, got {self.combine!r}")
        for name in ("repeats", "batch_size", "lr_samples", "lr_batch", "prune_number"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise NtkcheckError(f"TenasConfig.{name} must be a positive integer, got {v!r}")
        for name in ("precision", "pre_reserve"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise NtkcheckError(f"TenasConfig.{name} must be a non-negative integer, got {v!r}")
        if len(self.candidate_ops) < 1 or len(set(self.candidate_ops)) != len(self.candidate_ops):
            raise NtkcheckError(f"candidate_ops must be distinct op names, got {self.candidate_ops!r}")
        for name in ("init_ntk", "init_lr"):
            v = getattr(self, name)
            if v is not None and v not in INIT_METHODS:
                raise NtkcheckError(f"TenasConfig.{name} must be one of {INIT_METHODS} or None, got {v!r}")

    @property
    def inits(self) -> tuple[str, str]:
        """The (κ network, R network) inits in effect."""
        dk, dr = MODE_INITS[self.mode]
        return (self.init_ntk or dk, self.init_lr or dr)


@dataclass(frozen=True)
class CandidateScore:
    """One live op o on one edge in one round: mean relative changes and the ranks."""

    edge: tuple[int, int]
    op: str
    d_kappa: float
    d_regions: float
    s_kappa: int
    s_regions: int
    score: int
    pruned: bool


@dataclass(frozen=True)
class PruneRound:
    """One round t: the alive ops before it, κ and R of N_t (means over its evaluations), the evaluated
    candidates, and the removals skipped by the pre-reserve rule."""

    round: int
    alive: tuple[tuple[str, ...], ...]
    kappa: float
    regions: float
    candidates: tuple[CandidateScore, ...]
    reserved: tuple[tuple[tuple[int, int], str], ...] = ()


@dataclass(frozen=True)
class TenasResult:
    """``cell``: the final NB201 string; ``rounds``; ``trajectory``: (κ, R) of N_0, N_1, …, N_final (Fig. 5);
    ``n_evaluations``: candidate evaluations (54 for 4 ops × 6 edges, T10; 36 with pre_reserve=2)."""

    cell: str
    rounds: tuple[PruneRound, ...]
    trajectory: tuple[tuple[float, float], ...]
    n_evaluations: int
    config: TenasConfig


# ---- ranks -------------------------------------------------------------------------------------------

def round_to_code(x: float, sig: int, eps: float = 1e-8) -> float:
    r"""TE-NAS's ``round_to`` (``prune_tenas.py``): ``x`` to ``sig`` significant figures, computed as the
    code does — p = ⌊log(|x| + ε)/log 10⌋ + 1 (``math.log(·, 10)``), then sign(x)·round((|x| + ε)·10^{−p},
    sig)·10^p with ε = 1e-8.  0 is returned unchanged; non-finite values too (the code would fail on them)."""
    if x == 0 or not math.isfinite(x):
        return x
    sign = x / abs(x)
    a = abs(x) + eps
    power = math.floor(math.log(a, 10)) + 1
    return sign * round(a * 10 ** (-power), sig) * 10 ** power


def dense_rank(values: Sequence[float], *, descending: bool) -> list[int]:
    """Dense ranks from 0: equal values share a rank, the next distinct value gets the next integer."""
    distinct = sorted(set(values), reverse=descending)
    pos = {v: i for i, v in enumerate(distinct)}
    return [pos[v] for v in values]


def ordinal_rank(values: Sequence[float], *, descending: bool) -> list[int]:
    """Index of each value in the stably sorted list (ties keep list order)."""
    order = sorted(range(len(values)), key=lambda i: -values[i] if descending else values[i])
    ranks = [0] * len(values)
    for r, i in enumerate(order):
        ranks[i] = r
    return ranks


def _code_ranks(values: Sequence[float], precision: int, descending: bool) -> tuple[list[int], list[int]]:
    """The released code's ranking of one list: a stable sort on ``round_to`` values, then walking the
    sorted list, a value keeps the previous rank iff it equals the previous *unrounded* value, else rank + 1.
    Returns (ranks by input position, the sorted order)."""
    order = sorted(range(len(values)), key=lambda i: round_to_code(values[i], precision), reverse=descending)
    ranks = [0] * len(values)
    for k in range(1, len(order)):
        i, prev = order[k], order[k - 1]
        ranks[i] = ranks[prev] if values[i] == values[prev] else ranks[prev] + 1
    return ranks, order


def released_code_ranking(d_kappa: Sequence[float], d_regions: Sequence[float], edges: Sequence[Any], *,
                          precision: int, prune_number: int,
                          combine: Callable[[int, int], int] = lambda a, b: a + b
                          ) -> tuple[list[int], list[int], list[int], list[int]]:
    r"""The pruning decision of ``prune_func_rank`` from the mean relative changes of the candidates.

    Δκ sorted descending and ΔR ascending, each by :func:`_code_ranks`; the candidates are then sorted
    stably by s = s_κ + s_R **in the Δκ-sorted order** (the order the code's ``rankings`` dict was filled
    in), and on each edge (``edges[i]`` of candidate i) the first ``prune_number`` are pruned.

    Returns (s_κ, s_R, s, indices of the pruned candidates).
    """
    sk, order_k = _code_ranks(list(d_kappa), precision, descending=True)
    sr, _ = _code_ranks(list(d_regions), precision, descending=False)
    score = [combine(a, b) for a, b in zip(sk, sr)]
    by_sum = sorted(order_k, key=lambda i: score[i])
    taken: dict[Any, list[int]] = {}
    for i in by_sum:
        lst = taken.setdefault(edges[i], [])
        if len(lst) < prune_number:
            lst.append(i)
    return sk, sr, score, sorted(i for lst in taken.values() for i in lst)


def _rel_change(orig: float, pruned: float, precision: int) -> float:
    """(orig − pruned)/orig rounded to ``precision`` decimals, with the non-finite rules of the module docstring."""
    if not math.isfinite(orig) and not math.isfinite(pruned):
        return 0.0
    if not math.isfinite(orig):
        return 1.0
    if not math.isfinite(pruned):
        return -math.inf
    if orig == 0:
        return 0.0 if pruned == 0 else -math.inf
    return round((orig - pruned) / orig, precision)


# ---- TE-NAS pruning ----------------------------------------------------------------------------------

class _Data:
    """Image batches and 1×3×3 patches: drawn from given pools or synthetic (seeded) Gaussian stand-ins."""

    def __init__(self, cfg: TenasConfig, images: torch.Tensor | None, patches: torch.Tensor | None,
                 rng: np.random.Generator):
        self.cfg, self.images, self.patches, self.rng = cfg, images, patches, rng
        n = cfg.ntk_net
        if images is not None and (images.ndim != 4 or images.shape[1] != n.in_channels):
            raise NtkcheckError(f"images must have shape (M, {n.in_channels}, H, W), got {tuple(images.shape)}")
        if images is not None and images.shape[0] < cfg.batch_size:
            raise NtkcheckError(f"need at least batch_size={cfg.batch_size} images, got {images.shape[0]}")
        if patches is not None and patches.shape[0] < cfg.lr_samples:
            raise NtkcheckError(f"need at least lr_samples={cfg.lr_samples} patches, got {patches.shape[0]}")

    def batch(self) -> torch.Tensor:
        c = self.cfg
        if self.images is None:
            g = torch.Generator().manual_seed(int(self.rng.integers(2 ** 62)))
            n = c.ntk_net
            return torch.randn(c.batch_size, n.in_channels, n.input_size, n.input_size, generator=g, dtype=c.dtype)
        idx = torch.as_tensor(self.rng.choice(self.images.shape[0], c.batch_size, replace=False))
        return self.images[idx].to(c.dtype)

    def patch_set(self) -> torch.Tensor:
        c = self.cfg
        if self.patches is None:
            return gaussian_patches(c.lr_samples, seed=int(self.rng.integers(2 ** 62)), size=c.lr_net.input_size,
                                    channels=c.lr_net.in_channels, dtype=c.dtype)
        idx = torch.as_tensor(self.rng.choice(self.patches.shape[0], c.lr_samples, replace=False))
        return self.patches[idx].to(c.dtype)


def _without(alive: tuple[tuple[str, ...], ...], e: int, op: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(o for o in ops if o != op) if k == e else ops for k, ops in enumerate(alive))


def prune_candidate(parent: NB201ConvNet, alive: Iterable[Iterable[str]], *,
                    into: NB201ConvNet | None = None) -> NB201ConvNet:
    """The released code's pruned candidate N_t \\ o: a network of the parent's architecture whose
    parameters are copied from the parent (``param.data.copy_(param_ori.data)`` over ``parameters()`` in
    order, ``prune_tenas.py``), with the alive ops ``alive``.

    ``into``: a network of the same architecture to copy into (reused storage); None = a deep copy of the
    parent.  Only parameters are copied, as in the code; BN running statistics are the target's own (they
    do not enter train-mode forward passes).  Returns the candidate.
    """
    if into is None:
        child = copy.deepcopy(parent)
    else:
        child = into
        src, dst = list(parent.parameters()), list(child.parameters())
        if len(src) != len(dst) or any(a.shape != b.shape for a, b in zip(src, dst)):
            raise NtkcheckError("prune_candidate: the target network does not have the parent's architecture")
        with torch.no_grad():
            for a, b in zip(src, dst):
                b.copy_(a)
    return child.set_alive(alive)


def tenas_prune(config: TenasConfig | None = None, *, images: torch.Tensor | None = None,
                patches: torch.Tensor | None = None, progress: bool = False) -> TenasResult:
    """Run TE-NAS's pruning search (module docstring) and return the final cell and the per-round scores.

    ``images``: optional pool (M, C, H, W) to draw NTK batches from; ``patches``: optional pool of R inputs
    (M, 1, 3, 3).  Without them, seeded Gaussian stand-ins are used.  Deterministic given ``config.seed``.
    """
    cfg = config or TenasConfig()
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rng = np.random.default_rng(cfg.seed)
    data = _Data(cfg, images, patches, rng)
    paper = cfg.mode == "paper"
    compat = "float64" if paper else "tenas"
    init_k, init_r = cfg.inits
    redraw_k = init_k not in ("default", "pytorch_default")
    redraw_r = init_r not in ("default", "pytorch_default")

    def new_seed() -> int:
        return int(rng.integers(2 ** 31))

    # modules are built once; "a new network" = the same modules with every weight redrawn (reinitialize)
    nets = {name: build_nb201_conv(None, ncfg, candidate_ops=cfg.candidate_ops, seed=0, init="default",
                                   device=device, dtype=cfg.dtype)
            for name, ncfg in (("k0", cfg.ntk_net), ("k1", cfg.ntk_net), ("r0", cfg.lr_net), ("r1", cfg.lr_net))}

    def ntk_net(seed: int, slot: str = "k0"):
        return reinitialize(nets[slot], seed=seed, init=init_k)

    def lr_net(seed: int, slot: str = "r0"):
        return reinitialize(nets[slot], seed=seed, init=init_r)

    def kappa(net, alive, x) -> float:
        net.set_alive(alive)
        K = logit_sum_ntk(net, x.to(device), params="weight", output="sum_logits", bn_train_mode=True)
        return condition_number(K, compat=compat).value

    def regions(net, alive, p) -> float:
        net.set_alive(alive)
        return float(count_linear_regions(net, p.to(device), train_mode=True, only_4d=True, batch_size=cfg.lr_batch))

    comb = {"rank_sum": lambda a, b: a + b, "kappa": lambda a, b: a, "regions": lambda a, b: b,
            "min": min, "max": max}[cfg.combine]
    alive: tuple[tuple[str, ...], ...] = tuple(tuple(cfg.candidate_ops) for _ in NB201_EDGES)
    rounds: list[PruneRound] = []
    trajectory: list[tuple[float, float]] = []
    n_eval = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(desc="TE-NAS pruning", unit="cand")
    t = 0
    while any(len(a) > 1 for a in alive):
        reserved = (pre_reserved(alive, pre_reserve=cfg.pre_reserve, prune_number=cfg.prune_number,
                                 ops=NB201_OPS) if cfg.pre_reserve else set())
        cands = [(e, op) for e, ops in enumerate(alive) if len(ops) > 1 for op in ops if (e, op) not in reserved]
        dk = {c: [] for c in cands}
        dr = {c: [] for c in cands}
        k_orig_all: list[float] = []
        r_orig_all: list[float] = []
        if paper:
            for _ in range(cfg.repeats):
                s = new_seed()
                x, p = data.batch(), data.patch_set()
                kn, rn = ntk_net(s), lr_net(s)
                k0, r0 = kappa(kn, alive, x), regions(rn, alive, p)
                k_orig_all.append(k0)
                r_orig_all.append(r0)
                for (e, op) in cands:
                    pr = _without(alive, e, op)
                    dk[(e, op)].append(_rel_change(k0, kappa(kn, pr, x), cfg.precision))
                    dr[(e, op)].append(_rel_change(r0, regions(rn, pr, p), cfg.precision))
                    if bar is not None:
                        bar.update(1.0 / cfg.repeats)
        else:
            kn_orig = ntk_net(new_seed())  # network_origin: built once per round
            for (e, op) in cands:
                pr = _without(alive, e, op)
                for _ in range(cfg.repeats):  # κ: the parent's weights copied into the candidate
                    if redraw_k:
                        ntk_net(new_seed())
                    child = prune_candidate(kn_orig.set_alive(alive), pr, into=nets["k1"])
                    x = data.batch()
                    k0 = kappa(kn_orig, alive, x)
                    k_orig_all.append(k0)
                    dk[(e, op)].append(_rel_change(k0, kappa(child, pr, x), cfg.precision))
                rn_o = lr_net(new_seed())  # network_thin_origin: rebuilt per candidate
                for _ in range(cfg.repeats):
                    if redraw_r:
                        lr_net(new_seed())
                    child = prune_candidate(rn_o.set_alive(alive), pr, into=nets["r1"])
                    p = data.patch_set()
                    r0 = regions(rn_o, alive, p)
                    r_orig_all.append(r0)
                    dr[(e, op)].append(_rel_change(r0, regions(child, pr, p), cfg.precision))
                if bar is not None:
                    bar.update(1)
        n_eval += len(cands)
        mk = [float(np.mean(dk[c])) for c in cands]
        mr = [float(np.mean(dr[c])) for c in cands]
        if paper:
            sk, sr = ordinal_rank(mk, descending=True), ordinal_rank(mr, descending=False)
            score = [comb(a, b) for a, b in zip(sk, sr)]
            chosen: list[int] = []
            for e, ops in enumerate(alive):
                idx = sorted((i for i, c in enumerate(cands) if c[0] == e), key=lambda i: score[i])
                chosen += idx[:min(cfg.prune_number, len(ops) - 1)] if idx else []
        else:
            n_alive = {e: len(ops) for e, ops in enumerate(alive)}
            sk, sr, score, chosen = released_code_ranking(mk, mr, [c[0] for c in cands], precision=cfg.precision,
                                                          prune_number=cfg.prune_number, combine=comb)
            chosen = [i for i in chosen if n_alive[cands[i][0]] > 1]
        pruned = {cands[i] for i in chosen}
        k_mean = float(np.mean(k_orig_all)) if all(math.isfinite(v) for v in k_orig_all) else math.inf
        r_mean = float(np.mean(r_orig_all)) if r_orig_all else math.nan
        rounds.append(PruneRound(t, alive, k_mean, r_mean, tuple(
            CandidateScore(NB201_EDGES[c[0]], c[1], mk[i], mr[i], sk[i], sr[i], score[i], c in pruned)
            for i, c in enumerate(cands)), tuple(sorted((NB201_EDGES[e], op) for e, op in reserved))))
        trajectory.append((k_mean, r_mean))
        for e, op in pruned:
            alive = _without(alive, e, op)
        t += 1
    if bar is not None:
        bar.close()
    # κ and R of the final single-path network (the last point of the Fig. 5 trajectory)
    kf, rf = [], []
    for _ in range(cfg.repeats):
        s = new_seed()
        x, p = data.batch(), data.patch_set()
        kf.append(kappa(ntk_net(s), alive, x))
        rf.append(regions(lr_net(s if paper else new_seed()), alive, p))
    trajectory.append((float(np.mean(kf)) if all(math.isfinite(v) for v in kf) else math.inf, float(np.mean(rf))))
    return TenasResult(cell_from_alive(alive), tuple(rounds), tuple(trajectory), n_eval, cfg)


# ---- score-based selection ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_by_score`: the best cell, its score, every (cell, score), best first."""

    best: str
    best_score: float
    ranking: tuple[tuple[str, float], ...]
    direction: str


def _as_score(v: Any) -> float:
    for attr in ("score", "mean", "value"):
        if hasattr(v, attr):
            v = getattr(v, attr)
            break
    try:
        return float(v)
    except (TypeError, ValueError):
        raise NtkcheckError(f"score function returned {type(v).__name__}, not a number") from None


def select_by_score(cells: Iterable[str], score_fn: Callable[[str], Any], direction: str = "max") -> Selection:
    """Score every NB201 cell string with ``score_fn`` and pick the best (``direction`` "max" or "min").

    ``score_fn`` may return a number or a result with ``.score``/``.mean``/``.value``.  NaN scores rank last
    and never win; ties keep the input order.  Used for Eigen-NAS (argmax λ_min) and LGA (argmax).
    """
    if direction not in ("max", "min"):
        raise NtkcheckError(f"direction must be 'max' or 'min', got {direction!r}")
    cells = list(cells)
    if not cells:
        raise NtkcheckError("select_by_score needs at least one cell")
    for c in cells:
        parse_nb201(c)
    scores = [_as_score(score_fn(c)) for c in cells]
    if all(math.isnan(s) for s in scores):
        raise NtkcheckError("every score is NaN: nothing to select")
    sign = -1.0 if direction == "max" else 1.0
    order = sorted(range(len(cells)), key=lambda i: (math.isnan(scores[i]), sign * scores[i] if not math.isnan(scores[i]) else 0.0))
    ranking = tuple((cells[i], scores[i]) for i in order)
    return Selection(ranking[0][0], ranking[0][1], ranking, direction)


def eigen_nas_search(cells: Iterable[str], X: torch.Tensor, *, config: NB201ConvConfig | None = None,
                     seeds: Iterable[int] = (0, 1, 2), init: str = "kaiming_normal", params: Any = "all",
                     dtype: torch.dtype = torch.float64, device: str | None = None) -> Selection:
    """Eigen-NAS on NB201 conv networks: argmax over cells of the seed-averaged λ_min of the NTK at init
    (:func:`ntkcheck.empirical.metrics.eigen_nas_score`)."""
    cfg = config or tenas_ntk_config()
    seeds = tuple(seeds)

    def score(cell: str) -> float:
        fac = lambda s: build_nb201_conv(cell, cfg, seed=s, init=init, dtype=dtype, device=device)  # noqa: E731
        return eigen_nas_score(fac, X, seeds=seeds, params=params).score

    return select_by_score(cells, score, "max")


def lga_search(cells: Iterable[str], X: torch.Tensor, y: Any, *, config: NB201ConvConfig | None = None,
               seed: int = 42, init: str = "default", bn_train_mode: bool = True, include_diag: bool = True,
               dtype: torch.dtype = torch.float64, device: str | None = None) -> Selection:
    """LGA selection at initialisation: argmax over cells of LGA (Mok et al. §4).  Defaults as the LGA code's
    at-init protocol ([LGA] §5): their NB201 model (:func:`ntkcheck.empirical.nb201_conv.mok_config`: C=16,
    N=5, non-affine untracked BN and conv bias inside the cells; ``in_channels`` and ``input_size`` taken
    from X), the same model seed (42) for every architecture, PyTorch default init, the same batch,
    train-mode BN.  (The paper's LGA is meant after minimal training; train with
    :func:`ntkcheck.empirical.tracking.track_ntk` and score the trained networks for that.)"""
    cfg = config or mok_config(in_channels=int(X.shape[1]), input_size=int(X.shape[-1]))

    def score(cell: str) -> float:
        net = build_nb201_conv(cell, cfg, seed=seed, init=init, dtype=dtype, device=device)
        return lga_score(net, X, y, bn_train_mode=bn_train_mode, include_diag=include_diag)

    return select_by_score(cells, score, "max")
