"""Benchmarks of optimizer step cost and data throughput.

Run::

    python -m roga_bench.bench                                   # full CPU table (minutes)
    python -m roga_bench.bench --backbones small_cnn@64 --algorithms ERM-SGD RoGA --repeats 2
    python -m roga_bench.bench --device cuda --json bench.json   # where a GPU exists
    python -m roga_bench.bench --data                            # PNG vs frame-cache loader

The same cases run as pytest-benchmark tests: ``pytest benchmarks/ --benchmark-only``.
"""

from roga_bench.bench._cli import DEFAULT_BACKBONES, main, parse_backbone
from roga_bench.bench._data import bench_loader, loader_rate, synthff_at, train_subset
from roga_bench.bench._phases import phase_breakdown
from roga_bench.bench._update import (
    DEFAULT_VARIANTS,
    VARIANTS,
    UpdateResult,
    bench_updates,
    build_algorithm,
    make_minibatches,
    timed,
)

__all__ = [
    "DEFAULT_BACKBONES",
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "UpdateResult",
    "bench_loader",
    "bench_updates",
    "build_algorithm",
    "loader_rate",
    "main",
    "make_minibatches",
    "parse_backbone",
    "phase_breakdown",
    "synthff_at",
    "timed",
    "train_subset",
]
