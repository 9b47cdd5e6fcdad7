"""Training-loader throughput: decoded-frame cache vs PNG decoding, side by side, same frames.

Both loaders are the dataset's own training split over the same first ``frames`` frames; only
``hparams["frame_cache"]`` differs. Measured with the training augmentation (the loader as
training uses it; the target) and without it (decoding + normalisation only, which shows what
the cache itself removes: augmentation at 256 px costs about as much as the PNG decode).
They are timed alternately (PNG, cache, PNG, cache, ...) and the best pass of each is kept, so
a burst of load from another process does not decide the ratio.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import ConcatDataset, DataLoader, Subset

__all__ = ["bench_loader"]


def _frames_per_s(dataset: Any, batch: int, workers: int) -> float:
    loader = DataLoader(dataset, batch_size=batch, shuffle=False, num_workers=workers)
    n = 0
    t0 = time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    return n / (time.perf_counter() - t0)


def _train_set(
    data_dir: str, dataset: str, image_size: int, cache_dir: str, frames: int, augment: bool = True
) -> Any:
    from roga_bench.datasets import get_dataset_class
    from roga_bench.datasets.cache import decode_hparams

    cls = get_dataset_class(dataset)
    hparams = decode_hparams(cls, image_size, {})
    # memory_cache_mb=0: SynthFF keeps decoded frames in RAM by default, which would hide decoding.
    hparams.update(data_augmentation=augment, frame_cache=cache_dir, memory_cache_mb=0)
    ds = cls(data_dir, [], hparams)
    full = ConcatDataset([ds.split(i, "train") for i in range(len(ds))])
    return Subset(full, range(min(frames, len(full))))


def _default_data(work: Path, image_size: int) -> str:
    """SynthFF generated at ``image_size`` so the PNGs really are that large."""
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
    from roga_bench.datasets.cache import dataset_split_paths
    from roga_bench.datasets.frame_cache import SPLITS, build_cache

    torch.set_num_threads(1)  # decoding cost, not intra-op parallelism, is being compared
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work_dir or tmp)
        data_dir = data_dir or _default_data(work, image_size)
        # Every split: the dataset opens the cache for all of them, not only for train.
        split_paths = dataset_split_paths(data_dir, dataset, image_size, SPLITS, {})
        t0 = time.perf_counter()
        cache_dir = build_cache(split_paths, image_size, work / "frame_cache", progress=False)
        build_s = time.perf_counter() - t0
        fps: dict[str, list[float]] = {}
        for augment in (True, False):
            png = _train_set(data_dir, dataset, image_size, "", frames, augment)
            cached = _train_set(data_dir, dataset, image_size, str(cache_dir), frames, augment)
            tag = "" if augment else "_noaug"
            for _ in range(rounds):
                fps.setdefault("png" + tag, []).append(_frames_per_s(png, batch, workers))
                fps.setdefault("cache" + tag, []).append(_frames_per_s(cached, batch, workers))
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
        "cached_frames": sum(len(set(map(str, v))) for v in split_paths.values()),
    }
