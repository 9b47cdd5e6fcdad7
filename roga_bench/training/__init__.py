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
    "TrainConfig",
    "TrainingError",
    "build_parser",
    "config_from_argv",
    "read_records",
    "repair_results",
    "train",
]

_MODULE_OF = {
    "ConfigError": "_config",
    "TrainConfig": "_config",
    "TrainingError": "_config",
    "build_parser": "_cli",
    "config_from_argv": "_cli",
    "read_records": "_results",
    "repair_results": "_results",
    "train": "_loop",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'roga_bench.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"roga_bench.training.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
