"""Checks of a dataset before it is trained on: batch size against split sizes, every frame.

- :func:`check_batch_size`: a run's per-domain batch must fit every training environment's train
  split (the loaders drop incomplete batches, so a larger batch never yields one). Training and
  ``sweep launch`` call it before any folder is written.
- :func:`check_frames`: decode every frame of every split (``python -m roga_bench.datasets check
  --dataset NAME --data_dir D``), so a corrupt PNG that a short run never reads is found once, on
  new data, rather than hours into a sweep.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from roga_bench.datasets._errors import BadIndexError, DatasetError
from roga_bench.datasets._frames import decode_and_resize
from roga_bench.datasets._index import SPLITS

__all__ = [
    "BatchSizeError",
    "FrameReport",
    "check_batch_size",
    "check_frames",
    "check_runs_batch_size",
    "split_sizes",
]


class BatchSizeError(ValueError):
    """The batch size exceeds a training environment's train split (bad input, not bad data)."""


def _env_name(ds: Any, i: int) -> str:
    names = getattr(ds, "ENVIRONMENTS", None)
    return f"{i}={names[i]}" if names and i < len(names) else str(i)


def split_sizes(ds: Any, split: str, envs: Sequence[int]) -> dict[int, int]:
    """Items (frames) in ``split`` of each environment in ``envs``."""
    return {i: len(ds.split(i, split)) for i in envs}


def check_batch_size(ds: Any, test_envs: Sequence[int], batch_size: int) -> None:
    """Every training environment's train split holds at least one batch of ``batch_size``.

    Raises:
        BatchSizeError: one line naming the smallest environment, its size and every training
            environment's train split size.
    """
    # A cross-dataset target (test-only, no train split) is never a training environment.
    skip = set(test_envs) | set(getattr(ds, "test_only_envs", ()))
    train_envs = [i for i in range(len(ds)) if i not in skip]
    sizes = split_sizes(ds, "train", train_envs)
    small = [i for i, n in sizes.items() if n < batch_size]
    if not small:
        return
    worst = min(small, key=lambda i: sizes[i])
    listing = ", ".join(f"{_env_name(ds, i)} {n}" for i, n in sizes.items())
    raise BatchSizeError(
        f"batch_size {batch_size} is larger than the train split of env {_env_name(ds, worst)} "
        f"({sizes[worst]} frames); train split sizes: {listing} (lower batch_size, or read more "
        "frames per video: frames_per_video)"
    )


@dataclass
class FrameReport:
    """What :func:`check_frames` found: frames per (env, split) and every bad file."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)  # "<path>: <why>" per bad frame
    decoded: int = 0  # distinct files decoded

    @property
    def ok(self) -> bool:
        return not self.bad


def check_frames(
    ds: Any,
    splits: Sequence[str] = SPLITS,
    decoder: Callable[[str, int], Any] = decode_and_resize,
    progress: Callable[[str], None] | None = None,
) -> FrameReport:
    """Decode every frame of every environment's ``splits`` (each file once).

    A split that is the same object as another (a cross-dataset target's val is its test) and an
    empty split (a target's train) are counted but decoded once or not at all.

    Args:
        ds: an environment dataset (``split(i, name)`` with ``paths``).
        decoder: ``fn(path, size)``, raising on a bad file (default: the training decoder).
        progress: called with a one-line status per split.
    """
    report, seen = FrameReport(), set()
    for i in range(len(ds)):
        for split in splits:
            part = ds.split(i, split)
            report.counts[(_env_name(ds, i), split)] = len(part.paths)
            new = [p for p in part.paths if p not in seen]
            seen.update(new)
            report.decoded += len(new)
            for path in new:
                try:
                    decoder(path, 8)
                except (DatasetError, OSError, ValueError) as exc:
                    report.bad.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
            if progress is not None:
                progress(f"env {_env_name(ds, i)} {split}: {len(part.paths)} frames")
    return report


def _dataset_keys(cls: type) -> list[str]:
    """The hparams that shape ``cls``'s splits: its own ``HPARAMS`` along the MRO, image_size."""
    from roga_bench.hparams import class_hparams

    names = set(class_hparams(cls))
    return sorted(names | {"image_size"})


def check_runs_batch_size(runs: Iterable[tuple[str, str | None, Sequence[int], Mapping]]) -> None:
    """:func:`check_batch_size` for many runs ``(dataset, data_dir, test_envs, hparams)``, each
    distinct dataset (name, data_dir, the hparams that shape its splits) built once, with the
    first such run's test envs (``sweep launch`` calls it before writing anything).

    A dataset that cannot be built (``DatasetError``: bad data on disk) is skipped here: its runs
    report that themselves, as before; a bad index file (``BadIndexError``: missing, empty,
    truncated, an empty split) is bad input and raised.

    Raises:
        BatchSizeError: the first run whose batch does not fit, naming its dataset and test envs.
        BadIndexError: an index file the runs would read is unusable.
    """
    from roga_bench._registry import DATASETS
    from roga_bench.backbones import UntrainedBackboneWarning

    built: dict[str, Any] = {}
    for name, data_dir, test_envs, hparams in runs:
        cls = DATASETS.get(name)
        if not callable(getattr(cls, "split", None)):  # DomainBed-only classes: nothing to ask
            continue
        shape = [[k, hparams.get(k)] for k in _dataset_keys(cls)]
        # Train split sizes do not depend on the test envs: one build per dataset and shape.
        key = json.dumps([name, data_dir, shape], default=str)
        if key not in built:
            try:
                with warnings.catch_warnings():  # one per job later, not here
                    warnings.simplefilter("ignore", UntrainedBackboneWarning)
                    built[key] = cls(data_dir, list(test_envs), dict(hparams))
            except BadIndexError:
                raise
            except DatasetError:
                built[key] = None
        ds = built[key]
        if ds is None:
            continue
        try:
            check_batch_size(ds, test_envs, int(hparams["batch_size"]))
        except BatchSizeError as exc:
            envs = " ".join(str(e) for e in test_envs)
            raise BatchSizeError(f"{name} with --test_envs {envs}: {exc}") from None
