"""Figures (matplotlib, Agg backend, saved as PNG and PDF).

- ``training_curves``: mean training loss and mean training-env validation AUC vs step, per
  algorithm (LOMO runs of the default backbone).
- ``sensitivity_heatmap``: Table VI as an α × ρ grid of RoGA's mean AUC over its columns.
- ``gid_bars``: Table II's AUC per GID env and algorithm, error bars = standard error.
- ``forest_plot``: per table, each comparison's Δ with its 95% interval, the ±δ band of the
  decision rule shaded, the verdict written beside each row (written with the tables).
- ``cost_auc``: AUC pooled over targets against measured step cost (``_cost_figure``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roga_bench.records import parse_metric_key
from roga_bench.reporting._context import Context, order_rows
from roga_bench.reporting._cost_figure import write_cost_figure
from roga_bench.reporting._table import Table
from roga_bench.reporting.plotting import pyplot as _plt
from roga_bench.reporting.plotting import save_figure as _save

__all__ = ["forest_plot", "write_figures"]


def training_curves(ctx: Context, out_dir: Path) -> list[Path]:
    """Loss and validation AUC (mean over training envs) vs step, per algorithm."""
    df = ctx.df[ctx.df["dataset"] == (ctx.lomo or ctx.cross)]
    if df.empty or "step" not in df:
        return []
    df = df[df["backbone"].astype(str) == str(ctx.backbone)].copy()
    keys = {c: parse_metric_key(str(c)) for c in df.columns}
    val_cols = [c for c, k in keys.items() if k and k.split == "out" and k.metric == "auc"]
    # the validation AUC of a checkpoint = mean over its training envs' val splits
    train_mask = np.array([[keys[c].env not in te for c in val_cols] for te in df["test_envs"]])
    vals = df[val_cols].to_numpy(dtype=float)
    df["_val_auc"] = np.nanmean(np.where(train_mask, vals, np.nan), axis=1)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for alg in order_rows(sorted(set(df["algorithm"]))):
        curve = df[df["algorithm"] == alg].groupby("step")
        if "loss" in df:
            axes[0].plot(curve["loss"].mean(), label=alg)
        axes[1].plot(curve["_val_auc"].mean(), label=alg)
    axes[0].set(xlabel="step", ylabel="training loss", title="Training loss")
    axes[1].set(xlabel="step", ylabel="validation AUC (training envs)", title="Validation AUC")
    axes[1].legend(fontsize="small")
    return _save(fig, out_dir, "training_curves")


def sensitivity_heatmap(table: Table, out_dir: Path) -> list[Path]:
    """Heatmap of Table VI: rows α, cols ρ, colour = mean AUC over the table's columns."""
    points = {}
    for row in table.rows:
        if row.endswith("(reported)"):  # the paper's numbers are context, not our grid
            continue
        alpha, rho = (float(p.split("=")[1]) for p in row.split(", "))
        means = [
            table.cells[(row, c.key)].mean for c in table.columns if (row, c.key) in table.cells
        ]
        points[(alpha, rho)] = float(np.nanmean(means)) if means else np.nan
    if not points:
        return []
    alphas = sorted({a for a, _ in points})
    rhos = sorted({r for _, r in points})
    grid = np.array([[points.get((a, r), np.nan) for r in rhos] for a in alphas])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 * len(rhos) + 2, 1.0 * len(alphas) + 1.5))
    im = ax.imshow(100 * grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(rhos)), [f"{r:g}" for r in rhos])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set(xlabel="ρ", ylabel="α", title="RoGA mean AUC (%)")
    for i in range(len(alphas)):
        for j in range(len(rhos)):
            if not np.isnan(grid[i, j]):
                light = grid[i, j] > np.nanmean(grid)  # viridis is bright at the top end
                ax.text(
                    j,
                    i,
                    f"{100 * grid[i, j]:.1f}",
                    ha="center",
                    va="center",
                    color="k" if light else "w",
                )
    fig.colorbar(im, ax=ax)
    return _save(fig, out_dir, "sensitivity_heatmap")


def gid_bars(table: Table, out_dir: Path) -> list[Path]:
    """Grouped bars of Table II's AUC columns with standard-error bars."""
    cols = [c for c in table.columns if c.metric == "auc"]
    rows = [
        r
        for r in table.rows
        if any((r, c.key) in table.cells for c in cols) and not r.endswith("(reported)")
    ]
    if not rows:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(cols) * len(rows) / 3), 4))
    width = 0.8 / len(rows)
    for k, row in enumerate(rows):
        cells = [table.cells.get((row, c.key)) for c in cols]
        means = [100 * c.mean if c else np.nan for c in cells]
        errs = [100 * c.se if c and c.n > 1 else 0.0 for c in cells]
        ax.bar(np.arange(len(cols)) + k * width, means, width, yerr=errs, label=row, capsize=2)
    ax.set_xticks(np.arange(len(cols)) + 0.4 - width / 2, [c.group for c in cols])
    ax.set(ylabel="AUC (%)", title="GID AUC per algorithm (mean ± s.e.)")
    finite = [100 * c.mean for c in table.cells.values() if c.finite and not c.reported]
    if finite:  # zoom on the range where the algorithms differ
        ax.set_ylim(max(0.0, min(finite) - 5.0), min(100.0, max(finite) + 5.0))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, "gid_auc_bars")


def forest_plot(table: Table, out_dir: str | Path) -> list[Path]:
    """``forest_table_<N>.png/.pdf``: Δ vs the baseline with its 95% t interval per compared
    row (AUC points), ±δ shaded, the verdict beside each row; [] for a table without verdicts."""
    verdicts = [v for _, v in table.decisions.values()]
    if not verdicts:
        return []
    s, delta = table.rule.scale, table.rule.margin
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(verdicts) + 1.6))
    ys = np.arange(len(verdicts))[::-1]
    ax.axvspan(-delta, delta, color="0.85", zorder=0, label=f"±δ = ±{delta:g} (equivalence)")
    ax.axvline(0.0, color="0.4", lw=0.8, zorder=1)
    colours = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue"}
    ends = []
    for y, v in zip(ys, verdicts, strict=True):
        lo, hi = (s * c for c in v.ci)
        colour = colours.get(v.kind, "0.3")
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=colour, lw=2, zorder=2)
            ends += [lo, hi]
        if np.isfinite(v.diff):
            ax.plot([s * v.diff], [y], "o", color=colour, zorder=3)
            ends.append(s * v.diff)
    finite = [e for e in ends if np.isfinite(e)] + [-delta, delta]
    left, right = min(finite), max(finite)
    pad = 0.05 * (right - left or 1.0)
    ax.set_xlim(left - pad, right + pad)
    for y, v in zip(ys, verdicts, strict=True):  # the verdict beside its row, outside the axes
        ax.annotate(
            f"{v.label()} (n={v.n}, {v.test.test})",
            xy=(1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize="small",
            color=colours.get(v.kind, "0.3"),
        )
    ax.set_yticks(ys, [v.name for v in verdicts])
    ax.set_ylim(-0.7, len(verdicts) - 0.3)
    ax.set_xlabel("Δ AUC vs baseline (points), 95% interval")
    ax.set_title(f"Table {table.number}: {table.rule.short()}", fontsize="medium")
    ax.legend(fontsize="x-small", loc="lower left", bbox_to_anchor=(0.0, 1.06), frameon=False)
    return _save(fig, Path(out_dir), f"forest_table_{table.number}")


def write_figures(
    ctx: Context,
    tables: dict[str, Table],
    out_dir: str | Path,
    cost_from: str | Path | None = None,
) -> list[Path]:
    """Write every figure the records allow into ``out_dir``; returns the files written.

    ``cost_from``: a ``python -m roga_bench.bench --json`` file for the cost figure's x-axis
    (else the sweep's step times, labelled as the fallback)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = training_curves(ctx, out)
    if "VI" in tables:
        paths += sensitivity_heatmap(tables["VI"], out)
    if "II" in tables:
        paths += gid_bars(tables["II"], out)
    paths += write_cost_figure(ctx, out, cost_from)  # with a cost: benchmark or step_time
    return paths
