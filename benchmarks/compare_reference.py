r"""Run the papers' released functions beside ntkcheck's on the same weights and inputs; print the differences.

    python benchmarks/compare_reference.py --tenas PATH --mok PATH --chen PATH [--json OUT] [--quick]

or with the checkouts named by environment variables ``NTKCHECK_REF_TENAS`` (VITA-Group/TENAS),
``NTKCHECK_REF_MOK`` (naver-ai/demystifying-ntk) and ``NTKCHECK_REF_CHEN`` (VITA-Group/architecture_convergence).
Each part runs only when its checkout is given.  Nothing of their code is in this repository: their modules are
imported from the checkout at run time (TE-NAS ``lib/``, Mok et al.'s ``ntk_nas_init/foresight``), or, where a
file is a script that cannot be imported (``nas-without-training/search.py``, ``TENAS/prune_tenas.py``), the
named function definitions are compiled from it with ``ast`` and run in a namespace this harness provides.

Shims (this file only): CUDA calls become no-ops on the CPU (``Tensor.cuda``, ``Module.cuda``,
``torch.cuda.current_device``); the functions removed from PyTorch 2 are re-provided with their old semantics
(``torch.symeig`` = ``eigvalsh`` of the upper triangle, ``torch.eig`` = LAPACK ``geev`` eigenvalues as an (n, 2)
real/imaginary array); the loaders they read get an iterator with the Python-2 ``.next()`` their code calls;
``torchvision`` and the TE-NAS ``datasets`` package (needed only to build CIFAR loaders) are stubbed when absent;
the linear-region count's in-place ``res += res.T`` (aliased, refused by current PyTorch) is computed as the
symmetric sum ``res + res.T`` its comment describes; its fp16 Gram matrix of the 0/1 patterns is formed in fp32
(``Tensor.half`` → ``float``: CPUs have no fast fp16 matrix product; the entries are integer counts below 2048,
exact in both).

Parts (each prints what was compared, both values and the difference):

TE-NAS  T1 κ_N of their NB201 supernet (``get_ntk_n``) vs ntkcheck on the same weights (copied by name) and
           batch, several pruned states; ntkcheck also run on *their* model object ((features, logits) output).
        T2 R_N of their thin network (``Linear_Region_Collector``, fp16 Hamming count) vs ntkcheck's count.
        T3 ``round_to`` vs :func:`ntkcheck.empirical.nas_search.round_to_code` on 10⁵ values.
        T4 one real pruning round of their ``prune_func_rank`` (CPU, synthetic images and patches): weight copies
           observed, and the pruning decision recomputed by ntkcheck's ranking from the recorded κ and R.
        T5 tie-breaking: ``prune_func_rank`` driven by tables of Δκ/ΔR full of exact and rounded ties vs
           :func:`~ntkcheck.empirical.nas_search.released_code_ranking` (and how often a dense or ordinal rank
           would have chosen differently).
Mok     M1 their ``get_model_from_arch_str`` NB201 model vs ntkcheck's ``mok_config`` network: parameter counts,
           BN flags per location, forward outputs on the same weights.
        M2 their ``others_all_bn`` / ``others_all_eval_bn`` measures (NTK mean, κ, Frobenius norm, LGA) vs
           ntkcheck's :func:`ntk_metrics` on the same weights and batch.
Chen    C1 their NB201 (d̄, m̄) and hard-coded filter over all 15,625 cells vs ntkcheck's.
        C2 their supernet (d̄, m̄) from architecture weights vs
           :func:`~ntkcheck.empirical.supernet_connectivity.supernet_depth_width` on random alive sets.
        C3 their TE-NAS+DAG ``prune_func_rank``: the skipped (pre-reserved) candidates in each round vs
           :func:`~ntkcheck.empirical.supernet_connectivity.pre_reserved`, and the pruning decision.

Tolerances: κ compared relative, float32 networks on both sides (their code's precision); ntkcheck forms the Gram
matrix in float64 from float32 gradients where their code uses float32, so κ agrees to float32 rounding
amplified by κ (reported, not asserted).  Counts, ranks, filters and pruning choices are compared exactly.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import itertools
import json
import math
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from ntkcheck.empirical.linear_regions import count_linear_regions
from ntkcheck.empirical.metrics import condition_number, logit_sum_ntk, ntk_metrics
from ntkcheck.empirical.nas_search import dense_rank, ordinal_rank, released_code_ranking, round_to_code
from ntkcheck.empirical.nb201_conv import CANDIDATE_OPS, build_nb201_conv, mok_config, tenas_ntk_config, thin_config
from ntkcheck.empirical.supernet_connectivity import alive_alphas, pre_reserved, supernet_depth_width
from ntkcheck.spec import NB201_EDGES, NB201_OPS
from ntkcheck.theory.connectivity import filter_code, nb201_depth_width

INF = 1000
RESULTS: dict = {}
ONLY: set[str] = set()  # empty = every part


def want(part: str) -> bool:
    return not ONLY or part in ONLY


def say(*a) -> None:
    print(*a, flush=True)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ---- shims ---------------------------------------------------------------------------------------------

class _Tqdm:
    def __init__(self, *a, **k): pass
    def update(self, *a): pass
    def close(self): pass


@contextlib.contextmanager
def cpu_shims():
    saved = {"tcuda": torch.Tensor.cuda, "mcuda": nn.Module.cuda, "cur": torch.cuda.current_device,
             "empty": torch.cuda.empty_cache}
    removed = {n: getattr(torch, n, None) for n in ("symeig", "eig")}  # present in torch 2 only as errors
    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self
    torch.cuda.current_device = lambda: "cpu"
    torch.cuda.empty_cache = lambda: None
    torch.symeig = lambda A, eigenvectors=False, upper=True: (torch.linalg.eigvalsh(A, UPLO="U" if upper else "L"),
                                                              None)
    torch.eig = lambda A, eigenvectors=False: (torch.view_as_real(torch.linalg.eigvals(A)).contiguous(), None)
    iadd = torch.Tensor.__iadd__

    def aliased_iadd(self, other):  # `res += res.T`: refused by current PyTorch; the symmetric sum it means
        if isinstance(other, torch.Tensor) and other.untyped_storage().data_ptr() == self.untyped_storage().data_ptr():
            return self.copy_(self + other)
        return iadd(self, other)

    torch.Tensor.__iadd__ = aliased_iadd
    half = torch.Tensor.half
    torch.Tensor.half = lambda self, *a, **k: self.float()  # CPU has no fast fp16 GEMM (see module docstring)
    try:
        yield
    finally:
        torch.Tensor.__iadd__, torch.Tensor.half = iadd, half
        torch.Tensor.cuda, nn.Module.cuda = saved["tcuda"], saved["mcuda"]
        torch.cuda.current_device, torch.cuda.empty_cache = saved["cur"], saved["empty"]
        for n, f in removed.items():
            if f is None:
                delattr(torch, n)
            else:
                setattr(torch, n, f)


def stub_module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def load_defs(path: Path, names: list[str], env: dict) -> dict:
    """Compile the named top-level function definitions of a script into ``env`` (their code, run in place)."""
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    missing = set(names) - {n.name for n in body}
    if missing:
        raise SystemExit(f"{path}: function(s) {sorted(missing)} not found")
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), env)
    return env


def import_tenas_lib(lib: Path):
    """Their ``models`` and ``procedures`` packages (TE-NAS ``lib/``), with torchvision/datasets stubbed."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        tv = stub_module("torchvision")
        tv.transforms = stub_module("torchvision.transforms")
        tv.datasets = stub_module("torchvision.datasets")
    if "datasets" not in sys.modules:
        stub_module("datasets", CUTOUT=None, Dataset2Class={}, ImageNet16=None, get_datasets=None,
                    get_nas_search_loaders=None)
    if str(lib) not in sys.path:
        sys.path.insert(0, str(lib))
    import models  # noqa: E402  (their package)
    import procedures  # noqa: E402
    from procedures.linear_region_counter import Linear_Region_Collector
    return models, procedures.get_ntk_n, Linear_Region_Collector


class PoolLoader:
    """A 'shuffled loader': every iteration starts a fresh seeded permutation of the pool; its iterator also
    answers the Python-2 ``.next()`` that their linear-region collector calls."""

    def __init__(self, pool: torch.Tensor, batch: int, seed: int):
        self.pool, self.batch, self.rng = pool, batch, np.random.default_rng(seed)

    def __iter__(self):
        pool, b, rng = self.pool, self.batch, self.rng

        class It:
            def __next__(self):
                idx = torch.as_tensor(rng.permutation(pool.shape[0])[:b])
                return pool[idx], torch.zeros(b, dtype=torch.long)
            next = __next__

            def __iter__(self):
                return self
        return It()


# ---- weight mapping ------------------------------------------------------------------------------------

_EDGE_KEY = {f"{t}<-{s}": e for e, (s, t) in enumerate(NB201_EDGES)}


def tenas_to_ours(name: str) -> str | None:
    """Their TinyNetworkDarts parameter name → ntkcheck's (NB201 ops: 'none' at index 0 of their op list)."""
    if name == "arch_parameters":
        return None
    parts = name.split(".")
    if parts[0] == "cells" and parts[2] == "edges":
        e, op = _EDGE_KEY[parts[3]], NB201_OPS[int(parts[4])]
        return ".".join(["cells", parts[1], "edges", str(e), op] + parts[5:])
    return name


def copy_tenas_weights(theirs: nn.Module, ours: nn.Module) -> int:
    mine = dict(ours.named_parameters())
    n = 0
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            t = tenas_to_ours(name)
            if t is None or t not in mine:
                continue  # their thin network keeps an unused stem; 'none' ops have no parameters
            mine[t].copy_(p)
            n += 1
    return n


def set_their_alive(net, alive) -> None:
    a = torch.full((6, len(NB201_OPS)), -float(INF))
    for e, ops in enumerate(alive):
        for o in ops:
            a[e, NB201_OPS.index(o)] = 0.0
    net.set_alphas([a])


def random_alive(rng, k_max=4):
    alive = []
    for _ in range(6):
        k = int(rng.integers(1, k_max + 1))
        alive.append(tuple(sorted(rng.choice(CANDIDATE_OPS, k, replace=False), key=CANDIDATE_OPS.index)))
    return tuple(alive)


# ---- TE-NAS --------------------------------------------------------------------------------------------

def tenas_part(root: Path, quick: bool) -> None:
    out = RESULTS.setdefault("tenas", {})
    models, get_ntk_n, LRC = import_tenas_lib(root / "lib")
    cfg = SimpleNamespace(name="DARTS-V1", C=3, N=1, depth=-1, use_stem=True, max_nodes=4, num_classes=10,
                          space=list(NB201_OPS), affine=True, track_running_stats=True)
    cfg_thin = SimpleNamespace(name="DARTS-V1", C=1, N=1, depth=1, use_stem=False, max_nodes=4, num_classes=10,
                               space=list(NB201_OPS), affine=True, track_running_stats=True)
    rng = np.random.default_rng(0)
    g = torch.Generator().manual_seed(0)
    side, nb = (8, 8) if quick else (16, 16)
    with cpu_shims():
        # T1: κ on the same weights and batch
        rows = []
        for trial in range(3 if quick else 6) if want("T1") else ():
            torch.manual_seed(trial)
            theirs = models.get_cell_based_tiny_net(cfg).train()
            alive = tuple(tuple(CANDIDATE_OPS) for _ in range(6)) if trial == 0 else random_alive(rng)
            set_their_alive(theirs, alive)
            ours = build_nb201_conv(None, tenas_ntk_config(input_size=side), seed=0, init="default", device="cpu",
                                    dtype=torch.float32)
            copy_tenas_weights(theirs, ours)
            ours.set_alive(alive)
            X = torch.randn(nb, 3, side, side, generator=g)
            k_theirs = float(get_ntk_n([(X, None)], [theirs], recalbn=0, train_mode=True, num_batch=1)[0])
            k_ours32 = condition_number(logit_sum_ntk(ours, X, params="weight"), compat="tenas").value
            k_on_theirs = condition_number(logit_sum_ntk(theirs, X, params="weight"), compat="tenas").value
            k_ours64 = condition_number(logit_sum_ntk(ours.double(), X.double(), params="weight")).value
            rows.append({"alive_ops": sum(len(a) for a in alive), "theirs": k_theirs, "ntkcheck_fp32": k_ours32,
                         "ntkcheck_on_their_model": k_on_theirs, "ntkcheck_fp64": k_ours64,
                         "rel_fp32": rel(k_theirs, k_ours32), "rel_fp64": rel(k_theirs, k_ours64)})
        if rows:
            out["T1_kappa"] = rows
            say("TE-NAS T1  κ_N, their get_ntk_n vs ntkcheck (same weights, same batch of", nb, f"{side}×{side} images)")
        for r in rows:
            say(f"  {r['alive_ops']:2d} live ops: theirs {r['theirs']:.6g}  ntkcheck fp32 {r['ntkcheck_fp32']:.6g} "
                f"(on their model object {r['ntkcheck_on_their_model']:.6g})  fp64 {r['ntkcheck_fp64']:.6g}  "
                f"rel.diff fp32 {r['rel_fp32']:.1e}, fp64 {r['rel_fp64']:.1e}")

        # T2: linear regions
        rows = []
        for trial in range(3 if quick else 5) if want("T2") else ():
            torch.manual_seed(100 + trial)
            thin = models.get_cell_based_tiny_net(cfg_thin).train()
            alive = tuple(tuple(CANDIDATE_OPS) for _ in range(6)) if trial == 0 else random_alive(rng)
            set_their_alive(thin, alive)
            ours = build_nb201_conv(None, thin_config(), seed=0, init="default", device="cpu", dtype=torch.float32)
            copy_tenas_weights(thin, ours)
            ours.set_alive(alive)
            P = torch.randn(3000, 1, 3, 3, generator=g)
            lrc = LRC(input_size=(1000, 1, 3, 3), sample_batch=3, dataset="cifar100", data_path=None, seed=0)
            lrc.reinit(models=[thin], seed=0)
            for k in range(3):
                lrc.forward(thin, lrc.LRCounts[0], P[1000 * k:1000 * (k + 1)])
            r_theirs = float(lrc.LRCounts[0].getLinearReginCount())
            r_ours = count_linear_regions(ours, P, train_mode=True, only_4d=True, batch_size=1000)
            rows.append({"alive_ops": sum(len(a) for a in alive), "theirs": r_theirs, "ntkcheck": r_ours})
        if rows:
            out["T2_regions"] = rows
            say("TE-NAS T2  R_N, their Linear_Region_Collector (fp16 Hamming) vs ntkcheck (distinct patterns), 3000 patches")
        for r in rows:
            say(f"  {r['alive_ops']:2d} live ops: theirs {r['theirs']:.4f}  ntkcheck {r['ntkcheck']}  "
                f"diff {r['theirs'] - r['ntkcheck']:+.4f}")

    if want("T3"):
        t3(root, rng, out)
    if want("T4") or want("T5"):
        tenas_rounds(root / "prune_tenas.py", models, get_ntk_n, LRC, cfg, cfg_thin, out, quick, pre_reserve=None)


def t3(root, rng, out):
    env = load_defs(root / "prune_tenas.py", ["round_to"], {"math": math})
    vals = np.concatenate([rng.normal(size=40000), rng.normal(size=40000) * 10.0 ** rng.integers(-9, 4, 40000),
                           np.round(rng.normal(size=20000), 3)])
    mism = sum(env["round_to"](float(v), 3) != round_to_code(float(v), 3) for v in vals)
    out["T3_round_to"] = {"values": int(vals.size), "mismatches": int(mism)}
    say(f"TE-NAS T3  round_to vs round_to_code on {vals.size} values: {mism} mismatches")


def their_prune_env(path: Path, models, extra: dict, pre_reserve: bool) -> dict:
    names = ["round_to", "kaiming_normal_fanin_init", "kaiming_normal_fanout_init", "init_model", "prune_func_rank"]
    if pre_reserve:
        names += ["find_all_paths_3d_prob", "effective_depth_width_prob", "edge2value", "alpha2affinity"]
    env = {"np": np, "math": math, "torch": torch, "nn": nn, "tqdm": _Tqdm, "INF": INF,
           "get_cell_based_tiny_net": models.get_cell_based_tiny_net}
    env.update(extra)
    return load_defs(path, names, env)


def _cand(net, parent_alpha) -> tuple[int, str]:
    a = net.arch_parameters.detach()
    idx = ((a <= -INF / 2) & (parent_alpha > -INF / 2)).nonzero()
    assert idx.shape[0] == 1, "candidate must differ from its parent by one pruned op"
    return int(idx[0, 0]), NB201_OPS[int(idx[0, 1])]


def _their_choices(choices_edges) -> set[tuple[int, str]]:
    return {(int(e), NB201_OPS[int(k)]) for ch in choices_edges for (_, e, k) in ch}


def _run_round(env, xargs, alive, cfg, cfg_thin, loader, lrc, precision, prune_number, pre_reserve):
    arch = [torch.tensor(alive_alphas(alive, NB201_OPS), dtype=torch.float32)]
    args = [xargs, arch, cfg, cfg_thin, loader, lrc, list(NB201_OPS)]
    if pre_reserve is not None:
        return env["prune_func_rank"](*args, "nas-bench-201", precision=precision, prune_number=prune_number,
                                      pre_researve_per_edge=pre_reserve)
    return env["prune_func_rank"](*args, precision=precision, prune_number=prune_number)


def _ours_decision(records_k, records_r, precision, prune_number):
    cands = list(dict.fromkeys(c for c, _, _ in records_k))
    mk = [float(np.mean([round((k0 - k) / k0, precision) for c2, k0, k in records_k if c2 == c])) for c in cands]
    mr = [float(np.mean([round((r0 - r) / r0, precision) for c2, r0, r in records_r if c2 == c])) for c in cands]
    _, _, _, chosen = released_code_ranking(mk, mr, [c[0] for c in cands], precision=precision,
                                            prune_number=prune_number)
    return cands, mk, mr, {cands[i] for i in chosen}


class TableLRC:
    """Stands in for their Linear_Region_Collector: R values from a table keyed by the pruned candidate."""

    def __init__(self, table, parent, log):
        self.table, self.parent, self.log = table, parent, log

    def reinit(self, models=None, **kw):
        self.models = models

    def forward_batch_sample(self):
        c = _cand(self.models[1], self.parent)
        r = 100.0 * (1 - self.table[c])
        self.log.append((c, 100.0, r))
        return [100.0, r]

    def clear(self):
        pass


def tenas_rounds(path: Path, models, get_ntk_n, LRC, cfg, cfg_thin, out, quick, pre_reserve):
    """T4 (a real round) and T5 (tables of ties) on ``path``'s prune_func_rank (TE-NAS or TE-NAS+DAG)."""
    tag = "TE-NAS" if pre_reserve is None else "TE-NAS+DAG"
    rng = np.random.default_rng(1)
    full = tuple(tuple(CANDIDATE_OPS) for _ in range(6))
    with cpu_shims():
        if pre_reserve is None and want("T4"):
            # T4: a real round
            rec_k, rec_r, copies, parents = [], [], [], []
            state = {}

            def ntk_recording(loader, networks, **kw):
                origin, net = networks
                # every parameter but the architecture weights (reset to the candidate's after the copy)
                po = {n: p.detach().clone() for n, p in origin.named_parameters() if n != "arch_parameters"}
                pc = {n: p.detach() for n, p in net.named_parameters() if n != "arch_parameters"}
                copies.append(po.keys() == pc.keys() and all(torch.equal(po[n], pc[n]) for n in po))
                parents.append(hash(tuple(float(p.sum()) for p in po.values())))
                k0, k = get_ntk_n(loader, networks, **kw)
                rec_k.append((_cand(net, state["parent"]), float(k0), float(k)))
                return k0, k

            env = their_prune_env(path, models, {"get_ntk_n": ntk_recording}, False)
            side = 8
            imgs = torch.randn(200, 3, side, side, generator=torch.Generator().manual_seed(1))
            patches = torch.randn(20000, 1, 3, 3, generator=torch.Generator().manual_seed(2))
            lrc = LRC(input_size=(1000, 1, 3, 3), sample_batch=3, dataset="cifar100", data_path=None, seed=0)
            lrc.train_loader = PoolLoader(patches, 1000, 3)
            lrc.loader = iter(lrc.train_loader)
            fwd = lrc.forward_batch_sample

            def lr_recording():
                r0, r = fwd()
                rec_r.append((_cand(lrc.models[1], state["parent"]), float(r0), float(r)))
                return r0, r

            lrc.forward_batch_sample = lr_recording
            cfg8 = SimpleNamespace(**{**vars(cfg)})
            xargs = SimpleNamespace(init="kaiming_normal", repeat=2, rand_seed=0)
            state["parent"] = torch.tensor(alive_alphas(full, NB201_OPS), dtype=torch.float32)
            torch.manual_seed(0)
            _, choices = _run_round(env, xargs, full, cfg8, cfg_thin, PoolLoader(imgs, 8, 4), lrc, 3, 1, None)
            theirs = _their_choices(choices)
            cands, mk, mr, ours = _ours_decision(rec_k, rec_r, 3, 1)
            # their κ on the recorded networks vs ntkcheck's: replayed below on fresh copies is not possible
            # (their networks are gone), so the weight-copy and parent checks are what T4 records
            out["T4_round"] = {"candidates": len(cands), "kappa_calls": len(rec_k), "weights_copied": all(copies),
                               "distinct_kappa_parents": len(set(parents)),
                               "their_pruned": sorted(map(list, theirs)), "ntkcheck_pruned": sorted(map(list, ours)),
                               "same_decision": theirs == ours}
            say(f"{tag} T4  one real round (24 candidates, repeat 2, 8 images {side}×{side}, 3×1000 patches): "
                f"parent weights copied into every candidate: {all(copies)}; κ parents over the round: "
                f"{len(set(parents))} distinct (default init, never redrawn); pruned ops, theirs == ntkcheck's "
                f"ranking of their κ/R: {theirs == ours}")

        # T5 / C3: constructed tables with ties
        if not want("T5" if pre_reserve is None else "C3"):
            return
        agree = dense_diff = ord_diff = 0
        reserve_agree = 0
        n_tables = 4 if quick else 12
        states = [full, tuple(a[:3] for a in full), tuple(a[1:3] for a in full)]
        for t in range(n_tables):
            alive = states[t % 3] if pre_reserve is not None else full
            kvals = [-1.2341, -1.2342, -1.2345, -1.2346, 0.5, 0.5001, 0.25, 0.0]
            rvals = [0.0, 0.01, 0.0101, -0.02, 0.1]
            cands_all = [(e, o) for e in range(6) if len(alive[e]) > 1 for o in alive[e]]
            dk = {c: kvals[int(rng.integers(len(kvals)))] for c in cands_all}
            dr = {c: rvals[int(rng.integers(len(rvals)))] for c in cands_all}
            rec_k, rec_r = [], []
            parent = torch.tensor(alive_alphas(alive, NB201_OPS), dtype=torch.float32)

            def ntk_table(loader, networks, **kw):
                c = _cand(networks[1], parent)
                rec_k.append((c, 10.0, 10.0 * (1 - dk[c])))
                return 10.0, 10.0 * (1 - dk[c])

            env = their_prune_env(path, models, {"get_ntk_n": ntk_table}, pre_reserve is not None)
            xargs = SimpleNamespace(init="kaiming_normal", repeat=1, rand_seed=0, search_space_name="nas-bench-201")
            lrc = TableLRC(dr, parent, rec_r)
            torch.manual_seed(t)
            res = _run_round(env, xargs, alive, cfg, cfg_thin, None, lrc, 4, 1, pre_reserve)
            theirs = _their_choices(res[1])
            cands, mk, mr, ours = _ours_decision(rec_k, rec_r, 4, 1)
            agree += theirs == ours
            # the alternatives a tie rule could plausibly take
            for rank, counter in ((dense_rank, "dense"), (ordinal_rank, "ordinal")):
                sk = rank([round_to_code(v, 4) for v in mk] if counter == "dense" else mk, descending=True)
                sr = rank([round_to_code(v, 4) for v in mr] if counter == "dense" else mr, descending=False)
                alt = set()
                for e in {c[0] for c in cands}:
                    idx = [i for i, c in enumerate(cands) if c[0] == e]
                    alt.add(cands[min(idx, key=lambda i: sk[i] + sr[i])])
                if alt != theirs:
                    if counter == "dense":
                        dense_diff += 1
                    else:
                        ord_diff += 1
            if pre_reserve is not None:
                skipped = set(cands_all) - set(cands)
                reserve_agree += skipped == pre_reserved(alive, pre_reserve=pre_reserve, prune_number=1)
        key = "T5_ties" if pre_reserve is None else "C3_pre_reserve"
        out[key] = {"tables": n_tables, "same_decision": agree, "dense_rank_would_differ": dense_diff,
                    "ordinal_rank_would_differ": ord_diff}
        say(f"{tag} {key.split('_')[0]}  {n_tables} tables of Δκ/ΔR with exact and rounded ties (precision 4): "
            f"ntkcheck's released_code_ranking chose their pruned ops in {agree}/{n_tables}; a dense rank of rounded "
            f"values would differ in {dense_diff}, an ordinal rank in {ord_diff}")
        if pre_reserve is not None:
            out[key]["skipped_sets_equal"] = reserve_agree
            say(f"           skipped (pre-reserved) candidates equal to ntkcheck's pre_reserved: "
                f"{reserve_agree}/{n_tables} (rounds with 4, 3, 2 live ops)")


# ---- Mok et al. ----------------------------------------------------------------------------------------

MOK_OPS = ("none", "avg_pool_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect")  # their OPS dict order


def mok_to_ours(name: str) -> str:
    p = name.split(".")
    if p[0] == "stem":
        return ".".join(["stem"] + p[2:])
    if p[0].startswith("stack_cell"):
        s, i, idx = int(p[0][-1]) - 1, int(p[1]), int(p[3])
        e, op = idx // 5, MOK_OPS[idx % 5]
        return ".".join(["cells", str(6 * s + i), "edges", str(e), op] + p[4:])
    if p[0].startswith("reduction"):
        k = 5 if p[0] == "reduction1" else 11
        rest = ["downsample"] + p[2:] if p[1] == "residual" else p[1:]
        return ".".join(["cells", str(k)] + rest)
    if p[0] == "top":
        return ".".join(p[1:])
    raise KeyError(name)


def mok_part(root: Path, quick: bool) -> None:
    out = RESULTS.setdefault("mok", {})
    sys.path.insert(0, str(root / "ntk_nas_init"))
    from foresight.models import nasbench2
    from foresight.pruners import measures
    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
             "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
             "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"]
    if quick:
        cells = cells[:2]
    side, n = (8, 8) if quick else (16, 16)
    g = torch.Generator().manual_seed(0)
    rows = []
    with cpu_shims():
        for cell in cells:
            torch.manual_seed(42)  # their model seed
            theirs = nasbench2.get_model_from_arch_str(cell, 10)
            ours = build_nb201_conv(cell, mok_config(input_size=side), seed=0, init="default", device="cpu",
                                    dtype=torch.float32)
            mine = ours.state_dict()
            used = 0
            with torch.no_grad():
                for name, t in theirs.state_dict().items():
                    o = mok_to_ours(name)
                    if o in mine:
                        mine[o].copy_(t)
                        used += t.numel() if name in dict(theirs.named_parameters()) else 0
            n_theirs = sum(p.numel() for p in theirs.parameters())
            n_ours = sum(p.numel() for p in ours.parameters())
            bn_loc = {"cell": set(), "other": set()}
            for name, m in theirs.named_modules():
                if isinstance(m, nn.BatchNorm2d):
                    bn_loc["cell" if "stack_cell" in name else "other"].add((m.affine, m.track_running_stats))
            ours_loc = {"cell": set(), "other": set()}
            for name, m in ours.named_modules():
                if isinstance(m, nn.BatchNorm2d):
                    ours_loc["cell" if ".edges." in name else "other"].add((m.affine, m.track_running_stats))
            X = torch.randn(n, 3, side, side, generator=g)
            y = torch.arange(n) % 10
            theirs.train()
            ours.train()
            with torch.no_grad():
                fwd = float((theirs(X) - ours(X)).abs().max())
            row = {"cell": cell, "params_their_code": n_theirs, "params_ntkcheck": n_ours,
                   "params_their_code_used_by_cell": used, "bn_flags_theirs": {k: sorted(v) for k, v in bn_loc.items()},
                   "bn_flags_ntkcheck": {k: sorted(v) for k, v in ours_loc.items()}, "max_abs_forward_diff": fwd}
            snapshot = {k: v.clone() for k, v in ours.state_dict().items()}
            # where a difference comes from: their per-sample gradients (their filter: 'weight', not
            # 'classifier', grad not None), Gram in fp32 (their einsum) and in fp64, against ntkcheck's kernel
            their_snapshot = {k: v.clone() for k, v in theirs.state_dict().items()}
            out_t = theirs(X)
            G = []
            for i in range(n):
                theirs.zero_grad()
                out_t[i:i + 1].backward(torch.ones_like(out_t[i:i + 1]), retain_graph=True)
                G.append(torch.cat([W.grad.reshape(-1) for nm, W in theirs.named_parameters()
                                    if "weight" in nm and W.grad is not None and "classifier" not in nm]))
            theirs.zero_grad()
            theirs.load_state_dict(their_snapshot)  # undo the running-statistics update of that forward pass
            G = torch.stack(G)
            K64 = G.double() @ G.double().T
            scale = float(K64.abs().max())
            row["gram_fp32_vs_fp64_their_grads"] = float((torch.einsum("nc,mc->nm", G, G).double() - K64).abs().max()) / scale
            ours.load_state_dict(snapshot)
            row["gram_ntkcheck_vs_fp64_their_grads"] = float(
                (logit_sum_ntk(ours, X, params="weight_no_classifier") - K64).abs().max()) / scale
            for choice, train in (("others_all_bn", True), ("others_all_eval_bn", False)):
                ours.load_state_dict(snapshot)  # the same BN running statistics as their copy starts with
                knas, tenas, fnorm, lgc = measures.calc_measure(choice, theirs, "cpu", X, y, loss_fn=None, split_data=1)
                K = logit_sum_ntk(ours, X, params="weight_no_classifier", bn_train_mode=train)
                m = ntk_metrics(K, y, compat="mok")
                row[choice] = {"theirs": [float(knas), float(tenas), float(fnorm), float(lgc)],
                               "ntkcheck": [m.mean, m.cond.value, m.frobenius, m.lga],
                               "rel": [rel(float(a), b) for a, b in zip((knas, tenas, fnorm, lgc),
                                                                         (m.mean, m.cond.value, m.frobenius, m.lga))]}
            rows.append(row)
    out["M1_M2"] = rows
    say(f"Mok M1  their NB201 model vs ntkcheck mok_config (C=16, N=5), {n} images {side}×{side}, same weights")
    for r in rows:
        say(f"  {r['cell']}\n    parameters: their code {r['params_their_code']} (every op of every edge is "
            f"instantiated), of which the cell uses {r['params_their_code_used_by_cell']}; ntkcheck "
            f"{r['params_ntkcheck']}\n    BN (affine, tracked) per location: theirs {r['bn_flags_theirs']}, ntkcheck "
            f"{r['bn_flags_ntkcheck']}; max |logit difference| {r['max_abs_forward_diff']:.2e}")
        say(f"    kernel, max entry difference / max entry: their fp32 Gram vs the fp64 Gram of their own gradients "
            f"{r['gram_fp32_vs_fp64_their_grads']:.1e}; ntkcheck's kernel vs that fp64 Gram "
            f"{r['gram_ntkcheck_vs_fp64_their_grads']:.1e}")
        for choice in ("others_all_bn", "others_all_eval_bn"):
            t, o, d = r[choice]["theirs"], r[choice]["ntkcheck"], r[choice]["rel"]
            say(f"    M2 {choice}: (mean, κ, ‖Θ‖_F, LGA) theirs ({', '.join(f'{v:.6g}' for v in t)}) ntkcheck "
                f"({', '.join(f'{v:.6g}' for v in o)}) rel.diff ({', '.join(f'{v:.1e}' for v in d)})")


# ---- Chen et al. ---------------------------------------------------------------------------------------

def chen_part(root: Path, quick: bool, tenas_models) -> None:
    out = RESULTS.setdefault("chen", {})
    env = load_defs(root / "nas-without-training" / "search.py", ["effective_depth_width_201", "pre_is_bad"],
                    {"np": np, "args": SimpleNamespace(nasspace="nasbench201")})
    n = d_diff = keep_diff = 0
    for ops in itertools.product(NB201_OPS, repeat=6):
        cell = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
        d, m = env["effective_depth_width_201"](cell)
        d2, m2 = nb201_depth_width(cell)
        n += 1
        d_diff += (float(d), float(m)) != (d2, m2)
        keep_diff += (not env["pre_is_bad"](cell, 0.99, 2.51, 0.99, 3.01)) != bool(filter_code(d2, m2))
    out["C1_filter"] = {"cells": n, "dbar_mbar_differ": d_diff, "keep_differs": keep_diff}
    say(f"Chen C1  NB201 (d̄, m̄) and the hard-coded filter over {n} cells: (d̄, m̄) differ in {d_diff}, "
        f"keep/reject differs in {keep_diff}")

    prune = root / "TENAS" / "prune_tenas.py"
    env2 = load_defs(prune, ["find_all_paths_3d_prob", "effective_depth_width_prob", "edge2value", "alpha2affinity"],
                     {"np": np})
    rng = np.random.default_rng(5)
    worst, exact, total = 0.0, 0, 0
    for _ in range(500 if quick else 3000):
        alive = random_alive(rng)
        A = alive_alphas(alive, NB201_OPS)
        aff = env2["alpha2affinity"](torch.tensor(A), list(NB201_OPS), "nas-bench-201")
        with np.errstate(all="ignore"):
            d, m = env2["effective_depth_width_prob"](aff, "nas-bench-201")
        d2, m2 = supernet_depth_width(A)
        total += 1
        if (float(d), float(m)) == (d2, m2) or (np.isnan(m) and math.isnan(m2) and float(d) == d2):
            exact += 1
        else:
            worst = max(worst, abs(float(d) - d2), abs(float(m) - m2))
    out["C2_supernet"] = {"alive_sets": total, "bit_identical": exact, "max_abs_diff_otherwise": worst}
    say(f"Chen C2  supernet (d̄, m̄) from architecture weights on {total} random alive sets: bit-identical in {exact}, "
        f"max |diff| otherwise {worst:.1e}")

    cfg = SimpleNamespace(name="DARTS-V1", C=3, N=1, depth=-1, use_stem=True, max_nodes=4, num_classes=10,
                          space=list(NB201_OPS), affine=True, track_running_stats=True)
    cfg_thin = SimpleNamespace(name="DARTS-V1", C=1, N=1, depth=1, use_stem=False, max_nodes=4, num_classes=10,
                               space=list(NB201_OPS), affine=True, track_running_stats=True)
    models = tenas_models or import_tenas_lib(root / "TENAS" / "lib")[0]
    tenas_rounds(prune, models, None, None, cfg, cfg_thin, out, quick, pre_reserve=2)


# ---- main ----------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tenas", default=os.environ.get("NTKCHECK_REF_TENAS"), help="checkout of VITA-Group/TENAS")
    p.add_argument("--mok", default=os.environ.get("NTKCHECK_REF_MOK"), help="checkout of naver-ai/demystifying-ntk")
    p.add_argument("--chen", default=os.environ.get("NTKCHECK_REF_CHEN"),
                   help="checkout of VITA-Group/architecture_convergence")
    p.add_argument("--quick", action="store_true", help="fewer trials and smaller inputs")
    p.add_argument("--json", metavar="OUT", help="also write the measured differences as JSON")
    p.add_argument("--only", default="", help="comma-separated parts to run (T1..T5, M, C1..C3); default all")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    a = p.parse_args(argv)
    if not (a.tenas or a.mok or a.chen):
        p.error("give at least one checkout (--tenas, --mok, --chen or the NTKCHECK_REF_* variables)")
    for name in ("tenas", "mok", "chen"):
        v = getattr(a, name)
        if v and not Path(v).is_dir():
            p.error(f"--{name}: {v} is not a directory")
    torch.set_num_threads(max(1, a.threads))
    ONLY.update(x.strip() for x in a.only.split(",") if x.strip())
    RESULTS["versions"] = {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
    models = None
    if a.tenas and (not ONLY or ONLY & {"T1", "T2", "T3", "T4", "T5"}):
        tenas_part(Path(a.tenas), a.quick)
        models = sys.modules.get("models")
    if a.mok and want("M"):
        mok_part(Path(a.mok), a.quick)
    if a.chen and (not ONLY or ONLY & {"C", "C1", "C2", "C3"}):
        chen_part(Path(a.chen), a.quick, models)
    if a.json:
        Path(a.json).write_text(json.dumps(RESULTS, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
