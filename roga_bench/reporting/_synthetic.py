"""Synthetic sweep folders with the exact DESIGN §3 record keys, for tests and demos.

``write_run`` writes one job folder (``results.jsonl`` + ``done``) from explicit checkpoint
values; ``write_demo_sweep`` writes a small deterministic sweep that feeds every paper table
(values come from an md5 of the run's identity, so they never change between machines)::

    python -c "from roga_bench.reporting._synthetic import write_demo_sweep as w; w('/tmp/demo')"
    python -m roga_bench.tables --input_dir /tmp/demo --tables all --format markdown
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_run", "write_demo_sweep", "checkpoint"]

_METRICS = ("acc", "auc", "ap", "eer", "loss", "video_auc")


def checkpoint(step: int, n_envs: int, value: Callable[[str], float]) -> dict[str, Any]:
    """One checkpoint with every ``env{i}_{in|out}_{metric}`` key, each set by ``value(key)``."""
    rec: dict[str, Any] = {"step": step, "epoch": step / 100.0, "step_time": 0.01, "mem_gb": 0.0}
    for i in range(n_envs):
        for split in ("in", "out"):
            for m in _METRICS:
                key = f"env{i}_{split}_{m}"
                rec[key] = value(key)
    return rec


def write_run(
    sweep_dir: str | Path,
    *,
    dataset: str,
    algorithm: str,
    test_envs: Sequence[int],
    checkpoints: Sequence[dict[str, Any]],
    trial_seed: int = 0,
    hparams_seed: int = 0,
    hparams: dict[str, Any] | None = None,
    done: bool = True,
    name: str | None = None,
) -> Path:
    """Write one job folder; ``checkpoints`` hold the per-step keys (``step``, ``env*``, ``loss``).

    Returns:
        The job folder.
    """
    hp = {"backbone": "small_cnn", "optimizer": "sgd", "lr": 0.005, "rho": 0.1, "alpha": 0.001}
    hp.update(hparams or {})
    ident = json.dumps(
        [dataset, algorithm, list(test_envs), trial_seed, hparams_seed, hp], sort_keys=True
    )
    folder = Path(sweep_dir) / (name or hashlib.md5(ident.encode()).hexdigest())
    folder.mkdir(parents=True, exist_ok=True)
    args = {
        "dataset": dataset,
        "algorithm": algorithm,
        "test_envs": list(test_envs),
        "hparams_seed": hparams_seed,
        "trial_seed": trial_seed,
        "seed": 0,
        "output_dir": str(folder),
        "hparams": json.dumps(hparams or {}, sort_keys=True),
    }
    with (folder / "results.jsonl").open("w") as fh:
        for ck in checkpoints:
            fh.write(json.dumps({**ck, "args": args, "hparams": hp}, sort_keys=True) + "\n")
    if done:
        (folder / "done").write_text("done\n")
    return folder


def _unit(*parts: Any) -> float:
    digest = hashlib.md5(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


_BONUS = {
    "ERM (Adam)": -0.02,
    "ERM": 0.0,
    "SAM": 0.01,
    "SAGM": 0.02,
    "RoGA_Robust": 0.015,
    "RoGA_Align": 0.018,
    "RoGA": 0.03,
}


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


def write_demo_sweep(root: str | Path, trials: int = 2) -> Path:
    """Write a deterministic sweep feeding Tables I–VI (FF++ names, 3 checkpoints per run).

    Returns:
        ``root``.
    """
    root = Path(root)
    cross = ("FFppCrossDataset", [4, 5, 6, 7, 8], 9)
    jobs: list[tuple[str, str, list[int], int, dict[str, Any]]] = []
    for label in _BONUS:
        algorithm, hp = _algo(label)
        for t in range(4):
            jobs.append((algorithm, "FFppLOMO", [t], 4, hp))
        jobs.append((algorithm, cross[0], cross[1], cross[2], hp))
    for algorithm in ("ERM", "RoGA"):
        for t in range(4):
            jobs.append((algorithm, "FFppLOMO", [t], 4, {"backbone": "resnet34"}))
        jobs.append((algorithm, cross[0], cross[1], cross[2], {"backbone": "resnet34"}))
    for alpha in (0.001, 0.005):
        for rho in (0.05, 0.1):
            grid = {"alpha": alpha, "rho": rho}
            for t in range(4):
                jobs.append(("RoGA", "FFppLOMO", [t], 4, grid))
            jobs.append(("RoGA", cross[0], cross[1], cross[2], grid))
    for algorithm, dataset, test_envs, n_envs, hp in jobs:
        label = "ERM (Adam)" if hp.get("optimizer") == "adam" else algorithm
        for trial in range(trials):
            run_id = (algorithm, dataset, test_envs, trial, sorted(hp.items()))
            cks = []
            for step in (0, 50, 100):
                ck = checkpoint(step, n_envs, _value_fn(run_id, step, _BONUS[label]))
                ck["loss"] = round(0.7 - 0.003 * step + 0.05 * _unit(run_id, step), 4)
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
