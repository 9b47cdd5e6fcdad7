"""The launcher options of ``python -m roga_bench.sweep``: one field per launcher keyword.

Each field is the flag (``roga_bench._flags``: help, spelling, range) and the keyword of the
launcher functions in ``roga_bench.sweep.launchers`` that accept it (``slurm_time`` reaches the
submitit launcher as ``slurm_time_min``, in minutes). Only the options the chosen launcher's
signature accepts may be given; unset ones (None) leave the launcher's own default. A new launcher
keyword is a new field here.
"""

from __future__ import annotations

from dataclasses import dataclass

from roga_bench._flags import flag

__all__ = ["LauncherOptions"]


@dataclass(frozen=True)
class LauncherOptions:
    """What the ``launcher options`` flags set; the second spelling of a flag is its older one."""

    n_workers: int | None = flag(None, type=int, help="pool/parallel: slots", above=0)
    worker_threads: int | None = flag(None, type=int, help="pool: threads per slot", above=0)
    device: str | None = flag(
        None,
        choices=["auto", "cpu", "cuda"],
        help="pool/parallel/local: auto = one slot per GPU when there are GPUs (default auto)",
    )
    jobs_per_gpu: int | None = flag(None, type=int, help="pool/parallel: default 1", above=0)
    in_process: bool | None = flag(None, action="store_true", help="local: no child")
    train_module: str | None = flag(None, help="module run as python -m for each job")
    submitit_cluster: str | None = flag(None, choices=["slurm", "local", "debug"])
    # the submitit launcher's Slurm flags
    slurm_partition: str | None = flag(None)
    slurm_time: str | None = flag(
        None, flags=["--slurm_time", "--timeout_min"], help="time limit: minutes, H:M:S, D-H:M"
    )
    slurm_gpus_per_job: int | None = flag(
        None, flags=["--slurm_gpus_per_job", "--gpus_per_node"], type=int, at_least=0
    )
    slurm_cpus_per_job: int | None = flag(
        None, flags=["--slurm_cpus_per_job", "--cpus_per_task"], type=int, above=0
    )
    slurm_mem: str | None = flag(None, help="memory per job, Slurm's format: 16G")
    mem_gb: float | None = flag(None, type=float, help="older: memory per job in GB", above=0)
    slurm_additional: list[str] | None = flag(
        None, nargs="+", help="more sbatch options: account=x qos=y"
    )
    slurm_array_parallelism: int | None = flag(
        None,
        flags=["--slurm_array_parallelism", "--array_parallelism"],
        type=int,
        help="at most this many array tasks at once",
        above=0,
    )
    wait: bool | None = flag(None, flags=["--no_wait"], action="store_false")
