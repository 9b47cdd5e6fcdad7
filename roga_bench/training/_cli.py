"""The argparse parser of ``python -m roga_bench.train``: DomainBed's arguments plus ours."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from roga_bench.training._config import TrainConfig

__all__ = ["build_parser", "config_from_argv"]


def build_parser() -> argparse.ArgumentParser:
    """One option per ``TrainConfig`` field, same names; booleans are ``store_true`` flags."""
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m roga_bench.train",
        description="Train one domain-generalization run (DomainBed's train.py arguments).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_run_args(p, d)
    _add_schedule_args(p, d)
    _add_output_args(p, d)
    _add_data_args(p, d)
    _add_speed_args(p, d)
    return p


def _add_run_args(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """What runs: data, dataset, algorithm, hparams and seeds."""
    p.add_argument(
        "--data_dir",
        default=d.data_dir,
        help="folder of <Dataset>/ frame trees; unset for SynthFF: the generated cache",
    )
    p.add_argument("--dataset", default=d.dataset, help="registered dataset")
    p.add_argument("--algorithm", default=d.algorithm, help="registered algorithm")
    p.add_argument("--task", default=d.task, choices=["domain_generalization"])
    p.add_argument("--hparams", default=d.hparams, help="JSON object of hparam overrides")
    p.add_argument(
        "--hparams_seed", type=int, default=d.hparams_seed, help="0: default hparams, else a draw"
    )
    p.add_argument(
        "--trial_seed", type=int, default=d.trial_seed, help="varies the random hparam draw"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed for python/numpy/torch/loaders")
    p.add_argument(
        "--seed_policy",
        default=d.seed_policy,
        choices=["paired", "domainbed"],
        help="how a sweep derived --seed (recorded in the run's args only)",
    )
    p.add_argument(
        "--pretrained_dir",
        default=d.pretrained_dir,
        help="folder of backbone weights (DeepfakeBench names or weights.json)",
    )
    p.add_argument(
        "--from_scratch",
        action="store_true",
        help="with --pretrained_dir: a missing weights file trains from random init",
    )


def _add_schedule_args(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Steps, checkpoints and which environments are held out."""
    p.add_argument("--steps", type=int, default=d.steps, help="steps; default: dataset N_STEPS")
    p.add_argument(
        "--checkpoint_freq",
        type=int,
        default=d.checkpoint_freq,
        help="evaluate + checkpoint every N steps; default: CHECKPOINT_FREQ",
    )
    p.add_argument(
        "--test_envs", type=int, nargs="+", default=list(d.test_envs), help="held-out envs"
    )
    p.add_argument(
        "--eval_targets",
        default=d.eval_targets,
        choices=["all", "selectable"],
        help="selectable: score test envs only at new validation bests and the last step",
    )


def _add_output_args(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """The run folder and what it keeps."""
    p.add_argument("--output_dir", default=d.output_dir, help="run folder")
    p.add_argument("--skip_model_save", action="store_true", help="do not write model.pkl")
    p.add_argument(
        "--save_model_every_checkpoint",
        action="store_true",
        help="also write model_step{step}.pkl at each checkpoint",
    )
    p.add_argument("--keep", default=d.keep, help="what stays at done: model,model_best (or none)")
    p.add_argument(
        "--eval_train",
        action="store_true",
        help="also evaluate training envs' train splits as env{i}_in_*",
    )


def _add_data_args(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """DomainBed's split flags (accepted, unused) and the dataset hparam shortcuts."""
    p.add_argument(
        "--holdout_fraction",
        type=float,
        default=d.holdout_fraction,
        help="accepted for compatibility; official splits are used",
    )
    p.add_argument(
        "--uda_holdout_fraction",
        type=float,
        default=d.uda_holdout_fraction,
        help="accepted for compatibility; no domain adaptation",
    )
    p.add_argument(
        "--frames_per_video",
        type=int,
        default=d.frames_per_video,
        help="override of the dataset hparam frames_per_video",
    )
    p.add_argument(
        "--compression", default=d.compression, help="override of the dataset hparam compression"
    )


def _add_speed_args(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Device and loader workers (amp, channels_last, deterministic are hparams)."""
    p.add_argument("--device", default=d.device, choices=["cpu", "cuda", "auto"])
    p.add_argument(
        "--num_workers",
        type=int,
        default=d.num_workers,
        help="DataLoader workers; default auto (0 on the CPU); any value gives the same results",
    )


def config_from_argv(argv: Sequence[str] | None = None) -> TrainConfig:
    """Parse a command line into a ``TrainConfig`` (argparse exits 2 on a malformed one)."""
    return TrainConfig.from_args(vars(build_parser().parse_args(argv)))
