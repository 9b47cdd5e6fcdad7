"""Decoding one frame: PIL, RGB, deterministic bicubic resize to a square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from roga_bench.datasets._errors import DatasetError

__all__ = ["decode_and_resize"]


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
