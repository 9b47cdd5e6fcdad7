"""Which k RoGA_Look can afford: how stale its reused component is, and what each k costs.

Trains ``small_cnn`` on SynthFF GID (test env 0, three training envs) with RoGA_Look at each k
(k = 1 is RoGA exactly) from the same initial weights and the same batches, and at every reuse
step also computes, for diagnosis only, the component u* a full RoGA step would store at that
θ (on a deep copy of the algorithm: it does not enter the update). Prints one JSON line per k:

- the training loss (mean of the first and of the last 40 steps),
- ``cos_u_stale``: the mean cosine between the stored u and the fresh u*, over all reuse steps,
  and ``cos_by_lag``: the same by lag (steps since the full step that stored u),
- ``u_norm``: the mean ‖u*‖ (1 when every domain's flatness direction agrees, ~1/√K when they are
  unrelated),
- ``cost``: the update cost per step over a whole cycle, (c_full + (k − 1) c_reuse)/k × ERM, from
  the costs given (``--full_cost``, ``--reuse_cost``: RoGA's and a reuse step's, × ERM, measured
  with ``python -m roga_bench.bench``).

    python benchmarks/roga_look_k.py --steps 200 --image_size 32
    python benchmarks/roga_look_k.py --steps 200 --image_size 32 --ks 5 --look_alpha 0

A measurement for docs/training.md (issue 26: "which k would be needed"), not a test; CPU, a few
minutes. It does not say which k reaches RoGA's AUC: that takes a sweep with fresh trials.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
from typing import Any

import torch

# run as a script, benchmarks/ is on sys.path: the same helpers as LookSAM's reuse measurement
from looksam_reuse import _batches, _cos, _flat

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.hparams import default_hparams

_U = "roga_look_u"


def _u(algo: Any) -> torch.Tensor:
    params = [p for p in algo.network.parameters() if p.requires_grad]
    state = algo.wrapper.state
    return _flat([state[p].get(_U, torch.zeros_like(p)) for p in params])


def fresh_u(algo: Any, minibatches: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """The u a full RoGA step would store at the current θ, on a copy (``algo`` is untouched)."""
    twin = copy.deepcopy(algo)
    twin.wrapper.k = 1  # every step a full step
    twin.update(minibatches)
    return _u(twin)


def run(k: int, args: argparse.Namespace) -> dict[str, Any]:
    hp = default_hparams("RoGA_Look", "SynthFFLOMO")
    hp.update(image_size=args.image_size, batch_size=args.batch_size, k=k)
    if args.look_alpha is not None:
        hp["look_alpha"] = args.look_alpha
    torch.manual_seed(0)
    dataset = DATASETS.get("SynthFFLOMO")(None, [0], hp)
    envs = [1, 2, 3]
    torch.manual_seed(1)
    algo = ALGORITHMS.get("RoGA_Look")(dataset.input_shape, dataset.num_classes, len(envs), hp)
    loaders = [_batches(dataset.split(e, "train"), hp["batch_size"], seed=10 + e) for e in envs]
    losses: list[float] = []
    by_lag: dict[int, list[float]] = {}
    norms: list[float] = []
    for step in range(args.steps):
        minibatches = [next(it) for it in loaders]
        if not algo.wrapper.is_full_step() and step > 0:
            fresh = fresh_u(algo, minibatches)
            by_lag.setdefault(step % k, []).append(_cos(_u(algo), fresh))
            norms.append(float(fresh.norm()))
        losses.append(float(algo.update(minibatches)["loss"]))
    mean = statistics.fmean
    every = [c for cs in by_lag.values() for c in cs]
    return {
        "k": k,
        "look_alpha": hp["look_alpha"],
        "loss_first40": round(mean(losses[:40]), 4),
        "loss_last40": round(mean(losses[-40:]), 4),
        "cos_u_stale": round(mean(every), 3) if every else None,
        "cos_by_lag": {lag: round(mean(cs), 3) for lag, cs in sorted(by_lag.items())},
        "u_norm": round(mean(norms), 3) if norms else None,
        "cost": round((args.full_cost + (k - 1) * args.reuse_cost) / k, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--look_alpha", type=float, default=None, help="default: the hparam's")
    parser.add_argument("--full_cost", type=float, default=2.10, help="RoGA's step, x ERM")
    parser.add_argument("--reuse_cost", type=float, default=1.01, help="a reuse step, x ERM")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for k in args.ks:
        print(json.dumps(run(k, args)), flush=True)


if __name__ == "__main__":
    main()
