"""The command-line side of ``launch --until_decided``: check the flags, build the plan.

The flags (``--max_trials``, ``--looks``, ``--margin``, ``--baseline``, ``--budget_hours``,
``--first_trial``, ``--timings_from``) become a :class:`~roga_bench.sweep._sequential.Plan`
and the ``design.json`` document; the loop itself is ``_sequential.run_until_decided``.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from roga_bench.records import DONE_NAME, RESULTS_NAME, job_seconds, last_record
from roga_bench.stats.sequential import SequentialDesign, default_looks
from roga_bench.sweep._devices import cores, n_gpus, plan_slots
from roga_bench.sweep._jobs import DONE, Job, validate_jobs
from roga_bench.sweep._sequential import run_until_decided
from roga_bench.sweep._sequential_plan import DesignError, Plan

__all__ = [
    "FALLBACK_SECONDS",
    "SEQUENTIAL_ONLY",
    "add_design_arguments",
    "code_version",
    "launch_until_decided",
    "measured_seconds",
]

# Flags of this module that mean nothing without --until_decided (sweep/_cli.py refuses them).
SEQUENTIAL_ONLY = ("non_inferiority", "pairs")


class _Pairs(argparse.Action):
    """``--pairs CAND:REF ...``; fills ``--algorithms`` (references first) when not given."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        setattr(namespace, self.dest, list(values))
        try:  # malformed: left to launch_until_decided's one-line error
            pairs = _parse_pairs(values)
        except DesignError:
            return
        if getattr(namespace, "algorithms", None) is None:
            namespace.algorithms = _pair_algorithms(pairs)


def _parse_pairs(values: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for text in values:
        cand, sep, ref = text.partition(":")
        if not sep or not cand or not ref or ":" in ref or cand == ref:
            raise DesignError(f"--pairs {text!r}: expected CANDIDATE:REFERENCE, two names")
        pairs.append((cand, ref))
    return pairs


def _pair_algorithms(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys([*(r for _, r in pairs), *(c for c, _ in pairs)]))


def add_design_arguments(group: Any) -> None:
    """The design flags of this module (added to ``launch``'s sequential group)."""
    group.add_argument(
        "--non_inferiority",
        action="store_true",
        default=None,
        help="decide non-inferior / inferior within --margin (one-sided, α/2 each) instead of "
        "better / worse / equivalent",
    )
    group.add_argument(
        "--pairs",
        nargs="+",
        action=_Pairs,
        default=None,
        metavar="CAND:REF",
        help="comparisons with their own references (e.g. RoGA_Look:RoGA LookSAM:SAM) instead "
        "of every algorithm against --baseline; Holm across them",
    )


# Seconds per 240-step job on one core when nothing was measured here (docs/performance.md,
# quiet machine; SAGM/GSAM/ASAM priced as SAM, RoGA_Robust/RoGA_Align as RoGA, as there).
FALLBACK_SECONDS = {
    "SynthFFCrossDataset": {"ERM": 30.6, "SAM": 44.6, "RoGA": 46.9},
    "SynthFFLOMO": {"ERM": 16.5, "SAM": 28.9, "RoGA": 31.4},
}
_PROXY = {"SAGM": "SAM", "GSAM": "SAM", "ASAM": "SAM", "RoGA_Robust": "RoGA", "RoGA_Align": "RoGA"}
GUESS_SECONDS = 60.0
# Flags that choose the trials or several runs per algorithm and trial: not with --until_decided.
_REFUSED = {
    "suite": "--suite",
    "n_trials": "--n_trials (use --max_trials)",
    "grid": "--grid",
    "single_test_envs": "--single_test_envs",
}


def code_version() -> str:
    """``git describe --always --dirty`` of the checkout that holds roga_bench, else the
    package version."""
    from roga_bench import __version__

    root = Path(__file__).resolve().parents[2]

    def git(*cmd: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *cmd], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:  # only the checkout that holds this package, not a repository around a site-packages
        if Path(git("rev-parse", "--show-toplevel")).resolve() == root:
            return f"git {git('describe', '--always', '--dirty', '--tags')}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"roga_bench {__version__}"


def _parse_looks(text: str | None, max_trials: int) -> tuple[int, ...]:
    if text is None:
        return default_looks(max_trials)
    try:
        looks = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise DesignError(f"--looks {text!r}: expected trial counts like 3,6,12,24") from None
    if not looks or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:], strict=False)):
        raise DesignError(f"--looks {text!r}: expected increasing trial counts from 2")
    if looks[-1] > max_trials:
        raise DesignError(f"--looks {text!r}: a look after --max_trials {max_trials}")
    return tuple(looks) if looks[-1] == max_trials else (*looks, max_trials)


def _check_flags(args: argparse.Namespace) -> None:
    given = [flag for key, flag in _REFUSED.items() if getattr(args, key, None)]
    if (args.n_hparams_from, args.n_hparams) != (0, 1):
        given.append("--n_hparams/--n_hparams_from")
    if args.backbones and len(args.backbones) > 1:
        given.append("several --backbones")
    if given:
        raise DesignError(
            f"--until_decided: {', '.join(given)} not allowed (one run per algorithm and trial; "
            "the trials come from --max_trials and --looks)"
        )
    if args.max_trials is None or args.max_trials < 2:
        raise DesignError(f"--until_decided needs --max_trials N >= 2, got {args.max_trials}")
    if args.margin is not None and not args.margin > 0:
        raise DesignError(f"--margin must be > 0 AUC points, got {args.margin}")
    if args.budget_hours is not None and not args.budget_hours > 0:
        raise DesignError(f"--budget_hours must be > 0, got {args.budget_hours}")
    if args.datasets is not None and len(args.datasets) != 1:
        raise DesignError(f"--until_decided: give one dataset, got --datasets {args.datasets}")


def measured_seconds(folders: Sequence[Path], dataset: str, steps: Any) -> dict[str, list[float]]:
    """Finished jobs' wall times (``done`` minus ``.lock`` mtime) by algorithm, for jobs of
    ``dataset`` with the same ``--steps`` found one level under ``folders``."""
    out: dict[str, list[float]] = {}
    for folder in folders:
        for done in sorted(Path(folder).glob(f"*/{DONE_NAME}")):
            job = done.parent
            try:
                a = (last_record(job / RESULTS_NAME) or {})["args"]
            except (OSError, ValueError, KeyError):
                continue
            seconds = job_seconds(job)
            if seconds is None:
                continue
            if a.get("dataset") == dataset and a.get("steps") == steps and seconds > 0:
                out.setdefault(str(a.get("algorithm")), []).append(seconds)
    return out


def _job_seconds(
    algorithms: Sequence[str], dataset: str, steps: Any, folders: Sequence[Path]
) -> tuple[dict[str, float], str]:
    measured = measured_seconds(folders, dataset, steps)
    fallback = FALLBACK_SECONDS.get(dataset, {})
    out, notes = {}, []
    for alg in algorithms:
        if measured.get(alg):
            out[alg] = sum(measured[alg]) / len(measured[alg])
            notes.append(f"{alg} measured on {len(measured[alg])} job(s)")
        elif _PROXY.get(alg, alg) in fallback and steps is None:
            out[alg] = fallback[_PROXY.get(alg, alg)]
            notes.append(f"{alg} from docs/performance.md")
        else:
            out[alg] = GUESS_SECONDS
            notes.append(f"{alg} guessed ({GUESS_SECONDS:.0f} s; nothing measured)")
    return out, "; ".join(notes)


def _slots(args: argparse.Namespace, options: dict[str, Any]) -> int:
    launcher = args.command_launcher
    if launcher in ("pool", "parallel"):
        plan = plan_slots(
            n_gpus(), cores(), options.get("device", "auto"), options.get("jobs_per_gpu", 1),
            options.get("n_workers"),
        )  # fmt: skip
        return len(plan)
    if launcher == "submitit":
        return int(options.get("slurm_array_parallelism") or 1)
    return 1


def _design_doc(
    args: argparse.Namespace,
    design: SequentialDesign,
    algorithms: list[str],
    jobs: list[Job],
    names: list[str],
) -> dict[str, Any]:
    sample = jobs[0].train_args
    mode = args.test_envs_mode or "single"
    protocol = {
        "crossdataset": "Table I (cross-dataset: train on the four manipulations, test on "
        "the other datasets)",
        "single": "one held-out environment per run (Table II's GID on a LOMO dataset)",
    }.get(mode, f"--test_envs_mode {mode}")
    job_args = {
        k: sample.get(k)
        for k in ("dataset", "task", "holdout_fraction", "hparams_seed", "steps", "hparams",
                  "data_dir", "seed_policy", "pretrained_dir", "from_scratch")
    }  # fmt: skip
    doc = {
        "algorithms": algorithms,
        "baseline": None if args.pairs else args.baseline,
        "comparisons": names,
        "protocol": protocol,
        "test_envs_mode": mode,
        "test_envs": sorted({tuple(j.train_args["test_envs"]) for j in jobs}),
        "job_args": job_args,
        "selection": "iid (training-domain validation), AUC; a run's test envs averaged",
        "pairing": "one pair per trial seed: the two runs of that trial (same shared settings; "
        "several held-out sets of one trial averaged)",
        "alpha": design.alpha,
        "margin_auc_points": design.margin,
        "looks": list(design.looks),
        "max_trials": design.looks[-1],
        "first_trial": args.first_trial,
        "budget_hours": args.budget_hours,
        "spending": f"Lan-DeMets {design.spending} (better/worse), "
        f"{design.equivalence_spending} (each one-sided test of the TOST)",
        "multiplicity": "Holm with alpha recycling across looks (Maurer & Bretz 2013) for "
        "better/worse; Bonferroni alpha/m for equivalence",
        "statistics": design.to_dict(),
        "code_version": code_version(),
    }
    # keys only in the new modes: a design written before them still compares equal
    if args.pairs:
        doc["pairs"] = [list(p) for p in args.pairs]
    if design.non_inferiority:
        doc["hypothesis"] = (
            f"non-inferiority: H0 Δ <= -{design.margin} vs H1 Δ > -{design.margin} AUC points "
            f"(Δ = candidate - reference), one-sided alpha/2 = {design.side_alpha:g} per side"
        )
        doc["spending"] = (
            f"Lan-DeMets {design.spending} (non-inferior, one-sided), "
            f"{design.equivalence_spending} (inferior, one-sided)"
        )
        doc["multiplicity"] = (
            "Holm with alpha recycling across looks (Maurer & Bretz 2013) for non-inferior; "
            "Bonferroni (alpha/2)/m for inferior"
        )
    return doc


def launch_until_decided(
    args: argparse.Namespace,
    launcher: Callable[..., list[Any]],
    options: dict[str, Any],
    jobs_fn: Callable[[argparse.Namespace, bool], list[Job]],
    confirm: Callable[[str], bool],
) -> int:
    """Check the flags, write or check design.json, and run the looks (see ``_sequential``).

    Raises:
        DesignError: bad flags, another design in the folder, unpairable records (exit 2).
    """
    _check_flags(args)
    pairs = _parse_pairs(getattr(args, "pairs", None) or [])
    args.pairs = pairs
    if pairs:
        ordered = _pair_algorithms(pairs)
        others, references = [c for c, _ in pairs], [r for _, r in pairs]
        if args.algorithms is not None and sorted(args.algorithms) != sorted(ordered):
            raise DesignError(
                f"--algorithms {args.algorithms}: with --pairs give none, or exactly the "
                f"algorithms of the pairs {ordered}"
            )
        if len(set(others)) != len(others) or set(others) & set(references):
            raise DesignError(
                f"--pairs {' '.join(f'{c}:{r}' for c, r in pairs)}: each candidate once, and "
                "no candidate as another pair's reference"
            )
        baseline = references[0]
    else:
        references = []
        algorithms = list(args.algorithms or ["ERM", "SAM", "SAGM", "RoGA"])
        if args.baseline not in algorithms:
            raise DesignError(f"--baseline {args.baseline}: not among --algorithms {algorithms}")
        others = [a for a in algorithms if a != args.baseline]
        if not others or len(set(algorithms)) != len(algorithms):
            raise DesignError(
                f"--algorithms {algorithms}: need the baseline and other, distinct ones"
            )
        baseline = args.baseline
        ordered = [baseline, *others]
    looks = _parse_looks(args.looks, args.max_trials)
    design = SequentialDesign(
        looks, len(others), margin=args.margin, non_inferiority=bool(args.non_inferiority)
    )

    def jobs_for(algs: Sequence[str], n: int) -> list[Job]:
        sub = copy.copy(args)
        sub.algorithms, sub.n_trials = list(algs), n
        return jobs_fn(sub, False)

    every = jobs_for(ordered, looks[-1])
    try:
        validate_jobs(every)  # every job of the worst case, before anything is written
    except ValueError as exc:
        raise DesignError(str(exc)) from None
    dataset = every[0].train_args["dataset"]
    folders = [Path(args.output_dir), *(Path(p) for p in args.timings_from or [])]
    seconds, note = _job_seconds(ordered, dataset, args.steps, folders)
    refs = references or [baseline] * len(others)
    names = [f"{a} vs {r}" for a, r in zip(others, refs, strict=True)]
    plan = Plan(
        design=design,
        baseline=baseline,
        others=others,
        references=references,
        doc=_design_doc(args, design, ordered, every, names),
        jobs_for=jobs_for,
        budget_hours=args.budget_hours,
        slots=_slots(args, options),
        timing_note=note,
    )
    out = Path(args.output_dir)
    done = sum(j.state == DONE for j in every)
    if done:
        print(f"{done} of the design's jobs are already done in {out}")
    return run_until_decided(
        plan, out, lambda jobs: launcher(jobs, **options), confirm, seconds, bool(args.design_only)
    )
