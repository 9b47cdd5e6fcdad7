"""Frames per second of the training loader against plain PIL decode of the same files.

    python benchmarks/bench_loader.py                        # SynthFF from the cache (built once)
    python benchmarks/bench_loader.py --data_dir DIR --frames 1024

Two cases, measured side by side in one run on the same frames: SynthFF at 64 px (its default
hparams: augmentation on, in-memory decoded cache), and the same frames re-encoded as 256 px PNGs
read at image_size 256 (FF++'s defaults: no memory cache). Files are read once beforehand, so
every row measures decoding and transforms, not the disk. Single-threaded (num_workers=0, one
torch thread), as the SynthFF sweep runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset

from roga_bench.datasets import SynthFFLOMO
from roga_bench.datasets._index import resolve_frame_path


def _rate(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - start


def _pil(paths: list[Path]) -> Callable[[], int]:
    def run() -> int:
        for p in paths:
            with Image.open(p) as img:
                np.asarray(img.convert("RGB"))
        return len(paths)

    return run


def _loader(split: torch.utils.data.Dataset, idx: list[int], batch: int) -> Callable[[], int]:
    def run() -> int:
        n = 0
        for x, _ in DataLoader(Subset(split, idx), batch_size=batch, num_workers=0):
            n += len(x)
        return n

    return run


def _bench_case(name: str, data_dir: Path, hparams: dict, frames: int) -> list[tuple]:
    ds = SynthFFLOMO(data_dir, [0], hparams)
    split = ds.split(1, "train")
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(split), generator=g)[:frames].tolist()
    paths = [Path(split.paths[i]) for i in idx]
    for p in paths:  # into the OS page cache, so no row pays for the disk
        p.read_bytes()
    batch = int(ds.hparams["batch_size"])
    plain = SynthFFLOMO(
        data_dir, [0], {**hparams, "data_augmentation": False, "memory_cache_mb": 0}
    )
    rows = [("PIL decode (baseline)", *_rate(_pil(paths)))]
    torch.manual_seed(0)
    rows.append(("loader, no augmentation", *_rate(_loader(plain.split(1, "train"), idx, batch))))
    rows.append(("loader, augmentation", *_rate(_loader(split, idx, batch))))
    if ds.hparams["memory_cache_mb"]:
        rows.append(("loader, augmentation, memory cache warm", *_rate(_loader(split, idx, batch))))
    return [(name, *r) for r in rows]


def _upscaled_copy(src: Path, out: Path, size: int, videos: int) -> Path:
    """``videos`` videos per label and split of SynthFF, frames re-encoded at ``size`` px."""
    doc = json.loads((src / "dataset_json" / "SynthFF.json").read_text())
    for block in doc["SynthFF"].values():
        for split, by_comp in block.items():
            kept = dict(sorted(by_comp["c23"].items())[:videos])
            block[split] = {"c23": kept}
            for entry in kept.values():
                for raw in entry["frames"]:
                    dst = resolve_frame_path(raw, out)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    with Image.open(resolve_frame_path(raw, src)) as img:
                        img.convert("RGB").resize((size, size), Image.Resampling.BICUBIC).save(dst)
    (out / "dataset_json").mkdir(parents=True, exist_ok=True)
    (out / "dataset_json" / "SynthFF.json").write_text(json.dumps(doc))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default="", help="a SynthFF data_dir; default: the cache")
    parser.add_argument("--frames", type=int, default=512, help="frames timed per row")
    parser.add_argument("--videos", type=int, default=16, help="videos per label/split at 256 px")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error(f"--frames {args.frames}: expected >= 1")
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.data_dir:
        data_dir = Path(args.data_dir)
    else:
        from roga_bench.datasets.synthff import ensure_synthff

        data_dir = Path(ensure_synthff())
    rows = _bench_case("SynthFF 64 px", data_dir, {}, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        big = _upscaled_copy(data_dir, Path(tmp), 256, args.videos)
        hp = {"image_size": 256, "memory_cache_mb": 0}
        rows += _bench_case("PNG 256 px", big, hp, args.frames)
    print(f"{'case':<14} {'path':<42} {'frames':>6} {'s':>7} {'frames/s':>9} {'vs PIL':>7}")
    base = {}
    for case, what, n, sec in rows:
        fps = n / sec
        base.setdefault(case, fps)
        print(f"{case:<14} {what:<42} {n:>6} {sec:>7.2f} {fps:>9.0f} {fps / base[case]:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
