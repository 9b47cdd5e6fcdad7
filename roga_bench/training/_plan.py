"""Validate a ``TrainConfig`` and resolve it into a ``RunPlan`` before anything touches the disk.

Every bad input (unknown name, env index, hparam, unusable output folder) raises ``ConfigError``
here, so a failed validation never leaves a job folder behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from roga_bench._registry import ALGORITHMS, DATASETS, UnknownNameError
from roga_bench.backbones.pretrained_dir import MissingWeightsError, resolve_pretrained
from roga_bench.hparams import make_hparams, parse_overrides
from roga_bench.training._config import ConfigError, TrainConfig
from roga_bench.training._speed import Speed, resolve_speed

__all__ = ["RunPlan", "make_plan"]


@dataclass(frozen=True)
class RunPlan:
    """What a valid config resolves to."""

    dataset_class: type
    algorithm_class: type
    hparams: dict[str, Any]
    n_steps: int
    checkpoint_freq: int
    device: torch.device
    output_dir: Path
    speed: Speed  # deterministic, channels_last, loader workers, pinned memory
    keep: frozenset[str]  # of "model", "model_best"


def _overrides(config: TrainConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """--hparams JSON, then the --frames_per_video / --compression flags on top; and the flag
    each value came from (it starts the error line of a bad one)."""
    overrides: dict[str, Any] = {}
    if config.hparams is not None and config.hparams.strip():
        try:
            overrides = parse_overrides(config.hparams)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    sources = dict.fromkeys(overrides, "--hparams")
    for flag in ("frames_per_video", "compression"):
        if getattr(config, flag) is not None:
            overrides[flag] = getattr(config, flag)
            sources[flag] = f"--{flag}"
    return overrides, sources


def _check_output_dir(path: Path) -> None:
    """The folder exists and is writable, or its nearest existing ancestor is a writable folder."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "output_dir" if existing == path else f"output_dir {path}: ancestor"
        raise ConfigError(f"{what} {existing} is a file, expected a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"output_dir {path}: folder {existing} is not writable")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name!r}; expected one of cpu, cuda, auto")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda but no CUDA device is available")
    return torch.device(name)


def _check_numbers(config: TrainConfig) -> None:
    for name in ("steps", "checkpoint_freq"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name} {value}; expected a positive integer")
    if config.num_workers is not None and config.num_workers < 0:
        raise ConfigError(f"--num_workers {config.num_workers}; expected >= 0")
    if config.eval_targets not in EVAL_TARGETS:
        raise ConfigError(
            f"--eval_targets {config.eval_targets!r}; expected one of {', '.join(EVAL_TARGETS)}"
        )
    if config.task != "domain_generalization":
        raise ConfigError(f"--task {config.task!r}; only 'domain_generalization' is supported")


EVAL_TARGETS = ("all", "selectable")
KEEP = ("model", "model_best")


def _keep(value: str) -> frozenset[str]:
    names = {n.strip() for n in value.split(",") if n.strip()} - {"none"}
    wrong = sorted(names - set(KEEP))
    if wrong:
        raise ConfigError(f"--keep {value!r}: unknown {wrong}; expected a comma list of {KEEP}")
    return frozenset(names)


def _pretrained(config: TrainConfig, hparams: dict[str, Any]) -> dict[str, Any]:
    """hparam ``pretrained`` filled from ``--pretrained_dir`` when empty (backbones.pretrained_dir).

    A missing file stops the run here, before anything is written, unless ``--from_scratch``.
    """
    if not config.pretrained_dir or hparams.get("pretrained"):
        return hparams
    try:
        path = resolve_pretrained(str(hparams["backbone"]), config.pretrained_dir)
    except MissingWeightsError as exc:
        if config.from_scratch:
            return hparams
        raise ConfigError(str(exc)) from None
    return hparams if path is None else {**hparams, "pretrained": str(path)}


def _check_test_envs(config: TrainConfig, environments: list[str]) -> None:
    n = len(environments)
    for env in config.test_envs:
        if not 0 <= env < n:
            listing = ", ".join(f"{i}={name}" for i, name in enumerate(environments))
            raise ConfigError(
                f"--test_envs {env} out of range for {config.dataset} ({n} envs: {listing})"
            )
    if len(set(config.test_envs)) == n:
        raise ConfigError(f"--test_envs {list(config.test_envs)} leaves no training environment")


def make_plan(config: TrainConfig) -> RunPlan:
    """Validate ``config`` and resolve names, hparams, step counts and the device.

    Raises:
        ConfigError: any bad input, with a message naming the argument and what was expected.
    """
    _check_numbers(config)
    try:
        dataset_class = DATASETS.get(config.dataset)
        algorithm_class = ALGORITHMS.get(config.algorithm)
    except UnknownNameError as exc:
        raise ConfigError(str(exc)) from None
    _check_test_envs(config, list(dataset_class.ENVIRONMENTS))
    overrides, sources = _overrides(config)
    try:
        hparams = make_hparams(
            config.algorithm,
            config.dataset,
            config.hparams_seed,
            config.trial_seed,
            overrides,
            sources,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config.data_dir and not Path(config.data_dir).is_dir():
        raise ConfigError(f"--data_dir {config.data_dir} is not a folder")
    hparams = _pretrained(config, hparams)
    output_dir = Path(config.output_dir)
    _check_output_dir(output_dir)
    device = _resolve_device(config.device)
    return RunPlan(
        dataset_class=dataset_class,
        algorithm_class=algorithm_class,
        hparams=hparams,
        n_steps=config.steps or dataset_class.N_STEPS,
        checkpoint_freq=config.checkpoint_freq or dataset_class.CHECKPOINT_FREQ,
        device=device,
        output_dir=output_dir,
        speed=resolve_speed(hparams, device, config.num_workers),
        keep=_keep(config.keep),
    )
