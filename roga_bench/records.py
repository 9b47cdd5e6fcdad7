"""Run records: the one owner of a job folder's ``results.jsonl``, its ``done`` marker and keys.

A job folder (``train``'s ``output_dir``, a sweep's ``<sweep>/<md5>``) holds:

- ``results.jsonl``: one JSON object per line, one line per checkpoint, written with
  ``json.dumps(sort_keys=True)`` (NaN stays ``NaN``, which Python's and DomainBed's ``json.loads``
  accept), then flushed and fsynced, so a kill tears at most the last line;
- ``done``: written last by a finished run; its existence is what makes the job Done;
- ``.lock``: the sweep's per-job lock (``roga_bench.sweep``), rewritten when a launcher starts it.

Reading has one rule everywhere (training's resume, the sweep's status, the tables): a torn last
line (no newline: a kill mid-append; or newline-terminated but not JSON) is ignored, and a line
that is not a JSON object anywhere else raises :class:`RecordsFileError` naming ``file:line``.

Metric keys follow DomainBed: ``env{i}_{split}_{metric}`` (``env3_out_auc``), with ``split`` one
of :data:`SPLITS` (``in``: a test env's test split; ``out``: validation; ``test``: every env's
official test split) and ``metric`` one of :data:`METRICS`, or ``auc_se`` (DeLong's s.e.).
:func:`metric_key` builds them and :func:`parse_metric_key` reads them back.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "DONE_NAME",
    "LOCK_NAME",
    "METRICS",
    "RESULTS_NAME",
    "SPLITS",
    "MetricKey",
    "RecordsFileError",
    "TornLineWarning",
    "append_record",
    "append_records",
    "env_indices",
    "is_done",
    "job_seconds",
    "key_prefix",
    "last_record",
    "mark_done",
    "metric_key",
    "parse_metric_key",
    "read_records",
    "repair_results",
]

RESULTS_NAME = "results.jsonl"
DONE_NAME = "done"
LOCK_NAME = ".lock"

# The record splits (DomainBed's in/out, plus test) and the metrics evaluated on each of them.
SPLITS = ("in", "out", "test")
METRICS = ("acc", "auc", "ap", "eer", "loss", "video_auc")

# env{i}_{split}_{metric}: i without leading zeros (so that parse and build round-trip), a split
# without "_" (DomainBed also writes env{i}_uda_*), a metric that may hold "_" (video_auc, auc_se)
_KEY = re.compile(r"env(0|[1-9][0-9]*)_([a-z]+)_([a-z0-9_]+)")


class RecordsFileError(ValueError):
    """A results.jsonl that cannot be read: the message starts with ``file:line``."""


class TornLineWarning(UserWarning):
    """``read_records`` left out a torn last line (a live run's append, or a damaged file)."""


# ---------------------------------------------------------------- results.jsonl


def append_records(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Append each record as one whole line; flushed and fsynced once, before returning."""
    text = "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in records)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def append_record(path: Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one line, flushed and fsynced before returning (training's write)."""
    append_records(path, [record])


def _parse(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordsFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise RecordsFileError(f"{path}:{number}: expected a JSON object, got {line[:40]!r}")
    return record


def _split_lines(path: Path) -> tuple[list[str], bool]:
    """The newline-terminated lines of ``path`` and whether an unterminated tail followed."""
    # "replace": a torn multi-byte character (or a crash's garbage) must not stop the reader
    lines = Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    return lines, bool(tail)


def _whole(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """``(line, record)`` of every whole line, and the number of torn lines dropped (0 or 1)."""
    lines, torn = _split_lines(path)
    out = []
    for number, line in enumerate(lines, 1):
        try:
            out.append((line, _parse(path, number, line)))
        except RecordsFileError:
            if number == len(lines) and not torn and not _parses(line):
                return out, 1  # whole-looking, but not JSON: the torn last line
            raise
    return out, int(torn)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a results.jsonl, in file order; ``records[i]`` is line ``i + 1``.

    A torn last line (a kill mid-append) is left out with a :class:`TornLineWarning` (a finished
    run has none: its last append was fsynced before ``done``); the file is not changed.

    Raises:
        RecordsFileError: a line before the last is not JSON, or any line is JSON but not an
            object (the message starts with ``file:line``).
        FileNotFoundError: ``path`` does not exist.
    """
    whole, torn = _whole(path)
    if torn:
        warnings.warn(
            f"{path}:{len(whole) + 1}: torn last line (a write cut short) left out",
            TornLineWarning,
            stacklevel=2,
        )
    return [record for _, record in whole]


def last_record(path: Path) -> dict[str, Any] | None:
    """``read_records(path)[-1]`` without parsing the lines before it; None if there is none.

    Cheap for a status table over many jobs. A missing file is None (the job has not written).

    Raises:
        RecordsFileError: the last whole line is torn and the one before it is not a record.
    """
    try:
        lines, torn = _split_lines(path)
    except FileNotFoundError:
        return None
    if not lines:
        return None
    number = len(lines)
    if not torn:
        try:
            return _parse(path, number, lines[-1])
        except RecordsFileError:
            if _parses(lines[-1]):
                raise  # JSON, but not an object: not a torn line
        number -= 1  # a torn whole-looking last line: the record is the one before
    return _parse(path, number, lines[number - 1]) if number else None


def repair_results(path: Path, max_step: int | None) -> int:
    """Drop a torn last line and every line with ``step > max_step`` (all lines if None).

    Called when resuming: the checkpoint at ``max_step`` is where the run restarts, so later
    lines will be written again. Kept lines keep their bytes; the file is rewritten atomically
    (temp file + ``os.replace``) and only when a line is dropped.

    Returns:
        The number of lines dropped (0 when ``path`` does not exist).

    Raises:
        RecordsFileError: as ``read_records``, or a record without an integer ``step``.
    """
    path = Path(path)
    if not path.exists():
        return 0
    whole, torn = _whole(path)
    kept = []
    for number, (line, record) in enumerate(whole, 1):
        step = record.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            raise RecordsFileError(f"{path}:{number}: expected an integer 'step', got {step!r}")
        if max_step is not None and step <= max_step:
            kept.append(line)
    dropped = torn + len(whole) - len(kept)
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return dropped


# ---------------------------------------------------------------- done marker and times


def is_done(job_dir: Path) -> bool:
    """Whether the job folder holds its ``done`` marker (the job is Done)."""
    return (Path(job_dir) / DONE_NAME).exists()


def mark_done(job_dir: Path) -> None:
    """Write ``done``: the folder's last write, after results.jsonl and the model files."""
    with open(Path(job_dir) / DONE_NAME, "w", encoding="utf-8") as f:
        f.write("done")


def job_seconds(job_dir: Path) -> float | None:
    """A finished job's wall time: ``done``'s mtime minus ``.lock``'s (when a launcher started
    it); None when either is missing (not Done, or run without a sweep launcher)."""
    try:
        end = (Path(job_dir) / DONE_NAME).stat().st_mtime
        start = (Path(job_dir) / LOCK_NAME).stat().st_mtime
    except OSError:
        return None
    return end - start


# ---------------------------------------------------------------- metric keys


class MetricKey(NamedTuple):
    """The parts of ``env{env}_{split}_{metric}``."""

    env: int
    split: str
    metric: str


def key_prefix(env: int, split: str) -> str:
    """``env{env}_{split}``: the part of a metric key before the metric (``env3_out``)."""
    return f"env{env}_{split}"


def metric_key(env: int, split: str, metric: str) -> str:
    """``env{env}_{split}_{metric}`` (``metric_key(3, "out", "auc") == "env3_out_auc"``)."""
    return f"{key_prefix(env, split)}_{metric}"


def parse_metric_key(key: str) -> MetricKey | None:
    """The inverse of :func:`metric_key`; None for any other key (``step``, ``loss``, ...)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return MetricKey(int(match.group(1)), match.group(2), match.group(3))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def env_indices(record: Mapping[str, Any]) -> list[int]:
    """The environments of the run that wrote ``record``: ``0 .. len(dataset_environments)-1``.

    A frame that mixes datasets (a LOMO and a cross-dataset sweep in one folder) has columns
    ``env{i}_*`` for the union of their envs, NaN where a run has no such env, so a run's envs
    must come from its own record. Records written before ``dataset_environments`` existed fall
    back to the indices of its metric keys whose values are not NaN.
    """
    names = record.get("dataset_environments")
    if isinstance(names, (tuple, list)) and names:
        return list(range(len(names)))
    found = set()
    for key, value in record.items():
        parsed = parse_metric_key(key)
        if parsed is not None and not _missing(value):
            found.add(parsed.env)
    return sorted(found)
