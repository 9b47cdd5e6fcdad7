"""One training run: ``train(TrainConfig(...)) -> Path`` (DomainBed's train.py as a function).

    from roga_bench.training import TrainConfig, train
    out = train(TrainConfig(dataset="SynthFFLOMO", algorithm="RoGA", test_envs=(0,), steps=100))

CLI: ``python -m roga_bench.train --help``. See docs/training.md for results.jsonl and resume.
Names load on first access, so the CLI's ``--help`` and argument errors do not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ConfigError",
    "Evaluation",
    "SavedModelError",
    "TrainConfig",
    "TrainingError",
    "build_parser",
    "build_saved_dataset",
    "build_saved_network",
    "config_from_argv",
    "evaluate_saved_model",
    "load_saved_algorithm",
    "load_saved_model",
    "read_records",
    "repair_results",
    "saved_dataset_class",
    "saved_hparams",
    "train",
]

_MODULE_OF = {
    "ConfigError": "_config",
    "TrainConfig": "_config",
    "TrainingError": "_config",
    "build_parser": "_cli",
    "config_from_argv": "_cli",
    # the run-record format's owner is roga_bench.records; re-exported for training's users
    "read_records": "roga_bench.records",
    "repair_results": "roga_bench.records",
    "train": "_loop",
    "Evaluation": "_saved",
    "SavedModelError": "_saved",
    "build_saved_dataset": "_saved",
    "build_saved_network": "_saved",
    "evaluate_saved_model": "_saved",
    "load_saved_algorithm": "_saved",
    "load_saved_model": "_saved",
    "saved_dataset_class": "_saved",
    "saved_hparams": "_saved",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'roga_bench.training' has no attribute {name!r}")
    module = _MODULE_OF[name]
    if not module.startswith("roga_bench."):
        module = f"roga_bench.training.{module}"
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
