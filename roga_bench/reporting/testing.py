"""Public testing helpers: synthetic sweep folders with the exact DESIGN §3 record keys.

For tests of code that reads sweep folders (ours and yours); they write files only where told and
import nothing heavy. ``write_run`` writes one job folder (``results.jsonl`` + ``done``) from
explicit checkpoint values (``checkpoint`` makes one). The demo sweep of the paper's tables is
``roga_bench.paper.testing.write_demo_sweep``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from roga_bench.records import METRICS, RESULTS_NAME, append_records, mark_done, metric_key

__all__ = ["write_run", "checkpoint"]


def checkpoint(
    step: int,
    n_envs: int,
    value: Callable[[str], float],
    splits: Sequence[str] = ("in", "out"),
) -> dict[str, Any]:
    """One checkpoint with every ``env{i}_{split}_{metric}`` key, each set by ``value(key)``.

    The default ``splits`` are those of records written before ``env{i}_test_*`` existed; pass
    ``("in", "out", "test")`` for today's records.
    """
    rec: dict[str, Any] = {"step": step, "epoch": step / 100.0, "step_time": 0.01, "mem_gb": 0.0}
    for i in range(n_envs):
        for split in splits:
            for m in METRICS:
                key = metric_key(i, split, m)
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
    (folder / RESULTS_NAME).unlink(missing_ok=True)  # the folder's run, written anew
    append_records(
        folder / RESULTS_NAME, [{**ck, "args": args, "hparams": hp} for ck in checkpoints]
    )
    if done:
        mark_done(folder)
    return folder
