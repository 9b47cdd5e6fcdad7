"""Writes videos as PNG frames and the index JSON in DeepfakeBench's layout (CONTRACTS §C).

Byte-identical output for identical input: PNGs carry no timestamp chunk and use a fixed zlib
level; JSON is written with sorted keys and a trailing newline.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from roga_bench.datasets.synthff._pipeline import SPLITS, SYNTHFF, Recipe, Video

__all__ = ["FF_FOLDERS", "frame_dir", "write_video", "write_index"]

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


def write_video(root: Path, recipe: Recipe, video: Video) -> list[str]:
    """Writes ``video``'s frames under ``root``; returns their backslash-relative index paths."""
    rel = frame_dir(recipe, video.label, video.vid)
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, frame in enumerate(video.frames):
        name = f"{t:03d}.png"
        Image.fromarray(np.ascontiguousarray(frame)).save(
            folder / name, format="PNG", compress_level=PNG_LEVEL
        )
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
