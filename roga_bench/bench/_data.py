"""Training-loader throughput: decoded-frame cache vs PNG decoding, side by side, same frames.

Both loaders are the dataset's own training split over the same first ``frames`` frames; only
``hparams["frame_cache"]`` differs. Measured with the training augmentation (the loader as
training uses it; the target) and without it (decoding + normalisation only, which shows what
the cache itself removes: augmentation at 256 px costs about as much as the PNG decode).
They are timed alternately (PNG, cache, PNG, cache, ...) and the best pass of each is kept, so
a burst of load from another process does not decide the ratio. Two more rows on the same frames:
plain PIL decoding of the PNG files (no loader: the floor any PNG loader pays) and, where the
dataset keeps decoded frames in memory by default (SynthFF), the loader with that memory cache
warm.

This is the one loader-throughput implementation: ``python -m roga_bench.bench --data``, the
pytest-benchmark case ``benchmarks/test_loader.py`` and part 2 of ``benchmarks/gpu_check.py``
all time loaders with :func:`loader_rate`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import ConcatDataset, DataLoader, Subset

__all__ = ["bench_loader", "loader_rate", "synthff_at", "train_subset"]


def loader_rate(
    dataset: Any,
    batch: int,
    workers: int = 0,
    *,
    frames: int | None = None,
    shuffle: bool = False,
    pin_memory: bool = False,
    drop_last: bool = False,
    skip_first: bool = False,
) -> float:
    """Frames per second a ``DataLoader`` over ``dataset`` delivers.

    Args:
        frames: stop after this many frames (passes repeat when the dataset is smaller);
            None: one pass.
        skip_first: leave the first batch out of the clock (it pays for starting the workers).
    """
    loader = DataLoader(
        dataset,
        batch_size=batch,
        shuffle=shuffle,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        persistent_workers=workers > 0 and frames is not None,
    )
    n, start, first = 0, time.perf_counter(), skip_first
    while True:
        for x, _ in loader:
            if first:
                first, start = False, time.perf_counter()
                continue
            n += x.shape[0]
            if frames is not None and n >= frames:
                return n / (time.perf_counter() - start)
        if frames is None or len(loader) == 0:
            return n / (time.perf_counter() - start)


def _pil_rate(paths: list[str]) -> float:
    """Frames per second of plain PIL decoding to RGB arrays (no resize, no loader)."""
    import numpy as np
    from PIL import Image

    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            np.asarray(img.convert("RGB"))
    return len(paths) / (time.perf_counter() - start)


def train_subset(
    data_dir: str,
    dataset: str,
    image_size: int,
    cache_dir: str,
    frames: int,
    augment: bool = True,
    memory_cache: bool = False,
) -> Any:
    """The first ``frames`` frames of the dataset's training splits (every training env).

    ``cache_dir`` is the hparam ``frame_cache`` ('' reads the PNGs); ``memory_cache`` keeps the
    dataset's default in-memory cache of decoded frames (off by default: it would hide decoding).
    """
    from roga_bench.datasets import get_dataset_class
    from roga_bench.datasets.cache import decode_hparams

    cls = get_dataset_class(dataset)
    hparams = decode_hparams(cls, image_size, {})
    hparams.update(data_augmentation=augment, frame_cache=cache_dir)
    if not memory_cache:
        hparams["memory_cache_mb"] = 0
    ds = cls(data_dir, [], hparams)
    full = ConcatDataset([ds.split(i, "train") for i in range(len(ds))])
    return Subset(full, range(min(frames, len(full))))


def _frame_paths(subset: Any) -> list[str]:
    paths = [str(p) for split in subset.dataset.datasets for p in split.paths]
    return [paths[i] for i in subset.indices]


def synthff_at(work: Path, image_size: int) -> str:
    """SynthFF generated under ``work`` at ``image_size``, so the PNGs really are that large."""
    from roga_bench.datasets.synthff import generate

    return str(generate(work / "synthff", seed=0, videos=12, frames=8, size=image_size))


def bench_loader(
    data_dir: str = "",
    dataset: str = "SynthFFLOMO",
    image_size: int = 256,
    frames: int = 256,
    batch: int = 32,
    workers: int = 0,
    rounds: int = 2,
    work_dir: str | None = None,
) -> dict[str, Any]:
    """Frames/s of the training loader from PNGs and from the frame cache, and their ratio.

    Args:
        data_dir: dataset root; empty generates SynthFF at ``image_size`` under ``work_dir``.
        dataset: registered dataset name.
        image_size: decode/resize size (the paper's 256).
        frames: how many training frames each pass reads.
        batch: loader batch size.
        workers: DataLoader workers (0 = in the main process).
        rounds: alternating PNG/cache passes; the best of each is reported.
        work_dir: where the generated data and the cache go (default: a temporary folder).
    """
    from roga_bench.datasets import get_dataset_class
    from roga_bench.datasets.cache import dataset_split_paths, decode_hparams
    from roga_bench.datasets.frame_cache import SPLITS, build_cache

    torch.set_num_threads(1)  # decoding cost, not intra-op parallelism, is being compared
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work_dir or tmp)
        data_dir = data_dir or synthff_at(work, image_size)
        # Every split: the dataset opens the cache for all of them, not only for train.
        split_paths = dataset_split_paths(data_dir, dataset, image_size, SPLITS, {})
        t0 = time.perf_counter()
        cache_dir = build_cache(split_paths, image_size, work / "frame_cache", progress=False)
        build_s = time.perf_counter() - t0
        fps: dict[str, list[float]] = {}
        for augment in (True, False):
            png = train_subset(data_dir, dataset, image_size, "", frames, augment)
            cached = train_subset(data_dir, dataset, image_size, str(cache_dir), frames, augment)
            tag = "" if augment else "_noaug"
            for _ in range(rounds):
                fps.setdefault("png" + tag, []).append(loader_rate(png, batch, workers))
                fps.setdefault("cache" + tag, []).append(loader_rate(cached, batch, workers))
        paths = _frame_paths(png)
        for p in paths:  # into the page cache, as the loaders' passes left them
            Path(p).read_bytes()
        fps["pil"] = [_pil_rate(paths) for _ in range(rounds)]
        if float(decode_hparams(get_dataset_class(dataset), image_size, {})["memory_cache_mb"]):
            memory = train_subset(data_dir, dataset, image_size, "", frames, memory_cache=True)
            loader_rate(memory, batch, workers)  # fills the memory cache
            fps["memory"] = [loader_rate(memory, batch, workers) for _ in range(rounds)]
    best = {k: max(v) for k, v in fps.items()}
    return {
        "dataset": dataset,
        "image_size": image_size,
        "frames": len(png),
        "batch": batch,
        "workers": workers,
        "png_fps": best["png"],
        "cache_fps": best["cache"],
        "ratio": best["cache"] / best["png"],
        "png_noaug_fps": best["png_noaug"],
        "cache_noaug_fps": best["cache_noaug"],
        "ratio_noaug": best["cache_noaug"] / best["png_noaug"],
        "cache_build_s": build_s,
        "pil_fps": best["pil"],
        "memory_fps": best.get("memory", float("nan")),
        "cached_frames": sum(len(set(map(str, v))) for v in split_paths.values()),
    }
