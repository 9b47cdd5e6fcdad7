"""``python -m roga_bench.sweep {launch,delete_incomplete,status,list}``.

With no other arguments, ``launch`` runs the embedded default: ERM, SAM, SAGM and RoGA on
SynthFFLOMO, each of the four GID test envs, default hparams, one trial, local launcher, into
``./results/sweep``, then prints the GID table. DomainBed's sweep arguments keep their names.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roga_bench._flags import add_flags, check_flags, flag_names
from roga_bench._registry import ALGORITHMS, LAUNCHERS, UnknownNameError
from roga_bench.sweep._devices import n_gpus
from roga_bench.sweep._grid import (
    SEED_POLICIES,
    TEST_ENVS_MODES,
    hparam_sources,
    make_args_list,
    parse_grid,
)
from roga_bench.sweep._jobs import DONE, INCOMPLETE, Job, make_jobs, validate_jobs
from roga_bench.sweep._locks import JobLocked, job_lock
from roga_bench.sweep._options import LauncherOptions
from roga_bench.sweep._report import final_report, folder_size, state_counts, status_table
from roga_bench.sweep._sequential_cli import (
    SEQUENTIAL_ONLY,
    add_design_arguments,
    launch_until_decided,
)
from roga_bench.sweep._sequential_plan import DesignError
from roga_bench.sweep._slurm import SlurmError, parse_time_min
from roga_bench.sweep._submitted import active_submission, cancel_active
from roga_bench.sweep._suite import expand_suite

__all__ = ["DEFAULT_ALGORITHMS", "DEFAULT_DATASETS", "build_parser", "main"]

DEFAULT_ALGORITHMS = ["ERM", "SAM", "SAGM", "RoGA"]
DEFAULT_DATASETS = ["SynthFFLOMO"]
DEFAULT_OUTPUT_DIR = "./results/sweep"
DEFAULT_LAUNCHER = "pool"
# CLI flag -> launcher keyword (roga_bench.sweep._options); only the options the chosen
# launcher accepts may be given.
LAUNCHER_OPTIONS = flag_names(LauncherOptions)
# flags whose launcher keyword is another name (the value is converted, see _slurm_values)
_KEYWORD = {"slurm_time": "slurm_time_min"}
_SLURM_MEM = re.compile(r"\d+[KMGT]?")


class SweepError(Exception):
    """Bad sweep input; the CLI prints the message and exits 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m roga_bench.sweep", description=__doc__)
    p.add_argument("command", choices=["launch", "delete_incomplete", "status", "list"])
    g = p.add_argument_group("DomainBed sweep arguments")
    g.add_argument("--datasets", nargs="+", default=None, help="with --suite: SynthFF or FFpp")
    g.add_argument("--algorithms", nargs="+", default=None)
    g.add_argument("--task", default="domain_generalization")
    g.add_argument("--n_hparams_from", type=int, default=0)
    g.add_argument("--n_hparams", type=int, default=1, help="hparams seeds [from, n); 0 = defaults")
    g.add_argument("--output_dir", default=DEFAULT_OUTPUT_DIR)
    g.add_argument("--data_dir", default=None, help="default: the SynthFF cache")
    g.add_argument("--seed", type=int, default=0, help="unused; kept for DomainBed parity")
    g.add_argument("--n_trials", type=int, default=None, help="default 1 (a suite: its own)")
    g.add_argument(
        "--command_launcher",
        default=None,
        help="default: pool (warm workers); local with --in_process",
    )
    g.add_argument("--steps", type=int, default=None)
    g.add_argument("--hparams", default=None, help="JSON object of hparam overrides")
    g.add_argument("--holdout_fraction", type=float, default=0.2)
    g.add_argument(
        "--single_test_envs", action="store_true", help="same as --test_envs_mode single"
    )
    g.add_argument("--skip_confirmation", action="store_true")
    o = p.add_argument_group("roga_bench additions")
    o.add_argument("--suite", default=None, help="a named set of blocks: paper, default")
    o.add_argument("--backbones", nargs="+", default=None, help="one job per backbone")
    o.add_argument("--grid", nargs="+", default=None, help="'alpha=0.001,0.002 rho=0.05,0.1'")
    o.add_argument("--test_envs_mode", choices=TEST_ENVS_MODES, default=None, help="default single")
    o.add_argument("--test_envs", type=int, nargs="+", default=None, help="keep only these envs")
    o.add_argument(
        "--seed_policy",
        choices=SEED_POLICIES,
        default="paired",
        help="paired: every algorithm of a trial gets the same seed (same initial weights, "
        "batches and augmentation); domainbed: DomainBed's seed_hash including the algorithm",
    )
    o.add_argument(
        "--pretrained_dir",
        default=None,
        help="backbone weights folder (DeepfakeBench names or weights.json); checked per job",
    )
    o.add_argument(
        "--from_scratch", action="store_true", default=None, help="allow missing weights"
    )
    o.add_argument("--keep", default=None, help="what a Done job keeps: model,model_best|none")
    o.add_argument(
        "--first_trial", type=int, default=0, help="trial seeds start here (fresh trials)"
    )
    _sequential_arguments(p)
    lo = p.add_argument_group("launcher options")
    add_flags(lo, LauncherOptions)
    return p


def _sequential_arguments(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("sequential design (launch --until_decided; docs/sequential.md)")
    s.add_argument(
        "--until_decided", action="store_true", help="add trials in planned looks until decided"
    )
    s.add_argument("--max_trials", type=int, default=None, help="the last look's trials")
    s.add_argument("--looks", default=None, help="trials at the looks: 3,6,12,24 (default)")
    s.add_argument("--margin", type=float, default=1.0, help="equivalence margin δ, AUC points")
    s.add_argument("--baseline", default="ERM", help="every other algorithm is compared with it")
    add_design_arguments(s)
    s.add_argument("--budget_hours", type=float, default=None, help="stop starting looks after")
    s.add_argument(
        "--timings_from", nargs="+", default=None, help="sweep folders to measure job times in"
    )
    s.add_argument(
        "--design_only",
        action="store_true",
        default=None,
        help="write design.json (the pre-registration) and the cost, run no job",
    )


def _slurm_values(given: dict[str, Any]) -> dict[str, Any]:
    """Check and convert the Slurm flags' values into the submitit launcher's keywords."""
    if "slurm_time" in given:
        try:
            given["slurm_time"] = parse_time_min(given["slurm_time"])
        except ValueError as exc:
            raise SweepError(f"--slurm_time: {exc}") from None
    if "slurm_mem" in given:
        if "mem_gb" in given:
            raise SweepError("--slurm_mem and --mem_gb: give one of them")
        if not _SLURM_MEM.fullmatch(given["slurm_mem"]):
            raise SweepError(f"--slurm_mem {given['slurm_mem']!r}: expected Slurm's 16G, 500M")
    if "slurm_additional" in given:
        extra = {}
        for item in given["slurm_additional"]:
            key, eq, value = item.partition("=")
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", key.lstrip("-")):
                raise SweepError(f"--slurm_additional {item!r}: expected name=value or a flag")
            extra[key.lstrip("-").replace("-", "_")] = value if eq else True
        given["slurm_additional"] = extra
    return {_KEYWORD.get(k, k): v for k, v in given.items()}


def _check_output_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise SweepError(f"--output_dir {path}: exists and is not a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SweepError(f"--output_dir {path}: {existing} is not writable")


def _launcher_options(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    if args.command_launcher is None:  # --in_process names the local launcher's mode
        args.command_launcher = "local" if args.in_process else DEFAULT_LAUNCHER
    try:
        launcher = LAUNCHERS.get(args.command_launcher)
    except UnknownNameError as exc:
        raise SweepError(f"--command_launcher: {exc}") from None
    given = {k: getattr(args, k) for k in LAUNCHER_OPTIONS if getattr(args, k) is not None}
    error = check_flags(LauncherOptions, args)
    if error:
        raise SweepError(error)
    if given.get("device") == "cuda" and n_gpus() == 0:
        raise SweepError("--device cuda: no CUDA device is visible")
    if "train_module" in given and not re.fullmatch(
        r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", given["train_module"]
    ):
        raise SweepError(f"--train_module {given['train_module']!r}: expected a dotted module name")
    accepted = inspect.signature(launcher).parameters
    wrong = [k for k in given if _KEYWORD.get(k, k) not in accepted]
    if wrong:
        flags = ", ".join(f"--{'no_wait' if k == 'wait' else k}" for k in wrong)
        raise SweepError(f"{flags}: not an option of the {args.command_launcher!r} launcher")
    return launcher, _slurm_values(given)


# Flags that choose what a suite's blocks choose themselves.
_NOT_WITH_SUITE = ("algorithms", "backbones", "grid", "test_envs_mode", "test_envs")


def _suite_args_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    given = [f"--{k}" for k in _NOT_WITH_SUITE if getattr(args, k) is not None]
    given += ["--single_test_envs"] if args.single_test_envs else []
    if given:
        raise SweepError(f"{', '.join(given)}: the suite's blocks set these; drop them or --suite")
    if args.datasets is not None and len(args.datasets) != 1:
        raise SweepError(f"--datasets {args.datasets} with --suite: give one dataset family")
    family = args.datasets[0] if args.datasets else "SynthFF"
    if family == "FFpp" and args.data_dir is None:
        raise SweepError("--suite with --datasets FFpp needs --data_dir (the FF++ frames root)")
    expansion, trials = expand_suite(
        args.suite,
        family,
        n_trials=args.n_trials,
        hparams=args.hparams,
        n_hparams_from=args.n_hparams_from,
        n_hparams=args.n_hparams,
        steps=args.steps,
        data_dir=args.data_dir,
        task=args.task,
        holdout_fraction=args.holdout_fraction,
        seed_policy=args.seed_policy,
        first_trial=args.first_trial,
    )
    print(expansion.summary(args.suite, family, trials))
    return expansion.args_list


def _grid_args_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    algorithms = args.algorithms or DEFAULT_ALGORITHMS
    for name in algorithms:
        ALGORITHMS.get(name)
    return make_args_list(
        n_trials=1 if args.n_trials is None else args.n_trials,
        dataset_names=args.datasets or DEFAULT_DATASETS,
        algorithms=algorithms,
        n_hparams_from=args.n_hparams_from,
        n_hparams=args.n_hparams,
        steps=args.steps,
        data_dir=args.data_dir,
        task=args.task,
        holdout_fraction=args.holdout_fraction,
        single_test_envs=args.single_test_envs,
        hparams=args.hparams,
        backbones=args.backbones,
        grid=parse_grid(args.grid) if args.grid else None,
        test_envs_mode=args.test_envs_mode or "single",
        test_envs=args.test_envs,
        seed_policy=args.seed_policy,
        first_trial=args.first_trial,
    )


# Train args given to every job when set (--pretrained_dir serves each backbone of a suite).
_TRAIN_EXTRAS = ("pretrained_dir", "from_scratch", "keep")


def _jobs(args: argparse.Namespace, validate: bool) -> list[Job]:
    try:
        if args.n_trials is not None and args.n_trials < 1:
            raise SweepError(f"--n_trials must be >= 1, got {args.n_trials}")
        if args.first_trial < 0:
            raise SweepError(f"--first_trial must be >= 0, got {args.first_trial}")
        args_list = _suite_args_list(args) if args.suite else _grid_args_list(args)
        extra = {k: getattr(args, k) for k in _TRAIN_EXTRAS if getattr(args, k) is not None}
        args_list = [{**a, **extra} for a in args_list]
        # absolute, so a job finds its folder from any working directory (cluster nodes)
        jobs = make_jobs(args_list, Path(args.output_dir).absolute())
        if validate:
            validate_jobs(jobs, hparam_sources(args.hparams, args.grid, args.backbones))
    except (ValueError, UnknownNameError) as exc:
        raise SweepError(str(exc)) from None
    if not jobs:
        raise SweepError("the arguments select no jobs (check --test_envs and --n_hparams)")
    return jobs


def _confirm(args: argparse.Namespace, what: str) -> bool:
    if args.skip_confirmation or not sys.stdin.isatty():
        return True
    answer = input(f"{what} Are you sure? (y/n) ")
    return answer.strip().lower()[:1] == "y"


def _launch(args: argparse.Namespace) -> int:
    launcher, options = _launcher_options(args)
    out = Path(args.output_dir)
    _check_output_dir(out)
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise SweepError(f"--data_dir {args.data_dir}: not a directory")
    if args.until_decided:
        try:
            return launch_until_decided(
                args, launcher, options, _jobs, lambda what: _confirm(args, what)
            )
        except SlurmError as exc:
            raise SweepError(f"--command_launcher {args.command_launcher}: {exc}") from None
    _sequential_only(args)
    jobs = _jobs(args, validate=True)
    print(state_counts(jobs))
    to_launch = [j for j in jobs if j.state != DONE]
    resumed = sum(j.state == INCOMPLETE for j in to_launch)
    print(
        f"About to launch {len(to_launch)} jobs ({resumed} resumed) with {args.command_launcher}."
    )
    if to_launch and not _confirm(args, ""):
        print("Nevermind!")
        return 0
    try:
        outcomes = launcher(to_launch, **options) if to_launch else []
    except SlurmError as exc:  # refused before anything was submitted or written
        raise SweepError(f"--command_launcher {args.command_launcher}: {exc}") from None
    print(f"Launched {len(to_launch)} jobs.")
    return _finish(out, jobs, outcomes)


def _sequential_only(args: argparse.Namespace) -> None:
    given = [
        f"--{k}"
        for k in ("max_trials", "looks", "budget_hours", "timings_from", "design_only")
        + SEQUENTIAL_ONLY
        if getattr(args, k) is not None
    ]
    if given:
        raise SweepError(f"{', '.join(given)}: only with --until_decided")


def _finish(out: Path, jobs: Sequence[Job], outcomes: Sequence[Any]) -> int:
    for o in outcomes:
        if o.status == "skipped":
            print(f"skipped: {o.message}")
    failed = [o for o in outcomes if o.status == "failed"]
    if any(j.state == DONE for j in jobs):
        print(final_report(out, [j for j in jobs if j.state == DONE]))
    print(state_counts(jobs))
    if failed:
        print(f"\n{len(failed)} job(s) failed:", file=sys.stderr)
        for o in failed:
            print(f"\n{o.job.output_dir}\n{o.message}", file=sys.stderr)
        return 1
    return 0


def _delete_incomplete(args: argparse.Namespace) -> int:
    jobs = [j for j in _jobs(args, validate=False) if j.state == INCOMPLETE]
    print(f"About to delete {len(jobs)} incomplete jobs.")
    if jobs and not _confirm(args, ""):
        print("Nevermind!")
        return 0
    cancelled = cancel_active([j.output_dir for j in jobs])
    if cancelled:
        print(f"Cancelled {len(cancelled)} Slurm jobs of this sweep: {' '.join(cancelled)}")
    deleted = 0
    for job in jobs:
        queued = active_submission(job.output_dir)  # submitted with --no_wait: no lock yet
        if queued is not None:
            print(f"not deleting {job.output_dir}: {queued.describe()}")
            continue
        try:
            with job_lock(job.output_dir):  # held while deleting: no launcher can start it now
                shutil.rmtree(job.output_dir)
                deleted += 1
        except JobLocked as exc:
            print(f"not deleting {exc.job_dir}: running (lock held by live process {exc.pid})")
    print(f"Deleted {deleted} jobs!")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep CLI; returns the exit code (0 ok, 1 failed jobs, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "launch":
            return _launch(args)
        if args.until_decided and args.max_trials:  # the design's worst case: every trial
            args.n_trials = args.max_trials
        if args.command == "delete_incomplete":
            return _delete_incomplete(args)
        jobs = _jobs(args, validate=False)
        if args.command == "list":
            for job in jobs:
                print(job)
        else:
            print(status_table(jobs))
            if Path(args.output_dir).is_dir():
                print(folder_size(Path(args.output_dir)))
        print(state_counts(jobs))
        return 0
    except (SweepError, SlurmError, DesignError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
