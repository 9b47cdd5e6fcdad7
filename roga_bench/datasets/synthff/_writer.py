"""Writes videos as PNG frames and the index JSON in DeepfakeBench's layout (CONTRACTS §C).

A fake's manipulation masks go beside its frames, as DeepfakeBench keeps FF++'s
(``.../masks/<vid>/<NNN>.png`` for ``.../frames/<vid>/<NNN>.png``, see
:func:`roga_bench.datasets.mask_path`): one grey-scale PNG per frame, ``round(255 * weight)``
of the manipulation's blend weight. Real videos get no mask file (``load_mask`` gives None).

Byte-identical output for identical input: PNGs carry no timestamp chunk and use a fixed zlib
level; JSON is written with sorted keys and a trailing newline.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from roga_bench.datasets.synthff._pipeline import SPLITS, SYNTHFF, Recipe, Video

__all__ = ["FF_FOLDERS", "frame_dir", "mask_image", "write_video", "write_index"]

COMPRESSION = "c23"  # SynthFF's frames play FF++'s c23 (light compression) level
PNG_LEVEL = 1  # fast; any fixed level gives identical bytes for a given zlib
FF_FOLDERS = {
    "FF-DF": "Deepfakes",
    "FF-F2F": "Face2Face",
    "FF-FS": "FaceSwap",
    "FF-NT": "NeuralTextures",
}


def frame_dir(recipe: Recipe, label: str, vid: str) -> PurePosixPath:
    """The folder of a video's frames relative to the data_dir."""
    if recipe.name == SYNTHFF.name:
        if label == recipe.real_label:
            base = PurePosixPath("SynthFF/original_sequences/youtube")
        else:
            base = PurePosixPath("SynthFF/manipulated_sequences") / FF_FOLDERS[label]
        return base / COMPRESSION / "frames" / vid
    kind = "real" if label == recipe.real_label else "fake"
    return PurePosixPath(recipe.name) / kind / "frames" / vid


def mask_image(weight: np.ndarray) -> np.ndarray:
    """The uint8 mask of a blend weight in [0, 1]: non-zero where the weight is >= 1/510."""
    return np.clip(np.rint(weight * 255), 0, 255).astype(np.uint8)


def _save_png(path: Path, pixels: np.ndarray) -> None:
    Image.fromarray(np.ascontiguousarray(pixels)).save(path, format="PNG", compress_level=PNG_LEVEL)


def write_video(root: Path, recipe: Recipe, video: Video) -> list[str]:
    """Writes ``video``'s frames (and a fake's masks) under ``root``; returns the frames'
    backslash-relative index paths."""
    rel = frame_dir(recipe, video.label, video.vid)
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    masks = root / rel.parent.parent / "masks" / rel.name  # mask_path(): frames -> masks
    if video.masks is not None:
        masks.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, frame in enumerate(video.frames):
        name = f"{t:03d}.png"
        _save_png(folder / name, frame)
        if video.masks is not None:
            _save_png(masks / name, mask_image(video.masks[t]))
        paths.append("\\".join((*rel.parts, name)))  # like the released DeepfakeBench files
    return paths


def write_index(root: Path, recipe: Recipe, entries: list[tuple[Video, list[str]]]) -> Path:
    """Writes ``dataset_json/<recipe.name>.json`` for the videos in ``entries``.

    FF++-style datasets get the compression level between split and video; the others do not.
    """
    labels = [recipe.real_label, *recipe.fakes]
    tree: dict = {label: {split: {} for split in SPLITS} for label in labels}
    for video, paths in entries:
        tree[video.label][video.split][video.vid] = {"label": video.label, "frames": paths}
    if recipe.name == SYNTHFF.name:
        tree = {
            lab: {s: {COMPRESSION: v} for s, v in splits.items()} for lab, splits in tree.items()
        }
    path = root / "dataset_json" / f"{recipe.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({recipe.name: tree}, sort_keys=True, indent=1) + "\n")
    return path
