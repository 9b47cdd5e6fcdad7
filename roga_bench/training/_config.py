"""``TrainConfig``: the arguments of one run, with DomainBed's ``train.py`` names and meaning."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ConfigError", "TrainConfig", "TrainingError"]


class ConfigError(ValueError):
    """Bad input to a run (unknown name, bad value, unusable output folder).

    Raised before anything is created on disk; the CLI turns it into exit code 2.
    """


class TrainingError(RuntimeError):
    """The run itself failed (e.g. a NaN or inf loss); the run folder has no ``done``."""


@dataclass(frozen=True)
class TrainConfig:
    """One run. Field names are DomainBed's ``train.py`` arguments plus ours (last block).

    ``None`` means "the component's own default" (the dataset's N_STEPS, the dataset's hparam).
    """

    # Folder holding the <Dataset>/ frame trees; None or "" for SynthFF uses the generated cache.
    data_dir: str | None = None
    # Registered dataset name (roga_bench.datasets).
    dataset: str = "SynthFFLOMO"
    # Registered algorithm name (roga_bench.algorithms).
    algorithm: str = "ERM"
    # Only "domain_generalization": no unlabeled target data is used.
    task: str = "domain_generalization"
    # JSON object of hparam overrides, applied last (DomainBed's --hparams).
    hparams: str | None = None
    # 0: default hparams; otherwise a random draw seeded by (hparams_seed, trial_seed).
    hparams_seed: int = 0
    # Trial seed: varies the random hparam draw only (DomainBed semantics).
    trial_seed: int = 0
    # Seeds python, numpy, torch, the initial weights and the loaders (order and augmentation).
    seed: int = 0
    # How a sweep derived `seed` (recorded only): "paired" (without the algorithm: every
    # algorithm of a trial starts from the same weights and sees the same batches) or
    # "domainbed" (seed_hash including the algorithm); None: given by hand / DomainBed's keys.
    seed_policy: str | None = None
    # Number of steps; None: the dataset's N_STEPS.
    steps: int | None = None
    # Evaluate and checkpoint every this many steps; None: the dataset's CHECKPOINT_FREQ.
    checkpoint_freq: int | None = None
    # Indices (into the dataset's ENVIRONMENTS) of the held-out test environments.
    test_envs: tuple[int, ...] = (0,)
    # Run folder: results.jsonl, out.txt, err.txt, model.pkl, checkpoint.pt, done.
    output_dir: str = "train_output"
    # Accepted for compatibility only: splits are the datasets' official video-level ones.
    holdout_fraction: float = 0.2
    # Accepted for compatibility only (domain adaptation is not supported).
    uda_holdout_fraction: float = 0.0
    # Do not write model.pkl at the end.
    skip_model_save: bool = False
    # Also write model_step{step}.pkl at every checkpoint.
    save_model_every_checkpoint: bool = False
    # Also evaluate the training environments' train splits (as env{i}_in_*).
    eval_train: bool = False
    # Override of the dataset hparam frames_per_video; None: keep the hparam.
    frames_per_video: int | None = None
    # Override of the dataset hparam compression ("c23" or "c40"); None: keep the hparam.
    compression: str | None = None
    # "cpu", "cuda" or "auto" (cuda when available).
    device: str = "auto"
    # DataLoader worker processes; None: auto (0 on the CPU, the slot's cores - 1 on a GPU).
    # Any explicit value (0 included) augments each sample from its own seed, so the results do
    # not depend on it; auto on the CPU keeps the main-process stream (bit-exact as before).
    num_workers: int | None = None
    # Which splits every checkpoint scores: "all" (DomainBed); "selectable" scores the test
    # environments only at checkpoints training-domain validation can pick (a new best) and at
    # the last one (oracle selection needs "all").
    eval_targets: str = "all"
    # Folder of pretrained backbone files (DeepfakeBench's names or a weights.json map);
    # fills hparam ``pretrained`` when that is empty (docs/training.md).
    pretrained_dir: str | None = None
    # Train a large backbone on FF++ from random init without pretrained weights.
    from_scratch: bool = False
    # What stays in a Done run folder besides results and logs: comma-separated of
    # model (model.pkl), model_best (model_best.pkl), or "none". checkpoint.pt never stays.
    keep: str = "model,model_best"

    def __post_init__(self) -> None:
        # Accept a list or a single int from mappings and argparse; store an immutable tuple.
        envs = self.test_envs
        envs = (envs,) if isinstance(envs, int) else tuple(int(e) for e in envs)
        object.__setattr__(self, "test_envs", envs)
        if self.seed_policy not in (None, "paired", "domainbed"):
            raise ConfigError(
                f"--seed_policy {self.seed_policy!r}: expected 'paired' or 'domainbed'"
            )

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> TrainConfig:
        """Build a config from a mapping (argparse ``vars(args)``, a sweep's ``train_args``).

        ``hparams`` may be a JSON string or a dict (stored as sorted JSON).

        Raises:
            ConfigError: a key is not a TrainConfig field (the message lists the valid ones).
        """
        valid = cls.field_names()
        unknown = sorted(set(args) - set(valid))
        if unknown:
            raise ConfigError(
                f"unknown train argument(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        values = dict(args)
        if isinstance(values.get("hparams"), Mapping):
            values["hparams"] = json.dumps(values["hparams"], sort_keys=True)
        return cls(**values)

    def to_args(self) -> dict[str, Any]:
        """Plain-typed dict of every field (``test_envs`` as a list), as logged in results.jsonl."""
        args = dataclasses.asdict(self)
        args["test_envs"] = list(self.test_envs)
        return args
