"""Why LookSAM at α = 0.7 does not train on SynthFF: the reuse step measured against SAM's.

Trains ``small_cnn`` on SynthFF GID (test env 0, three training envs) with SAM and LookSAM
(k = 5, several α) from the same initial weights and batches, and at every reuse step also
computes, for diagnosis only, the SAM gradient g_s that a full step would have used there (one
extra forward-backward, BatchNorm statistics frozen; it does not enter the update). Prints per
run: the training loss (first and last 40 steps), and on reuse steps the means of

- ``|g_v|/|g|`` of SAM's own orthogonal component at that step (what SAM adds beside g),
- ``reuse/|g|`` = ‖d − g‖/‖g‖ of LookSAM's reused component (α by construction),
- ``cos(d, g)`` and ``cos(d, g_s)``: how far the reuse direction is from g and from SAM's,
- ``cos(g_v, g_v*)``: the stored g_v against the fresh one (how stale the reused direction is).

    python benchmarks/looksam_reuse.py --steps 200 --image_size 32

A measurement for docs/training.md, not a test; CPU, a few minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.hparams import default_hparams
from roga_bench.optim import ETA


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm() + ETA))


def _batches(split: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield from DataLoader(split, batch_size, shuffle=True, drop_last=True, generator=gen)


def _is_bn(key: str) -> bool:
    return "running" in key or "num_batches" in key


def _orthogonal(gs: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return gs - (gs @ g) / (g @ g + ETA) * g


def run(algorithm: str, overrides: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    hp = default_hparams(algorithm, "SynthFFLOMO")
    hp.update(image_size=args.image_size, batch_size=args.batch_size, **overrides)
    torch.manual_seed(0)
    dataset = DATASETS.get("SynthFFLOMO")(None, [0], hp)
    envs = [1, 2, 3]
    torch.manual_seed(1)
    algo = ALGORITHMS.get(algorithm)(dataset.input_shape, dataset.num_classes, len(envs), hp)
    loaders = [_batches(dataset.split(e, "train"), hp["batch_size"], seed=10 + e) for e in envs]
    wrapper = algo.wrapper
    params = [p for p in algo.network.parameters() if p.requires_grad]
    applied: dict[str, torch.Tensor] = {}
    algo.optimizer.register_step_pre_hook(
        lambda *_: applied.__setitem__("d", _flat([p.grad for p in params]))
    )
    losses, rows = [], []
    for _step in range(args.steps):
        batches = [next(it) for it in loaders]
        x = torch.cat([b[0] for b in batches])
        y = torch.cat([b[1] for b in batches])
        reuse = algorithm == "LookSAM" and not wrapper.is_full_step()
        if reuse:  # diagnosis: g and SAM's g_s at this θ (does not enter the update)
            stored = _flat(
                [wrapper.state[p].get("looksam_gv", torch.zeros_like(p)) for p in params]
            )
            algo.optimizer.zero_grad()
            F.cross_entropy(algo.network(x), y).backward()
            g = _flat([p.grad for p in params])
            backup = [p.detach().clone() for p in params]
            with torch.no_grad():
                for p in params:
                    p.add_(p.grad, alpha=hp["rho"] / (float(g.norm()) + ETA))
            algo.optimizer.zero_grad()
            bn = {
                k: v.clone()
                for k, v in algo.network.state_dict().items()
                if "running" in k or "num_batches" in k
            }
            F.cross_entropy(algo.network(x), y).backward()
            algo.network.load_state_dict(bn, strict=False)  # BatchNorm statistics untouched
            gs = _flat([p.grad for p in params])
            with torch.no_grad():
                for p, b in zip(params, backup, strict=True):
                    p.copy_(b)
            algo.optimizer.zero_grad()
        out = algo.update([(x, y)])
        losses.append(out["loss"])
        if reuse and float(stored.norm()) > 0:
            d = applied["d"]
            gv = _orthogonal(gs, g)
            rows.append(
                {
                    "gv_over_g": float(gv.norm() / g.norm()),
                    "reuse_over_g": float((d - g).norm() / g.norm()),
                    "cos_d_g": _cos(d, g),
                    "cos_d_gs": _cos(d, gs),
                    "cos_gv_stale": _cos(stored, gv),
                }
            )
    mean = statistics.fmean
    summary = {
        "algorithm": algorithm,
        **overrides,
        "loss_first40": round(mean(losses[:40]), 4),
        "loss_last40": round(mean(losses[-40:]), 4),
    }
    for key in ("gv_over_g", "reuse_over_g", "cos_d_g", "cos_d_gs", "cos_gv_stale"):
        if rows:
            summary[key] = round(mean(r[key] for r in rows), 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.7, 0.3, 0.1, 0.0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(run("SAM", {}, args)), flush=True)
    for alpha in args.alphas:
        print(json.dumps(run("LookSAM", {"alpha": alpha}, args)), flush=True)


if __name__ == "__main__":
    main()
