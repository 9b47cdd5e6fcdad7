"""Where each launcher slot runs: a GPU (``CUDA_VISIBLE_DEVICES``) or the CPU, and how many threads.

With GPUs: ``slots = GPUs x jobs_per_gpu``, slot k sees GPU ``k % GPUs`` only, and the CPU cores
are divided among the slots (torch threads and DataLoader workers). Without GPUs (or with
``device="cpu"``): one single-threaded slot per core, as before GPUs were counted.

The environment is applied in the slot's own process before CUDA initialises: ``pool`` workers
are ``spawn``-ed and set it first thing, ``parallel`` passes it to each child's ``exec``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DEVICES", "SLOT_CORES_ENV", "Slot", "n_gpus", "plan_slots"]

DEVICES = ("auto", "cpu", "cuda")
# Cores a slot may use; training reads it to size its DataLoader workers (``num_workers`` auto).
SLOT_CORES_ENV = "ROGA_BENCH_SLOT_CORES"


@dataclass(frozen=True)
class Slot:
    """One launcher slot: its GPU (None: CPU) and its share of the cores."""

    index: int
    gpu: int | None
    threads: int

    def env(self) -> dict[str, str]:
        """The variables its process starts with (threads, cores, and the GPU it may see)."""
        threads = str(self.threads)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, SLOT_CORES_ENV: threads}
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu)
        return env


def n_gpus() -> int:
    """Visible CUDA devices (0 without torch or CUDA); never initialises CUDA in this process."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def plan_slots(
    gpus: int,
    cores: int,
    device: str = "auto",
    jobs_per_gpu: int = 1,
    n_workers: int | None = None,
    worker_threads: int | None = None,
) -> list[Slot]:
    """The slots of one launch.

    Args:
        gpus: GPUs found (``n_gpus()``; tests pass a fake count).
        cores: CPU cores of the machine.
        device: ``auto`` (GPUs when there are any), ``cpu`` (ignore them) or ``cuda`` (require).
        jobs_per_gpu: concurrent jobs per GPU (GPU only).
        n_workers: slots, overriding the default count.
        worker_threads: torch threads per slot, overriding ``cores // slots``.

    Raises:
        ValueError: an unknown device, ``device="cuda"`` without GPUs, or a count below 1.
    """
    if device not in DEVICES:
        raise ValueError(f"--device {device!r}; expected one of {', '.join(DEVICES)}")
    if device == "cuda" and gpus == 0:
        raise ValueError("--device cuda but no CUDA device is visible")
    for name, value in (("n_workers", n_workers), ("worker_threads", worker_threads)):
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be >= 1, got {value}")
    if jobs_per_gpu < 1:
        raise ValueError(f"--jobs_per_gpu must be >= 1, got {jobs_per_gpu}")
    use = gpus if device != "cpu" else 0
    if use:
        n = n_workers or use * jobs_per_gpu
        threads = worker_threads or max(1, cores // n)
        return [Slot(k, k % use, threads) for k in range(n)]
    n = n_workers or cores  # one single-threaded slot per core (docs/performance.md)
    threads = worker_threads or (1 if n_workers is None else max(1, cores // n))
    return [Slot(k, None, threads) for k in range(n)]


def cores() -> int:
    """CPU cores of this machine (at least 1)."""
    return os.cpu_count() or 1
