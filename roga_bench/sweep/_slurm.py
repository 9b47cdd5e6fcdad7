"""Slurm's own commands, as the sweep uses them: job states, cancelling, checking a submission.

Job states come from ``squeue`` (and ``scontrol show job`` for a finished job's exit code), not
``sacct``: ``sacct`` needs Slurm's accounting daemon, which many small clusters (and the test
cluster of ``tests/slurm/start.sh``) do not run. ``squeue`` knows a job while it is queued or
running and for ``MinJobAge`` seconds (default 300) after it ends; after that a job is
:data:`GONE` and the sweep reads what submitit and the job folder left behind.

Every command is an argv list (no shell) with a timeout; a missing command is a clear error.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "GONE",
    "SlurmError",
    "SlurmState",
    "cancel",
    "has_sbatch",
    "check_submission",
    "parse_time_min",
    "query",
]

GONE = "GONE"  # not (or no longer) known to squeue
TIMEOUT_S = 60
_TIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?")


class SlurmError(Exception):
    """A Slurm command is missing or refused the request (the message is Slurm's own)."""


@dataclass(frozen=True)
class SlurmState:
    """One job as squeue/scontrol report it.

    Attributes:
        job_id: ``<id>`` or ``<array id>_<task>``.
        state: ``PENDING``, ``RUNNING``, ``COMPLETED``, ``FAILED``, ``CANCELLED``, ...; or GONE.
        reason: squeue's reason (``Resources``, ``Priority``, ``NonZeroExitCode``...) or "".
        exit_code: ``scontrol``'s ``ExitCode`` (``<code>:<signal>``) of an ended job, or "".
    """

    job_id: str
    state: str
    reason: str = ""
    exit_code: str = ""

    def describe(self) -> str:
        reason = f" ({self.reason})" if self.reason and self.reason != "None" else ""
        code = f" exit {self.exit_code}" if self.exit_code else ""
        return f"{self.state}{reason}{code}"


def has_sbatch() -> bool:
    """Whether ``sbatch`` is on PATH (submitit's automatic choice of Slurm)."""
    return shutil.which("sbatch") is not None


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    if shutil.which(argv[0]) is None:
        raise SlurmError(f"{argv[0]}: not found (is Slurm installed and on PATH?)")
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]}: no answer within {TIMEOUT_S} s") from None


def _first_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "failure" in ln.lower()]
    return (errors or lines or [f"exit code {proc.returncode}"])[-1]


def query(job_ids: Iterable[str]) -> dict[str, SlurmState]:
    """The state of each job id (GONE for those squeue does not know); one squeue call."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    proc = _run(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(ids), "-o", "%i|%T|%r"])
    if proc.returncode != 0 and "Invalid job id" not in proc.stderr:
        raise SlurmError(f"squeue: {_first_error(proc)}")  # e.g. slurmctld not answering
    found: dict[str, SlurmState] = {}
    if proc.returncode == 0:  # "Invalid job id": none of the ids is known any more
        for line in proc.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 3 and parts[0] in ids:
                found[parts[0]] = SlurmState(parts[0], parts[1], parts[2])
    states = {i: found.get(i, SlurmState(i, GONE)) for i in ids}
    for i, s in states.items():
        if s.state not in (GONE, "PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
            states[i] = SlurmState(i, s.state, s.reason, _exit_code(i))
    return states


def _exit_code(job_id: str) -> str:
    proc = _run(["scontrol", "show", "job", "-o", job_id])
    match = re.search(r"\bExitCode=(\S+)", proc.stdout) if proc.returncode == 0 else None
    return match.group(1) if match else ""


def cancel(job_ids: Iterable[str]) -> None:
    """``scancel`` exactly these job ids (array tasks one by one), nothing else."""
    ids = sorted(set(job_ids))
    if not ids:
        return
    proc = _run(["scancel", *ids])
    if proc.returncode != 0:
        raise SlurmError(f"scancel {' '.join(ids)}: {_first_error(proc)}")


def parse_time_min(value: str) -> int:
    """Slurm's ``--time`` formats (``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``) in
    whole minutes, rounded up.

    Raises:
        ValueError: not one of those formats, or zero.
    """
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a Slurm time (M, H:M:S, D-H:M...)")
    days, a, b, c = (int(g) if g is not None else None for g in match.groups())
    if days is not None:  # D-H, D-H:M, D-H:M:S
        seconds = days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:  # H:M:S
        seconds = a * 3600 + b * 60 + c
    elif b is not None:  # M:S
        seconds = a * 60 + b
    else:  # M
        seconds = a * 60
    if seconds <= 0:
        raise ValueError(f"{value!r}: the time limit must be > 0")
    return math.ceil(seconds / 60)


def check_submission(params: Mapping[str, object]) -> None:
    """Ask Slurm (``sbatch --test-only``) whether it would take a job with these sbatch options.

    Args:
        params: sbatch long options without ``--`` (``partition``, ``time``, ``mem``...); a True
            value is a bare flag, None is left out.

    Raises:
        SlurmError: sbatch is missing or refuses the options (an unknown partition, a time
            limit over the partition's, ...), with Slurm's message.
    """
    argv = ["sbatch", "--test-only"]
    for key, value in params.items():
        if value is True:
            argv.append(f"--{key}")
        elif value is not None and value is not False:
            argv.append(f"--{key}={value}")
    proc = _run([*argv, "--wrap", "true"])
    if proc.returncode != 0:
        raise SlurmError(f"sbatch refuses the job: {_first_error(proc)}")
