"""One training run: ``train(TrainConfig(...)) -> Path`` (DomainBed's train.py as a function).

    from roga_bench.training import TrainConfig, train
    out = train(TrainConfig(dataset="SynthFFLOMO", algorithm="RoGA", test_envs=(0,), steps=100))

CLI: ``python -m roga_bench.train --help``. See docs/training.md for results.jsonl and resume.
"""

from roga_bench.training._cli import build_parser, config_from_argv
from roga_bench.training._config import ConfigError, TrainConfig, TrainingError
from roga_bench.training._loop import train
from roga_bench.training._results import read_records, repair_results

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
