"""Decoding one frame: PIL, RGB, deterministic bicubic resize to a square.

Frame splits decode through :func:`decode_frame`, which calls the process's decoder: by default
:func:`decode_and_resize`; :func:`set_frame_decoder` installs another (the process-wide memo of
``roga_bench.datasets.frame_memo`` wraps the current one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from roga_bench.datasets._errors import DatasetError

__all__ = ["Decoder", "decode_and_resize", "decode_frame", "frame_decoder", "set_frame_decoder"]

Decoder = Callable[[str | Path, int], np.ndarray]


def decode_and_resize(path: str | Path, size: int) -> np.ndarray:
    """Read an image file as RGB and resize it to ``size`` x ``size``.

    Args:
        path: a PNG (or any format PIL reads).
        size: output side in pixels; frames already at that size are not resampled.

    Returns:
        ``uint8`` array of shape ``[size, size, 3]``.

    Raises:
        DatasetError: the file is missing, unreadable or truncated (the message names the file).
    """
    try:
        with Image.open(path) as img:
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
