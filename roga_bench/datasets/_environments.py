"""Environments built from DeepfakeBench indexes: the base of every registered dataset class.

The FF++ part gives one environment per manipulation method (its fakes plus the FF-real videos);
cross-dataset targets each give one environment holding every label block of their own index.
Splits are the index's official ``train``/``val``/``test`` lists, never a random frame split.

Targets are test-only (``test_only_envs``): only their ``test`` list is read, their ``val`` split
is that same object (so ``env{i}_out`` mirrors ``env{i}_in``, which DomainBed's oracle expects to
exist) and their ``train`` split is empty. DeepfakeBench's ``rearrange.py`` writes CDF's, UADFV's
and DFDCP's val as their test list and DFDC's as one stray ``{label, frames}`` pair plus every
train video (~119k), so neither is a validation set, and neither is worth reading.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from roga_bench.datasets._errors import BadIndexError, DatasetError, warn_once
from roga_bench.datasets._index import (
    FRAME_SAMPLING,
    SPLITS,
    ReadReport,
    Video,
    clear_index_cache,
    index_labels,
    read_videos,
)
from roga_bench.datasets._labels import FAKE, REAL
from roga_bench.datasets._lmdb import register_lmdb_dir
from roga_bench.datasets._split import FrameSplit, MemoryBudget
from roga_bench.datasets._transforms import build_transform
from roga_bench.hparams import SHARED_HPARAMS, HParam, class_hparams
from roga_bench.metrics import METRIC_FLAVOURS

__all__ = ["DeepfakeBenchEnvironments", "warn_missing"]

log = logging.getLogger(__name__)

_ENV_HPARAMS: dict[str, HParam] = {
    "frames_per_video": HParam(32, minimum=0, doc="frames sampled per video; 0 = all", kind=int),
    "frame_sampling": HParam(
        "even",
        choices=FRAME_SAMPLING,
        doc="frames_per_video spread evenly (even) or the first N (first, DeepfakeBench's loader)",
    ),
    "metrics_flavour": HParam(
        "roga_bench",
        choices=METRIC_FLAVOURS,
        doc="ACC/EER definitions: roga_bench (>= 0.5, interpolated EER) or deepfakebench's",
    ),
    "compression": HParam("c23", choices=("c23", "c40", "raw"), doc="FF++ compression level"),
    "real_assignment": HParam(
        "shared",
        choices=("shared", "partition"),
        doc="FF-real videos: in every method env (shared) or split disjointly among them",
    ),
    "json_dir": HParam(
        "", doc="folder of the dataset_json/*.json files; empty: <data_dir>/dataset_json", kind=str
    ),
    "lmdb_dir": HParam(
        "",
        doc="folder of DeepfakeBench's <dataset>_lmdb databases: frames read from them; "
        "empty: from the frame folders under data_dir",
        kind=str,
    ),
    "skip_missing_frames": HParam(False, choices=(True, False), doc="count+warn instead of error"),
    "frame_cache": HParam(
        "", doc="folder of a decoded-frame cache (datasets.cache); empty: off", kind=str
    ),
    "memory_cache_mb": HParam(
        0, minimum=0, doc="keep decoded frames in memory up to this many MB", kind=float
    ),
}


class DeepfakeBenchEnvironments:
    """FF++-style method environments plus optional cross-dataset targets.

    Args:
        data_dir: folder holding the ``<Dataset>/`` frame trees (DeepfakeBench's rgb root);
            None or "" asks the class for its default (:meth:`default_data_dir`).
        test_envs: indices into ``self.ENVIRONMENTS`` (the environments present on disk).
        hparams: run hparams; missing dataset options take the class defaults.

    Raises:
        DatasetError: bad index files or frames, an empty or one-class environment, a test env
            index out of range.
    """

    ENVIRONMENTS: ClassVar[list[str]] = []
    # DomainBed-like defaults for full-size data (5000 steps, a checkpoint every 500).
    N_STEPS: ClassVar[int] = 5000
    N_WORKERS: ClassVar[int] = 0  # read by DomainBed's train.py; frames decode in-process
    CHECKPOINT_FREQ: ClassVar[int] = 500
    HPARAMS: ClassVar[dict[str, HParam]] = _ENV_HPARAMS
    INDEX: ClassVar[str] = "FaceForensics++"  # whole-dataset index <json_dir>/<INDEX>.json
    REAL_LABEL: ClassVar[str] = "FF-real"
    METHODS: ClassVar[dict[str, str]] = {}  # env name -> fake label block
    METHOD_FILES: ClassVar[dict[str, str]] = {}  # env name -> per-method index (reals + fakes)
    TARGETS: ClassVar[dict[str, str]] = {}  # env name -> index name == its frame folder

    def __init__(
        self, data_dir: str | Path | None, test_envs: Sequence[int], hparams: Mapping[str, Any]
    ) -> None:
        self.hparams = self.resolve_hparams(hparams)
        lmdb_dir = str(self.hparams.get("lmdb_dir") or "")
        # Frames read from LMDB: registered in this process (and by each split in its workers).
        self.lmdb_dir = register_lmdb_dir(lmdb_dir) if lmdb_dir else ""
        if not data_dir and self.lmdb_dir:  # the index files may sit anywhere (json_dir)
            data_dir = self.lmdb_dir
        self.data_dir = Path(data_dir).expanduser() if data_dir else self.default_data_dir()
        self.json_dir = _json_dir(self.data_dir, self.hparams)
        self.TARGETS = self.target_indexes(self.hparams)
        self.ENVIRONMENTS = self.present_environments(self.data_dir, self.hparams)
        self.test_envs = _check_test_envs(test_envs, self.ENVIRONMENTS, type(self).ENVIRONMENTS)
        if self.INDEX == "FaceForensics++":  # real FF++ data (SynthFF trains from scratch)
            from roga_bench.backbones import warn_if_untrained  # lazy: only real datasets

            backbone, pretrained = self.hparams.get("backbone"), self.hparams.get("pretrained")
            warn_if_untrained(str(backbone), str(pretrained or ""), type(self).__name__)
        size = int(self.hparams["image_size"])
        self.input_shape = (3, size, size)
        self.num_classes = 2
        budget = MemoryBudget(float(self.hparams["memory_cache_mb"]))
        self._read_cache: dict[tuple[Path, str, str], list[Video]] = {}  # FF-real read once
        # Frames skipped as missing (skip_missing_frames), short videos: see ``notes``.
        self.read_report = ReadReport()
        self._splits: list[dict[str, FrameSplit]] = []
        # Cross-dataset targets are test-only: their val (and train) are never read, val mirrors
        # test (DeepfakeBench's val *is* test for CDF/UADFV/DFDCP, and is train for DFDC).
        self.test_only_envs = [i for i, e in enumerate(self.ENVIRONMENTS) if e in self.TARGETS]
        _check_targets_are_test_envs(self.test_only_envs, self.test_envs, self.ENVIRONMENTS)
        for i, name in enumerate(self.ENVIRONMENTS):
            read = ("test",) if i in self.test_only_envs else SPLITS
            videos = self._environment_videos(name, read)
            splits = {}
            for split in read:
                _check_classes(name, split, videos[split], self._source(name))
                augment = split == "train" and bool(self.hparams["data_augmentation"])
                splits[split] = FrameSplit(
                    videos[split],
                    size,
                    build_transform(augment),
                    str(self.hparams["frame_cache"] or ""),
                    budget,
                    lmdb_dir=self.lmdb_dir,
                )
            if i in self.test_only_envs:
                splits["val"] = splits["test"]  # the same object: evaluated once per checkpoint
                splits["train"] = FrameSplit([], size, build_transform(False))
            self._splits.append(splits)
        # The splits hold what they need; parsed JSON would otherwise live (and be copied into
        # every DataLoader worker) for the whole run.
        self._read_cache.clear()
        clear_index_cache()
        log.info("%s environments: %s", type(self).__name__, dict(enumerate(self.ENVIRONMENTS)))

    @property
    def notes(self) -> dict[str, int]:
        """What reading the index worked around, for the run's records (empty when nothing):
        ``short_videos`` (videos listing fewer than ``frames_per_video`` frames; all of their
        frames are read), ``short_video_frames_lacking`` (frames they lack to reach it),
        ``missing_frames_skipped`` (with ``skip_missing_frames``)."""
        r = self.read_report
        notes = {
            "short_videos": r.short_videos,
            "short_video_frames_lacking": r.short_frames,
            "missing_frames_skipped": len(r.missing),
        }
        return {k: v for k, v in notes.items() if v}

    # ----- DomainBed access ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ENVIRONMENTS)

    def __getitem__(self, i: int) -> FrameSplit:
        """The train split of a training environment, the test split of a test environment."""
        return self.split(i, "test" if i in self.test_envs else "train")

    def split(self, i: int, name: str) -> FrameSplit:
        """Split ``name`` (train/val/test) of environment ``i``: ``(image, label)`` items."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {name!r}")
        return self._splits[i][name]

    def video_ids(self, i: int, name: str) -> list[str]:
        """``"<label_name>/<video_id>"`` of every frame of a split, in item order."""
        return list(self.split(i, name).video_ids)

    def frame_paths(self, i: int, name: str) -> list[Path]:
        """The frame file of every item of a split, in item order."""
        return [Path(p) for p in self.split(i, name).paths]

    # ----- configuration -------------------------------------------------------------------
    @classmethod
    def resolve_hparams(cls, hparams: Mapping[str, Any] | None) -> dict[str, Any]:
        """Shared < class ``HPARAMS`` defaults, updated with the given hparams."""
        merged = {n: h.default for n, h in {**SHARED_HPARAMS, **class_hparams(cls)}.items()}
        merged.update(hparams or {})
        return merged

    @classmethod
    def default_data_dir(cls) -> Path:
        """Where the data is when no ``data_dir`` is given; real datasets have no default."""
        raise DatasetError(
            f"{cls.__name__} needs --data_dir: the folder holding the DeepfakeBench frame trees "
            f"({cls.INDEX}/, ...) and dataset_json/"
        )

    @classmethod
    def present_environments(
        cls, data_dir: str | Path | None, hparams: Mapping[str, Any] | None = None
    ) -> list[str]:
        """The environments this class would build from ``data_dir`` (test_envs index these)."""
        del data_dir, hparams  # the method environments are always required
        return list(cls.METHODS)

    @classmethod
    def target_indexes(cls, hparams: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Cross-dataset target environment name -> index name (``<json_dir>/<name>.json``): the
        class's ``TARGETS``; classes that take targets by name add those named in ``hparams``."""
        del hparams
        return dict(cls.TARGETS)

    def _source(self, env: str) -> Path:
        """The index file an environment is read from."""
        if env in self.TARGETS:
            return self.json_dir / f"{self.TARGETS[env]}.json"
        whole = self.json_dir / f"{self.INDEX}.json"
        per_method = self.json_dir / f"{self.METHOD_FILES[env]}.json"
        if whole.is_file() or not per_method.is_file():
            if not whole.is_file():
                raise DatasetError(
                    f"{whole}: not found, nor the per-method index {per_method.name}; "
                    f"set --data_dir (or hparam json_dir) to the folder holding them"
                )
            return whole
        return per_method

    def _read(self, path: Path, label: str, split: str, env: str = "") -> list[Video]:
        key = (path, label, split)
        if key not in self._read_cache:
            try:
                self._read_cache[key] = self._read_uncached(path, label, split)
            except BadIndexError as exc:  # name the data set and split the file was read for
                raise BadIndexError(f"{exc} (environment {env!r}, split {split!r})") from None
        return self._read_cache[key]

    def _read_uncached(self, path: Path, label: str, split: str) -> list[Video]:
        return read_videos(
            path,
            self.data_dir,
            label,
            split,
            compression=str(self.hparams["compression"]),
            frames_per_video=int(self.hparams["frames_per_video"]),
            skip_missing_frames=bool(self.hparams["skip_missing_frames"]),
            frame_sampling=str(self.hparams["frame_sampling"]),
            lmdb_dir=self.lmdb_dir,
            report=self.read_report,
        )

    def _environment_videos(
        self, env: str, splits: Sequence[str] = SPLITS
    ) -> dict[str, list[Video]]:
        path = self._source(env)
        if env in self.TARGETS:
            try:
                labels = index_labels(path)
            except BadIndexError as exc:
                raise BadIndexError(f"{exc} (environment {env!r}, split {splits[0]!r})") from None
            return {s: [v for lab in labels for v in self._read(path, lab, s, env)] for s in splits}
        out = {}
        methods = list(self.METHODS)
        for split in splits:
            reals = self._read(path, self.REAL_LABEL, split, env)
            if self.hparams["real_assignment"] == "partition":
                k = methods.index(env)  # video j of the sorted list goes to env j mod K
                reals = reals[k :: len(methods)]
            out[split] = reals + self._read(path, self.METHODS[env], split, env)
        return out


def _json_dir(data_dir: Path, hparams: Mapping[str, Any]) -> Path:
    json_dir = hparams.get("json_dir")
    return Path(json_dir).expanduser() if json_dir else data_dir / "dataset_json"


def _check_test_envs(
    test_envs: Sequence[int], present: list[str], declared: list[str]
) -> list[int]:
    test_envs = [int(i) for i in test_envs]
    for i in test_envs:
        if not 0 <= i < len(present):
            missing = [e for e in declared if e not in present]
            listing = ", ".join(f"{j}={e}" for j, e in enumerate(present))
            raise DatasetError(
                f"test env {i} out of range; environments present: {listing}"
                + (f" (missing on disk: {', '.join(missing)})" if missing else "")
            )
    return test_envs


def _check_targets_are_test_envs(
    targets: list[int], test_envs: list[int], present: list[str]
) -> None:
    training = [i for i in targets if i not in test_envs]
    if training:
        listing = ", ".join(f"{i}={present[i]}" for i in training)
        raise DatasetError(
            f"cross-dataset targets are test-only environments, but {listing} would be trained "
            f"on: DeepfakeBench's val of such a target is its test split (DFDC's holds its "
            f"train videos), so only their test split is read; put them in test_envs "
            f"(--test_envs {' '.join(str(i) for i in targets)})"
        )


def _check_classes(env: str, split: str, videos: list[Video], source: Path) -> None:
    where = f"{source}: environment {env!r}, split {split!r}"
    if not videos:
        raise BadIndexError(f"{where} is empty (no videos with frames)")
    labels = {v.label for v in videos}
    if labels != {REAL, FAKE}:
        only = "real" if labels == {REAL} else "fake"
        names = sorted({v.label_name for v in videos})
        raise BadIndexError(f"{where} has only {only} videos ({', '.join(names)}); needs both")


def warn_missing(cls_name: str, env: str, what: str) -> None:
    """Report once that a cross-dataset target is absent and left out."""
    warn_once(f"{cls_name}: target {env!r} left out: {what}")
