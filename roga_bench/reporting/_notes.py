"""The notes every table ends with: selection, trials per cell, missing parts, test-set spread."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from roga_bench.reporting._context import Context
from roga_bench.reporting._table import Table

__all__ = ["finish_notes", "test_se_note"]


def finish_notes(
    table: Table,
    ctx: Context,
    datasets: Sequence[str | None],
    expected_rows: Sequence[str],
    why: str,
) -> None:
    """Add the selection/trials note and list missing rows and columns; mark empty tables.

    Also the selection's warnings about runs it could not use (never dropped silently), and the
    test-set part of the uncertainty (:func:`test_se_note`).
    """
    table.notes.insert(0, ctx.header_note(datasets))
    measured = [c for c in table.cells.values() if not c.reported]
    if measured:
        lo, hi = min(c.n for c in measured), max(c.n for c in measured)
        table.notes.insert(1, f"Trials per cell: {lo}" + (f"-{hi}." if hi != lo else "."))
    table.notes += ctx.selection_notes(datasets)
    rows_missing = [r for r in expected_rows if not any(k[0] == r for k in table.cells)]
    cols_missing = [
        c.label if not c.group else f"{c.group} {c.label}"
        for c in table.columns
        if not any(k[1] == c.key for k in table.cells)
    ]
    if rows_missing:
        table.notes.append("Missing rows (no runs): " + ", ".join(rows_missing) + ".")
    if cols_missing:
        table.notes.append("Missing columns (no runs): " + ", ".join(cols_missing) + ".")
    if not measured:
        table.missing = f"Table {table.number} cannot be built from these records: {why}."
        table.notes.append(table.missing)
        return
    note = test_se_note(table)
    if note:
        table.notes.append(note)


def test_se_note(table: Table) -> str | None:
    """The test-set part of a cell's uncertainty: DeLong's s.e. of one run's AUC, summarised
    over the table's AUC cells (None for a table without AUC columns)."""
    auc = {c.key for c in table.columns if c.metric == "auc"}
    ses = [
        se
        for (row, col), per_trial in table.test_se.items()
        if col in auc
        for se in per_trial.values()
    ]
    if not ses:
        return None
    known = [s for s in ses if not math.isnan(s)]
    if not known:
        return (
            "Test-set s.e. (DeLong) not in these records (written before env{i}_*_auc_se "
            "existed): only the seed part (± over trials) is shown."
        )
    lo, mid, hi = min(known), statistics.median(known), max(known)
    return (
        f"Two sources of variance: ± is the seed part (s.e. over trials); the test-set part, "
        f"DeLong's s.e. of one run's AUC, is {100 * mid:.1f} points (median; range "
        f"{100 * lo:.1f}-{100 * hi:.1f}) over {len(known)} (run, column) values (per cell in "
        f"the CSV: test_se, the s.e. of the cell's mean from the test sets alone)."
    )
