"""AUC against measured step cost, one point per optimizer, Pareto front marked (issue 26).

Where the numbers come from (nothing is measured here):

- **Cost**: every results.jsonl line carries ``step_time``, the mean wall seconds per training
  step since the previous checkpoint (``training._state.Accumulator``). A run's cost is the
  step-weighted mean over its lines (a line at step s covers the s − s_prev steps since the
  previous one, the first line one step); an algorithm's cost is the mean over its plain runs on
  the dataset, shown as a ratio to ERM's (SGD) when ERM ran, else in seconds. Runs of one sweep
  share the machine, so the ratio is what the sweep paid, with the sweep's noise.
- **AUC, pooled over targets**: the selected checkpoint's AUC (the tables' model selection),
  averaged over the run's target environments (cross-dataset: the external targets; GID: the
  held-out manipulation, pooled over the four LOMO runs of a trial), then over trials: the mean
  with a 95 % t interval over trials (none with one trial).

The cross-dataset protocol (Table I) is used when its runs exist, else GID (Table II). A point is
on the Pareto front when no other point costs no more and scores no less, one of them strictly.
Written as ``cost_auc.png``/``.pdf`` plus ``cost_auc.csv`` (the numbers behind the figure) by
``write_figures``, when the records carry ``step_time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from roga_bench.reporting._context import Context, order_rows
from roga_bench.reporting.plotting import pyplot as _plt
from roga_bench.reporting.plotting import save_figure as _save

__all__ = ["CostPoint", "cost_points", "write_cost_figure"]

FIGURE_NAME = "cost_auc"


@dataclass(frozen=True)
class CostPoint:
    """One algorithm's point: cost (ratio to ERM, or seconds) and pooled AUC with its CI."""

    algorithm: str
    step_s: float  # mean seconds per step
    cost: float  # step_s / ERM's step_s (or step_s when ERM did not run)
    auc: float
    ci_low: float
    ci_high: float
    trials: int
    pareto: bool = False


def _run_step_time(df: pd.DataFrame) -> pd.Series:
    """Step-weighted mean ``step_time`` per run."""
    frame = df[["run", "step", "step_time"]].dropna().sort_values(["run", "step"])
    prev = frame.groupby("run")["step"].shift()
    weight = (frame["step"] - prev).fillna(1).clip(lower=1)
    total = (frame["step_time"] * weight).groupby(frame["run"]).sum()
    return total / weight.groupby(frame["run"]).sum()


def _t95(n: int) -> float:
    if n < 2:
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def cost_points(ctx: Context) -> tuple[list[CostPoint], str, str]:
    """The figure's points, its dataset and the cost unit (``"x ERM"`` or ``"s"``).

    Returns an empty list when the records have no ``step_time`` or no selected runs.
    """
    dataset = ctx.cross or ctx.lomo
    if dataset is None or "step_time" not in ctx.df or ctx.df["step_time"].isna().all():
        return [], str(dataset), ""
    sel = ctx.selected(dataset)
    if not len(sel) or "auc" not in sel:
        return [], dataset, ""
    per_run_time = _run_step_time(ctx.plain[ctx.plain["dataset"] == dataset])
    sel = sel.assign(_time=sel["run"].astype(str).map(per_run_time))
    # pooled over targets: one number per (algorithm, trial)
    per_trial = sel.groupby(["algorithm", "trial_seed"])["auc"].mean()
    times = sel.drop_duplicates("run").groupby("algorithm")["_time"].mean()
    erm = times.get("ERM", math.nan)
    unit = "x ERM" if np.isfinite(erm) and erm > 0 else "s"
    points = []
    for alg in order_rows(sorted(set(per_trial.index.get_level_values(0)))):
        if not np.isfinite(times.get(alg, math.nan)):
            continue
        values = per_trial.loc[alg].to_numpy(dtype=float)
        n, mean = len(values), float(values.mean())
        half = _t95(n) * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
        step_s = float(times[alg])
        points.append(
            CostPoint(
                alg,
                step_s,
                step_s / erm if unit == "x ERM" else step_s,
                mean,
                mean - half,
                mean + half,
                n,
            )  # fmt: skip
        )
    return _mark_pareto(points), dataset, unit


def _mark_pareto(points: list[CostPoint]) -> list[CostPoint]:
    def dominated(p: CostPoint) -> bool:
        return any(
            q.cost <= p.cost and q.auc >= p.auc and (q.cost < p.cost or q.auc > p.auc)
            for q in points
        )

    return [CostPoint(**{**p.__dict__, "pareto": not dominated(p)}) for p in points]


def write_cost_figure(ctx: Context, out_dir: str | Path) -> list[Path]:
    """Write the figure and its CSV into ``out_dir`` when cost records exist; the paths."""
    points, dataset, unit = cost_points(ctx)
    if not points:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{FIGURE_NAME}.csv"
    frame = pd.DataFrame([p.__dict__ for p in points]).assign(dataset=dataset, cost_unit=unit)
    csv.write_text(frame.to_csv(index=False, na_rep="NaN", lineterminator="\n"), "utf-8")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for p in points:
        err = None
        if np.isfinite(p.ci_low):
            err = [[100 * (p.auc - p.ci_low)], [100 * (p.ci_high - p.auc)]]
        ax.errorbar(
            p.cost, 100 * p.auc, yerr=err, fmt="o" if p.pareto else "s", capsize=3,
            color="C3" if p.pareto else "C0", mfc="C3" if p.pareto else "white",
        )  # fmt: skip
        ax.annotate(p.algorithm, (p.cost, 100 * p.auc), textcoords="offset points",
                    xytext=(5, 4), fontsize="small")  # fmt: skip
    front = sorted((p for p in points if p.pareto), key=lambda p: p.cost)
    ax.step(
        [p.cost for p in front], [100 * p.auc for p in front], where="post", color="C3",
        lw=1, ls="--", label="Pareto front (cheaper or better than every other)",
    )  # fmt: skip
    xlabel = "step cost (x ERM, measured in the sweep)" if unit == "x ERM" else "s per step"
    ax.set(xlabel=xlabel, ylabel="AUC (%), pooled over targets, 95 % CI over trials")
    ax.set_title(f"AUC vs step cost ({dataset})", fontsize="medium")
    ax.legend(fontsize="small", loc="lower right")
    return [csv, *_save(fig, out, FIGURE_NAME)]
