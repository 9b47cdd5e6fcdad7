"""Public testing helpers: tiny DeepfakeBench-layout trees written on the fly.

For tests (this repository's and yours: a dataset class, a loader or a training loop that reads
DeepfakeBench's layout can be exercised without FF++ on disk) and for reproducing a layout
question (``target_val="deepfakebench"`` writes what DeepfakeBench's ``rearrange.py`` writes).
Nothing here is used by training; it is imported only where asked for::

    from roga_bench.datasets.testing import write_tree
    data_dir = write_tree(tmp_path, shape="backslash", targets=("CDF-v2",))

Frames are small solid-colour PNGs (nothing is committed); real videos are named ``000``,
``001``..., fake videos ``000_003``-style and reused across methods, as in FF++.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "FF_FOLDERS",
    "TARGET_LAYOUT",
    "write_tree",
    "write_index",
    "write_deepfakebench_lmdb",
    "frame_path_string",
]

FF_FOLDERS = {
    "FF-real": "original_sequences/youtube",
    "FF-DF": "manipulated_sequences/Deepfakes",
    "FF-F2F": "manipulated_sequences/Face2Face",
    "FF-FS": "manipulated_sequences/FaceSwap",
    "FF-NT": "manipulated_sequences/NeuralTextures",
}
# env name -> (index/folder name, real label, fake labels)
TARGET_LAYOUT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "CDF-v1": ("Celeb-DF-v1", "CelebDFv1_real", ("CelebDFv1_fake",)),
    "CDF-v2": ("Celeb-DF-v2", "CelebDFv2_real", ("CelebDFv2_fake",)),
    "UADFV": ("UADFV", "UADFV_Real", ("UADFV_Fake",)),
    "DFDC": ("DFDC", "DFDC_Real", ("DFDC_Fake",)),
    "DFDCP": ("DFDCP", "DFDCP_Real", ("DFDCP_FakeA", "DFDCP_FakeB")),
}
DEFAULT_COUNTS = {"train": 4, "val": 2, "test": 2}


def frame_path_string(rel: str, shape: str) -> str:
    """A frame path relative to the rgb root (``FaceForensics++/...``) written in ``shape``.

    Shapes: ``backslash`` (the released files), ``absolute`` (another machine), ``rgb``
    (``./datasets/rgb/...``), ``posix`` (plain relative).
    """
    if shape == "backslash":
        return rel.replace("/", "\\")
    if shape == "absolute":
        return "/home/someone/DeepfakeBench/datasets/rgb/" + rel
    if shape == "rgb":
        return "./datasets/rgb/" + rel
    if shape == "posix":
        return rel
    raise ValueError(f"unknown path shape {shape!r}")


def _write_video(
    root: Path, rel_dir: str, n_frames: int, size: int, seed: int, shape: str, padded: bool
) -> list[str]:
    rng = np.random.default_rng(seed)
    folder = root / rel_dir
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_frames):
        name = f"{k:03d}.png" if padded else f"{k}.png"
        pixels = np.full((size, size, 3), rng.integers(0, 256, 3), dtype=np.uint8)
        pixels[0, 0] = (k, seed % 256, 0)  # frame number readable back from the pixel
        Image.fromarray(pixels).save(folder / name)
        paths.append(frame_path_string(f"{rel_dir}/{name}", shape))
    return paths[::-1]  # listed out of order: the reader must sort by integer file name


def _write_masks(root: Path, rel_dir: str, n_frames: int, opts: dict, value: int) -> list[str]:
    """Grey masks of constant ``value`` for one video (every frame), as ``rearrange.py`` lists
    them: the c23 masks, whatever compression the frames have."""
    folder = root / rel_dir
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_frames):
        name = f"{k:03d}.png" if opts["fmt"]["padded"] else f"{k}.png"
        Image.fromarray(np.full((opts["size"],) * 2, value, dtype=np.uint8)).save(folder / name)
        paths.append(frame_path_string(f"{rel_dir}/{name}", opts["fmt"]["shape"]))
    return paths


def _ff_block(
    root: Path, label: str, counts: Mapping[str, int], comps: Iterable[str], opts: dict
) -> dict:
    block: dict = {}
    start = 0
    for split, n in counts.items():
        per_comp = {}
        for comp in comps:
            videos = {}
            for j in range(start, start + n):
                vid = f"{j:03d}" if label == "FF-real" else f"{j:03d}_{(j + 3) % 1000:03d}"
                rel = f"FaceForensics++/{FF_FOLDERS[label]}/{comp}/frames/{vid}"
                seed = j * 97 + len(label) * 7  # deterministic, distinct per label and video
                frames = _write_video(root, rel, opts["frames"], opts["size"], seed, **opts["fmt"])
                videos[vid] = {"label": label, "frames": frames}
                if opts["masks"] and label != "FF-real":
                    masks_dir = f"FaceForensics++/{FF_FOLDERS[label]}/c23/masks/{vid}"
                    value = 1 + seed % 255  # non-zero, distinct per video
                    videos[vid]["masks"] = _write_masks(
                        root, masks_dir, opts["frames"], opts, value
                    )
            per_comp[comp] = videos
        block[split] = per_comp
        start += n
    return block


def write_tree(
    root: Path,
    *,
    shape: str = "backslash",
    counts: Mapping[str, int] = DEFAULT_COUNTS,
    frames: int = 4,
    size: int = 16,
    compressions: Iterable[str] = ("c23", "c40"),
    methods: Iterable[str] = ("DF", "F2F", "FS", "NT"),
    whole: bool = True,
    per_method: bool = False,
    targets: Iterable[str] = (),
    padded: bool = True,
    target_val: str = "own",
    masks: bool = False,
) -> Path:
    """Write a tiny FF++ (plus targets) tree and its index files under ``root``; returns ``root``.

    Args:
        shape: how frame paths are written in the JSON (see :func:`frame_path_string`).
        counts: videos per split for every label block.
        frames: frames per video; ``size``: their side in pixels.
        compressions: FF++ compression levels written (nested index).
        methods: FF++ methods written (``FF-<m>`` label blocks).
        whole: write ``FaceForensics++.json``; ``per_method``: write ``FF-<m>.json`` files.
        targets: cross-dataset targets (keys of ``TARGET_LAYOUT``), flat index without compression.
        padded: ``000.png`` names (else ``0.png``, ``10.png``...).
        target_val: ``own`` (targets get their own val videos) or ``deepfakebench`` (the shape
            DeepfakeBench's ``rearrange.py`` writes: DFDC's val is one stray ``{label, frames}``
            pair plus every train video, the other targets' val is their test list).
        masks: give every fake FF++ video a ``masks`` list in the index, as ``rearrange.py`` does:
            the ``c23/masks`` files (grey, constant ``1 + seed % 255`` per video) for every
            compression level.
    """
    if target_val not in ("own", "deepfakebench"):
        raise ValueError(f"target_val must be 'own' or 'deepfakebench', got {target_val!r}")
    root = Path(root)
    json_dir = root / "dataset_json"
    json_dir.mkdir(parents=True, exist_ok=True)
    opts = {
        "frames": frames,
        "size": size,
        "fmt": {"shape": shape, "padded": padded},
        "masks": masks,
    }
    comps = list(compressions)
    blocks = {"FF-real": _ff_block(root, "FF-real", counts, comps, opts)}
    for m in methods:
        blocks[f"FF-{m}"] = _ff_block(root, f"FF-{m}", counts, comps, opts)
    if whole:
        _dump(json_dir / "FaceForensics++.json", {"FaceForensics++": blocks})
    if per_method:
        for m in methods:
            name = f"FF-{m}"
            _dump(
                json_dir / f"{name}.json",
                {name: {"FF-real": blocks["FF-real"], name: blocks[name]}},
            )
    for env in targets:
        name, real, fakes = TARGET_LAYOUT[env]
        labels: dict = {}
        for i, label in enumerate((real, *fakes)):
            labels[label] = {}
            for split, n in counts.items():
                videos = {}
                for j in range(n):
                    vid = f"{split}{j}"
                    rel = f"{name}/{label}/frames/{vid}"
                    paths = _write_video(root, rel, frames, size, 31 * j + i, shape, padded)
                    videos[vid] = {"label": label, "frames": paths}
                labels[label][split] = videos
            if target_val == "deepfakebench":
                labels[label]["val"] = _rearranged_val(name, labels[label])
        _dump(json_dir / f"{name}.json", {name: labels})
    return root


def _rearranged_val(name: str, block: dict) -> dict:
    """A target's val as DeepfakeBench's ``rearrange.py`` leaves it."""
    if name != "DFDC":
        return dict(block["test"])  # CDF, UADFV, DFDCP: val is the test list
    first = next(iter(block["train"].values()))
    # DFDC: val overwritten by one video's {label, frames}, then every train video appended
    return {"label": first["label"], "frames": first["frames"], **block["train"]}


def _dump(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def write_index(
    root: Path,
    name: str,
    labels: Mapping[str, str],
    *,
    counts: Mapping[str, int] = DEFAULT_COUNTS,
    frames: int = 4,
    size: int = 16,
    compressions: Iterable[str] | None = None,
    shape: str = "backslash",
    seed: int = 0,
) -> Path:
    """Write one more DeepfakeBench-format index ``<root>/dataset_json/<name>.json`` and its frames;
    returns the index file. For targets beyond :data:`TARGET_LAYOUT`: DFD, DeeperForensics-1.0,
    FaceShifter, DF40's ``simswap_ff``...

    Args:
        labels: label name -> the folder (relative to ``root``) its videos go under, e.g.
            ``{"simswap_Real": "DF40/simswap/ff/real", "simswap_Fake": "DF40/simswap/ff/fake"}``;
            each video is ``<folder>[/<compression>]/frames/<split><j>/``.
        compressions: nest the index by these levels (the FF++ family: DFD, FaceShifter); None:
            flat (Celeb-DF, DF40...).
    """
    root = Path(root)
    doc: dict = {}
    for i, (label, folder) in enumerate(labels.items()):
        block: dict = {}
        for split, n in counts.items():
            per_comp = {}
            for comp in compressions or [None]:
                videos = {}
                for j in range(n):
                    vid = f"{split}{j}"
                    rel = f"{folder}/{comp}/frames/{vid}" if comp else f"{folder}/frames/{vid}"
                    paths = _write_video(
                        root, rel, frames, size, seed + 131 * i + 31 * j, shape, True
                    )
                    videos[vid] = {"label": label, "frames": paths}
                per_comp[comp] = videos
            block[split] = per_comp if compressions else per_comp[None]
        doc[label] = block
    (root / "dataset_json").mkdir(parents=True, exist_ok=True)
    path = root / "dataset_json" / f"{name}.json"
    _dump(path, {name: doc})
    return path


def write_deepfakebench_lmdb(
    data_dir: Path, dataset: str, lmdb_dir: Path, separator: str = "/"
) -> Path:
    """Write ``<lmdb_dir>/<dataset>_lmdb`` from the folder ``<data_dir>/<dataset>`` as
    DeepfakeBench's ``preprocessing/dataset2lmdb_test.py`` does: key ``f"{dataset}\\"`` + the
    file's path relative to that folder with ``separator`` between parts (``"/"``: written on
    Linux; ``"\\"``: on Windows), value the file's bytes, ``.npy`` files as their array's raw
    bytes (no header); folders whose path (below ``data_dir`` here; the whole path there)
    contains ``video`` are skipped, as there. Needs
    ``lmdb``. Returns the database folder."""
    import os

    import lmdb

    source = Path(data_dir) / dataset
    db = Path(lmdb_dir) / f"{dataset}_lmdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(db), map_size=1 << 30)
    with env.begin(write=True) as txn:
        for folder, _, files in os.walk(source, followlinks=True):
            if "video" in os.path.relpath(folder, data_dir):
                continue
            for name in files:
                file = Path(folder) / name
                rel = file.relative_to(source).parts
                key = f"{dataset}\\" + separator.join(rel)
                value = np.load(file).tobytes() if name.endswith(".npy") else file.read_bytes()
                txn.put(key.encode("utf-8"), value)
    env.close()
    return db
