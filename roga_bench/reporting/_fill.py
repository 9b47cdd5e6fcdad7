"""Putting selected values into a table's cells, per trial, remembering which runs they came from.

A cell is mean ± s.e. over trials (``Cell``). Beside each trial's value the table keeps its
*unit*, ``(trial seed, held-out env set(s))``: the run it came from, which is what a paired test
pairs (two values with the same unit come from one trial and the same held-out envs), and the
test-set standard error of that value (DeLong's, ``auc_se`` in the records; NaN when absent).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pandas as pd

from roga_bench.reporting._aggregate import cell_of
from roga_bench.reporting._table import Table

__all__ = ["put", "fill", "unit_of"]


def unit_of(trial: Any, test_envs: Sequence[Sequence[int]]) -> tuple:
    """The unit of a value from the runs of ``trial`` holding out each of ``test_envs``."""
    sets = sorted({tuple(sorted(int(e) for e in envs)) for envs in test_envs})
    return (trial, tuple(sets))


def put(
    table: Table,
    row: str,
    col: str,
    trial: Any,
    value: float,
    unit: Hashable | None = None,
    se: float = math.nan,
    runs: Sequence[str] = (),
) -> None:
    """Record one trial's value of cell (row, col) and refresh the cell (mean ± s.e.).

    Args:
        unit: which run(s) the value came from (:func:`unit_of`); None: the trial alone.
        se: the value's test-set standard error (DeLong), NaN when unknown.
        runs: the job folder(s) the value came from (for pairing checks and excluded.csv).
    """
    per_trial = table.samples.setdefault((row, col), {})
    per_trial[trial] = float(value)
    table.units.setdefault((row, col), {})[trial] = (trial,) if unit is None else unit
    table.test_se.setdefault((row, col), {})[trial] = float(se)
    table.runs.setdefault((row, col), {})[trial] = tuple(sorted({str(r) for r in runs}))
    table.cells[(row, col)] = cell_of(list(per_trial.values()))


def fill(
    table: Table,
    sel: pd.DataFrame,
    row_of: Callable[[dict[str, Any]], str | None],
    col_of: Callable[[dict[str, Any]], str | None],
    value: str,
    se: str | None = None,
) -> None:
    """Put ``value`` of each selected row into cell (``row_of(r)``, ``col_of(r)``), per trial.

    Several rows of one trial in one cell (e.g. runs holding out different env sets) are averaged
    first, so a cell is always mean ± s.e. over trials; the unit then names every set.

    Args:
        se: the column holding each value's test-set s.e. (``auc_se``), if any.
    """
    buckets: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}
    for r in sel.to_dict("records"):
        row, col = row_of(r), col_of(r)
        if row is not None and col is not None:
            buckets.setdefault((row, col), {}).setdefault(r["trial_seed"], []).append(r)
    for (row, col), trials in buckets.items():
        for trial, rows in trials.items():
            values = [float(r[value]) for r in rows]
            ses = [float(r.get(se, math.nan)) if se else math.nan for r in rows]
            unit = unit_of(trial, [r["test_envs"] for r in rows])
            runs = [r["run"] for r in rows]
            put(table, row, col, trial, _nanmean(values), unit, _mean_se(ses), runs)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _mean_se(ses: Sequence[float]) -> float:
    """s.e. of the mean of independent estimates with s.e. ``ses`` (NaN if any is unknown)."""
    if not ses or any(math.isnan(s) for s in ses):
        return math.nan
    return math.sqrt(sum(s * s for s in ses)) / len(ses)
