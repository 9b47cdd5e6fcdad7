"""A deterministic demo sweep in the layout of the paper suite, feeding every paper table.

``write_demo_sweep`` writes a small sweep shaped like ``python -m roga_bench.sweep launch --suite
paper`` (its jobs from ``_design``: the same tables' rows, GID algorithms, α × ρ grid), with the
training envs' test splits (``env{i}_test_*``) as training writes them; values come from an md5
of the run's identity, so they never change between machines. It imports nothing heavy::

    python -c "from roga_bench.paper.testing import write_demo_sweep as w; w('/tmp/demo')"
    python -m roga_bench.tables --input_dir /tmp/demo --tables all --format markdown
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roga_bench.paper._design import GID_ALGORITHMS, GID_DF_OPTIMIZERS, SENSITIVITY_GRID
from roga_bench.records import metric_key
from roga_bench.reporting import KNOWN_ENVIRONMENTS
from roga_bench.reporting.testing import checkpoint, write_run

__all__ = ["write_demo_sweep", "demo_jobs"]


def _unit(*parts: Any) -> float:
    digest = hashlib.md5(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


_BONUS = {
    "ERM (Adam)": -0.02,
    "ERM": 0.0,
    "SAM": 0.01,
    "ASAM": 0.012,
    "SAGM": 0.02,
    "GSAM": 0.008,
    "RoGA_Robust": 0.015,
    "RoGA_Align": 0.018,
    "RoGA": 0.03,
}
_GID_DF_ONLY = ("ERM (Adam)", *GID_DF_OPTIMIZERS)  # Table IV's other optimizers, on GID-DF
# RoGA's own defaults (DESIGN §4): the grid point the plain RoGA run already is. The suite reads
# them from roga_bench.hparams; the demo must not import torch.
_ROGA_DEFAULT = {"alpha": 0.001, "rho": 0.1}


def _value_fn(run_id: tuple, step: int, bonus: float) -> Callable[[str], float]:
    def value(key: str) -> float:
        metric = key.split("_", 2)[2]
        noise = 0.1 * _unit(run_id, step, key)
        base = 0.6 + bonus + 0.0005 * step + noise
        if metric == "loss":
            return round(1.2 - base, 4)
        if metric == "eer":
            return round(1.0 - base, 4)
        return round(min(base, 0.999), 4)

    return value


def _algo(label: str) -> tuple[str, dict[str, Any]]:
    return ("ERM", {"optimizer": "adam"}) if label == "ERM (Adam)" else (label, {})


def demo_jobs(family: str = "FFpp") -> list[tuple[str, str, list[int], dict[str, Any]]]:
    """(algorithm, dataset, test envs, --hparams) of the demo: the paper suite's layout.

    I: every algorithm on the cross-dataset protocol (small_cnn); II: GID x ERM, SAM, SAGM, RoGA;
    III: the cross-dataset ablation runs of I; IV: the GID-DF runs of every optimizer and I's
    UADFV; V: ERM and RoGA cross-dataset runs per backbone (small_cnn from I, meso4);
    VI: RoGA cross-dataset runs on the alpha x rho grid, the default point being I's plain RoGA.
    """
    n_cross = len(KNOWN_ENVIRONMENTS[f"{family}CrossDataset"])
    cross, lomo = (f"{family}CrossDataset", list(range(4, n_cross))), f"{family}LOMO"
    jobs: list[tuple[str, str, list[int], dict[str, Any]]] = []
    for label in _BONUS:
        algorithm, hp = _algo(label)
        jobs.append((algorithm, cross[0], cross[1], hp))
        gid = range(4) if label in GID_ALGORITHMS else [0] if label in _GID_DF_ONLY else []
        jobs += [(algorithm, lomo, [t], hp) for t in gid]
    jobs += [(alg, cross[0], cross[1], {"backbone": "meso4"}) for alg in ("ERM", "RoGA")]
    names = list(SENSITIVITY_GRID)
    for values in itertools.product(*SENSITIVITY_GRID.values()):
        point = dict(zip(names, values, strict=True))
        if point != {n: _ROGA_DEFAULT[n] for n in names}:  # the default point is I's plain RoGA
            jobs.append(("RoGA", cross[0], cross[1], point))
    return jobs


def write_demo_sweep(root: str | Path, trials: int = 3, family: str = "FFpp") -> Path:
    """Write a deterministic sweep feeding Tables I–VI (3 checkpoints per run).

    Args:
        root: the sweep folder (created).
        trials: trial seeds per job.
        family: ``"FFpp"`` (FFppLOMO/FFppCrossDataset names) or ``"SynthFF"``.

    Returns:
        ``root``.
    """
    root = Path(root)
    for algorithm, dataset, test_envs, hp in demo_jobs(family):
        label = "ERM (Adam)" if hp.get("optimizer") == "adam" else algorithm
        names = KNOWN_ENVIRONMENTS[dataset]
        for trial in range(trials):
            run_id = (algorithm, dataset, test_envs, trial, sorted(hp.items()))
            cks = []
            for step in (0, 50, 100):
                value = _value_fn(run_id, step, _BONUS[label])
                ck = checkpoint(step, len(names), value, ("in", "out", "test"))
                for i in range(len(names)):  # DeLong's s.e. of each split's AUC
                    for split in ("in", "out", "test"):
                        ck[metric_key(i, split, "auc_se")] = round(
                            0.01 + 0.02 * value(metric_key(i, split, "x")), 4
                        )
                ck["loss"] = round(0.7 - 0.003 * step + 0.05 * _unit(run_id, step), 4)
                ck["dataset_environments"] = names
                cks.append(ck)
            write_run(
                root,
                dataset=dataset,
                algorithm=algorithm,
                test_envs=test_envs,
                checkpoints=cks,
                trial_seed=trial,
                hparams=hp,
            )
    return root
