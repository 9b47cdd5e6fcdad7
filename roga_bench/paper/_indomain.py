"""Tables III, V and VI: they read in-domain numbers from the training envs' *test* splits.

In-domain = each training environment's official test split (``env{i}_test_*``, issue 11.2) at
the checkpoint that selection picked, never the validation split that picked it. Records written
before those keys existed leave the cells missing, with a note; they never fall back to the
validation split. The runs are the cross-dataset ones (trained on all four manipulations, the
paper's protocol): Table III falls back to LOMO runs when there are none, Tables V and VI do not.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from roga_bench.paper._design import (
    ABLATION,
    CELEBDF,
    GID,
    GRID_SYMBOLS,
    SENSITIVITY_GRID,
    UADFV,
    grid_label,
)
from roga_bench.paper._held_out import one_held_out, several_sets_note
from roga_bench.records import env_indices, metric_key
from roga_bench.reporting import (
    Column,
    Context,
    Table,
    add_significance,
    env_name,
    fill,
    finish_notes,
    note_excluded,
    put,
    unit_of,
    with_setting,
)

__all__ = ["table_III", "table_V", "table_VI", "indomain_per_env", "NO_TEST_KEYS"]

NO_TEST_KEYS = (
    "The records hold no env{{i}}_test_* keys (written before the training envs' test splits "
    "were evaluated): {what} left missing, not filled from the validation splits that select "
    "the checkpoint; re-run the jobs to fill them."
)
INDOMAIN_NOTE = (
    "{what} = AUC on the test split of each training manipulation at the selected checkpoint "
    "(trained on all four, the paper's protocol); {targets} = the cross-dataset targets' test AUC."
)


def indomain_per_env(ctx: Context, sel: pd.DataFrame, metric: str) -> Iterator[dict[str, Any]]:
    """Per selected checkpoint, one row per training env: the selected row's fields plus
    ``env_name`` (the training env) and ``value`` (its ``env{i}_test_<metric>``, NaN if absent)."""
    seen = set()
    for r in sel.to_dict("records"):
        if (r["run"], r["step"]) in seen:  # a multi-test-env run gives one row per test env
            continue
        seen.add((r["run"], r["step"]))
        record = ctx.checkpoint(r["run"], r["step"])
        for i in env_indices(record):
            if i in record["test_envs"]:
                continue
            value = record.get(metric_key(i, "test", metric))
            value = math.nan if value is None else float(value)
            se = record.get(metric_key(i, "test", f"{metric}_se"))  # DeLong's, for AUC
            names = record.get("dataset_environments")
            name = env_name(record["dataset"], i, names)
            yield {**r, "env_name": name, "value": value, "se": _float(se)}


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def table_III(ctx: Context) -> Table:
    """Ablation, in-domain: mean over the training envs of their test splits."""
    dataset = ctx.cross or ctx.lomo
    metrics = ["auc", "acc", "loss", "eer"]
    table = Table(
        "III",
        "Ablation on FF++ in-domain (training manipulations' test splits)",
        columns=[Column(m, m.upper() if m != "loss" else "Loss", m) for m in metrics],
    )
    sel = ctx.selected(dataset)
    sel = one_held_out(sel, table) if dataset == ctx.lomo else sel
    several_sets_note(sel, table)
    labels = {alg: label for _, label, alg in ABLATION}
    mine = sel[sel["algorithm"].isin(labels)] if len(sel) else sel
    untested = False
    for m in metrics:
        # one value per (algorithm, trial): the mean over that trial's selected rows
        groups = mine.groupby(["algorithm", "setting", "trial_seed"]) if len(mine) else []
        for (alg, setting, trial), rows in groups:
            v = float(rows[f"indomain_test_{m}"].mean())
            if math.isnan(v):
                untested = True
            else:
                unit = unit_of(trial, list(rows["test_envs"]))
                row = with_setting(labels[alg], setting)
                put(table, row, m, trial, v, unit, runs=list(rows["run"]))
    plain = [label for _, label, _ in ABLATION]
    table.rows = plain + sorted({k[0] for k in table.cells} - set(plain))
    table.notes.append(
        "In-domain = mean over the training environments of their test split at the selected "
        "checkpoint (not the validation split that selected it)."
    )
    if untested:
        table.notes.append(NO_TEST_KEYS.format(what="runs without them are"))
    why = "the runs' records hold no env{i}_test_* keys" if untested else "no ERM/RoGA* runs"
    finish_notes(table, ctx, [dataset], plain, why)
    table.excluded += ctx.excluded([dataset], algorithms=list(labels))
    baselines = {row: "base optimizer (ERM)" for row in table.rows}
    add_significance(table, baselines, "the base optimizer (ERM)", ctx)
    return table


def _indomain_columns(table: Table, ctx: Context, sel: pd.DataFrame, row_of) -> bool:
    """Fill DF..NT from the training envs' test AUC; True when some value was absent."""
    untested = False
    for r in indomain_per_env(ctx, sel, "auc"):
        row = row_of(r)
        if row is None or r["env_name"] not in GID:
            continue
        if math.isnan(r["value"]):
            untested = True
            continue
        unit = unit_of(r["trial_seed"], [r["test_envs"]])
        put(table, row, r["env_name"], r["trial_seed"], r["value"], unit, r["se"], [r["run"]])
    return untested


def table_V(ctx: Context) -> Table:
    """Backbones: base (ERM) vs +RoGA; in-domain AUC per manipulation and AUC on UADFV."""
    uadfv = UADFV[ctx.family]
    table = Table(
        "V",
        "Backbones with and without RoGA, AUC (%)",
        columns=[Column(e, e, "auc") for e in [*GID, uadfv]],
        row_header="Backbone",
    )
    sel = ctx.selected(ctx.cross, all_backbones=True)
    sel = sel[sel["algorithm"].isin(["ERM", "RoGA"])] if len(sel) else sel
    several_sets_note(sel, table)

    def row_of(r):
        name = f"{r['backbone']}" + (" + RoGA" if r["algorithm"] == "RoGA" else "")
        return with_setting(name, r.get("setting", ""))

    def target(r):
        return r["env_name"] if r["env_name"] == uadfv else None

    fill(table, sel, row_of, target, "auc", se="auc_se")
    untested = _indomain_columns(table, ctx, sel, row_of)
    bases = sorted({_erm_row(k[0]) for k in table.cells})
    table.rows = [r for b in bases for r in (b, _roga_row(b))]
    table.notes.append(INDOMAIN_NOTE.format(what="DF, F2F, FS, NT", targets=uadfv))
    if untested:
        table.notes.append(NO_TEST_KEYS.format(what="their DF..NT cells are"))
    finish_notes(table, ctx, [ctx.cross], table.rows, "no ERM/RoGA cross-dataset runs")
    table.notes[0] = table.notes[0].rsplit(" backbone:", 1)[0] + " backbone: all."
    table.excluded += ctx.excluded([ctx.cross], algorithms=["ERM", "RoGA"], all_backbones=True)
    baselines = {_roga_row(b): b for b in bases}
    add_significance(table, baselines, "the same backbone's ERM (base)", ctx)
    return table


def _erm_row(row: str) -> str:
    """``"meso4 [lr=0.01]"`` for ``"meso4 + RoGA [lr=0.01]"`` (and for itself)."""
    return row.replace(" + RoGA", "")


def _roga_row(erm_row: str) -> str:
    """``"meso4 + RoGA [lr=0.01]"`` for ``"meso4 [lr=0.01]"``."""
    if erm_row.endswith("]") and " [" in erm_row:
        i = erm_row.rindex(" [")
        return f"{erm_row[:i]} + RoGA{erm_row[i:]}"
    return f"{erm_row} + RoGA"


def table_VI(ctx: Context) -> Table:
    """Sensitivity of RoGA to its ``SENSITIVITY_GRID`` (α, ρ): in-domain AUC per manipulation,
    UADFV and CelebDF, one row per grid point the runs hold."""
    uadfv, celeb = UADFV[ctx.family], CELEBDF[ctx.family]
    cols = [*GID, uadfv, celeb]
    symbols = [GRID_SYMBOLS[name] for name in SENSITIVITY_GRID]
    table = Table(
        "VI",
        f"Sensitivity of RoGA to {' and '.join(symbols)}, AUC (%)",
        row_header=f"({', '.join(symbols)})",
        columns=[Column(c, c if c != celeb else f"CelebDF ({celeb})", "auc") for c in cols],
    )
    grid = [f"hparams.{name}" for name in SENSITIVITY_GRID]
    untested, points = False, set()
    if ctx.cross is not None and set(grid) <= set(ctx.df.columns):
        sel = ctx.selected(ctx.cross, extra=grid, variants=True)
        sel = sel[sel["algorithm"] == "RoGA"] if len(sel) else sel
        several_sets_note(sel, table)
        points = {
            (*(float(v) for v in values), str(s))
            for *values, s in zip(*(sel[g] for g in grid), sel["setting"], strict=True)
        }

        def row_of(r):
            return with_setting(grid_label([r[g] for g in grid]), r.get("setting", ""))

        targets = (uadfv, celeb)
        fill(
            table,
            sel,
            row_of,
            lambda r: r["env_name"] if r["env_name"] in targets else None,
            "auc",
            se="auc_se",
        )
        untested = _indomain_columns(table, ctx, sel, row_of)
    table.rows = [with_setting(grid_label(p[:-1]), p[-1]) for p in sorted(points)]
    table.notes.append(
        INDOMAIN_NOTE.format(what="DF, F2F, FS, NT", targets=f"{uadfv} and {celeb}")
        + f" The plain RoGA run is the grid point of its default {', '.join(symbols)}."
    )
    if untested:
        table.notes.append(NO_TEST_KEYS.format(what="their DF..NT cells are"))
    why = f"no RoGA cross-dataset runs with {'/'.join(SENSITIVITY_GRID)}"
    finish_notes(table, ctx, [ctx.cross], table.rows, why)
    table.excluded += ctx.excluded([ctx.cross], algorithms=["RoGA"], variants=True)
    note_excluded(table)
    return table
