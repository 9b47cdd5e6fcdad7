"""Which job folders have a submitit job still queued or running (relaunch safety).

A job submitted with ``--no_wait`` holds no lock until a node starts it, so a second ``launch``
would submit it again and ``delete_incomplete`` would delete its folder. The submitit launcher
therefore writes ``<job>/submitit_job.json`` (job id, cluster, submitit folder, submit time) for
every job it submits, and both commands ask the scheduler about that job first:

- Slurm: submitit's ``SlurmJob(folder, job_id).state`` (``sacct``/``squeue`` through submitit's
  watcher). A job Slurm does not report yet (``UNKNOWN`` just after submission) counts as queued
  for :data:`UNKNOWN_GRACE_S`.
- ``local``/``debug`` executors: the job id is the pid of submitit's worker process; the job is
  live while that process runs submitit (``/proc/<pid>/cmdline`` where there is a ``/proc``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RECORD_NAME",
    "ACTIVE_STATES",
    "UNKNOWN_GRACE_S",
    "Submission",
    "record_submissions",
    "read_submission",
    "active_submission",
]

RECORD_NAME = "submitit_job.json"
# Slurm states of a job that has not ended (sacct/squeue names, as submitit reports them).
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SUSPENDED",
        "SIGNALING",
        "STAGE_OUT",
    }
)
UNKNOWN_GRACE_S = 600.0  # sacct can lag a fresh submission by minutes on a busy cluster


@dataclass(frozen=True)
class Submission:
    """What ``submitit_job.json`` holds, plus the state found when it was read."""

    job_id: str
    cluster: str
    folder: str
    submitted_at: float
    state: str = ""

    def describe(self) -> str:
        return f"submitit job {self.job_id} ({self.cluster}) is {self.state or 'recorded'}"


def record_submissions(
    job_dirs: Sequence[Path], submitted: Sequence[Any], cluster: str, folder: Path
) -> None:
    """Write ``submitit_job.json`` into each job folder for its submitit job."""
    now = time.time()
    for job_dir, sjob in zip(job_dirs, submitted, strict=True):
        doc = {
            "job_id": str(sjob.job_id),
            "cluster": cluster,
            "folder": str(folder),
            "submitted_at": now,
            "submitted_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }
        tmp = Path(job_dir) / (RECORD_NAME + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(Path(job_dir) / RECORD_NAME)  # atomic: a reader never sees half a file


def read_submission(job_dir: Path) -> Submission | None:
    """The recorded submission of a job folder, or None (no record, or an unreadable one)."""
    path = Path(job_dir) / RECORD_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Submission(
            str(doc["job_id"]), str(doc["cluster"]), str(doc["folder"]), float(doc["submitted_at"])
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # a broken record must not block the job forever: say so and treat it as absent
        print(f"warning: {path}: unreadable submitit record ({exc}); ignoring it")
        return None


def active_submission(job_dir: Path) -> Submission | None:
    """The job's recorded submitit job if it is still queued or running, else None."""
    sub = read_submission(job_dir)
    if sub is None or (Path(job_dir) / "done").exists():
        return None
    state = _state(sub)
    if state in ACTIVE_STATES:
        return Submission(sub.job_id, sub.cluster, sub.folder, sub.submitted_at, state)
    if state == "UNKNOWN" and time.time() - sub.submitted_at < UNKNOWN_GRACE_S:
        return Submission(sub.job_id, sub.cluster, sub.folder, sub.submitted_at, "UNKNOWN")
    return None


def _state(sub: Submission) -> str:
    if sub.cluster in ("local", "debug"):
        return "RUNNING" if _local_worker_alive(sub.job_id) else "FINISHED"
    import submitit  # lazy: only a sweep that used submitit gets here

    return str(submitit.SlurmJob(folder=sub.folder, job_id=sub.job_id).state).upper()


def _local_worker_alive(job_id: str) -> bool:
    """Whether pid ``job_id`` is alive and (where /proc tells) still submitit's worker."""
    try:
        pid = int(job_id.split("_")[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, owned by someone else: not our worker
        return False
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no /proc (macOS): the pid alone
        return True
    try:
        status = (proc / "status").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    if "\nState:\tZ" in status:  # exited, not yet reaped by its parent
        return False
    # empty for a moment right after the fork; otherwise it guards against a reused pid
    return not cmdline or b"submitit" in cmdline
