"""Render a :class:`Table` as CSV with raw numbers (fractions, not percentages) via pandas.

One line per cell: table, row, reported, column_group, column, metric, mean, stderr (the seed
part: s.e. over trials), n (trials), test_se (the test-set part: DeLong's s.e. of the cell's
mean, sqrt(Σ se²)/n; NaN when the records lack it), and the row's paired test against its
baseline (ERM), the run as the unit: p_vs_ERM, p_holm_vs_ERM, n_pairs (independent run pairs),
the mean paired AUC difference diff_vs_ERM, the minimum detectable effect mde_vs_ERM (fractions)
and decision_vs_ERM; then that column's own test: p_col_vs_ERM, n_col_pairs, diff_col_vs_ERM.
NaN/empty when not computed. Missing cells are left out.
"""

from __future__ import annotations

import math

import pandas as pd

from roga_bench.reporting._table import Table

__all__ = ["to_frame", "to_csv", "CSV_COLUMNS"]

CSV_COLUMNS = [
    "table",
    "row",
    "reported",
    "column_group",
    "column",
    "metric",
    "mean",
    "stderr",
    "n",
    "test_se",
    "p_vs_ERM",
    "p_holm_vs_ERM",
    "n_pairs",
    "diff_vs_ERM",
    "mde_vs_ERM",
    "decision_vs_ERM",
    "p_col_vs_ERM",
    "n_col_pairs",
    "diff_col_vs_ERM",
]


def to_frame(table: Table) -> pd.DataFrame:
    """The table's cells as a long DataFrame (columns ``CSV_COLUMNS``)."""
    rows = []
    for row in table.rows:
        test = table.significance.get(row)
        decision = table.decisions.get(row, ("", ""))[1]
        for c in table.columns:
            cell = table.cells.get((row, c.key))
            if cell is None:
                continue
            col_test = table.column_tests.get(row, {}).get(c.key)
            rows.append(
                {
                    "table": table.number,
                    "row": row,
                    "reported": cell.reported,
                    "column_group": c.group,
                    "column": c.label,
                    "metric": c.metric,
                    "mean": cell.mean,
                    "stderr": cell.se,
                    "n": cell.n,
                    "test_se": table.cell_test_se(row, c.key),
                    "p_vs_ERM": test.p if test else math.nan,
                    "p_holm_vs_ERM": test.p_holm if test else math.nan,
                    "n_pairs": test.n if test else math.nan,
                    "diff_vs_ERM": test.diff if test else math.nan,
                    "mde_vs_ERM": test.mde if test else math.nan,
                    "decision_vs_ERM": decision,
                    "p_col_vs_ERM": col_test.p if col_test else math.nan,
                    "n_col_pairs": col_test.n if col_test else math.nan,
                    "diff_col_vs_ERM": col_test.diff if col_test else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def to_csv(table: Table) -> str:
    """The CSV text (``mean``/``stderr`` unrounded; NaN written as ``NaN``)."""
    return to_frame(table).to_csv(index=False, na_rep="NaN", lineterminator="\n")
