"""What the sweep prints: the status table, the per-job summary and the final report."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from roga_bench._registry import DATASETS
from roga_bench.records import RESULTS_NAME, RecordsFileError, metric_key
from roga_bench.records import last_record as _last_line
from roga_bench.sweep._jobs import DONE, INCOMPLETE, NOT_LAUNCHED, Job
from roga_bench.sweep._locks import lock_holder
from roga_bench.sweep._submitted import scheduler_states

__all__ = ["state_counts", "status_table", "summary_table", "final_report", "last_record"]


def state_counts(jobs: Sequence[Job]) -> str:
    """DomainBed's one-line count: ``N jobs: a done, b incomplete, c not launched.``"""
    states = [job.state for job in jobs]
    return (
        f"{len(jobs)} jobs: {states.count(DONE)} done, {states.count(INCOMPLETE)} incomplete, "
        f"{states.count(NOT_LAUNCHED)} not launched."
    )


def last_record(job: Job) -> dict[str, Any] | None:
    """The job's last record (``roga_bench.records.last_record``: a torn last line is skipped), or
    None. A corrupt file is said on stderr and shown as no record: one job must not stop the
    status table of the whole sweep."""
    try:
        return _last_line(job.output_dir / RESULTS_NAME)
    except RecordsFileError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return None


def _env_label(job: Job, envs: Sequence[int]) -> str:
    names = list(getattr(_dataset_class(job.train_args["dataset"]), "ENVIRONMENTS", []))
    return ",".join(names[i] if i < len(names) else str(i) for i in envs)


def status_table(jobs: Sequence[Job]) -> str:
    """One row per job: state, folder, args, live lock holder, last step; and, when any job was
    submitted through submitit, what the scheduler says (``PENDING (Resources) [12_0]``,
    ``RUNNING``, ``FAILED (NonZeroExitCode) exit 1:0 [12_2] log <stderr path>``)."""
    scheduler = scheduler_states([j.output_dir for j in jobs if j.state != NOT_LAUNCHED])
    rows = []
    for job in jobs:
        a = job.train_args
        record = last_record(job) if job.state != NOT_LAUNCHED else None
        holder = lock_holder(job.output_dir) if job.state == INCOMPLETE else None
        rows.append(
            [
                job.state + (" (running)" if holder else ""),
                job.name,
                a["dataset"],
                a["algorithm"],
                _env_label(job, a["test_envs"]),
                a["hparams_seed"],
                a["trial_seed"],
                a.get("hparams", ""),
                "" if record is None else record.get("step", ""),
                *([scheduler.get(job.output_dir, "")] if scheduler else []),
            ]
        )
    headers = [
        "state",
        "job",
        "dataset",
        "algorithm",
        "test envs",
        "hp",
        "trial",
        "hparams",
        "step",
        *(["scheduler"] if scheduler else []),
    ]
    return tabulate(rows, headers=headers)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def folder_size(sweep_dir: Path) -> str:
    """``size of <dir>: 1.2 GiB in N files`` (every file under the sweep folder)."""
    total, count = 0, 0
    for path in Path(sweep_dir).rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total, count = total + path.stat().st_size, count + 1
        except OSError:  # removed while we walked
            continue
    return f"size of {sweep_dir}: {_human(total)} in {count} files"


def _dataset_class(name: str) -> Any:
    return DATASETS.get(name)


def _mean(values: list[float]) -> float:
    values = [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
    return sum(values) / len(values) if values else math.nan


def summary_table(jobs: Sequence[Job], metric: str = "auc") -> str:
    """Per job: algorithm, test env(s), last-step val metric (training envs), test metric."""
    rows = []
    for job in jobs:
        a = job.train_args
        record = last_record(job) or {}
        test = set(a["test_envs"])
        n_envs = len(getattr(_dataset_class(a["dataset"]), "ENVIRONMENTS", []))
        train_envs = [i for i in range(n_envs) if i not in test]
        val = _mean([record.get(metric_key(i, "out", metric)) for i in train_envs])
        tst = _mean([record.get(metric_key(i, "in", metric)) for i in sorted(test)])
        rows.append(
            [
                a["algorithm"],
                _env_label(job, a["test_envs"]),
                a.get("hparams", ""),
                a["trial_seed"],
                job.state,
                record.get("step", ""),
                val,
                tst,
            ]
        )
    headers = ["algorithm", "test env", "hparams", "trial", "state", "step", f"val {metric}"]
    return tabulate(rows, headers=[*headers, f"test {metric}"], floatfmt=".4f")


def final_report(sweep_dir: Path, jobs: Sequence[Job]) -> str:
    """The reporting package's tables (``write_all``), or the per-job summary until it exists.

    A reporting error is printed to stderr with the summary in its place: the jobs themselves
    finished, and their records stay on disk for ``python -m roga_bench.tables``.
    """
    try:
        from roga_bench.reporting import write_all
    except (ImportError, AttributeError):
        return "Per-job summary (roga_bench.reporting.write_all not available):\n" + summary_table(
            jobs
        )
    out_dir = Path(sweep_dir) / "tables"
    try:
        return write_all(Path(sweep_dir), out_dir)
    except Exception as exc:  # report it, show the raw numbers instead
        print(
            f"warning: roga_bench.reporting.write_all({sweep_dir}) failed: {exc!r}", file=sys.stderr
        )
        return "Per-job summary:\n" + summary_table(jobs)
