"""Manipulation masks beside the frames, in DeepfakeBench's layout.

Where the index file lists a video's ``masks`` (DeepfakeBench's rearrange.py does for FF++'s
methods, always the ``c23/masks`` files, whatever the compression level), those files are read,
matched to frames by file name. Otherwise the mask path is derived from the frame's: DeepfakeBench
keeps FF++'s masks beside ``frames``: the frame
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
from roga_bench.datasets._frames import frame_exists, open_source

__all__ = ["mask_path", "load_mask", "read_mask", "split_mask", "has_masks", "split_masks"]


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
    return read_mask(mask_path(frame_path), size)


def read_mask(path: str | Path, size: int | None = None) -> np.ndarray | None:
    """The mask file ``path`` as ``float32 [H, W]`` in [0, 1], or ``None`` if it does not exist.

    Raises:
        DatasetError: the mask exists but cannot be decoded (the message names the file).
    """
    path = Path(path)
    source = open_source(path)  # the file, or its LMDB entry (hparam lmdb_dir)
    if source is None or (source is path and not path.exists()):
        return None
    try:
        with Image.open(source) as img:
            img.load()
            img = img.convert("L")
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot decode mask ({exc})") from None
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _split_mask_paths(part: Any) -> list[Path | None]:
    """Each frame's mask file: the index's ``masks`` entry where it lists one (DeepfakeBench's
    rearrange.py lists c23's masks for every compression), else derived with :func:`mask_path`;
    None where the index lists masks but none for that frame."""
    listed = getattr(part, "mask_paths", None) or [None] * len(part.paths)
    return [
        mask_path(p) if m is None else (Path(m) if m else None)
        for p, m in zip(part.paths, listed, strict=True)
    ]


def split_mask(part: Any, i: int, size: int | None = None) -> np.ndarray | None:
    """The mask of item ``i`` of a split (the index's ``masks`` entry, else the derived path) as
    ``float32 [H, W]``, or None when it has none (a real frame, a dataset without masks).

    Raises:
        DatasetError: the mask exists but cannot be decoded.
    """
    listed = getattr(part, "mask_paths", None)
    m = listed[i] if listed else None
    path = mask_path(part.paths[i]) if m is None else (Path(m) if m else None)
    return None if path is None else read_mask(path, size)


def has_masks(ds: Any, env: int, split: str = "test") -> bool:
    """Whether every fake frame of ``ds``'s environment ``env`` split ``split`` has a mask file.

    ``ds`` is an environment dataset (``ds.split(env, split)`` with ``paths`` and ``labels``).
    """
    part = ds.split(env, split)
    masks = _split_mask_paths(part)
    fakes = [m for m, y in zip(masks, part.labels, strict=True) if int(y) == 1]
    return bool(fakes) and all(m is not None and frame_exists(m) for m in fakes)


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
    masks = _split_mask_paths(part)
    for i, (path, label) in enumerate(zip(masks, part.labels, strict=True)):
        if int(label) != 1:
            continue
        mask = None if path is None else read_mask(path, side)
        if mask is None:
            missing.append(path if path is not None else f"(none listed for {part.paths[i]})")
        else:
            out[i] = mask
    if missing:
        name = ds.ENVIRONMENTS[env] if hasattr(ds, "ENVIRONMENTS") else env
        raise DatasetError(
            f"{type(ds).__name__} env {env} ({name}) {split}: {len(missing)} fake frame(s) have "
            f"no manipulation mask, e.g. {missing[0]}; this dataset has no masks "
            "(DeepfakeBench ships them for FF++ only; SynthFF writes them)"
        )
    return out
