"""Manipulation masks beside the frames, in DeepfakeBench's layout.

DeepfakeBench keeps FF++'s masks beside ``frames``: the frame
``.../manipulated_sequences/Deepfakes/c23/frames/000_003/012.png`` has its mask at
``.../manipulated_sequences/Deepfakes/c23/masks/000_003/012.png`` (one grey-scale PNG per frame,
non-zero where the face was manipulated). Real videos have no masks; their mask is all zeros.

SynthFF writes such masks for every fake frame (the manipulation's blend weight, see
docs/synthff.md); of the real datasets, DeepfakeBench ships them for FF++ only.
:func:`split_masks` reads the masks of a whole environment split and raises, naming the first
missing file, when a fake frame has none (a dataset without masks), rather than scoring zeros.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from roga_bench.datasets._errors import DatasetError

__all__ = ["mask_path", "load_mask", "has_masks", "split_masks"]


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


def has_masks(ds: Any, env: int, split: str = "test") -> bool:
    """Whether every fake frame of ``ds``'s environment ``env`` split ``split`` has a mask file.

    ``ds`` is an environment dataset (``ds.split(env, split)`` with ``paths`` and ``labels``).
    """
    part = ds.split(env, split)
    fakes = [p for p, y in zip(part.paths, part.labels, strict=True) if int(y) == 1]
    return bool(fakes) and all(mask_path(p).is_file() for p in fakes)


def split_masks(ds: Any, env: int, split: str = "test", size: int | None = None) -> np.ndarray:
    """The masks of every frame of one environment split, in item order: ``float32 [N, S, S]``.

    Real frames (label 0) get zeros; fake frames read their mask file (:func:`load_mask`).

    Args:
        ds: an environment dataset (``DeepfakeBenchEnvironments``: SynthFF, FF++ ...).
        env: environment index; split: ``train``, ``val`` or ``test``.
        size: mask side; default the split's ``image_size``.

    Raises:
        DatasetError: a fake frame has no mask (the message names the environment, how many fake
            frames lack one and the first missing file), or a mask cannot be decoded.
    """
    part = ds.split(env, split)
    side = int(size if size is not None else part.image_size)
    out = np.zeros((len(part.paths), side, side), dtype=np.float32)
    missing = []
    for i, (path, label) in enumerate(zip(part.paths, part.labels, strict=True)):
        if int(label) != 1:
            continue
        mask = load_mask(path, side)
        if mask is None:
            missing.append(path)
        else:
            out[i] = mask
    if missing:
        name = ds.ENVIRONMENTS[env] if hasattr(ds, "ENVIRONMENTS") else env
        raise DatasetError(
            f"{type(ds).__name__} env {env} ({name}) {split}: {len(missing)} fake frame(s) have "
            f"no manipulation mask, e.g. {mask_path(missing[0])}; this dataset has no masks "
            "(DeepfakeBench ships them for FF++ only; SynthFF writes them)"
        )
    return out
