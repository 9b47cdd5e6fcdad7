"""The CPU cores this process may use: its affinity mask, capped by Slurm's allocation.

``os.cpu_count()`` counts the machine's cores, not this process's: under ``taskset -c 0``, in a
cgroup cpuset, or in a Slurm job on a shared node it overstates them, and every loader worker or
torch thread beyond the allocation competes with the others for the same cores.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["SLURM_CPU_VARIABLES", "available_cores"]

# Slurm's allocation, most specific first: the task's cores (--cpus-per-task), else the job's
# cores on this node (what a job without --cpus-per-task, or with --exclusive, was given).
SLURM_CPU_VARIABLES = ("SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE")


def _affinity() -> int:
    """Cores in this process's affinity mask (``os.cpu_count()`` where there is no mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def _slurm_cpus(environ: Mapping[str, str]) -> int | None:
    for name in SLURM_CPU_VARIABLES:
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def available_cores(environ: Mapping[str, str] | None = None) -> int:
    """Cores this process may use, at least 1: the affinity mask (``taskset``, cpusets), capped
    by ``SLURM_CPUS_PER_TASK`` (else ``SLURM_CPUS_ON_NODE``) when Slurm set them.

    Args:
        environ: the environment to read Slurm's variables from (default ``os.environ``).
    """
    cores = _affinity()
    slurm = _slurm_cpus(os.environ if environ is None else environ)
    if slurm is not None:
        cores = min(cores, slurm)
    return max(1, cores)
