"""Decoded-frame cache: every frame decoded and resized once, then read from a memory map.

The library (``build_cache``, ``open_frame_cache``); the command line is
``roga_bench.datasets.cache``. Build it once per (dataset, image size)::

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

import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from roga_bench.datasets._frames import Decoder, decode_and_resize, frame_stamp

__all__ = [
    "CACHE_VERSION",
    "SPLITS",
    "FrameCache",
    "StaleCacheError",
    "build_cache",
    "cache_key",
    "open_frame_cache",
]

CACHE_VERSION = 1
SPLITS = ("train", "val", "test")


class StaleCacheError(RuntimeError):
    """The cache does not match the frames on disk (or the requested size); rebuild it."""


def cache_key(path: str | os.PathLike[str]) -> str:
    """A frame's key in the cache (and the memo): its absolute path."""
    return os.path.abspath(os.fspath(path))


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
    decode = decoder or decode_and_resize
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
    keys = list(dict.fromkeys(cache_key(p) for p in paths))  # unique, order kept
    # before decoding: a later edit then reads as stale; (size, mtime_ns), LMDB entries included
    stats = [frame_stamp(k) for k in keys]
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
        "sizes": [s[0] for s in stats],
        "mtimes": [s[1] for s in stats],
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
        k = cache_key(p)
        if k not in lookup:
            raise StaleCacheError(f"{k}: frame not in the cache {cache_dir}; rebuild it")
        a, row, size, mtime = lookup[k]
        try:
            st_size, st_mtime = frame_stamp(k)
        except OSError as exc:
            raise StaleCacheError(f"{k}: cached source frame is unreadable ({exc})") from None
        if st_size != size or st_mtime != mtime:
            raise StaleCacheError(
                f"{k}: source frame changed since the cache was built (size {size} -> "
                f"{st_size}, mtime_ns {mtime} -> {st_mtime}); rebuild {cache_dir}"
            )
        which.append(a)
        rows.append(row)
    return FrameCache(cache_dir, arrays, np.asarray(which, np.int64), np.asarray(rows, np.int64))
