"""Training-loader frames/s from PNGs vs the decoded-frame cache (SynthFF at 256 px).

The timing is ``roga_bench.bench.loader_rate``, the one implementation ``python -m
roga_bench.bench --data`` and the GPU check use; here pytest-benchmark repeats it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roga_bench.bench import loader_rate, synthff_at, train_subset
from roga_bench.datasets.cache import dataset_split_paths
from roga_bench.datasets.frame_cache import SPLITS, build_cache

SIZE, FRAMES = 256, 128


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    work = tmp_path_factory.mktemp("loader")
    data_dir = synthff_at(work, SIZE)
    split_paths = dataset_split_paths(data_dir, "SynthFFLOMO", SIZE, SPLITS, {})
    cache = build_cache(split_paths, SIZE, Path(work) / "cache", progress=False)
    return data_dir, str(cache)


@pytest.mark.parametrize("source", ["png", "cache"])
def test_loader(benchmark, data: tuple[str, str], source: str) -> None:
    data_dir, cache = data
    ds = train_subset(data_dir, "SynthFFLOMO", SIZE, cache if source == "cache" else "", FRAMES)
    fps = benchmark.pedantic(loader_rate, args=(ds, 32, 0), rounds=2, warmup_rounds=0)
    assert fps > 0
