"""The ``submitit`` launcher's work: check, submit one array, wait, turn each job into an outcome.

On Slurm every job of a launch needs the same resources (the ``--slurm_*`` flags), so the launch
is one job array (``--slurm_array_parallelism`` = Slurm's ``%N``). Each array task runs
:class:`TrainTask`, a submitit ``Checkpointable``: when Slurm signals the time limit or a
preemption (``USR2``, after ``SIGTERM`` for a preemption) submitit requeues the task and the
requeued task resumes the job from its last ``checkpoint.pt``.

When the resumed job equals an uninterrupted one: ``roga_bench.training`` restores weights,
optimizer, loader positions and every RNG, so on the CPU results and weights are bit for bit an
uninterrupted run's (given the same torch thread count, i.e. the same ``--slurm_cpus_per_job``).
On a GPU that holds only with hparam ``deterministic`` true: by default (``auto``) a GPU run uses
cudnn.benchmark and TF32, whose kernels are picked by timing, so the steps after the resume may
differ in the last bits, as two uninterrupted GPU runs may. Such a requeued job says so in its
err.txt and lists the checkpoint step under ``nondeterministic_resumes`` in each later
results.jsonl line.

Waiting on Slurm reads ``squeue`` (``sweep._slurm``), not submitit's ``sacct`` watcher: without
Slurm accounting a cancelled or killed job would otherwise be waited on forever.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import submitit

from roga_bench.records import is_done
from roga_bench.sweep import _slurm
from roga_bench.sweep._jobs import Job
from roga_bench.sweep._run import JobOutcome, err_tail, run_job
from roga_bench.sweep._submitted import (
    ACTIVE_STATES,
    Submission,
    active_submissions,
    read_submission,
    record_submissions,
    stderr_path,
)

__all__ = ["TrainTask", "executor_parameters", "submit_array", "await_jobs", "skip_live"]

POLL_S = 10.0  # seconds between squeue calls while waiting on Slurm
ERR_LINES = 5


class TrainTask(submitit.helpers.Checkpointable):
    """What one array task runs: ``run_job`` (resumes from ``checkpoint.pt`` when there is one).

    Being ``Checkpointable``, submitit requeues it on Slurm's time-limit or preemption signal
    instead of failing it; the requeued task calls this again with the same arguments.
    """

    def __call__(self, train_args: Mapping[str, Any], train_module: str | None = None) -> Path:
        return run_job(train_args, train_module)

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        print("signalled by Slurm: requeueing; the job resumes from its last checkpoint.pt")
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def executor_parameters(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """submitit's ``update_parameters`` keywords and the matching sbatch options to pre-check.

    Args:
        options: the launcher's ``slurm_*`` keywords (None = not given).
    """
    additional = dict(options.get("slurm_additional") or {})
    time_min = options.get("slurm_time_min")
    params = {
        "timeout_min": time_min if time_min is not None else 24 * 60,
        "gpus_per_node": options.get("slurm_gpus_per_job"),
        "cpus_per_task": options.get("slurm_cpus_per_job"),
        "mem_gb": options.get("mem_gb"),
        "slurm_mem": options.get("slurm_mem"),
        "slurm_partition": options.get("slurm_partition"),
        "slurm_array_parallelism": options.get("slurm_array_parallelism"),
        "slurm_additional_parameters": additional or None,
        "name": "roga_bench",
    }
    mem_gb = options.get("mem_gb")
    sbatch = {
        "partition": options.get("slurm_partition"),
        "time": params["timeout_min"],
        "gpus-per-node": options.get("slurm_gpus_per_job"),
        "cpus-per-task": options.get("slurm_cpus_per_job"),
        "mem": options.get("slurm_mem") or (f"{int(mem_gb * 1024)}M" if mem_gb else None),
        **{k.replace("_", "-"): v for k, v in additional.items()},
    }
    return {k: v for k, v in params.items() if v is not None}, sbatch


def skip_live(jobs: Sequence[Job]) -> tuple[list[Job], list[JobOutcome]]:
    """The jobs to submit, and a ``skipped`` outcome for each one still queued or running."""
    live = active_submissions([job.output_dir for job in jobs])  # one squeue call for all
    todo = [job for job in jobs if job.output_dir not in live]
    skipped = [
        JobOutcome(job, "skipped", f"{job.output_dir}: {live[job.output_dir].describe()}")
        for job in jobs
        if job.output_dir in live
    ]
    return todo, skipped


def submit_array(
    jobs: Sequence[Job], cluster: str | None, options: Mapping[str, Any], train_module: str | None
) -> list[Any]:
    """Check the request with Slurm, then submit the jobs as one array and record their ids.

    Raises:
        SlurmError: Slurm refuses the options or sbatch is missing; nothing was written.
    """
    params, sbatch = executor_parameters(options)
    if cluster == "slurm" or (cluster is None and _slurm.has_sbatch()):
        _slurm.check_submission(sbatch)  # before any folder exists
    sweep_dir = jobs[0].output_dir.parent
    executor = submitit.AutoExecutor(folder=sweep_dir / "submitit", cluster=cluster)
    executor.update_parameters(**params)
    for job in jobs:  # Incomplete from now on, so a relaunch does not submit them twice
        job.output_dir.mkdir(parents=True, exist_ok=True)
    with executor.batch():
        submitted = [executor.submit(TrainTask(), job.train_args, train_module) for job in jobs]
    record_submissions([j.output_dir for j in jobs], submitted, executor.cluster, executor.folder)
    ids = ", ".join(str(s.job_id) for s in submitted[:3]) + (", ..." if len(submitted) > 3 else "")
    print(f"submitit: {len(submitted)} jobs in one array ({ids}); logs in {sweep_dir / 'submitit'}")
    return submitted


def await_jobs(jobs: Sequence[Job], submitted: Sequence[Any]) -> list[JobOutcome]:
    """Wait for every submitted job; one outcome per job, in order."""
    pending = dict(enumerate(zip(jobs, submitted, strict=True)))
    outcomes: dict[int, JobOutcome] = {}
    while pending:
        subs = {i: read_submission(job.output_dir) for i, (job, _) in pending.items()}
        slurm_ids = [s.job_id for s in subs.values() if s is not None and s.cluster == "slurm"]
        states = _slurm.query(slurm_ids) if slurm_ids else {}
        for i, (job, sjob) in list(pending.items()):
            outcome = _outcome_if_ended(job, sjob, subs[i], states)
            if outcome is not None:
                outcomes[i] = outcome
                del pending[i]
        if pending:
            time.sleep(POLL_S if slurm_ids else 0.5)
    return [outcomes[i] for i in range(len(jobs))]


def _outcome_if_ended(
    job: Job, sjob: Any, sub: Submission | None, states: Mapping[str, _slurm.SlurmState]
) -> JobOutcome | None:
    """The job's outcome once it has ended (None while it is queued, running or requeued).

    On Slurm the job has ended when squeue says so (then its failure carries Slurm's state,
    reason and exit code), not when submitit's result file appears.
    """
    if sub is None or sub.cluster != "slurm":
        return _result(job, sjob) if sjob.done() else None
    state = states.get(sub.job_id)
    if state is None or state.state in ACTIVE_STATES:
        return None
    slurm = f"Slurm job {sub.job_id} {state.describe()}; log {stderr_path(sub)}"
    if sjob.paths.result_pickle.exists():
        outcome = _result(job, sjob)
        if outcome.status != "failed":
            return outcome
        return JobOutcome(job, "failed", f"{job.output_dir}: {slurm}\n{outcome.message}")
    if state.state == "COMPLETED":
        return _done(job)
    return JobOutcome(job, "failed", f"{job.output_dir}: {slurm}\n{err_tail(job.output_dir)}")


def _done(job: Job) -> JobOutcome:
    if not is_done(job.output_dir):
        return JobOutcome(job, "failed", f"{job.output_dir}: finished without writing `done`")
    return JobOutcome(job, "ok")


def _result(job: Job, sjob: Any) -> JobOutcome:
    """The outcome of a finished submitit job (its exception text holds the remote traceback)."""
    try:
        sjob.result()
    except Exception as exc:
        text = str(exc)
        if "JobLocked" in text or "locked by live process" in text:
            return JobOutcome(job, "skipped", f"{job.output_dir}: locked by another launcher")
        tail = "\n".join(text.strip().splitlines()[-ERR_LINES:])
        log = f"; log {sjob.paths.stderr}"
        message = f"{job.output_dir}: submitit job {sjob.job_id} failed{log}: {tail}\n"
        return JobOutcome(job, "failed", message + err_tail(job.output_dir))
    return _done(job)
