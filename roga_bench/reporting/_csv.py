"""Render a :class:`Table` as CSV with raw numbers (fractions, not percentages) via pandas.

One line per cell: table, row, reported, column_group, column, metric, mean, stderr (the seed
part: s.e. over trials), n (trials), test_se (the test-set part: DeLong's s.e. of the cell's
mean, sqrt(Σ se²)/n; NaN when the records lack it), and the row's paired test against its
baseline (ERM), the run as the unit: p_vs_ERM, p_holm_vs_ERM, n_pairs (independent run pairs),
the mean paired AUC difference diff_vs_ERM with its 95% interval ci_low_vs_ERM, ci_high_vs_ERM
(fractions) and decision_vs_ERM (``roga_bench.stats``' verdict); then that column's own test:
p_col_vs_ERM, n_col_pairs, diff_col_vs_ERM.
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
    "ci_low_vs_ERM",
    "ci_high_vs_ERM",
    "decision_vs_ERM",
    "p_col_vs_ERM",
    "n_col_pairs",
    "diff_col_vs_ERM",
]


def to_frame(table: Table) -> pd.DataFrame:
    """The table's cells as a long DataFrame (columns ``CSV_COLUMNS``)."""
    rows = []
    for row in table.rows:
        verdict = table.decisions[row][1] if row in table.decisions else None
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
                    "p_vs_ERM": verdict.p if verdict else math.nan,
                    "p_holm_vs_ERM": verdict.p_holm if verdict else math.nan,
                    "n_pairs": verdict.n if verdict else math.nan,
                    "diff_vs_ERM": verdict.diff if verdict else math.nan,
                    "ci_low_vs_ERM": verdict.ci[0] if verdict else math.nan,
                    "ci_high_vs_ERM": verdict.ci[1] if verdict else math.nan,
                    "decision_vs_ERM": verdict.label() if verdict else "",
                    "p_col_vs_ERM": col_test.p if col_test else math.nan,
                    "n_col_pairs": col_test.n if col_test else math.nan,
                    "diff_col_vs_ERM": col_test.diff if col_test else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def to_csv(table: Table) -> str:
    """The CSV text (``mean``/``stderr`` unrounded; NaN written as ``NaN``)."""
    return to_frame(table).to_csv(index=False, na_rep="NaN", lineterminator="\n")
