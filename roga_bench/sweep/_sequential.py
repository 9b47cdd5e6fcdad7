"""``launch --until_decided``: add trials in planned looks until every comparison is decided.

    python -m roga_bench.sweep launch --datasets SynthFFCrossDataset \\
        --test_envs_mode crossdataset --algorithms ERM RoGA SAM SAGM \\
        --until_decided --max_trials 100 --first_trial 1000

Each algorithm other than the baseline is one comparison. At look k every algorithm of a
still-open comparison, and the baseline while any is open, has trials ``first_trial`` ..
``first_trial + n_k - 1``; the look's missing jobs run as one launch (one Slurm array), then the
records of the design's own jobs are read, selected as the tables select them (training-domain
validation on AUC), paired by trial, and the design (``roga_bench.stats.sequential``) is
replayed from the first look. Everything written is a function of ``design.json`` and the
finished runs, so a launcher killed at any moment and relaunched continues at the same look and
ends with the same files.

Files in the sweep folder: ``design.json`` (written before the first job, never changed; a
relaunch with other settings is refused), ``looks.csv`` (after each look), ``verdicts.csv`` and
``verdicts.md`` (at the end).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roga_bench.records import job_seconds
from roga_bench.stats.sequential import (
    VERDICTS,
    LookStats,
    SequentialResult,
    run_design,
)
from roga_bench.sweep._jobs import DONE, Job
from roga_bench.sweep._sequential_files import (
    cost_lines,
    look_line,
    looks_rows,
    read_design,
    verdict_rows,
    write_csv,
    write_design,
    write_verdicts_md,
)
from roga_bench.sweep._sequential_plan import DesignError, Plan

__all__ = ["DesignError", "Plan", "differences", "run_until_decided"]

POINTS = 100.0  # AUC (0..1) -> AUC points


def _run_value(selected: Any) -> dict[str, float]:
    """Job folder name (the job's hash) -> its selected AUC averaged over its test envs.

    Keyed by the folder's name, not the path the run recorded, so a finished design moved or
    copied elsewhere (e.g. committed under results/) is analysed the same.
    """
    out: dict[str, list[float]] = {}
    for row in selected.to_dict("records"):
        out.setdefault(Path(str(row["run"])).name, []).append(float(row["auc"]))
    return {k: float(np.mean(v)) for k, v in out.items()}


def differences(plan: Plan, sweep_dir: Path, trials: Mapping[str, int]) -> np.ndarray:
    """Paired differences (AUC points), shape (m, max trials): algorithm − baseline per trial.

    ``trials[alg]`` is how many trials each compared algorithm has run (a comparison decided at
    an earlier look stopped there); the rest of its row is NaN. Only the design's own job
    folders are read. A pair is one trial seed and one held-out set (the same shared settings
    by construction: the jobs differ only in the algorithm); a trial with several held-out
    sets (GID) gives the mean over its sets, one difference per trial.

    Raises:
        DesignError: a run is missing or its AUC is not a number.
    """
    from roga_bench.reporting import load_records, select  # lazy: pandas, the reporting stack

    refs = plan.refs
    jobs = []
    for ref in dict.fromkeys(refs):  # a reference runs as long as its longest comparison
        jobs += plan.jobs_for(
            [ref], max(trials[a] for a, r in zip(plan.others, refs, strict=True) if r == ref)
        )
    for alg in plan.others:
        jobs += plan.jobs_for([alg], trials[alg])
    wanted = {j.output_dir.name for j in jobs if j.state == DONE}
    df = load_records(sweep_dir).df
    df = df[df["run"].map(lambda r: Path(str(r)).name).isin(wanted)]
    by_run = _run_value(select(df, "iid", "auc"))
    values = {  # keyed by the job's own algorithm name (the tables' row label may add one)
        (a["algorithm"], a["trial_seed"], tuple(a["test_envs"])): by_run.get(j.output_dir.name)
        for j in jobs
        for a in [j.train_args]
    }
    first = plan.doc["first_trial"]
    envs = sorted({tuple(j.train_args["test_envs"]) for j in jobs})
    out = np.full((len(plan.others), max(trials.values())), np.nan)
    for i, (alg, ref) in enumerate(zip(plan.others, refs, strict=True)):
        for n in range(trials[alg]):
            pairs = []
            for e in envs:
                a, b = values.get((alg, first + n, e)), values.get((ref, first + n, e))
                if a is None or b is None or math.isnan(a) or math.isnan(b):
                    raise DesignError(
                        f"{sweep_dir}: no selected AUC for "
                        f"{alg if a is None or math.isnan(a) else ref} trial "
                        f"{first + n} test envs {list(e)}; the pair cannot be formed"
                    )
                pairs.append(a - b)
            out[i, n] = POINTS * float(np.mean(pairs))
    return out


def _replay(plan: Plan, d: np.ndarray, n_looks: int) -> SequentialResult:
    """The design over the first ``n_looks`` looks of the differences ``d`` (m, N)."""
    looks = plan.design.looks[:n_looks]
    mean = np.stack([d[:, :n].mean(axis=1) for n in looks], -1)[None]
    sd = np.stack([d[:, :n].std(axis=1, ddof=1) for n in looks], -1)[None]
    return run_design(plan.design, LookStats(np.asarray(looks), mean, sd), n_looks)


def _job_seconds(job: Job) -> float | None:
    """A finished job's wall time: its ``done`` marker's time minus its lock's (the start)."""
    return job_seconds(job.output_dir)


def _over_budget(plan: Plan, k: int, todo: Sequence[Job], job_seconds: Mapping[str, float]) -> bool:
    """Whether look k's jobs would pass ``--budget_hours``: the design's finished jobs' time
    plus the look's expected time, each divided by the slots that run at once."""
    if plan.budget_hours is None:
        return False
    every = plan.jobs_for(plan.algorithms, plan.design.looks[-1])
    seconds = [s for j in every if j.state == DONE and (s := _job_seconds(j)) is not None]
    spent = sum(max(s, 0.0) for s in seconds) / plan.slots / 3600.0
    ahead = sum(job_seconds.get(j.train_args["algorithm"], 0.0) for j in todo)
    ahead = ahead / plan.slots / 3600.0
    if spent + ahead <= plan.budget_hours:
        return False
    print(
        f"look {k + 1}: the budget of {plan.budget_hours} h would be passed ({spent:.2f} h "
        f"spent, {ahead:.2f} h ahead); stopping with the open comparisons undecided"
    )
    return True


def run_until_decided(
    plan: Plan,
    sweep_dir: Path,
    launch: Callable[[list[Job]], list[Any]],
    confirm: Callable[[str], bool],
    job_seconds: Mapping[str, float],
    design_only: bool = False,
) -> int:
    """Run the design; returns the exit code (0: decided, ended, or a look's jobs submitted
    and not yet done, e.g. ``--no_wait``; 1: failed jobs).

    Args:
        plan: the launch.
        sweep_dir: the sweep folder (design.json and the jobs live there).
        launch: runs a list of jobs (the chosen launcher with its options) -> outcomes.
        confirm: asked once with the cost, before the first job of a new design.
        job_seconds: expected seconds per job by algorithm (for the cost and the budget).
        design_only: write (or check) design.json, print the cost, run nothing.

    Raises:
        DesignError: design.json differs from this launch, or a pair cannot be formed.
    """
    existing = read_design(sweep_dir)
    if existing is not None:
        _check_same(existing, plan.doc, sweep_dir)
    for line in cost_lines(plan, job_seconds):
        print(line)
    if existing is None:
        if not confirm("Start this design?"):
            print("Nevermind!")
            return 0
        write_design(sweep_dir, plan.doc)
        print(f"wrote {sweep_dir / 'design.json'} (the pre-registered design; never changes)")
    if design_only:
        print("--design_only: no job run; the same command without it runs the design")
        return 0
    looks = plan.design.looks
    open_ = list(plan.others)
    trials = dict.fromkeys(plan.others, 0)
    result, reason = None, "max_trials"
    for k, n in enumerate(looks):
        jobs = plan.jobs_for(plan.running(open_), n)
        todo = [j for j in jobs if j.state != DONE]
        if todo and _over_budget(plan, k, todo, job_seconds):
            reason = "budget"
            break
        print(f"look {k + 1}/{len(looks)}: {n} trials, {len(open_)} comparison(s) open; "
              f"{len(todo)} of {len(jobs)} jobs to run")  # fmt: skip
        if todo:
            outcomes = launch(todo)
            failed = [o for o in outcomes if o.status == "failed"]
            if failed:
                for o in failed:
                    print(f"\n{o.job.output_dir}\n{o.message}")
                print(f"look {k + 1}: {len(failed)} job(s) failed; relaunch to retry them")
                return 1
            if any(j.state != DONE for j in jobs):
                print(f"look {k + 1}: jobs submitted or running elsewhere; relaunch the same "
                      "command once they are done to continue")  # fmt: skip
                return 0
        trials.update(dict.fromkeys(open_, n))
        d = differences(plan, sweep_dir, trials)
        result = _replay(plan, d, k + 1)
        write_csv(sweep_dir / "looks.csv", looks_rows(plan, result))
        print(look_line(plan, result, k))
        state = result.state[0, :, k]
        open_ = [a for a, s in zip(plan.others, state, strict=True) if VERDICTS[s] == "undecided"]
        if not open_:
            reason = "decided"
            break
    if result is None:
        print("no look completed; nothing to decide")
        return 0
    write_csv(sweep_dir / "verdicts.csv", verdict_rows(plan, result, reason))
    write_verdicts_md(sweep_dir / "verdicts.md", plan, result, reason)
    print((sweep_dir / "verdicts.md").read_text(encoding="utf-8"))
    return 0


# Keys of design.json that are records, not the design (a later code version may continue).
NOT_COMPARED = ("code_version", "created_utc")


def _check_same(old: Mapping[str, Any], new: Mapping[str, Any], sweep_dir: Path) -> None:
    a = {k: v for k, v in old.items() if k not in NOT_COMPARED}
    b = {k: v for k, v in json.loads(json.dumps(new)).items() if k not in NOT_COMPARED}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        shown = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in diff[:3])
        raise DesignError(
            f"{sweep_dir / 'design.json'}: this launch is another design ({shown}); the "
            "pre-registered design never changes: relaunch with its settings or use a new "
            "--output_dir"
        )
    if old.get("code_version") != new.get("code_version"):
        print(f"note: design.json was written by {old.get('code_version')}; this is "
              f"{new.get('code_version')}")  # fmt: skip
