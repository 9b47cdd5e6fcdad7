"""Benchmarks of optimizer step cost and data throughput.

Run::

    python -m roga_bench.bench                                   # full CPU table (minutes)
    python -m roga_bench.bench --backbones small_cnn@64 --algorithms ERM-SGD RoGA --repeats 2
    python -m roga_bench.bench --device cuda --json bench.json   # where a GPU exists
    python -m roga_bench.bench --data                            # PNG vs frame-cache loader

The same cases run as pytest-benchmark tests: ``pytest benchmarks/ --benchmark-only``.
"""

from roga_bench.bench._cli import main
from roga_bench.bench._data import bench_loader
from roga_bench.bench._phases import phase_breakdown
from roga_bench.bench._update import VARIANTS, UpdateResult, bench_updates, build_algorithm

__all__ = [
    "VARIANTS",
    "UpdateResult",
    "bench_loader",
    "bench_updates",
    "build_algorithm",
    "main",
    "phase_breakdown",
]
