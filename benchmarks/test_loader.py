"""Training-loader frames/s from PNGs vs the decoded-frame cache (SynthFF at 256 px)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roga_bench.bench._data import _default_data, _frames_per_s, _train_set
from roga_bench.datasets.cache import dataset_split_paths
from roga_bench.datasets.frame_cache import SPLITS, build_cache

SIZE, FRAMES = 256, 128


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    work = tmp_path_factory.mktemp("loader")
    data_dir = _default_data(work, SIZE)
    split_paths = dataset_split_paths(data_dir, "SynthFFLOMO", SIZE, SPLITS, {})
    cache = build_cache(split_paths, SIZE, Path(work) / "cache", progress=False)
    return data_dir, str(cache)


@pytest.mark.parametrize("source", ["png", "cache"])
def test_loader(benchmark, data: tuple[str, str], source: str) -> None:
    data_dir, cache = data
    ds = _train_set(data_dir, "SynthFFLOMO", SIZE, cache if source == "cache" else "", FRAMES)
    fps = benchmark.pedantic(_frames_per_s, args=(ds, 32, 0), rounds=2, warmup_rounds=0)
    assert fps > 0
