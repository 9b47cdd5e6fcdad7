"""Where each launcher slot runs: a GPU (``CUDA_VISIBLE_DEVICES``) or the CPU, and how many threads.

With GPUs: ``slots = GPUs x jobs_per_gpu``, slot k sees the launcher's GPU ``k % GPUs`` only,
named as the launcher's own ``CUDA_VISIBLE_DEVICES`` names it (an index, ``GPU-<uuid>`` or a
``MIG-...`` id): a launcher given GPUs 2 and 3 puts its slots on 2 and 3, not on 0 and 1. The
cores the launcher may use (its affinity mask, capped by Slurm's allocation:
``roga_bench._cores``) are divided among the slots (torch threads and DataLoader workers).
Without GPUs (or with ``device="cpu"``): one single-threaded slot per core.

The environment is applied in the slot's own process before CUDA initialises: ``pool`` workers
are ``spawn``-ed and set it first thing, ``parallel`` passes it to each child's ``exec``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from roga_bench._cores import available_cores

__all__ = [
    "DEVICES",
    "SLOT_CORES_ENV",
    "Slot",
    "cores",
    "gpu_ids",
    "n_gpus",
    "plan_slots",
    "visible_gpus",
]

DEVICES = ("auto", "cpu", "cuda")
# Cores a slot may use; training reads it to size its DataLoader workers (``num_workers`` auto).
SLOT_CORES_ENV = "ROGA_BENCH_SLOT_CORES"


@dataclass(frozen=True)
class Slot:
    """One launcher slot: its GPU (the ``CUDA_VISIBLE_DEVICES`` entry; None: CPU) and its share of
    the cores."""

    index: int
    gpu: str | None
    threads: int

    def env(self) -> dict[str, str]:
        """The variables its process starts with (threads, cores, and the GPU it may see)."""
        threads = str(self.threads)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, SLOT_CORES_ENV: threads}
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpu
        return env


def n_gpus() -> int:
    """Visible CUDA devices (0 without torch or CUDA); never initialises CUDA in this process."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_ids(count: int, environ: Mapping[str, str] | None = None) -> list[str]:
    """How a child process selects each of this process's ``count`` GPUs.

    The entries of this process's ``CUDA_VISIBLE_DEVICES`` (indices, ``GPU-<uuid>``, ``MIG-...``)
    in order, as many as CUDA found (it stops at the first invalid entry); ``0 .. count-1`` when
    the variable is unset.
    """
    env = os.environ if environ is None else environ
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    return [e.strip() for e in listed.split(",") if e.strip()][:count]


def visible_gpus() -> list[str]:
    """This process's GPUs as child ``CUDA_VISIBLE_DEVICES`` entries (:func:`gpu_ids`)."""
    return gpu_ids(n_gpus())


def plan_slots(
    gpus: int | Sequence[str],
    cores: int,
    device: str = "auto",
    jobs_per_gpu: int = 1,
    n_workers: int | None = None,
    worker_threads: int | None = None,
) -> list[Slot]:
    """The slots of one launch.

    Args:
        gpus: the GPUs to use, as ``CUDA_VISIBLE_DEVICES`` entries (:func:`visible_gpus`), or a
            count meaning ``0 .. gpus-1`` (tests pass a fake count).
        cores: CPU cores this process may use (:func:`cores`).
        device: ``auto`` (GPUs when there are any), ``cpu`` (ignore them) or ``cuda`` (require).
        jobs_per_gpu: concurrent jobs per GPU (GPU only).
        n_workers: slots, overriding the default count.
        worker_threads: torch threads per slot, overriding ``cores // slots``.

    Raises:
        ValueError: an unknown device, ``device="cuda"`` without GPUs, or a count below 1.
    """
    if device not in DEVICES:
        raise ValueError(f"--device {device!r}; expected one of {', '.join(DEVICES)}")
    for name, value in (("n_workers", n_workers), ("worker_threads", worker_threads)):
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be >= 1, got {value}")
    if jobs_per_gpu < 1:
        raise ValueError(f"--jobs_per_gpu must be >= 1, got {jobs_per_gpu}")
    ids = [str(i) for i in range(gpus)] if isinstance(gpus, int) else list(gpus)
    if device == "cuda" and not ids:
        raise ValueError("--device cuda but no CUDA device is visible")
    use = len(ids) if device != "cpu" else 0
    if use:
        n = n_workers or use * jobs_per_gpu
        threads = worker_threads or max(1, cores // n)
        return [Slot(k, ids[k % use], threads) for k in range(n)]
    n = n_workers or cores  # one single-threaded slot per core (docs/performance.md)
    threads = worker_threads or (1 if n_workers is None else max(1, cores // n))
    return [Slot(k, None, threads) for k in range(n)]


def cores() -> int:
    """CPU cores this process may use (affinity, Slurm's allocation; at least 1)."""
    return available_cores()
