"""Build the decoded-frame cache of a registered dataset: ``python -m roga_bench.datasets.cache``.

    python -m roga_bench.datasets.cache --data_dir /data/deepfake --dataset FFppLOMO \\
        --image_size 256 --out /data/frame_cache/FFpp-256

then train with ``--hparams '{"frame_cache": "/data/frame_cache/FFpp-256"}'``. The cache itself
(layout, staleness checks) is ``roga_bench.datasets.frame_cache``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from roga_bench._cores import available_cores
from roga_bench.datasets.frame_cache import SPLITS, build_cache, cache_key

__all__ = ["decode_hparams", "dataset_split_paths", "main"]


def decode_hparams(cls: type, image_size: int, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Hparams that build ``cls`` for reading frames as stored: its defaults (shared < class
    ``HPARAMS`` along the MRO) and ``overrides``, at ``image_size``, without augmentation or a
    frame cache."""
    from roga_bench.hparams import SHARED_HPARAMS, class_hparams, validate_hparams

    space = {**SHARED_HPARAMS, **class_hparams(cls)}
    validate_hparams(overrides, space, "--hparams")  # HParamError (a ValueError): one line
    hparams = {n: hp.default for n, hp in space.items()}
    hparams.update(overrides)
    hparams.update(image_size=image_size, data_augmentation=False, frame_cache="")
    return hparams


def dataset_split_paths(
    data_dir: str,
    dataset: str,
    image_size: int,
    splits: Sequence[str],
    overrides: Mapping[str, Any],
) -> dict[str, list[Path]]:
    """Every environment's ``frame_paths`` per split of a registered dataset."""
    from roga_bench.datasets import get_dataset_class

    cls = get_dataset_class(dataset)
    ds = cls(data_dir, [], decode_hparams(cls, image_size, overrides))
    return {s: [p for i in range(len(ds)) for p in ds.frame_paths(i, s)] for s in splits}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the decoded-frame cache of a dataset.")
    parser.add_argument("--data_dir", default="", help="dataset root ('' for SynthFF)")
    parser.add_argument("--dataset", required=True, help="registered dataset name")
    parser.add_argument("--image_size", type=int, required=True)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument(
        "--out", default=None, help="cache folder (default <data_dir>/frame_cache/<dataset>-<S>)"
    )
    parser.add_argument(
        "--hparams", default="{}", help="JSON dataset hparams (frames_per_video...)"
    )
    parser.add_argument("--workers", type=int, default=available_cores())  # affinity, Slurm
    args = parser.parse_args(argv)
    try:
        overrides = json.loads(args.hparams)
    except json.JSONDecodeError as exc:
        parser.error(f"--hparams is not valid JSON ({exc})")
    if not isinstance(overrides, dict):
        parser.error(f"--hparams must be a JSON object, got {args.hparams!r}")
    if args.image_size < 8:
        parser.error(f"--image_size {args.image_size}: expected >= 8")
    if args.out is None and not args.data_dir:
        parser.error("--out is required when --data_dir is empty")
    out = Path(
        args.out or Path(args.data_dir) / "frame_cache" / f"{args.dataset}-{args.image_size}"
    )
    try:
        split_paths = dataset_split_paths(
            args.data_dir, args.dataset, args.image_size, args.splits, overrides
        )
        build_cache(split_paths, args.image_size, out, workers=args.workers)
    except (KeyError, ValueError, OSError) as exc:  # unknown dataset, bad frame, missing file
        print(f"roga_bench.datasets.cache: {exc}", file=sys.stderr)
        return 2
    n = sum(len(set(map(cache_key, v))) for v in split_paths.values())
    print(f"cached {n} frames at {args.image_size}px in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
