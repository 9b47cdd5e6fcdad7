"""Running one job: under its lock, in this process or as a fresh Python process.

``run_job`` is importable and picklable, so submitit can ship it to a cluster node.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roga_bench.records import is_done
from roga_bench.sweep._jobs import Job, train_argv
from roga_bench.sweep._locks import JobLocked, job_lock

__all__ = [
    "DEFAULT_TRAIN_MODULE",
    "JobFailed",
    "JobOutcome",
    "err_tail",
    "job_command",
    "run_job",
    "run_and_record",
]

DEFAULT_TRAIN_MODULE = "roga_bench.train"
ERR_TAIL_LINES = 20


class JobFailed(RuntimeError):
    """A training run exited with an error."""


@dataclass(frozen=True)
class JobOutcome:
    """What a launcher knows about a job after launching it.

    Attributes:
        job: the job.
        status: ``ok`` (finished), ``failed``, ``skipped`` (locked by another launcher) or
            ``submitted`` (handed to a scheduler, not awaited).
        message: why it failed or was skipped.
    """

    job: Job
    status: str
    message: str = ""


def err_tail(output_dir: Path, n: int = ERR_TAIL_LINES) -> str:
    """The last ``n`` lines of the job's ``err.txt`` (else ``launcher.log``), or a note."""
    for name in ("err.txt", "launcher.log"):
        path = Path(output_dir) / name
        if path.is_file():
            lines = path.read_text(errors="replace").splitlines()
            return f"--- {path} (last {min(n, len(lines))} lines) ---\n" + "\n".join(lines[-n:])
    return f"(no err.txt in {output_dir})"


def job_command(
    train_args: Mapping[str, Any], train_module: str = DEFAULT_TRAIN_MODULE
) -> list[str]:
    """argv of one job: ``[python, -m, train_module, --key, value, ...]``."""
    return [sys.executable, "-m", train_module, *train_argv(train_args)]


def _train_in_process(train_args: Mapping[str, Any]) -> Path:
    from roga_bench.training import TrainConfig, train  # heavy (torch); only when running

    return Path(train(TrainConfig.from_args(dict(train_args))))


def run_job(
    train_args: Mapping[str, Any],
    train_module: str | None = None,
    env: Mapping[str, str] | None = None,
    log_to_file: bool = False,
) -> Path:
    """Run one job while holding its lock; resumes if the folder holds a checkpoint.

    Args:
        train_args: the job's args, including ``output_dir``.
        train_module: run ``python -m <train_module> <args>`` as a child process (a crash cannot
            take the caller down); None calls ``roga_bench.training.train`` in this process.
        env: extra environment variables for the child process.
        log_to_file: send the child's stdout/stderr to ``<output_dir>/launcher.log`` instead of
            this process's terminal (parallel slots would interleave otherwise).

    Returns:
        The job's output folder.

    Raises:
        JobLocked: another live process runs this job.
        JobFailed: the child exited non-zero (the message holds the tail of err.txt).
    """
    output_dir = Path(train_args["output_dir"])
    with job_lock(output_dir) as lock_fd:
        if is_done(output_dir):  # finished by another launcher meanwhile
            return output_dir
        if train_module is None:
            return _train_in_process(train_args)
        child_env = {**os.environ, **(env or {})}
        cmd = job_command(train_args, train_module)
        if log_to_file:
            with open(output_dir / "launcher.log", "ab") as log:
                code = subprocess.call(
                    cmd, env=child_env, stdout=log, stderr=subprocess.STDOUT, pass_fds=(lock_fd,)
                )
        else:  # the child inherits the lock: the job stays locked while it runs, whatever we do
            code = subprocess.call(cmd, env=child_env, pass_fds=(lock_fd,))
        if code != 0:
            raise JobFailed(f"{output_dir}: exit code {code}\n{err_tail(output_dir)}")
        return output_dir


def run_and_record(job: Job, **kwargs: Any) -> JobOutcome:
    """``run_job`` that turns every error into a JobOutcome (a launcher never stops on one job).

    ``KeyboardInterrupt`` still stops the sweep.
    """
    try:
        run_job(job.train_args, **kwargs)
    except JobLocked as exc:
        return JobOutcome(job, "skipped", str(exc))
    except JobFailed as exc:
        return JobOutcome(job, "failed", str(exc))
    except Exception as exc:  # an in-process run: record it, with the job's own log
        message = f"{job.output_dir}: {type(exc).__name__}: {exc}\n{err_tail(job.output_dir)}"
        return JobOutcome(job, "failed", message)
    if not is_done(job.output_dir):
        return JobOutcome(job, "failed", f"{job.output_dir}: finished without writing `done`")
    return JobOutcome(job, "ok")
