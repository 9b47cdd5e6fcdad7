"""Manipulation masks beside the frames, in DeepfakeBench's layout.

DeepfakeBench keeps FF++'s masks beside ``frames``: the frame
``.../manipulated_sequences/Deepfakes/c23/frames/000_003/012.png`` has its mask at
``.../manipulated_sequences/Deepfakes/c23/masks/000_003/012.png`` (one grey-scale PNG per frame,
non-zero where the face was manipulated). Real videos have no masks; their mask is all zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from roga_bench.datasets._errors import DatasetError

__all__ = ["mask_path", "load_mask"]


def mask_path(frame_path: str | Path) -> Path:
    """The mask file of ``frame_path``: its last ``frames`` folder replaced by ``masks``.

    Raises:
        DatasetError: the path has no ``frames`` folder (the message names the path).
    """
    parts = list(Path(frame_path).parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "frames":
            parts[i] = "masks"
            return Path(*parts)
    raise DatasetError(f"{frame_path}: no 'frames' folder in the path, so no mask path")


def load_mask(frame_path: str | Path, size: int | None = None) -> np.ndarray | None:
    """The manipulation mask of one frame as ``float32 [H, W]`` in [0, 1], or ``None`` if absent.

    Args:
        frame_path: the frame's path (not the mask's).
        size: resize the mask to ``size`` x ``size`` (bilinear) when it differs.

    Raises:
        DatasetError: the mask exists but cannot be decoded (the message names the file).
    """
    path = mask_path(frame_path)
    if not path.exists():
        return None
    try:
        with Image.open(path) as img:
            img.load()
            img = img.convert("L")
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot decode mask ({exc})") from None
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0
