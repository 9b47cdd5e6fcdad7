"""The paper's own figures (matplotlib, Agg backend, saved as PNG and PDF), from built tables.

- ``sensitivity_heatmap``: Table VI as an α × ρ grid of RoGA's mean AUC over its columns.
- ``gid_bars``: Table II's AUC per GID env and algorithm, error bars = standard error.

Reporting's ``write_figures`` writes them beside its own (training curves, cost figure) through
the table set's ``figures``; forest plots are reporting's, one per table with verdicts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roga_bench.paper._design import GRID_SYMBOLS, SENSITIVITY_GRID
from roga_bench.reporting import Table
from roga_bench.reporting.plotting import pyplot as _plt
from roga_bench.reporting.plotting import save_figure as _save

__all__ = ["gid_bars", "paper_figures", "sensitivity_heatmap"]


def sensitivity_heatmap(table: Table, out_dir: Path) -> list[Path]:
    """Heatmap of Table VI: rows α, cols ρ (``SENSITIVITY_GRID``'s two hparams), colour = mean
    AUC over the table's columns."""
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
    ylabel, xlabel = (GRID_SYMBOLS[name] for name in SENSITIVITY_GRID)  # α rows, ρ columns
    ax.set(xlabel=xlabel, ylabel=ylabel, title="RoGA mean AUC (%)")
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


def paper_figures(tables: dict[str, Table], out_dir: Path) -> list[Path]:
    """The figures of the built tables among VI and II; returns the files written."""
    paths = []
    if "VI" in tables:
        paths += sensitivity_heatmap(tables["VI"], out_dir)
    if "II" in tables:
        paths += gid_bars(tables["II"], out_dir)
    return paths
