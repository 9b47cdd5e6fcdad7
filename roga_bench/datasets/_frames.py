"""Decoding one frame: PIL, RGB, deterministic bicubic resize to a square.

Frame splits decode through :func:`decode_frame`, which calls the process's decoder: by default
:func:`decode_and_resize`; :func:`set_frame_decoder` installs another (the process-wide memo of
``roga_bench.datasets.frame_memo`` wraps the current one).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from roga_bench.datasets._errors import DatasetError
from roga_bench.datasets._lmdb import lmdb_bytes as _lmdb_bytes
from roga_bench.datasets._lmdb import lmdb_exists, lmdb_location, lmdb_stamp

__all__ = [
    "Decoder",
    "decode_and_resize",
    "decode_frame",
    "frame_decoder",
    "frame_exists",
    "frame_stamp",
    "landmark_path",
    "open_source",
    "read_landmarks",
    "set_frame_decoder",
]

Decoder = Callable[[str | Path, int], np.ndarray]


def open_source(path: str | Path) -> str | Path | IO[bytes] | None:
    """What PIL opens for ``path``: the path of a file, the stored bytes of an LMDB path (see
    ``_lmdb``), None for an LMDB path without an entry."""
    if lmdb_location(path) is None:
        return path
    raw = _lmdb_bytes(path)
    return None if raw is None else io.BytesIO(raw)


def frame_exists(path: str | Path) -> bool:
    """Whether a frame (a file, or an LMDB path's entry) exists."""
    if lmdb_location(path) is None:
        return os.path.exists(path)
    return lmdb_exists(path)


def frame_stamp(path: str | Path) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a frame: a file's, or an LMDB entry's length and its database's
    mtime; what the frame cache and the memo compare to see a changed source.

    Raises:
        OSError: the frame does not exist.
    """
    if lmdb_location(path) is None:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    stamp = lmdb_stamp(path)
    if stamp is None:
        raise FileNotFoundError(f"{path}: no entry in its LMDB database")
    return stamp


def decode_and_resize(path: str | Path, size: int) -> np.ndarray:
    """Read an image file (or an LMDB entry) as RGB and resize it to ``size`` x ``size``.

    Args:
        path: a PNG (or any format PIL reads), or an LMDB path (``_lmdb``).
        size: output side in pixels; frames already at that size are not resampled.

    Returns:
        ``uint8`` array of shape ``[size, size, 3]``.

    Raises:
        DatasetError: the file is missing, unreadable or truncated (the message names the file).
    """
    source = open_source(path)
    if source is None:
        raise DatasetError(f"{path}: cannot decode image (no entry in its LMDB database)")
    try:
        with Image.open(source) as img:
            img.load()  # the full decode, so truncation surfaces here
            if img.mode != "RGB":
                img = img.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: cannot decode image ({exc})") from None
    if img.size != (size, size):
        # DeepfakeBench resizes with cv2 INTER_CUBIC; PIL's bicubic is the deterministic analogue.
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.array(img, dtype=np.uint8)  # a writable copy: torch.from_numpy shares it


_decoder: Decoder = decode_and_resize


def frame_decoder() -> Decoder:
    """The decoder frame splits use now."""
    return _decoder


def set_frame_decoder(decoder: Decoder | None) -> Decoder:
    """Make frame splits decode with ``decoder`` (None: :func:`decode_and_resize`); returns the
    previous one."""
    global _decoder
    previous, _decoder = _decoder, decoder or decode_and_resize
    return previous


def decode_frame(path: str | Path, size: int) -> np.ndarray:
    """``uint8 [size, size, 3]`` of ``path`` through the installed decoder."""
    return _decoder(path, size)


def landmark_path(frame_path: str | Path) -> Path:
    """DeepfakeBench's landmark file of a frame: its last ``frames`` folder replaced by
    ``landmarks``, ``.npy`` for the extension (``.../c23/landmarks/000/012.npy``).

    Raises:
        DatasetError: the path has no ``frames`` folder.
    """
    parts = list(Path(frame_path).parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "frames":
            parts[i] = "landmarks"
            return Path(*parts).with_suffix(".npy")
    raise DatasetError(f"{frame_path}: no 'frames' folder in the path, so no landmark path")


def read_landmarks(path: str | Path) -> np.ndarray | None:
    """The ``(81, 2)`` int64 landmarks of a ``.npy`` file or of an LMDB path's entry (raw array
    bytes, dtype told by the length: ``_lmdb.decode_landmarks``); None when absent.

    Raises:
        DatasetError: the file or entry is not an (81, 2) array (names the path).
    """
    from roga_bench.datasets._lmdb import LANDMARK_SHAPE, decode_landmarks

    if lmdb_location(path) is not None:
        raw = _lmdb_bytes(path)
        return None if raw is None else decode_landmarks(raw, str(path))
    if not os.path.exists(path):
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read landmarks ({exc})") from None
    if arr.shape != LANDMARK_SHAPE:
        raise DatasetError(f"{path}: landmarks of shape {arr.shape}, expected {LANDMARK_SHAPE}")
    return arr.astype(np.int64)
