"""Reader for DeepfakeBench's ``dataset_json/<Name>.json`` index files.

An index is ``{dataset: {label_name: {train|val|test: {c23|c40: {video_id: {"label": label_name,
"frames": [...]}}}}}}`` for the FF++ family and the same without the compression level for other
datasets; both nestings are detected per block. Frame paths are re-rooted on their ``<Dataset>/``
segment under the user's ``data_dir`` (see :func:`resolve_frame_path`), sorted by integer file name
and sampled (evenly by default, or the first N: :func:`sample_frames`). A video's ``masks`` list,
where present, gives its frames' masks. A video is identified by (label name, video id): FF++
reuses folder names such as ``000_003`` across methods.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roga_bench.datasets._errors import BadIndexError, DatasetError, warn_once
from roga_bench.datasets._frames import frame_exists
from roga_bench.datasets._labels import label_of
from roga_bench.datasets._lmdb import lmdb_frame_path

log = logging.getLogger(__name__)

__all__ = [
    "SPLITS",
    "COMPRESSIONS",
    "DATASET_ROOTS",
    "Video",
    "load_index",
    "clear_index_cache",
    "index_labels",
    "resolve_frame_path",
    "sort_frames",
    "sample_evenly",
    "sample_frames",
    "FRAME_SAMPLING",
    "read_videos",
    "ReadReport",
]

SPLITS = ("train", "val", "test")
# How ``frames_per_video`` frames are taken from a longer video (after sorting by frame number):
# "even" spreads them from first to last (our default: the whole clip is represented, which is
# what DeepfakeBench's preprocess.py intends with its np.linspace), "first" keeps the first N, as
# DeepfakeBench's training loader does (its step is computed after capping the count, so it is 1).
FRAME_SAMPLING = ("even", "first")
COMPRESSIONS = ("raw", "c23", "c40")
# Frame-tree folders of the DeepfakeBench datasets (and SynthFF): a frame path is re-rooted on the
# last of these segments it contains.
DATASET_ROOTS = frozenset(
    {
        "FaceForensics++",
        "DeepFakeDetection",
        "FaceShifter",
        "Celeb-DF-v1",
        "Celeb-DF-v2",
        "UADFV",
        "DFDC",
        "DFDCP",
        "DeeperForensics-1.0",
        "DF40",
        "SynthFF",
        "SynthCDF",
        "SynthUADFV",
        "SynthDFDC",
    }
)


@dataclass(frozen=True)
class Video:
    """One video of one label block: its sampled, re-rooted frame paths (as strings).

    ``masks``, when the index lists them (the entry's ``masks`` key), holds each frame's re-rooted
    mask path ("" where the list has no file of that name); None: derive from the frame path.
    """

    label_name: str
    video_id: str
    label: int
    frames: tuple[str, ...]
    masks: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """``"<label_name>/<video_id>"``, unique across methods and datasets."""
        return f"{self.label_name}/{self.video_id}"


@dataclass
class ReadReport:
    """What :func:`read_videos` worked around, for the run's notes and the ``check`` command.

    ``missing``: one line per frame listed but absent (with ``skip_missing_frames``);
    ``short_videos``: videos listing fewer frames than ``frames_per_video`` (all read);
    ``short_frames``: the frames those videos lack to reach ``frames_per_video``.
    """

    missing: list[str] = field(default_factory=list)
    short_videos: int = 0
    short_frames: int = 0


def load_index(path: Path) -> dict[str, Any]:
    """Parse one index file (cached while the file is unchanged).

    Raises:
        BadIndexError: the file is missing, empty, not valid JSON (with line and column: a
            truncated file) or not an object.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise BadIndexError(f"{path}: cannot read dataset index ({exc.strerror})") from None
    if stat.st_size == 0:
        raise BadIndexError(f"{path}: empty file (0 bytes), not a dataset index")
    return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)


def clear_index_cache() -> None:
    """Drop parsed index files (the full FF++ index takes hundreds of MB as Python objects)."""
    _load_cached.cache_clear()


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise BadIndexError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadIndexError(f"{path}: cannot read dataset index ({exc})") from None
    if not isinstance(doc, dict) or not doc:
        raise BadIndexError(f"{path}: expected a JSON object {{dataset: {{label: ...}}}}")
    return doc


def _dataset_block(doc: dict[str, Any], path: Path) -> tuple[str, dict[str, Any]]:
    """The ``{label: ...}`` block: the key named like the file, else the only top-level key."""
    name = path.stem if path.stem in doc else (next(iter(doc)) if len(doc) == 1 else None)
    if name is None:
        raise BadIndexError(
            f"{path}: expected the top-level key {path.stem!r} or a single key, got {sorted(doc)}"
        )
    block = doc[name]
    if not isinstance(block, dict) or not block:
        raise BadIndexError(f"{path}: [{name!r}] must be a non-empty object of label blocks")
    return name, block


def index_labels(path: Path) -> list[str]:
    """The label names an index file holds (e.g. ``["FF-real", "FF-DF"]``)."""
    return list(_dataset_block(load_index(path), Path(path))[1])


def resolve_frame_path(raw: str, data_dir: Path, roots: Iterable[str] = DATASET_ROOTS) -> Path:
    """Re-root a frame path from an index file under ``data_dir``.

    Handles the three shapes found in the wild: relative with backslashes
    (``FaceForensics++\\original_sequences\\...\\000.png``), absolute paths written on another
    machine, and ``./datasets/rgb/...``. The path is cut at the last segment that names a dataset
    folder (``roots``); failing that, after an ``rgb`` segment; a relative path with neither is
    taken as relative to ``data_dir``.

    Raises:
        DatasetError: an absolute path without a recognisable dataset folder.
    """
    return Path(_reroot(raw, str(data_dir), frozenset(roots)))


def _reroot(raw: str, data_dir: str, roots: frozenset[str]) -> str:
    # Plain string work: pathlib parsing dominated index loading (~0.5 ms a frame).
    norm = raw.replace("\\", "/")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    for i in range(len(parts) - 1, -1, -1):
        # DFD and FaceShifter are FF++ method folders (``FaceForensics++/manipulated_sequences/
        # DeepFakeDetection/...``): there the dataset folder is the FaceForensics++ above.
        if parts[i] in roots and (i == 0 or parts[i - 1] not in _FF_SEQUENCES):
            return os.path.join(data_dir, *parts[i:])
    if "rgb" in parts:
        cut = len(parts) - 1 - parts[::-1].index("rgb")
        return os.path.join(data_dir, *parts[cut + 1 :])
    if parts and not norm.startswith("/") and not re.match(r"^[A-Za-z]:$", parts[0]):
        return os.path.join(data_dir, *parts)
    raise DatasetError(
        f"frame path {raw!r} names no dataset folder (one of {sorted(roots)}); cannot re-root "
        f"it under {data_dir}"
    )


_FF_SEQUENCES = frozenset({"manipulated_sequences", "original_sequences"})


_DIGITS = re.compile(r"\d+")


def _frame_number(path: str) -> tuple[int, str]:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    digits = _DIGITS.findall(name)
    return (int(digits[-1]) if digits else -1, name)


class _Rerooter:
    """:func:`_reroot` of one index's frame paths, computed once per video folder (a video's
    frames share it): the folder part is re-rooted, the file name appended. Gives exactly what
    ``_reroot`` gives; paths whose file name could itself be the cut point (a dataset or ``rgb``
    name) or that have no folder part go through ``_reroot`` whole."""

    def __init__(self, data_dir: str, roots: frozenset[str]) -> None:
        self.data_dir, self.roots = data_dir, roots
        self._folders: dict[str, str] = {}

    def __call__(self, raw: str) -> str:
        cut = max(raw.rfind("/"), raw.rfind("\\"))
        name = raw[cut + 1 :]
        folder = raw[:cut]
        if cut <= 0 or name in self.roots or name in ("rgb", "", "."):
            return _reroot(raw, self.data_dir, self.roots)
        done = self._folders.get(folder)
        if done is None:
            try:
                done = _reroot(folder, self.data_dir, self.roots)
            except DatasetError:  # e.g. "./000.png": let the whole path decide (or raise)
                return _reroot(raw, self.data_dir, self.roots)
            self._folders[folder] = done
        return done + name if done.endswith(os.sep) else done + os.sep + name


class _Listing:
    """``os.path.exists`` of frame files with one directory listing per video folder instead of
    one ``stat`` per frame (NFS-friendly); a name the listing lacks, or lists as a symlink, is
    checked with ``os.path.exists`` itself, so the answer is always exactly its answer."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str]] = {}

    def __call__(self, path: str) -> bool:
        folder, _, name = path.rpartition(os.sep)
        names = self._names.get(folder)
        if names is None:
            try:
                with os.scandir(folder) as it:
                    names = frozenset(e.name for e in it if not e.is_symlink())
            except OSError:
                names = frozenset()
            self._names[folder] = names
        return name in names or os.path.exists(path)


def sort_frames(frames: Sequence[str]) -> list[str]:
    """Frames ordered by the integer in their file name (``2.png`` before ``10.png``)."""
    return sorted(frames, key=_frame_number)


def sample_evenly(items: Sequence[Any], k: int) -> list[Any]:
    """``k`` items spread evenly from first to last (``np.linspace``, as DeepfakeBench's
    ``preprocess.py`` picks frames from a video).

    ``k <= 0`` or ``k >= len(items)`` keeps every item.
    """
    if k <= 0 or k >= len(items):
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, k, dtype=int)]


def sample_frames(items: Sequence[Any], k: int, how: str = "even") -> list[Any]:
    """``k`` of ``items``: ``"even"`` (:func:`sample_evenly`) or ``"first"`` (the first ``k``, as
    DeepfakeBench's loader keeps them). ``k <= 0`` keeps every item.

    Raises:
        DatasetError: an unknown ``how``.
    """
    if how not in FRAME_SAMPLING:
        raise DatasetError(f"frame_sampling must be one of {FRAME_SAMPLING}, got {how!r}")
    if how == "first":
        return list(items) if k <= 0 else list(items[:k])
    return sample_evenly(items, k)


def _file_name(raw: str) -> str:
    return raw.replace("\\", "/").rsplit("/", 1)[-1]


def _mask_paths(
    entry: dict[str, Any],
    frames: list[str],
    root_dir: str,
    roots: frozenset[str],
    where: str,
    locate: Any,
) -> tuple[str, ...] | None:
    """The re-rooted mask of each (raw) frame from the entry's ``masks`` list, matched by file
    name ("" if none matches); None when the entry has no ``masks`` key. DeepfakeBench's
    rearrange.py lists the c23 masks for every compression level (masks do not depend on it)."""
    listed = entry.get("masks")
    if listed is None:
        return None
    if not isinstance(listed, list):
        raise BadIndexError(f"{where}: 'masks' must be a list of paths")
    by_name = {_file_name(str(m)): str(m) for m in listed}
    found = (by_name.get(_file_name(f)) for f in frames)
    return tuple("" if m is None else locate(_reroot(m, root_dir, roots)) for m in found)


def _videos_block(
    block: dict[str, Any], path: Path, label_name: str, split: str, compression: str
) -> dict[str, Any]:
    where = f"{path}: [{label_name!r}]"
    if not isinstance(block, dict):
        raise BadIndexError(f"{where} must be an object of splits")
    if split not in block:
        raise BadIndexError(f"{where} has no {split!r} split; found {sorted(block)}")
    videos = block[split]
    if not isinstance(videos, dict):
        raise BadIndexError(f"{where}[{split!r}] must be an object")
    if videos and set(videos) <= set(COMPRESSIONS):  # FF++ nesting with a compression level
        if compression not in videos:
            raise BadIndexError(
                f"{where}[{split!r}] has compression levels {sorted(videos)}, "
                f"not the requested {compression!r} (hparam compression)"
            )
        videos = videos[compression]
        if not isinstance(videos, dict):
            raise BadIndexError(f"{where}[{split!r}][{compression!r}] must be an object")
    # DeepfakeBench's rearrange.py assigns one video's {"label", "frames"} to DFDC's val split
    # itself; those two keys are not videos.
    stray = [k for k in ("label", "frames") if k in videos and not isinstance(videos[k], dict)]
    if stray:
        warn_once(f"{where}[{split!r}]: ignoring keys {stray} that are not videos")
        videos = {k: v for k, v in videos.items() if k not in stray}
    return videos


def read_videos(
    path: Path,
    data_dir: Path,
    label_name: str,
    split: str,
    compression: str = "c23",
    frames_per_video: int = 32,
    skip_missing_frames: bool = False,
    frame_sampling: str = "even",
    lmdb_dir: str = "",
    report: ReadReport | None = None,
) -> list[Video]:
    """The videos of one label block and split, with sampled, re-rooted, existing frame paths.

    Args:
        path: the index file.
        data_dir: the folder holding the ``<Dataset>/`` frame trees.
        label_name: the label block, e.g. ``"FF-DF"``.
        split: ``train``, ``val`` or ``test``.
        compression: used when the block is nested by compression level.
        frames_per_video: frames sampled per video (0 = all); a video listing fewer has all of
            its frames read (counted in ``report``).
        skip_missing_frames: drop (and count, and warn about) frames absent on disk instead of
            raising; a video left without frames is dropped.
        frame_sampling: ``"even"`` or ``"first"`` (see :data:`FRAME_SAMPLING`).
        lmdb_dir: read frames (and masks) from the ``<dataset>_lmdb`` databases in this folder
            (registered with ``_lmdb.register_lmdb_dir``) instead of ``data_dir``: the paths are
            ``<lmdb_dir>/<dataset>_lmdb/...``.
        report: where skipped frames and short videos are recorded, if given.

    Returns:
        The videos sorted by video id.

    Raises:
        BadIndexError: a missing, empty or malformed index, label block, split or entry.
        DatasetError: an unknown label name, a frame absent on disk (unless
            ``skip_missing_frames``).
    """
    path = Path(path)
    dataset, labels = _dataset_block(load_index(path), path)
    if label_name not in labels:
        raise BadIndexError(f"{path}: no label block {label_name!r}; found {sorted(labels)}")
    videos = _videos_block(labels[label_name], path, label_name, split, compression)
    roots = DATASET_ROOTS | {dataset}
    root_dir = lmdb_dir or str(data_dir)
    reroot = _Rerooter(root_dir, roots)
    if lmdb_dir:

        def locate(rerooted: str) -> str:
            return lmdb_frame_path(rerooted, lmdb_dir)

        exists = frame_exists
    else:

        def locate(rerooted: str) -> str:
            return rerooted

        exists = _Listing()
    report = report if report is not None else ReadReport()
    out, missing, short = [], 0, 0
    for video_id in sorted(videos):
        entry = videos[video_id]
        where = f"{path}: [{label_name!r}][{split!r}][{video_id!r}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("frames"), list):
            raise BadIndexError(f"{where} must be an object with a 'frames' list")
        label = label_of(entry.get("label", label_name), where)
        listed = entry["frames"]
        if 0 < len(listed) < frames_per_video:  # all its frames are read (DeepfakeBench #66)
            short += 1
            report.short_frames += frames_per_video - len(listed)
        frames, kept = [], []
        for raw in sample_frames(sort_frames(listed), frames_per_video, frame_sampling):
            frame = locate(reroot(str(raw)))
            if exists(frame):
                frames.append(frame)
                kept.append(str(raw))
            elif skip_missing_frames:
                missing += 1
                report.missing.append(f"{frame}: listed in {where} but not found")
            else:
                where_from = "in the LMDB (hparam lmdb_dir)" if lmdb_dir else "under data_dir"
                raise DatasetError(
                    f"{where}: frame {raw!r} not found {where_from} (re-rooted to {frame}); "
                    "check --data_dir, or set hparam skip_missing_frames=true"
                )
        if frames:
            masks = _mask_paths(entry, kept, root_dir, roots, where, locate)
            out.append(Video(label_name, str(video_id), label, tuple(frames), masks))
    report.short_videos += short
    if missing:
        warn_once(f"{path}: [{label_name!r}][{split!r}]: skipped {missing} missing frames")
    if short:  # counted in the run's records (dataset_notes); no warning: stderr stays quiet
        log.info(
            "%s: [%r][%r]: %d videos list fewer than frames_per_video=%d frames; all of their "
            "frames are read",
            path,
            label_name,
            split,
            short,
            frames_per_video,
        )
    return out
