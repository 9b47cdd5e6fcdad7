"""``train(config) -> Path``: one DomainBed-style run with checkpoints and resume.

Run folder (``config.output_dir``): ``results.jsonl`` (one line per checkpoint), ``out.txt``
and ``err.txt`` (teed stdout/stderr), ``checkpoint.pt`` while running, ``model.pkl``, then ``done``.
Starting ``train`` again on a folder without ``done`` resumes from ``checkpoint.pt``.

    python -m roga_bench.train --dataset SynthFFLOMO --algorithm RoGA --test_envs 0
"""

from __future__ import annotations

import math
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from roga_bench.hparams import seed_hash
from roga_bench.training._checkpoint import (
    CHECKPOINT_NAME,
    atomic_save,
    get_rng_state,
    load_checkpoint,
    set_rng_state,
)
from roga_bench.training._config import ConfigError, TrainConfig, TrainingError
from roga_bench.training._evaluate import eval_splits, evaluate
from roga_bench.training._loaders import InfiniteLoader
from roga_bench.training._plan import RunPlan, make_plan
from roga_bench.training._results import append_record, repair_results
from roga_bench.training._state import Accumulator, memory_gb, model_payload
from roga_bench.training._tee import tee_output

__all__ = ["train"]

# Args that may differ between the interrupted and the resuming invocation of the same job.
_RESUME_FREE_ARGS = ("output_dir", "device", "num_workers")


def train(config: TrainConfig) -> Path:
    """Run (or resume, or skip if ``done``) one training job.

    Args:
        config: the run's arguments.

    Returns:
        The run folder (``config.output_dir``).

    Raises:
        ConfigError: bad input; raised before any file or folder is created.
        TrainingError: a non-finite loss (the run folder gets no ``done``).
    """
    plan = make_plan(config)
    out = plan.output_dir
    if (out / "done").exists():
        print(f"{out}: already done, nothing to run", file=sys.stderr)
        return out
    out.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr  # the progress bar goes here, never into err.txt
    with tee_output(out) as (_, err_file):
        try:
            _run(config, plan, terminal)
        except BaseException:
            # Into err.txt only: the caller (CLI, launcher) reports the error on the terminal.
            err_file.write(traceback.format_exc())
            err_file.flush()
            raise
    return out


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def _resume_state(config: TrainConfig, out: Path) -> dict[str, Any] | None:
    """The checkpoint of an Incomplete folder (None: start from scratch), results.jsonl repaired."""
    path = out / CHECKPOINT_NAME
    checkpoint = load_checkpoint(path) if path.exists() else None
    if checkpoint is not None:
        saved = {k: v for k, v in checkpoint["args"].items() if k not in _RESUME_FREE_ARGS}
        now = {k: v for k, v in config.to_args().items() if k not in _RESUME_FREE_ARGS}
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise ConfigError(f"{path}: written by a run with other args (differ: {diff})")
    step = None if checkpoint is None else checkpoint["step"]
    dropped = repair_results(out / "results.jsonl", step)
    where = "from scratch" if step is None else f"after step {step}"
    print(f"starting {where}; dropped {dropped} results.jsonl line(s) past the checkpoint")
    return checkpoint


def _build(config: TrainConfig, plan: RunPlan) -> tuple[Any, Any, list[int]]:
    """Dataset, algorithm (on the device) and the training env indices."""
    dataset = plan.dataset_class(config.data_dir, list(config.test_envs), plan.hparams)
    if max(config.test_envs, default=-1) >= len(dataset):
        raise ConfigError(f"--test_envs {list(config.test_envs)}: dataset has {len(dataset)} envs")
    train_envs = [i for i in range(len(dataset)) if i not in config.test_envs]
    algorithm = plan.algorithm_class(
        dataset.input_shape, dataset.num_classes, len(train_envs), plan.hparams
    )
    return dataset, algorithm.to(plan.device), train_envs


def _check_finite(values: dict[str, float], step: int) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        raise TrainingError(
            f"non-finite loss at step {step}: {bad} (update keys: {sorted(values)}); "
            "lower the learning rate or check the data"
        )


def _run(config: TrainConfig, plan: RunPlan, terminal: Any) -> None:
    out, hp, device = plan.output_dir, plan.hparams, plan.device
    print(f"args: {config.to_args()}\nhparams: {hp}")
    _seed_everything(config.seed)
    checkpoint = _resume_state(config, out)
    dataset, algorithm, train_envs = _build(config, plan)
    batch_size = int(hp["batch_size"])
    loaders = [
        InfiniteLoader(
            dataset.split(env, "train"),
            batch_size,
            seed=seed_hash(config.seed, "loader", env),
            num_workers=config.num_workers,
            state=None if checkpoint is None else checkpoint["loaders"][k],
            name=f"{config.dataset} env {env} train split",
        )
        for k, env in enumerate(train_envs)
    ]
    min_size = min(len(dataset.split(env, "train")) for env in train_envs)
    splits = eval_splits(len(dataset), config.test_envs, config.eval_train)
    accumulator = Accumulator()
    start = 0
    if checkpoint is not None:
        algorithm.load_state_dict(checkpoint["algorithm"])
        algorithm.optimizer.load_state_dict(checkpoint["optimizer"])
        accumulator.load_state_dict(checkpoint["accumulator"])
        set_rng_state(checkpoint["rng"])
        start = checkpoint["step"] + 1
    last = plan.n_steps - 1
    bar = tqdm(total=plan.n_steps, initial=start, file=terminal, disable=not terminal.isatty())
    for step in range(start, plan.n_steps):
        tic = time.time()
        minibatches = [(x.to(device), y.to(device)) for x, y in (next(it) for it in loaders)]
        values = {k: float(v) for k, v in algorithm.update(minibatches).items()}
        _check_finite(values, step)
        accumulator.add(values, time.time() - tic)
        bar.update(1)
        if step % plan.checkpoint_freq != 0 and step != last:
            continue
        record = {"step": step, "epoch": step * batch_size / min_size}
        record.update(accumulator.means())
        record["mem_gb"] = memory_gb(device)
        record.update(evaluate(algorithm, dataset, splits, device, config.num_workers))
        record.update({"args": config.to_args(), "hparams": hp})
        append_record(out / "results.jsonl", record)
        accumulator.reset()
        if config.save_model_every_checkpoint:
            payload = model_payload(config, dataset, algorithm, len(train_envs), hp)
            atomic_save(payload, out / f"model_step{step}.pkl")
        if step != last:
            _save_checkpoint(config, out, step, algorithm, loaders, accumulator)
    bar.close()
    _finish(config, out, dataset, algorithm, len(train_envs), hp)


def _save_checkpoint(config, out, step, algorithm, loaders, accumulator) -> None:  # noqa: ANN001
    state = {
        "step": step,
        "args": config.to_args(),
        "algorithm": algorithm.state_dict(),
        "optimizer": algorithm.optimizer.state_dict(),
        "loaders": [loader.state_dict() for loader in loaders],
        "accumulator": accumulator.state_dict(),
        "rng": get_rng_state(),
    }
    atomic_save(state, out / CHECKPOINT_NAME)


def _finish(config, out, dataset, algorithm, n_domains, hp) -> None:  # noqa: ANN001
    """model.pkl, drop the checkpoint (a Done job never resumes), then ``done`` last."""
    if not config.skip_model_save:
        atomic_save(model_payload(config, dataset, algorithm, n_domains, hp), out / "model.pkl")
    (out / CHECKPOINT_NAME).unlink(missing_ok=True)
    with open(out / "done", "w") as f:
        f.write("done")
    print(f"done: {out}")
