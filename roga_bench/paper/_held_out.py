"""Runs holding out different env sets in one table: keep them all, and say so."""

from __future__ import annotations

import pandas as pd

from roga_bench.reporting import Table

__all__ = ["one_held_out", "several_sets_note"]


def one_held_out(sel: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The rows of runs that hold out one env (GID); a note names the set sizes left out."""
    if not len(sel):
        return sel
    single = sel["test_envs"].map(len) == 1
    others = sorted({tuple(t) for t in sel.loc[~single, "test_envs"]})
    if others:
        n_runs = sel.loc[~single, "run"].nunique()
        table.notes.append(
            f"{n_runs} selected run(s) hold out several manipulations (test envs "
            f"{', '.join(map(str, others))}): not leave-one-out results, not in this table."
        )
    return sel[single]


def several_sets_note(sel: pd.DataFrame, table: Table) -> None:
    """Say so when a table's cells average runs holding out different env sets."""
    sets = sorted({tuple(t) for t in sel.get("test_envs", [])})
    if len(sets) > 1:
        table.notes.append(
            f"Runs of {len(sets)} held-out sets ({', '.join(map(str, sets))}) are all kept: a "
            "cell averages the trial's runs that hold its column out, and tests pair runs of "
            "the same set."
        )
