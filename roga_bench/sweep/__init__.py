"""Sweeps: DomainBed's job grid and folders, plus backbones, hparam grids and launchers.

    python -m roga_bench.sweep launch            # the embedded default sweep on SynthFF
    python -m roga_bench.sweep launch --suite paper   # every run of Tables I-VI, 3 trials
    python -m roga_bench.sweep status --datasets SynthFFLOMO --algorithms ERM RoGA

Importing this package does not import torch; launchers register in ``roga_bench.sweep.launchers``.
"""

from roga_bench.sweep._cli import main
from roga_bench.sweep._grid import make_args_list, parse_grid, select_test_envs
from roga_bench.sweep._jobs import (
    DONE,
    INCOMPLETE,
    NOT_LAUNCHED,
    Job,
    job_hash,
    make_jobs,
    train_argv,
    validate_jobs,
)
from roga_bench.sweep._locks import JobLocked, job_lock, lock_holder
from roga_bench.sweep._run import JobFailed, JobOutcome, job_command, run_job
from roga_bench.sweep._suite import FAMILIES, SUITES, Block, Suite, expand_suite

__all__ = [
    "FAMILIES",
    "SUITES",
    "Block",
    "Suite",
    "expand_suite",
    "DONE",
    "INCOMPLETE",
    "NOT_LAUNCHED",
    "Job",
    "JobFailed",
    "JobLocked",
    "JobOutcome",
    "job_command",
    "job_hash",
    "job_lock",
    "lock_holder",
    "main",
    "make_args_list",
    "make_jobs",
    "parse_grid",
    "run_job",
    "select_test_envs",
    "train_argv",
    "validate_jobs",
]
