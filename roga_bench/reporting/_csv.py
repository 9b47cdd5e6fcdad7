"""Render a :class:`Table` as CSV with raw numbers (fractions, not percentages) via pandas.

One line per cell: table, row, reported, column_group, column, metric, mean, stderr, n, and the
row's paired test against its baseline, ERM (p_vs_ERM, n_pairs, the mean paired AUC difference
diff_vs_ERM and the minimum detectable effect mde_vs_ERM, as fractions; NaN when not computed).
Missing cells are left out.
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
    "p_vs_ERM",
    "n_pairs",
    "diff_vs_ERM",
    "mde_vs_ERM",
]


def to_frame(table: Table) -> pd.DataFrame:
    """The table's cells as a long DataFrame (columns ``CSV_COLUMNS``)."""
    rows = []
    for row in table.rows:
        test = table.significance.get(row)
        for c in table.columns:
            cell = table.cells.get((row, c.key))
            if cell is None:
                continue
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
                    "p_vs_ERM": test.p if test else math.nan,
                    "n_pairs": test.n if test else math.nan,
                    "diff_vs_ERM": test.diff if test else math.nan,
                    "mde_vs_ERM": test.mde if test else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def to_csv(table: Table) -> str:
    """The CSV text (``mean``/``stderr`` unrounded; NaN written as ``NaN``)."""
    return to_frame(table).to_csv(index=False, na_rep="NaN", lineterminator="\n")
