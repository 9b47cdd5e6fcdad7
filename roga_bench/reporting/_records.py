"""Load a sweep's ``*/results.jsonl`` files into one pandas DataFrame (one row per checkpoint).

Only finished runs count: a job folder without its ``done`` marker is skipped and counted, never
half-read. ``args`` and ``hparams`` are flattened into ``args.<name>`` / ``hparams.<name>`` columns,
and a few derived columns make grouping explicit:

- ``run``: the job folder (``args.output_dir`` when present), one per training run;
- ``dataset``, ``backbone`` (from ``hparams.backbone``), ``trial_seed``, ``hparams_seed``;
- ``test_envs``: a sorted tuple of ints;
- ``algorithm``: the display name; ERM/SAM/... keep their name when the base optimizer is SGD
  (the paper's default) and get the optimizer appended otherwise, e.g. ``"ERM (Adam)"``.

NaN metrics are kept (Python's json parses ``NaN``). Each file is read by
``roga_bench.records.read_records``: a torn last line is left out (with a warning: a finished run
should have none), any other unreadable line is an error that names the file and line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from roga_bench.records import RESULTS_NAME, RecordsFileError, is_done, read_records

__all__ = ["ReportInputError", "RecordsError", "Records", "load_records", "display_algorithm"]

_OPTIMIZER_LABELS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


class ReportInputError(ValueError):
    """Bad input to the report (records, table names, flags, the paper's CSV): the message says
    what and where. ``python -m roga_bench.tables`` turns it into one line and exit 2; any other
    exception is a bug and keeps its traceback."""


class RecordsError(ReportInputError, RecordsFileError):
    """A sweep folder that cannot be turned into records (the message says why and where)."""


@dataclass
class Records:
    """The checkpoints of every finished run under a sweep folder.

    Attributes:
        df: one row per checkpoint (see the module docstring for the columns).
        input_dir: the sweep folder.
        n_done: finished runs that were read.
        skipped: job folders without ``done`` (incomplete runs), skipped.
    """

    df: pd.DataFrame
    input_dir: Path
    n_done: int
    skipped: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many runs were read and how many were skipped."""
        return (
            f"{self.input_dir}: {self.n_done} finished runs, {len(self.df)} checkpoints, "
            f"{len(self.skipped)} incomplete runs skipped (no 'done')"
        )


def display_algorithm(algorithm: str, optimizer: Any) -> str:
    """The row label of an algorithm: its name, plus the base optimizer unless it is SGD.

    Args:
        algorithm: registered algorithm name (``args.algorithm``).
        optimizer: ``hparams.optimizer`` (``"sgd"``, ``"adam"``, missing/NaN).

    Returns:
        ``"ERM"`` for SGD or unknown, ``"ERM (Adam)"`` for Adam, ``"ERM (<name>)"`` otherwise.
    """
    if not isinstance(optimizer, str) or optimizer.lower() in ("", "sgd"):
        return algorithm
    label = _OPTIMIZER_LABELS.get(optimizer.lower(), optimizer)
    return f"{algorithm} ({label})"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        rows = read_records(path)
    except RecordsFileError as exc:  # a RecordsError, so that the tables CLI exits 2
        raise RecordsError(str(exc)) from None
    for number, row in enumerate(rows, 1):  # rows[i] is line i + 1
        if not isinstance(row.get("args"), dict):
            raise RecordsError(f"{path}:{number}: expected a JSON object with key 'args'")
    return rows


def _flatten(row: dict[str, Any], run: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("args", "hparams") and isinstance(value, dict):
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = _hashable(subvalue)
        else:
            flat[key] = _hashable(value)
    args, hparams = row["args"], row.get("hparams") or {}
    flat["run"] = run
    flat["dataset"] = args.get("dataset")
    flat["test_envs"] = tuple(sorted(int(e) for e in args.get("test_envs") or ()))
    flat["trial_seed"] = args.get("trial_seed", 0)
    flat["hparams_seed"] = args.get("hparams_seed", 0)
    flat["backbone"] = hparams.get("backbone", "default")
    flat["algorithm"] = display_algorithm(str(args.get("algorithm")), hparams.get("optimizer"))
    return flat


def _hashable(value: Any) -> Any:
    # lists (test_envs, env names) become tuples so that columns can be grouped on
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _is_job(path: Path) -> bool:
    """A job folder (not e.g. the ``tables/`` output the sweep writes beside the jobs)."""
    if not path.is_dir():
        return False
    name = path.name
    hashed = len(name) == 32 and all(c in "0123456789abcdef" for c in name)
    return hashed or any((path / f).exists() for f in (RESULTS_NAME, "out.txt", "err.txt"))


def load_records(input_dir: str | Path) -> Records:
    """Read every finished run's ``results.jsonl`` under ``input_dir`` (one level down).

    Args:
        input_dir: a sweep folder holding one folder per job.

    Returns:
        The records, with the count of finished runs and the list of skipped folders.

    Raises:
        RecordsError: the folder does not exist, holds no job folders, holds no finished run,
            or a results line cannot be parsed (file and line number in the message).
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise RecordsError(f"{root}: not a folder (expected a sweep folder of job folders)")
    jobs = sorted(p.parent for p in root.glob(f"*/{RESULTS_NAME}"))
    skipped = sorted(p for p in root.iterdir() if _is_job(p) and not is_done(p))
    done_jobs = [j for j in jobs if is_done(j)]
    if not jobs and (root / RESULTS_NAME).exists():
        raise RecordsError(f"{root}: this is one job folder; pass the sweep folder above it")
    if not jobs:
        raise RecordsError(
            f"{root}: no job folders with results.jsonl found (is this a sweep folder?)"
        )
    if not done_jobs:
        raise RecordsError(
            f"{root}: no finished jobs ({len(skipped)} folders without 'done'); "
            "wait for the sweep or run it again"
        )
    rows: list[dict[str, Any]] = []
    for job in done_jobs:
        for row in _read_jsonl(job / RESULTS_NAME):
            run = str(row["args"].get("output_dir") or job)
            rows.append(_flatten(row, run))
    if not rows:
        raise RecordsError(f"{root}: finished jobs hold no results lines")
    df = pd.DataFrame(rows)
    df = df.sort_values(["run", "step"] if "step" in df else ["run"], kind="stable")
    return Records(
        df=df.reset_index(drop=True), input_dir=root, n_done=len(done_jobs), skipped=skipped
    )
