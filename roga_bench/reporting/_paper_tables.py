"""Builders of the RoGA paper's Tables I–VI (DESIGN §7 numbering) from selected records.

Each builder takes a :class:`Context` and returns a :class:`Table`; a table whose runs are missing
lists the missing rows/columns in its notes instead of failing.
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

from roga_bench.reporting._aggregate import Cell, cell_of
from roga_bench.reporting._context import (
    CELEBDF,
    CROSS_ORDER,
    UADFV,
    Context,
    fill,
    finish_notes,
    order_rows,
)
from roga_bench.reporting._significance import versus_baseline
from roga_bench.reporting._table import Column, Table

__all__ = ["BUILDERS", "TABLE_NUMBERS", "build_table", "PAPER_DIR", "load_reported"]

PAPER_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"
REPORTED_COLUMNS = ["table", "row", "column", "metric", "value", "source"]
GID = ["DF", "F2F", "FS", "NT"]


def load_reported(table: str, paper_dir: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``results/paper/reported.csv`` for ``table`` (values in percent, as printed)."""
    path = (paper_dir or PAPER_DIR) / "reported.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r.get("table") == table and r.get("value")]


def _significance(table: Table, sel, value: str) -> None:
    tests = versus_baseline(sel, value)
    table.significance = tests
    if tests:
        parts = [f"{alg} {tests[alg].describe()}" for alg in table.rows if alg in tests]
        table.notes.append(
            f"Paired test vs ERM on {value.upper()} over (test env, trial) "
            "pairs: " + "; ".join(parts) + "."
        )
    elif len(sel) and "ERM" not in set(sel["algorithm"]):
        table.notes.append("No ERM rows: significance tests vs ERM not computed.")


def table_I(ctx: Context, paper_dir: Path | None = None) -> Table:
    """Cross-dataset AUC: train on the four FF++ manipulations, test on external datasets."""
    sel = ctx.selected(ctx.cross)
    order = CROSS_ORDER[ctx.family]
    present = [e for e in order if e in set(sel.get("env_name", []))]
    extra = sorted(set(sel.get("env_name", [])) - set(order))
    cols = present + extra or order
    table = Table(
        "I",
        "Cross-dataset AUC (%), trained on FF++ (DF, F2F, FS, NT)",
        columns=[Column(e, e, "auc") for e in cols],
    )
    fill(table, sel, lambda r: r["algorithm"], lambda r: r["env_name"], "auc")
    table.rows = order_rows(sorted({k[0] for k in table.cells}))
    if ctx.family == "FFpp":  # the paper's numbers are on real FF++ only
        for rep in load_reported("I", paper_dir):
            label = f"{rep['row']} (reported)"
            if rep["column"] in cols:
                table.cells[(label, rep["column"])] = Cell(
                    float(rep["value"]) / 100, math.nan, 0, reported=True
                )
                if label not in table.rows:
                    table.rows.append(label)
    finish_notes(table, ctx, [ctx.cross], [], f"no {ctx.family}CrossDataset runs")
    _significance(table, sel, "auc")
    return table


def table_II(ctx: Context, paper_dir: Path | None = None) -> Table:
    """GID: leave one manipulation out; ACC and AUC on the held-out one."""
    sel = ctx.selected(ctx.lomo)
    columns = [Column(f"{e}:{m}", m.upper(), m, f"GID-{e}") for e in GID for m in ("acc", "auc")]
    table = Table(
        "II", "Generalization to an unseen manipulation (GID), ACC / AUC (%)", columns=columns
    )
    for m in ("acc", "auc"):
        fill(table, sel, lambda r: r["algorithm"], lambda r, m=m: f"{r['env_name']}:{m}", m)
    table.rows = order_rows(sorted({k[0] for k in table.cells}))
    for rep in load_reported("II", paper_dir) if ctx.family == "FFpp" else []:
        key, label = f"{rep['column']}:{rep['metric']}", f"{rep['row']} (reported)"
        if any(c.key == key for c in columns):
            table.cells[(label, key)] = Cell(float(rep["value"]) / 100, math.nan, 0, True)
            table.rows += [label] if label not in table.rows else []
    finish_notes(table, ctx, [ctx.lomo], [], f"no {ctx.family}LOMO runs")
    _significance(table, sel, "auc")
    return table


ABLATION = [
    ("base optimizer (ERM)", "ERM"),
    ("+robust (RoGA_Robust)", "RoGA_Robust"),
    ("+align (RoGA_Align)", "RoGA_Align"),
    ("RoGA", "RoGA"),
]


def table_III(ctx: Context, paper_dir: Path | None = None) -> Table:
    """Ablation, in-domain: the training envs' validation splits at the selected checkpoint."""
    dataset = ctx.cross or ctx.lomo
    sel = ctx.selected(dataset)
    metrics = ["auc", "acc", "loss", "eer"]
    table = Table(
        "III",
        "Ablation on FF++ in-domain (training manipulations' validation splits)",
        columns=[Column(m, m.upper() if m != "loss" else "Loss", m) for m in metrics],
    )
    labels = dict((alg, label) for label, alg in ABLATION)
    for m in metrics:
        # one value per (algorithm, trial): the mean over that trial's selected rows
        per_trial = (
            sel[sel["algorithm"].isin(labels)]
            .groupby(["algorithm", "trial_seed"])[f"indomain_{m}"]
            .mean()
            if len(sel)
            else {}
        )
        by_alg: dict[str, list[float]] = {}
        for (alg, _trial), v in dict(per_trial).items():
            by_alg.setdefault(alg, []).append(float(v))
        for alg, values in by_alg.items():
            table.cells[(labels[alg], m)] = cell_of(values)
    table.rows = [label for label, _ in ABLATION]
    table.notes.append(
        "In-domain = mean over the training environments of their validation "
        "split at the selected checkpoint (the same splits select the checkpoint, "
        "so this is optimistic)."
    )
    finish_notes(table, ctx, [dataset], table.rows, "no ERM/RoGA* runs")
    return table


OPTIMIZERS = [
    ("Adam", "ERM (Adam)"),
    ("SGD", "ERM"),
    ("SAM", "SAM"),
    ("SAGM", "SAGM"),
    ("RoGA", "RoGA"),
]


def table_IV(ctx: Context, paper_dir: Path | None = None) -> Table:
    """Optimizers: GID-DF and FF++ -> UADFV, AUC and ACC."""
    uadfv = UADFV[ctx.family]
    groups = [("FS,F2F,NT → DF", "DF", ctx.lomo), (f"FF++ → {uadfv}", uadfv, ctx.cross)]
    table = Table(
        "IV",
        "Base optimizers vs sharpness-aware optimizers, AUC / ACC (%)",
        columns=[
            Column(f"{env}:{m}", m.upper(), m, g) for g, env, _ in groups for m in ("auc", "acc")
        ],
    )
    labels = {alg: row for row, alg in OPTIMIZERS}
    for _, env, dataset in groups:
        sel = ctx.selected(dataset)
        sel = sel[sel["env_name"] == env] if len(sel) else sel
        for m in ("auc", "acc"):
            fill(
                table,
                sel,
                lambda r: labels.get(r["algorithm"]),
                lambda r, m=m, env=env: f"{env}:{m}",
                m,
            )
    table.rows = [row for row, _ in OPTIMIZERS]
    table.row_header = "Optimizer"
    finish_notes(table, ctx, [ctx.lomo, ctx.cross], table.rows, "no ERM/SAM/SAGM/RoGA runs")
    return table


def table_V(ctx: Context, paper_dir: Path | None = None) -> Table:
    """Backbones: base (ERM) vs +RoGA, AUC per GID env and on UADFV."""
    uadfv = UADFV[ctx.family]
    table = Table(
        "V",
        "Backbones with and without RoGA, AUC (%)",
        columns=[Column(e, e, "auc") for e in [*GID, uadfv]],
        row_header="Backbone",
    )
    for dataset in (ctx.lomo, ctx.cross):
        sel = ctx.selected(dataset, all_backbones=True)
        sel = sel[sel["algorithm"].isin(["ERM", "RoGA"])] if len(sel) else sel
        fill(
            table,
            sel,
            lambda r: f"{r['backbone']}" + (" + RoGA" if r["algorithm"] == "RoGA" else ""),
            lambda r: r["env_name"] if r["env_name"] in (*GID, uadfv) else None,
            "auc",
        )
    backbones = sorted({k[0].removesuffix(" + RoGA") for k in table.cells})
    table.rows = [r for b in backbones for r in (b, f"{b} + RoGA")]
    finish_notes(table, ctx, [ctx.lomo, ctx.cross], table.rows, "no ERM/RoGA runs")
    table.notes[0] = table.notes[0].rsplit(" backbone:", 1)[0] + " backbone: all."
    return table


def table_VI(ctx: Context, paper_dir: Path | None = None) -> Table:
    """Sensitivity of RoGA to (alpha, rho): AUC per GID env, UADFV and CelebDF."""
    uadfv, celeb = UADFV[ctx.family], CELEBDF[ctx.family]
    cols = [*GID, uadfv, celeb]
    table = Table(
        "VI",
        "Sensitivity of RoGA to α and ρ, AUC (%)",
        row_header="(α, ρ)",
        columns=[Column(c, c if c != celeb else f"CelebDF ({celeb})", "auc") for c in cols],
    )
    grid = ["hparams.alpha", "hparams.rho"]
    points = set()
    for dataset in (ctx.lomo, ctx.cross):
        if dataset is None or not set(grid) <= set(ctx.df.columns):
            continue
        sel = ctx.selected(dataset, extra=grid)
        sel = sel[sel["algorithm"] == "RoGA"] if len(sel) else sel
        points |= {(float(a), float(r)) for a, r in zip(sel[grid[0]], sel[grid[1]], strict=True)}
        fill(
            table,
            sel,
            lambda r: _grid_label(r[grid[0]], r[grid[1]]),
            lambda r: r["env_name"] if r["env_name"] in cols else None,
            "auc",
        )
    table.rows = [_grid_label(a, r) for a, r in sorted(points)]
    finish_notes(table, ctx, [ctx.lomo, ctx.cross], table.rows, "no RoGA runs with alpha/rho")
    return table


def _grid_label(alpha: float, rho: float) -> str:
    return f"α={float(alpha):g}, ρ={float(rho):g}"


BUILDERS = {
    "I": table_I,
    "II": table_II,
    "III": table_III,
    "IV": table_IV,
    "V": table_V,
    "VI": table_VI,
}
TABLE_NUMBERS = list(BUILDERS)


def build_table(number: str, ctx: Context, paper_dir: Path | None = None) -> Table:
    """Build Table ``number`` ("I".."VI").

    Raises:
        KeyError: unknown table number (the message lists the valid ones).
    """
    if number not in BUILDERS:
        raise KeyError(f"unknown table {number!r}; valid tables: {', '.join(TABLE_NUMBERS)}")
    table = BUILDERS[number](ctx, paper_dir)
    if ctx.family == "SynthFF":  # say what was measured: SynthFF stands in for FF++
        table.title = table.title.replace("FF++", "SynthFF")
        table.columns = [
            replace(c, group=c.group.replace("FF++", "SynthFF")) for c in table.columns
        ]
        table.notes = [note.replace("FF++ →", "SynthFF →") for note in table.notes]
    return table
