"""``train(config) -> Path``: one DomainBed-style run with checkpoints and resume.

Run folder (``config.output_dir``): ``results.jsonl`` (one line per checkpoint), ``out.txt``
and ``err.txt`` (teed stdout/stderr), ``checkpoint.pt`` while running, ``model_best.pkl`` (the
checkpoint with the best training-domain validation AUC, its step in each line's ``best_step``),
``model.pkl`` (the last step), then ``done``. ``checkpoint.pt`` is removed only after ``done``
exists. Starting ``train`` again on a folder without ``done`` resumes from ``checkpoint.pt``.

A resumed run equals an uninterrupted one bit for bit where the run is deterministic: on the CPU
(with the same number of torch threads), and on a GPU only with hparam ``deterministic`` true
(cudnn.benchmark and TF32 are on by default there, and pick kernels by timing). A GPU run resumed
without it says so on stderr (err.txt) and lists the step it resumed from in every later
results.jsonl line (``nondeterministic_resumes``).

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

from roga_bench.datasets.check import BatchSizeError, check_batch_size
from roga_bench.hparams import seed_hash
from roga_bench.records import (
    RESULTS_NAME,
    append_record,
    is_done,
    mark_done,
    read_records,
    repair_results,
)
from roga_bench.training._best import BEST_MODEL_NAME, BestCheckpoint
from roga_bench.training._checkpoint import (
    CHECKPOINT_NAME,
    atomic_save,
    get_rng_state,
    load_checkpoint,
    set_rng_state,
)
from roga_bench.training._config import ConfigError, TrainConfig, TrainingError
from roga_bench.training._evaluate import Evaluator, eval_splits
from roga_bench.training._loaders import InfiniteLoader
from roga_bench.training._plan import RunPlan, make_plan
from roga_bench.training._speed import configure_backends, prepare_network, to_device
from roga_bench.training._state import Accumulator, memory_gb, model_payload, reset_peak_memory
from roga_bench.training._tee import tee_output

__all__ = ["train"]

# Args that may differ between the interrupted and the resuming invocation of the same job.
_RESUME_FREE_ARGS = ("output_dir", "device", "num_workers", "eval_targets", "keep")


def train(config: TrainConfig) -> Path:
    """Run (or resume, or skip if ``done``) one training job.

    Args:
        config: the run's arguments.

    Returns:
        The run folder (``config.output_dir``).

    Raises:
        ConfigError: bad input, raised before any file or folder is created; or a checkpoint in
            ``output_dir`` that a run with other args wrote.
        TrainingError: a non-finite loss (the run folder gets no ``done``).
    """
    plan = make_plan(config)
    out = plan.output_dir
    if is_done(out):
        # a kill between writing `done` and removing the checkpoint leaves it behind
        (out / CHECKPOINT_NAME).unlink(missing_ok=True)
        print(f"{out}: already done, nothing to run", file=sys.stderr)
        return out
    dataset = _checked_dataset(config, plan)  # before any folder: bad input creates nothing
    out.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr  # the progress bar goes here, never into err.txt
    with tee_output(out) as (_, err_file):
        try:
            _run(config, plan, terminal, dataset)
        except BaseException:
            # Into err.txt only: the caller (CLI, launcher) reports the error on the terminal.
            err_file.write(traceback.format_exc())
            err_file.flush()
            raise
    return out


def _checked_dataset(config: TrainConfig, plan: RunPlan) -> Any:
    """The run's dataset, built before the run folder so that a batch larger than a train split
    is a ConfigError (exit 2, nothing created)."""
    dataset = plan.dataset_class(config.data_dir, list(config.test_envs), plan.hparams)
    try:
        check_batch_size(dataset, config.test_envs, int(plan.hparams["batch_size"]))
    except BatchSizeError as exc:
        raise ConfigError(f"{config.dataset}: {exc}") from None
    return dataset


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
        defaults = TrainConfig().to_args()  # args added since the checkpoint: at their default
        now = {
            k: v
            for k, v in config.to_args().items()
            if k not in _RESUME_FREE_ARGS and (k in saved or v != defaults[k])
        }
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise ConfigError(f"{path}: written by a run with other args (differ: {diff})")
    step = None if checkpoint is None else checkpoint["step"]
    dropped = repair_results(out / RESULTS_NAME, step)
    where = "from scratch" if step is None else f"after step {step}"
    print(f"starting {where}; dropped {dropped} results.jsonl line(s) past the checkpoint")
    return checkpoint


def _check_finite(values: dict[str, float], step: int) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        raise TrainingError(
            f"non-finite loss at step {step}: {bad} (update keys: {sorted(values)}); "
            "lower the learning rate or check the data"
        )


def exact_resume(device: torch.device, deterministic: bool) -> bool:
    """Whether a run resumed on ``device`` continues exactly as an uninterrupted one: on the CPU,
    or on a GPU with cudnn deterministic and no TF32/benchmark (hparam ``deterministic``)."""
    return device.type == "cpu" or deterministic


class _Run:
    """The live objects of one run: dataset, algorithm, loaders and the metric accumulator."""

    def __init__(
        self, config: TrainConfig, plan: RunPlan, checkpoint: dict | None, dataset: Any
    ) -> None:
        self.config, self.plan, self.hp = config, plan, plan.hparams
        self.out = plan.output_dir
        self.dataset = dataset
        if max(config.test_envs, default=-1) >= len(self.dataset):
            raise ConfigError(f"--test_envs {list(config.test_envs)}: {len(self.dataset)} envs")
        self.train_envs = [i for i in range(len(self.dataset)) if i not in config.test_envs]
        # A dedicated init seed: the initial weights depend on the seed alone, not on what
        # building the dataset drew (under seed_policy paired, every algorithm of a trial
        # starts from the same weights).
        torch.manual_seed(seed_hash(config.seed, "init"))
        self.algorithm = plan.algorithm_class(
            self.dataset.input_shape, self.dataset.num_classes, len(self.train_envs), self.hp
        ).to(plan.device)
        prepare_network(self.algorithm.network, plan.speed)  # channels_last on CUDA
        self.batch_size = int(self.hp["batch_size"])
        train_splits = [self.dataset.split(env, "train") for env in self.train_envs]
        self.min_size = min(len(split) for split in train_splits)
        self.loaders = [
            InfiniteLoader(
                split,
                self.batch_size,
                seed=seed_hash(config.seed, "loader", env),
                num_workers=plan.speed.num_workers,
                state=None if checkpoint is None else checkpoint["loaders"][k],
                name=f"{config.dataset} env {env} train split",
                pin_memory=plan.speed.pin_memory,
            )
            for k, (env, split) in enumerate(zip(self.train_envs, train_splits, strict=True))
        ]
        self.splits = eval_splits(len(self.dataset), config.test_envs, config.eval_train)
        self.evaluator = Evaluator(  # loaders built once per run
            self.dataset,
            plan.device,
            plan.speed.num_workers,
            plan.speed.pin_memory,
            share_frames=not plan.speed.deterministic,
            splits=self.splits,
        )
        self.accumulator = Accumulator()
        self.best = BestCheckpoint(self.train_envs)
        # checkpoint steps this run resumed from where the resume is not exact (GPU, not
        # deterministic): recorded in every later results.jsonl line
        self.inexact_resumes: list[int] = []

    def restore(self, checkpoint: dict[str, Any]) -> int:
        """Load model, optimizer, metric sums and RNG states; return the next step."""
        self.algorithm.load_state_dict(checkpoint["algorithm"])
        self.algorithm.optimizer.load_state_dict(checkpoint["optimizer"])
        self.accumulator.load_state_dict(checkpoint["accumulator"])
        set_rng_state(checkpoint["rng"])
        self.best.replay(read_records(self.out / RESULTS_NAME))
        self._repair_best_model(checkpoint["step"])
        self.inexact_resumes = [int(s) for s in checkpoint.get("nondeterministic_resumes", [])]
        if not exact_resume(self.plan.device, self.plan.speed.deterministic):
            self.inexact_resumes.append(int(checkpoint["step"]))
            print(
                f"warning: resuming on {self.plan.device.type} without hparam deterministic "
                "(cudnn.benchmark, TF32): the steps after the checkpoint may differ from an "
                "uninterrupted run's; results.jsonl lists it under nondeterministic_resumes",
                file=sys.stderr,
            )
        return checkpoint["step"] + 1

    def _repair_best_model(self, step: int) -> None:
        """A kill after the checkpoint of a new best step but before ``model_best.pkl`` was
        written: the restored weights are that step's, so write it now."""
        if self.config.skip_model_save or self.best.step != step:
            return
        path = self.out / BEST_MODEL_NAME
        saved = torch.load(path, weights_only=True).get("step") if path.exists() else None
        if saved != step:
            self.save_model(BEST_MODEL_NAME, step)

    def update(self, step: int) -> None:
        """One minibatch per training env, one ``algorithm.update``."""
        tic = time.time()
        device, speed = self.plan.device, self.plan.speed
        minibatches = [to_device(x, y, device, speed) for x, y in (next(it) for it in self.loaders)]
        values = {k: float(v) for k, v in self.algorithm.update(minibatches).items()}
        _check_finite(values, step)
        self.accumulator.add(values, time.time() - tic)

    def record(self, step: int) -> bool:
        """Evaluate and append one results.jsonl line (DESIGN §3); True at a new best step."""
        record = {"step": step, "epoch": step * self.batch_size / self.min_size}
        record.update(self.accumulator.means())
        record["mem_gb"] = memory_gb(self.plan.device)
        record.update(self._evaluate(step))
        record.update({"args": self.config.to_args(), "hparams": self.hp})
        # env{i} indexes the environments present on disk (cross-dataset targets may be absent),
        # so the names are recorded for the tables.
        record["dataset_environments"] = list(self.dataset.ENVIRONMENTS)
        if self.inexact_resumes:
            record["nondeterministic_resumes"] = list(self.inexact_resumes)
        notes = getattr(self.dataset, "notes", None)
        if notes:  # what reading the index worked around (short videos, skipped frames)
            record["dataset_notes"] = dict(notes)
        is_best = self.best.offer(record)
        record["best_step"] = self.best.step
        append_record(self.out / RESULTS_NAME, record)
        self.accumulator.reset()
        return is_best

    def _evaluate(self, step: int) -> dict[str, float]:
        """Every split; with ``--eval_targets selectable`` the test envs only where selection can
        pick this checkpoint (a new training-domain validation best) or at the last step."""
        if self.config.eval_targets == "all":
            return self.evaluator(self.algorithm, self.splits)
        own = [s for s in self.splits if s[1] not in self.config.test_envs]
        values = self.evaluator(self.algorithm, own)
        probe = BestCheckpoint(self.train_envs)
        probe.step, probe.score = self.best.step, self.best.score
        if probe.offer({"step": step, **values}) or step == self.plan.n_steps - 1:
            targets = [s for s in self.splits if s[1] in self.config.test_envs]
            values.update(self.evaluator(self.algorithm, targets))
        return values

    def save_model(self, name: str, step: int) -> None:
        payload = model_payload(
            self.config, self.dataset, self.algorithm, len(self.train_envs), self.hp
        )
        payload["step"] = step  # which checkpoint these weights are (model_best.pkl: best_step)
        atomic_save(payload, self.out / name)

    def save_checkpoint(self, step: int) -> None:
        state = {
            "step": step,
            "args": self.config.to_args(),
            "algorithm": self.algorithm.state_dict(),
            "optimizer": self.algorithm.optimizer.state_dict(),
            "loaders": [loader.state_dict() for loader in self.loaders],
            "accumulator": self.accumulator.state_dict(),
            "rng": get_rng_state(),
            "nondeterministic_resumes": list(self.inexact_resumes),
        }
        atomic_save(state, self.out / CHECKPOINT_NAME)


def _run(config: TrainConfig, plan: RunPlan, terminal: Any, dataset: Any) -> None:
    print(f"args: {config.to_args()}\nhparams: {plan.hparams}")
    reset_peak_memory(plan.device)  # mem_gb: this job's peak, also in a warm pool worker
    _seed_everything(config.seed)
    configure_backends(plan.speed.deterministic)
    checkpoint = _resume_state(config, plan.output_dir)
    run = _Run(config, plan, checkpoint, dataset)
    start = 0 if checkpoint is None else run.restore(checkpoint)
    last = plan.n_steps - 1
    tty = getattr(terminal, "isatty", lambda: False)()
    bar = tqdm(total=plan.n_steps, initial=start, file=terminal, disable=not tty)
    for step in range(start, plan.n_steps):
        run.update(step)
        bar.update(1)
        if step % plan.checkpoint_freq == 0 or step == last:  # DomainBed's schedule
            is_best = run.record(step)
            if config.save_model_every_checkpoint:
                run.save_model(f"model_step{step}.pkl", step)
            # The checkpoint first (the last step's too), then model_best.pkl: a kill between
            # the two resumes at this very step and `restore` writes the missing best model.
            run.save_checkpoint(step)
            if is_best and not config.skip_model_save:
                run.save_model(BEST_MODEL_NAME, step)
    bar.close()
    if not config.skip_model_save and "model" in plan.keep:
        run.save_model("model.pkl", last)
    # Printed first: out.txt is teed, and `done` must be the folder's last write.
    print(f"done: {plan.output_dir}", flush=True)
    mark_done(plan.output_dir)  # the job is Done
    # Only now: a kill before `done` must still find the resume point. A Done job never
    # resumes, so its checkpoint (model + optimizer state) is only disk weight.
    (plan.output_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
    if "model_best" not in plan.keep:  # needed until `done` (resume), then only if kept
        (plan.output_dir / BEST_MODEL_NAME).unlink(missing_ok=True)
