"""Which job folders have a submitit job still queued or running (relaunch safety).

A job submitted with ``--no_wait`` holds no lock until a node starts it, so a second ``launch``
would submit it again and ``delete_incomplete`` would delete its folder. The submitit launcher
therefore writes ``<job>/submitit_job.json`` (job id, cluster, submitit folder, submit time) for
every job it submits, and both commands ask the scheduler about that job first:

- Slurm: ``squeue`` (``sweep._slurm.query``; no ``sacct``, which needs Slurm's accounting
  daemon). A job squeue does not know any more has ended; a broken ``squeue`` (slurmctld down)
  is an error, never "ended" (that would submit a queued job twice).
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

from roga_bench.records import is_done
from roga_bench.sweep import _slurm

__all__ = [
    "RECORD_NAME",
    "ACTIVE_STATES",
    "UNKNOWN_GRACE_S",
    "Submission",
    "record_submissions",
    "read_submission",
    "active_submission",
    "active_submissions",
    "cancel_active",
    "scheduler_states",
    "stderr_path",
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
UNKNOWN_GRACE_S = 600.0  # a local executor's worker may not show yet just after submission


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
    return active_submissions([job_dir]).get(Path(job_dir))


def active_submissions(job_dirs: Sequence[Path]) -> dict[Path, Submission]:
    """``active_submission`` of many folders with one squeue call; only the live ones."""
    subs = {
        Path(d): s
        for d in job_dirs
        if not is_done(Path(d)) and (s := read_submission(Path(d))) is not None
    }
    states = _states(list(subs.values()))
    live = {d: _if_active(s, states[s.job_id]) for d, s in subs.items()}
    return {d: s for d, s in live.items() if s is not None}


def _if_active(sub: Submission, state: str) -> Submission | None:
    if state in ACTIVE_STATES:
        return Submission(sub.job_id, sub.cluster, sub.folder, sub.submitted_at, state)
    if state == "UNKNOWN" and time.time() - sub.submitted_at < UNKNOWN_GRACE_S:
        return Submission(sub.job_id, sub.cluster, sub.folder, sub.submitted_at, "UNKNOWN")
    return None


def _states(subs: Sequence[Submission]) -> dict[str, str]:
    """job id -> state name, one squeue call for all the Slurm ones."""
    states = {s.job_id: _local_state(s.job_id) for s in subs if s.cluster in ("local", "debug")}
    slurm_ids = [s.job_id for s in subs if s.cluster not in ("local", "debug")]
    states.update({i: st.state for i, st in _slurm.query(slurm_ids).items()})
    return states


def scheduler_states(job_dirs: Sequence[Path]) -> dict[Path, str]:
    """What the scheduler says about each job folder's recorded submission, as status shows it.

    ``PENDING (Resources) [12_0]``, ``RUNNING [12_1]``, ``FAILED (NonZeroExitCode) exit 1:0
    [12_2] log <stderr path>``; a Slurm job squeue no longer knows: ``ended [12_3]`` (plus its
    log path unless the folder is Done). Folders without a record are left out.
    """
    subs = {Path(d): s for d in job_dirs if (s := read_submission(Path(d))) is not None}
    slurm = [s.job_id for s in subs.values() if s.cluster not in ("local", "debug")]
    slurm_states = _slurm.query(slurm)
    shown = {}
    for job_dir, sub in subs.items():
        if sub.job_id in slurm_states:
            st = slurm_states[sub.job_id]
            text = "ended" if st.state == _slurm.GONE else st.describe()
            ok = st.state in ACTIVE_STATES or st.state == "COMPLETED"
        else:
            text = _local_state(sub.job_id)
            ok = text == "RUNNING"
        text += f" [{sub.job_id}]"
        if not ok and not is_done(job_dir):
            text += f" log {stderr_path(sub)}"
        shown[job_dir] = text
    return shown


def cancel_active(job_dirs: Sequence[Path], wait_s: float = 60.0) -> list[str]:
    """``scancel`` the recorded Slurm jobs of these folders that are queued or running.

    Only the ids recorded in the folders are cancelled (never another sweep's or user's job).
    Waits up to ``wait_s`` for them to leave the queue, so their folders can be deleted.

    Returns:
        The cancelled job ids.
    """
    subs = [s for d in job_dirs if (s := read_submission(Path(d))) is not None]
    subs = [s for s in subs if s.cluster not in ("local", "debug")]
    states = _slurm.query([s.job_id for s in subs])
    ids = sorted(s.job_id for s in subs if states[s.job_id].state in ACTIVE_STATES)
    _slurm.cancel(ids)
    deadline = time.monotonic() + wait_s
    while ids and time.monotonic() < deadline:
        if not any(st.state in ACTIVE_STATES for st in _slurm.query(ids).values()):
            break
        time.sleep(1.0)
    return ids


def stderr_path(sub: Submission) -> Path:
    """The submitted job's stderr log (submitit's ``<folder>/<job id>_0_log.err``)."""
    from submitit.core.utils import JobPaths  # lazy: only a sweep that used submitit gets here

    return JobPaths(sub.folder, job_id=sub.job_id, task_id=0).stderr


def _local_state(job_id: str) -> str:
    return "RUNNING" if _local_worker_alive(job_id) else "FINISHED"


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
