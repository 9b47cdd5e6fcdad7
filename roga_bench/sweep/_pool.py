"""The ``pool`` launcher: warm worker processes that each run many jobs, one at a time.

A slot is a long-lived ``spawn``-ed worker that imports torch and roga_bench once and then runs
job after job in its own process (``roga_bench.sweep.run_job``: the job's lock, its folder, its
``out.txt``/``err.txt``; the worker's own stdout/stderr go to ``<job>/launcher.log``). Between
jobs the worker resets what a fresh ``python -m roga_bench.train`` would start with: torch's
thread count, grad mode and default dtype, the warning registry (so every job's err.txt gets
its warnings), and training seeds python/numpy/torch itself. Caches that stay warm (parsed JSON
indexes, keyed by path, mtime and size; drawn face templates, pure functions of their seed) cannot
change a result. ``tests/test_pool.py`` checks that a job run in a warm worker after another
job writes the same results.jsonl and weights as a fresh process. Decoded frames are kept for
the worker's whole life (``datasets.frame_memo``, checked against each file's size and mtime),
so only a worker's first job decodes them.

The launcher is one thread waiting on the workers' pipes and process sentinels: a worker that
dies (segfault, OOM kill, SIGKILL) fails only its job, whose ``err.txt`` gets a line naming the
signal or exit code, and a fresh worker takes the slot. Workers die with the launcher (Linux
``PR_SET_PDEATHSIG``, else a watchdog thread), so killing the launcher frees every job lock and a
relaunch resumes the interrupted jobs from their checkpoints.

Devices (``sweep._devices``): with GPUs there are GPUs x ``jobs_per_gpu`` slots and each worker
sets its slot's ``CUDA_VISIBLE_DEVICES`` (one GPU) first thing, before anything can initialise
CUDA; the cores are divided among the slots. Without GPUs, one single-threaded slot per core.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from roga_bench._cores import available_cores
from roga_bench._registry import register_launcher
from roga_bench.sweep._devices import Slot, cores, plan_slots, visible_gpus
from roga_bench.sweep._jobs import Job
from roga_bench.sweep._progress import Progress
from roga_bench.sweep._run import JobOutcome, err_tail, run_and_record

__all__ = ["pool", "default_slots"]

_PR_SET_PDEATHSIG = 1
# Decoded frames a warm worker keeps across its jobs (SynthFF at 64 px: ~12 KiB a frame, the
# whole benchmark ~110 MiB); per worker, so slots x this much memory at most.
FRAME_MEMO_MB = 1024


def default_slots(cores: int | None = None) -> tuple[int, int]:
    """(slots, torch threads per slot) for this machine: one single-threaded slot per core.

    Small SynthFF jobs (batch 16 per domain, 64 px) scale better over jobs than over threads
    (docs/performance.md measures it on 2 cores).
    """
    return cores or available_cores(), 1


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the launcher does, however the launcher ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the launcher died before prctl took effect
        os._exit(1)

    def watchdog() -> None:  # other systems (and belt and braces)
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()


@contextlib.contextmanager
def _fds_to(path: Path) -> Iterator[None]:
    """Send fds 1 and 2 (Python's and C's output, faulthandler's traceback) into ``path``."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])


def _reset_globals(threads: int) -> None:
    """What a fresh training process starts with (training seeds the RNGs itself)."""
    import torch

    torch.set_num_threads(threads)
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)


def _worker(conn: Connection, parent: int, slot: Slot, train_module: str | None) -> None:
    """A slot's process: receive a Job, run it, send back (status, message); None ends it.

    ``train_module`` None trains in this (warm) process; a module name runs it as a child.
    """
    os.environ.update(slot.env())  # first: CUDA_VISIBLE_DEVICES before CUDA can initialise
    threads = slot.threads
    _die_with_parent(parent)
    warm = train_module is None
    import faulthandler

    faulthandler.enable()  # a segfault writes its traceback to fd 2: the job's launcher.log
    if warm:
        import roga_bench.training  # noqa: F401  (torch and the registries, once per worker)
        from roga_bench.datasets.frame_memo import install_frame_memo

        install_frame_memo(FRAME_MEMO_MB)  # later jobs of this worker skip decoding
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the launcher is gone
            return
        if job is None:
            return
        job.output_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), _fds_to(job.output_dir / "launcher.log"):
            if warm:
                _reset_globals(threads)
            outcome = run_and_record(job, train_module=train_module)
        conn.send((outcome.status, outcome.message))


@dataclass
class _Slot:
    """One worker process and the job it runs (None: idle)."""

    process: Any
    conn: Connection
    job: Job | None = None
    started: float = 0.0
    ready: bool = False


def _death_note(job: Job, process: Any) -> str:
    """Append to the job's err.txt how its worker died; return the message for the report."""
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else "?"
        how = f"killed by signal {-code} ({name}), exit code {code}"
    else:
        how = f"exited with code {code}"
    note = (
        f"pool worker (pid {process.pid}) {how} while running this job; the job is left "
        "Incomplete and resumes from its last checkpoint on the next launch\n"
    )
    with contextlib.suppress(OSError), open(job.output_dir / "err.txt", "a") as err:
        err.write(note)
    return f"{job.output_dir}: {note}{err_tail(job.output_dir)}"


class _Pool:
    def __init__(self, slots: Sequence[Slot], train_module: str | None) -> None:
        self.ctx = mp.get_context("spawn")  # never fork: the launcher may have touched CUDA
        self.specs, self.train_module = list(slots), train_module
        self.slots = [self._start(k) for k in range(len(self.specs))]

    def _start(self, k: int) -> _Slot:
        parent_conn, child_conn = self.ctx.Pipe()
        process = self.ctx.Process(
            target=_worker,
            args=(child_conn, os.getpid(), self.specs[k], self.train_module),
            daemon=True,
            name="roga_bench-pool-worker",
        )
        process.start()
        child_conn.close()
        return _Slot(process, parent_conn)

    def run(self, jobs: Sequence[Job], progress: Progress) -> list[JobOutcome]:
        pending = deque(jobs)
        outcomes: dict[str, JobOutcome] = {}
        try:
            while pending or any(s.job for s in self.slots):
                for slot in self.slots:
                    if slot.ready and slot.job is None and pending:
                        slot.job, slot.started = pending.popleft(), time.time()
                        slot.conn.send(slot.job)
                        progress.started(slot.job)
                waitables = [s.conn for s in self.slots] + [s.process.sentinel for s in self.slots]
                ready = set(wait(waitables, timeout=1.0))
                for i, slot in enumerate(self.slots):
                    self.slots[i] = self._poll(i, slot, ready, outcomes, progress)
        finally:
            self.close()
        return [outcomes[j.name] for j in jobs]

    def _poll(self, k: int, slot: _Slot, ready: set, outcomes: dict, progress: Progress) -> _Slot:
        if slot.conn in ready:
            try:
                message = slot.conn.recv()
            except EOFError:  # died; the sentinel says how below
                message = None
            if message == "ready":
                slot.ready = True
                return slot
            if message is not None and slot.job is not None:
                outcome = JobOutcome(slot.job, *message)
                outcomes[slot.job.name] = outcome
                progress.finished(outcome)
                slot.job = None
                return slot
        if slot.process.sentinel in ready or not slot.process.is_alive():
            slot.process.join()
            if not slot.ready:  # died on start-up: a broken install, not a job's fault
                raise RuntimeError(
                    f"pool worker (pid {slot.process.pid}) died before it was ready "
                    f"(exit code {slot.process.exitcode}); try --command_launcher local"
                )
            if slot.job is not None:
                outcome = JobOutcome(slot.job, "failed", _death_note(slot.job, slot.process))
                outcomes[slot.job.name] = outcome
                progress.finished(outcome)
            slot.conn.close()
            return self._start(k)  # a fresh worker takes the slot (and its GPU)
        return slot

    def close(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(OSError, BrokenPipeError):
                slot.conn.send(None)
        deadline = time.time() + 5
        for slot in self.slots:
            slot.process.join(max(0.0, deadline - time.time()))
            if slot.process.is_alive():  # interrupted mid-job (Ctrl-C): its checkpoint stays
                slot.process.kill()
                slot.process.join()


@register_launcher("pool")
def pool(
    jobs: Sequence[Job],
    n_workers: int | None = None,
    worker_threads: int | None = None,
    train_module: str | None = None,
    device: str = "auto",
    jobs_per_gpu: int = 1,
) -> list[JobOutcome]:
    """Run the jobs on warm worker processes (the default launcher).

    Args:
        jobs: the jobs to run.
        n_workers: slots; default GPUs x ``jobs_per_gpu``, without GPUs one per CPU core.
        worker_threads: torch threads per slot; default ``cores // slots`` (at least 1), one
            per slot on the CPU by default (:func:`default_slots`).
        train_module: None trains in the warm worker; a module name makes each worker run
            ``python -m <module>`` as a fresh child per job instead (no warm start).
        device: ``auto`` (GPUs when present), ``cpu`` or ``cuda`` (``sweep._devices``).
        jobs_per_gpu: concurrent jobs per GPU.

    Returns:
        One outcome per job, in the order given.
    """
    slots = plan_slots(visible_gpus(), cores(), device, jobs_per_gpu, n_workers, worker_threads)
    if not jobs:
        return []
    slots = slots[: len(jobs)]
    where = "GPU" if slots[0].gpu is not None else "CPU"
    print(
        f"pool: {len(slots)} worker(s) x {slots[0].threads} torch thread(s) on {where}",
        flush=True,
    )
    with Progress(len(jobs)) as progress:
        return _Pool(slots, train_module).run(jobs, progress)
