"""Decoded-frame cache: every frame decoded and resized once, then read from a memory map.

Build it once per (dataset, image size)::

    python -m roga_bench.datasets.cache --data_dir /data/deepfake --dataset FFppLOMO \\
        --image_size 256 --out /data/frame_cache/FFpp-256

then train with ``--hparams '{"frame_cache": "/data/frame_cache/FFpp-256"}'``; augmentation is
still applied on the fly to the cached uint8 frames.

Layout of ``--out``: per split, ``<split>-<token>.npy`` (uint8 ``[N, S, S, 3]``, written with
``np.lib.format.open_memmap``) and ``<split>.json`` (the index: ``version``, ``image_size``,
``array`` file name, absolute ``paths``, source ``sizes`` and ``mtimes`` in ns). Each file is
written to a temporary name and renamed; the JSON index is renamed last, so a reader never sees
an index that points at a half-written array. The cache is refused (``StaleCacheError``, naming
the file) when a source frame's size or mtime changed, a frame is not cached, or the image size
differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

__all__ = [
    "CACHE_VERSION",
    "DecodedFrameMemo",
    "FrameCache",
    "StaleCacheError",
    "build_cache",
    "install_frame_memo",
    "open_frame_cache",
]

CACHE_VERSION = 1
SPLITS = ("train", "val", "test")

Decoder = Callable[[Path, int], np.ndarray]


class StaleCacheError(RuntimeError):
    """The cache does not match the frames on disk (or the requested size); rebuild it."""


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def _default_decoder() -> Decoder:
    from roga_bench.datasets._frames import decode_and_resize  # dataset helper's reader

    return decode_and_resize


def _atomic_json(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def build_cache(
    split_paths: Mapping[str, Sequence[str | os.PathLike[str]]],
    image_size: int,
    out: str | os.PathLike[str],
    decoder: Decoder | None = None,
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Decode + resize every frame once into one memory-mapped array per split.

    Args:
        split_paths: split name -> frame paths (duplicates are stored once).
        image_size: side S of the stored ``[S, S, 3]`` uint8 frames.
        out: cache folder (created).
        decoder: ``fn(path, size) -> uint8 [S, S, 3]``; default ``_frames.decode_and_resize``.
        workers: decoding threads (PNG decoding releases the GIL).
        progress: show a tqdm bar per split.

    Returns:
        The cache folder.

    Raises:
        ValueError: a decoded frame has the wrong shape or dtype (names the file).
    """
    decode = decoder or _default_decoder()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, paths in split_paths.items():
        _build_split(split, paths, image_size, out_dir, decode, workers, progress)
    return out_dir


def _decode_checked(decode: Decoder, key: str, image_size: int) -> np.ndarray:
    img = decode(Path(key), image_size)
    expected = (image_size, image_size, 3)
    if img.shape != expected or img.dtype != np.uint8:
        raise ValueError(f"{key}: decoder gave {img.dtype} {img.shape}, expected uint8 {expected}")
    return img


def _build_split(
    split: str,
    paths: Sequence[str | os.PathLike[str]],
    image_size: int,
    out_dir: Path,
    decode: Decoder,
    workers: int,
    progress: bool,
) -> None:
    keys = list(dict.fromkeys(_key(p) for p in paths))  # unique, order kept
    stats = [os.stat(k) for k in keys]  # before decoding: a later edit then reads as stale
    array_name = f"{split}-{uuid.uuid4().hex[:8]}.npy"
    tmp = out_dir / f".{array_name}.tmp"
    shape = (len(keys), image_size, image_size, 3)
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        frames = pool.map(lambda k: _decode_checked(decode, k, image_size), keys)
        bar = tqdm(frames, total=len(keys), desc=f"cache {split}", disable=not progress)
        for i, img in enumerate(bar):
            arr[i] = img
    arr.flush()
    del arr
    os.replace(tmp, out_dir / array_name)
    index_path = out_dir / f"{split}.json"
    old = _read_index(index_path) if index_path.exists() else None
    index = {
        "version": CACHE_VERSION,
        "image_size": image_size,
        "split": split,
        "array": array_name,
        "paths": keys,
        "sizes": [s.st_size for s in stats],
        "mtimes": [s.st_mtime_ns for s in stats],
    }
    _atomic_json(index_path, index)  # the commit point: readers see old or new, never half
    if old is not None and old.get("array") != array_name:
        (out_dir / old["array"]).unlink(missing_ok=True)


def _read_index(path: Path) -> dict[str, Any]:
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StaleCacheError(f"{path}: cannot read the frame-cache index ({exc})") from None
    if index.get("version") != CACHE_VERSION:
        raise StaleCacheError(
            f"{path}: frame-cache version {index.get('version')!r}, "
            f"expected {CACHE_VERSION}; rebuild it"
        )
    return index


class FrameCache:
    """Cached frames in the order of the requested paths: ``cache[i] -> uint8 [S, S, 3]``.

    Picklable without copying the arrays (DataLoader workers reopen the memory maps).
    """

    def __init__(self, cache_dir: Path, arrays: list[str], which: np.ndarray, rows: np.ndarray):
        self.cache_dir = cache_dir
        self._array_names = arrays
        self._which = which
        self._rows = rows
        self._arrays: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> np.ndarray:
        if self._arrays is None:
            self._arrays = [np.load(self.cache_dir / n, mmap_mode="r") for n in self._array_names]
        return np.array(self._arrays[self._which[i]][self._rows[i]])  # copy: writable, detached

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": None}


def open_frame_cache(
    cache_dir: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]], image_size: int
) -> FrameCache:
    """Open the cache in ``cache_dir`` for ``paths`` (looked up in whichever split holds them).

    Raises:
        StaleCacheError: no index in ``cache_dir``, a different image size, a path that is not
            cached, or a source file whose size or mtime changed since the cache was built.
    """
    cache_dir = Path(cache_dir)
    index_files = sorted(cache_dir.glob("*.json"))
    if not index_files:
        raise StaleCacheError(f"{cache_dir}: no frame-cache index (*.json); build it first")
    lookup: dict[str, tuple[int, int, int, int]] = {}  # path -> (array, row, size, mtime)
    arrays: list[str] = []
    for f in index_files:
        index = _read_index(f)
        if index["image_size"] != image_size:
            raise StaleCacheError(
                f"{f}: cached at image_size {index['image_size']}, requested {image_size}"
            )
        arrays.append(index["array"])
        for row, (p, s, m) in enumerate(
            zip(index["paths"], index["sizes"], index["mtimes"], strict=True)
        ):
            lookup.setdefault(p, (len(arrays) - 1, row, s, m))
    which, rows = [], []
    for p in paths:
        k = _key(p)
        if k not in lookup:
            raise StaleCacheError(f"{k}: frame not in the cache {cache_dir}; rebuild it")
        a, row, size, mtime = lookup[k]
        try:
            st = os.stat(k)
        except OSError as exc:
            raise StaleCacheError(f"{k}: cached source frame is unreadable ({exc})") from None
        if st.st_size != size or st.st_mtime_ns != mtime:
            raise StaleCacheError(
                f"{k}: source frame changed since the cache was built (size {size} -> "
                f"{st.st_size}, mtime_ns {mtime} -> {st.st_mtime_ns}); rebuild {cache_dir}"
            )
        which.append(a)
        rows.append(row)
    return FrameCache(cache_dir, arrays, np.asarray(which, np.int64), np.asarray(rows, np.int64))


class DecodedFrameMemo:
    """Decoded frames kept for the whole process, shared by every dataset it builds.

    A pool worker runs many jobs on the same frames; each job builds its own dataset, whose
    in-memory cache starts empty. With this memo only a worker's first job decodes a frame.
    Keyed by (absolute path, size) and checked against the source's size and mtime on every
    hit, so a changed file is decoded again: a hit returns exactly what decoding would.

    Args:
        decoder: ``fn(path, size) -> uint8 [S, S, 3]``, e.g. ``_frames.decode_and_resize``.
        max_mb: frames stop being added once they take this much memory.
    """

    def __init__(self, decoder: Decoder, max_mb: float) -> None:
        self.decoder = decoder
        self.limit = int(max_mb * 2**20)
        self.used = 0
        self.hits = self.misses = 0
        self._frames: dict[tuple[str, int], tuple[tuple[int, int], np.ndarray]] = {}

    def __call__(self, path: str | os.PathLike[str], size: int) -> np.ndarray:
        key = (_key(path), int(size))
        try:
            st = os.stat(key[0])
        except OSError:
            return self.decoder(path, size)  # the decoder's own error names the file
        stamp = (st.st_size, st.st_mtime_ns)
        hit = self._frames.get(key)
        if hit is not None and hit[0] == stamp:
            self.hits += 1
            return hit[1]
        self.misses += 1
        frame = self.decoder(path, size)
        if hit is None and self.used + frame.nbytes <= self.limit:
            self._frames[key] = (stamp, frame)
            self.used += frame.nbytes
        elif hit is not None:  # a changed source: keep the new frame in its place
            self._frames[key] = (stamp, frame)
        return frame


def install_frame_memo(max_mb: float) -> DecodedFrameMemo:
    """Make every frame split of this process decode through one :class:`DecodedFrameMemo`.

    For long-lived worker processes (the sweep's ``pool`` launcher); call once per process.
    """
    from roga_bench.datasets import _split

    current = _split.decode_and_resize
    if isinstance(current, DecodedFrameMemo):
        return current
    memo = DecodedFrameMemo(current, max_mb)
    _split.decode_and_resize = memo  # type: ignore[assignment]
    return memo


def _dataset_hparams(cls: type, image_size: int, overrides: Mapping[str, Any]) -> dict[str, Any]:
    from roga_bench.hparams import SHARED_HPARAMS

    hparams = {n: hp.default for n, hp in SHARED_HPARAMS.items()}
    for klass in reversed(cls.__mro__):  # dataset HPARAMS along the MRO, subclasses winning
        hparams.update({n: hp.default for n, hp in vars(klass).get("HPARAMS", {}).items()})
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
    ds = cls(data_dir, [], _dataset_hparams(cls, image_size, overrides))
    return {s: [p for i in range(len(ds)) for p in ds.frame_paths(i, s)] for s in splits}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
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
    n = sum(len(set(map(_key, v))) for v in split_paths.values())
    print(f"cached {n} frames at {args.image_size}px in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
