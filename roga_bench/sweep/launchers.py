"""Registered launchers: ``launcher(jobs, **options) -> list[JobOutcome]``.

- ``pool`` (the default, ``roga_bench.sweep._pool``): one warm worker process per slot that
  imports torch once and runs many jobs; a worker that dies fails only its job.
- ``local``: one job after another, each as a fresh ``python -m roga_bench.train`` process (so a
  crash or a leak in one run cannot kill the sweep); ``in_process=True`` calls ``train()`` here.
- ``parallel``: ``n_workers`` slots, each running one child process at a time; with GPUs
  GPUs x ``jobs_per_gpu`` slots, each pinned to one GPU (``CUDA_VISIBLE_DEVICES``), the cores
  split between slots (``OMP_NUM_THREADS``); ``sweep._devices`` plans the slots.
- ``dummy``: prints each job's command and runs nothing.
- ``submitit``: one job array per launch through ``submitit.AutoExecutor`` (Slurm, or its local
  and debug executors), running the importable ``run_job`` on the nodes.

Commands are argv lists; no launcher builds a shell string or uses ``shell=True``.
"""

from __future__ import annotations

import queue
import shlex
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from roga_bench._registry import register_launcher
from roga_bench.sweep._devices import cores, n_gpus, plan_slots, visible_gpus
from roga_bench.sweep._jobs import Job
from roga_bench.sweep._pool import pool
from roga_bench.sweep._run import DEFAULT_TRAIN_MODULE, JobOutcome, job_command, run_and_record
from roga_bench.sweep._submitit import await_jobs, skip_live, submit_array

__all__ = ["local", "parallel", "pool", "dummy", "submitit_launcher", "n_gpus"]


def _progress(i: int, n: int, job: Job) -> None:
    print(f"[{i}/{n}] {job.describe()} -> {job.output_dir}", flush=True)


def _report_line(outcome: JobOutcome) -> None:
    if outcome.status != "ok":
        print(f"    {outcome.status}: {outcome.message.splitlines()[0]}", flush=True)


@register_launcher("local")
def local(
    jobs: Sequence[Job],
    train_module: str = DEFAULT_TRAIN_MODULE,
    in_process: bool = False,
    device: str = "auto",
) -> list[JobOutcome]:
    """Run the jobs one after another.

    Args:
        jobs: the jobs to run (Done ones are skipped by the sweep before this).
        train_module: module run as ``python -m <train_module>`` for each job.
        in_process: call ``roga_bench.training.train`` in this process instead (faster start,
            but a crash stops the sweep's process).
        device: ``auto``: a child sees this process's first GPU only when there are GPUs (its
            first ``CUDA_VISIBLE_DEVICES`` entry when set); ``cpu``: it sees none
            (``CUDA_VISIBLE_DEVICES=""``); ``cuda``: GPUs are required.
    """
    (slot,) = plan_slots(visible_gpus(), cores(), device, n_workers=1)
    env = None
    if slot.gpu is not None:
        env = {"CUDA_VISIBLE_DEVICES": slot.gpu}
    elif device == "cpu":
        env = {"CUDA_VISIBLE_DEVICES": ""}
    outcomes = []
    for i, job in enumerate(jobs, 1):
        _progress(i, len(jobs), job)
        if in_process:
            outcome = run_and_record(job, train_module=None)
        else:
            outcome = run_and_record(job, train_module=train_module, env=env)
        _report_line(outcome)
        outcomes.append(outcome)
    return outcomes


@register_launcher("parallel")
def parallel(
    jobs: Sequence[Job],
    n_workers: int | None = None,
    train_module: str = DEFAULT_TRAIN_MODULE,
    device: str = "auto",
    jobs_per_gpu: int = 1,
) -> list[JobOutcome]:
    """Run the jobs in ``n_workers`` slots, each slot one child process at a time.

    Args:
        jobs: the jobs to run.
        n_workers: slots; default GPUs x ``jobs_per_gpu``, else one per CPU core. With GPUs,
            slot k sees this process's GPU ``k % n_gpus`` only (``sweep._devices``); each child
            gets ``cores // n_workers`` threads.
        train_module: module run as ``python -m <train_module>`` for each job.
        device: ``auto`` (GPUs when present), ``cpu`` or ``cuda``.
        jobs_per_gpu: concurrent jobs per GPU.

    Each child's output goes to ``<job>/launcher.log`` (slots would interleave on a terminal).
    """
    plan = plan_slots(visible_gpus(), cores(), device, jobs_per_gpu, n_workers)
    slots: queue.Queue = queue.Queue()
    for slot in plan:
        slots.put(slot)

    def run(job: Job) -> JobOutcome:
        slot = slots.get()
        try:
            print(f"[slot {slot.index}] {job.describe()} -> {job.output_dir}", flush=True)
            outcome = run_and_record(
                job, train_module=train_module, env=slot.env(), log_to_file=True
            )
            _report_line(outcome)
            return outcome
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        return list(pool.map(run, jobs))


@register_launcher("dummy")
def dummy(jobs: Sequence[Job], train_module: str = DEFAULT_TRAIN_MODULE) -> list[JobOutcome]:
    """Print each job's command (quoted for copy-paste) and run nothing."""
    for job in jobs:
        print(shlex.join(["python", *job_command(job.train_args, train_module)[1:]]))
    return [JobOutcome(job, "submitted", "dummy launcher: not run") for job in jobs]


@register_launcher("submitit")
def submitit_launcher(
    jobs: Sequence[Job],
    submitit_cluster: str | None = None,
    slurm_partition: str | None = None,
    slurm_time_min: int | None = None,
    slurm_gpus_per_job: int | None = None,
    slurm_cpus_per_job: int | None = None,
    slurm_mem: str | None = None,
    mem_gb: float | None = None,
    slurm_additional: Mapping[str, Any] | None = None,
    slurm_array_parallelism: int | None = None,
    train_module: str | None = None,
    wait: bool = True,
) -> list[JobOutcome]:
    """Submit the jobs as one job array through ``submitit.AutoExecutor``.

    Args:
        jobs: the jobs to run.
        submitit_cluster: ``slurm``, ``local`` (child processes on this machine, for tests) or
            ``debug`` (in this process); None lets submitit pick (Slurm when ``sbatch`` exists).
        slurm_partition, slurm_time_min, slurm_gpus_per_job, slurm_cpus_per_job, slurm_mem:
            sbatch's ``--partition``, ``--time`` (minutes), ``--gpus-per-node``,
            ``--cpus-per-task`` and ``--mem`` (Slurm's format, ``16G``); ``mem_gb`` is the old
            ``--mem_gb`` (GB as a number).
        slurm_additional: more sbatch options (``{"account": "x", "exclusive": True}``).
        slurm_array_parallelism: at most this many tasks of the array run at once (``%N``).
        train_module: None trains in the node's submitit process (``roga_bench.training.train``);
            a module name runs ``python -m <module>`` there as a child instead.
        wait: wait for every job and report failures; False returns once submitted.

    Slurm is asked first (``sbatch --test-only``): an unknown partition or a time limit it
    rejects raises ``SlurmError`` before anything is written. Each submitted job's id goes to
    ``<job>/submitit_job.json``; a job whose recorded job is still queued or running is skipped,
    not submitted twice. Time limits and preemption requeue a job, which then resumes.
    """
    todo, skipped = skip_live(jobs)
    if not todo:
        return skipped
    options = {
        "slurm_partition": slurm_partition,
        "slurm_time_min": slurm_time_min,
        "slurm_gpus_per_job": slurm_gpus_per_job,
        "slurm_cpus_per_job": slurm_cpus_per_job,
        "slurm_mem": slurm_mem,
        "mem_gb": mem_gb,
        "slurm_additional": slurm_additional,
        "slurm_array_parallelism": slurm_array_parallelism,
    }
    submitted = submit_array(todo, submitit_cluster, options, train_module)
    if not wait:
        pairs = zip(todo, submitted, strict=True)
        return skipped + [JobOutcome(job, "submitted", str(s.job_id)) for job, s in pairs]
    outcomes = await_jobs(todo, submitted)
    for outcome in outcomes:
        _report_line(outcome)
    return skipped + outcomes
