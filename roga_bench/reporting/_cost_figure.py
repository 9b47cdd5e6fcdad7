"""AUC against measured step cost, one point per optimizer, Pareto front marked (issue 26).

Where the numbers come from (nothing is measured here):

- **Cost, from the update-cost benchmark** (``cost_from``: the ``--json`` file of
  ``python -m roga_bench.bench``; ``tables figures --cost_from bench.json``): the median time
  of one update per algorithm, measured side by side on one idle machine, as a ratio to the
  benchmark's ERM row (``ratio_to_erm``), else in ms. The rows of the sweep's backbone are used
  (the only backbone when the file has one); an algorithm the benchmark did not time is left
  out of the figure. This is the figure's x-axis whenever a benchmark file is given (the axis
  label names it, the CSV's ``cost_source`` is ``bench``).
- **Cost, fallback: the sweep's own step times** (no ``cost_from``): every results.jsonl line
  carries ``step_time``, the mean wall seconds per training step since the previous checkpoint
  (``training._state.Accumulator``). A run's cost is the step-weighted mean over its lines (a line
  at step s covers the s − s_prev steps since the previous one, the first line one step); an
  algorithm's cost is the mean over its plain runs on the dataset, shown as a ratio to ERM's (SGD)
  when ERM ran, else in seconds. Runs of one sweep share the machine, so the ratio is what the
  sweep paid, with the sweep's noise: under a contended sweep (jobs of several algorithms sharing
  two cores) it says little about the algorithms, so the axis label says "fallback: sweep
  step_time" and the CSV's ``cost_source`` is ``sweep``.
- **AUC, pooled over targets**: the selected checkpoint's AUC (the tables' model selection),
  averaged over the run's target environments (cross-dataset: the external targets; GID: the
  held-out manipulation, pooled over the four LOMO runs of a trial), then over trials: the mean
  with a 95 % t interval over trials (none with one trial).

The cross-dataset protocol (Table I) is used when its runs exist, else GID (Table II). A point is
on the Pareto front when no other point costs no more and scores no less, one of them strictly.
Written as ``cost_auc.png``/``.pdf`` plus ``cost_auc.csv`` (the numbers behind the figure) by
``write_figures``, when the records carry ``step_time`` or a benchmark file is given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from roga_bench.reporting._context import Context, order_rows
from roga_bench.reporting._records import ReportInputError, display_algorithm
from roga_bench.reporting.plotting import pyplot as _plt
from roga_bench.reporting.plotting import save_figure as _save

__all__ = [
    "BenchCosts",
    "CostPoint",
    "bench_row_label",
    "cost_points",
    "read_bench_costs",
    "write_cost_figure",
]

FIGURE_NAME = "cost_auc"
_OPTIMIZERS = ("sgd", "adam", "adamw")  # a benchmark name's suffix that is the base optimizer


@dataclass(frozen=True)
class CostPoint:
    """One algorithm's point: cost (ratio to ERM, or seconds) and pooled AUC with its CI."""

    algorithm: str
    step_s: float  # mean seconds per step (per update with a benchmark file)
    cost: float  # step_s / ERM's step_s (or step_s when ERM did not run)
    auc: float
    ci_low: float
    ci_high: float
    trials: int
    pareto: bool = False
    cost_source: str = "sweep"  # "bench" (the update-cost benchmark) or "sweep" (step_time)


@dataclass(frozen=True)
class BenchCosts:
    """Per-update seconds by algorithm from one ``roga_bench.bench --json`` file.

    Attributes:
        seconds: median seconds per update, by algorithm.
        label: what the axis says about the source (backbone, size, K, device, machine).
        path: the file.
    """

    seconds: dict[str, float]
    label: str
    path: str


def read_bench_costs(path: str | Path, backbone: str | None = None) -> BenchCosts:
    """The update costs of ``path`` for ``backbone`` (the sweep's; the file's only one if None).

    Raises:
        ReportInputError: unreadable file, no ``updates``, or no rows for the backbone, or
            several image sizes for it (one line naming the file).
    """
    where = f"--cost_from {path}"
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = list(doc["updates"])
        rows = [r for r in rows if r.get("median_ms") is not None]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportInputError(
            f"{where}: not the --json output of python -m roga_bench.bench with update "
            f"timings ({type(exc).__name__}: {exc})"
        ) from None
    backbones = sorted({str(r.get("backbone")) for r in rows})
    if not rows:
        raise ReportInputError(f"{where}: no update timings in it")
    if backbone in backbones:
        rows = [r for r in rows if str(r.get("backbone")) == backbone]
    elif len(backbones) == 1:
        backbone = backbones[0]
    else:
        raise ReportInputError(
            f"{where}: no rows for the sweep's backbone {backbone} (it has {backbones})"
        )
    sizes = sorted({int(r.get("image_size", 0)) for r in rows})
    if len(sizes) > 1:
        raise ReportInputError(
            f"{where}: several image sizes {sizes} for {backbone}; bench one size per file"
        )
    args, machine = doc.get("args") or {}, doc.get("machine") or {}
    label = (
        f"{backbone} {sizes[0]} px, K={args.get('num_domains', '?')}, "
        f"{args.get('device', '?')}, {machine.get('cpu', 'machine ?')}"
    )
    seconds: dict[str, float] = {}
    for r in rows:
        row = bench_row_label(r)
        if row is not None:
            seconds[row] = float(r["median_ms"]) / 1000.0
    return BenchCosts(seconds, label, str(path))


def bench_row_label(row: dict) -> str | None:
    """The table row a benchmark row costs, or None when it is no table's row.

    The benchmark names its variants ``ERM-SGD``, ``ERM-Adam``, ``RoGA-batched``...; the tables
    name rows by the registered algorithm plus its base optimizer unless SGD (``ERM``,
    ``ERM (Adam)``). A row written with ``registered``/``hparams`` (the benchmark's JSON since
    issue 26) is named from them; an older row from its name, ``ALG-OPTIMIZER`` when the suffix
    is an optimizer. A variant whose overrides go beyond the optimizer (``RoGA-batched``: the same
    maths on another code path) costs no row of its own, so it is left out rather than
    overwriting the row it shares a name with.
    """
    name = str(row["algorithm"])
    if "registered" in row:
        hparams = dict(row.get("hparams") or {})
        optimizer = hparams.pop("optimizer", None)
        return None if hparams else display_algorithm(str(row["registered"]), optimizer)
    base, dash, suffix = name.rpartition("-")
    if dash and suffix.lower() in _OPTIMIZERS:
        return display_algorithm(base, suffix)
    return None if dash else name


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


def cost_points(ctx: Context, bench: BenchCosts | None = None) -> tuple[list[CostPoint], str, str]:
    """The figure's points, its dataset and the cost unit (``"x ERM"``, ``"s"``).

    With ``bench`` the cost of each algorithm is its benchmark update time (algorithms it did
    not time are left out); else the sweep's step times. Returns an empty list when there is
    no cost (no ``bench`` and no ``step_time``) or no selected runs.
    """
    dataset = ctx.cross or ctx.lomo
    no_time = "step_time" not in ctx.df or ctx.df["step_time"].isna().all()
    if dataset is None or (bench is None and no_time):
        return [], str(dataset), ""
    sel = ctx.selected(dataset)
    if not len(sel) or "auc" not in sel:
        return [], dataset, ""
    # pooled over targets: one number per (algorithm, trial)
    per_trial = sel.groupby(["algorithm", "trial_seed"])["auc"].mean()
    if bench is not None:
        times = pd.Series(bench.seconds, dtype=float)
    else:
        per_run_time = _run_step_time(ctx.plain[ctx.plain["dataset"] == dataset])
        sel = sel.assign(_time=sel["run"].astype(str).map(per_run_time))
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
                cost_source="sweep" if bench is None else "bench",
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


def write_cost_figure(
    ctx: Context, out_dir: str | Path, cost_from: str | Path | None = None
) -> list[Path]:
    """Write the figure and its CSV into ``out_dir`` when a cost exists; the paths.

    Args:
        ctx: the records.
        out_dir: where to write.
        cost_from: a ``roga_bench.bench --json`` file: its update costs are the x-axis (else
            the sweep's step times, labelled as such).

    Raises:
        ReportInputError: ``cost_from`` unusable (see :func:`read_bench_costs`).
    """
    bench = None if cost_from is None else read_bench_costs(cost_from, ctx.backbone)
    points, dataset, unit = cost_points(ctx, bench)
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
    if bench is not None:
        what = "update cost (x ERM)" if unit == "x ERM" else "s per update"
        xlabel = f"{what}, from the update-cost benchmark\n({bench.label})"
    else:
        what = "step cost (x ERM)" if unit == "x ERM" else "s per step"
        xlabel = f"{what}, fallback: sweep step_time (contended, noisy)"
    ax.set(xlabel=xlabel, ylabel="AUC (%), pooled over targets, 95 % CI over trials")
    ax.set_title(f"AUC vs step cost ({dataset})", fontsize="medium")
    ax.legend(fontsize="small", loc="lower right")
    return [csv, *_save(fig, out, FIGURE_NAME)]
