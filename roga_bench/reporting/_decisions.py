"""The decision lines of every table, together: what ``python -m roga_bench.tables`` prints first.

One line (and one CSV row) per compared row and table: the baseline, n = independent run pairs,
Δ, p, Holm p, MDE (AUC points in the text, fractions in the CSV) and the decision.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from roga_bench.reporting._table import Table

__all__ = ["DECISION_COLUMNS", "decisions_frame", "decisions_text"]

DECISION_COLUMNS = ["table", "row", "baseline", "n_pairs", "diff", "p", "p_holm", "mde", "decision"]


def decisions_frame(tables: Mapping[str, Table]) -> pd.DataFrame:
    """Every table's decisions as rows (columns ``DECISION_COLUMNS``)."""
    rows = []
    for number, table in tables.items():
        for row, (base, decision) in table.decisions.items():
            t = table.significance[row]
            rows.append([number, row, base, t.n, t.diff, t.p, t.p_holm, t.mde, decision])
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def decisions_text(tables: Mapping[str, Table]) -> str:
    """``Table I: RoGA vs ERM: better [n=3 run pairs, ...]`` lines, markdown bullets."""
    lines = ["**Decisions (each row vs its baseline; n = independent run pairs)**", ""]
    for number, table in tables.items():
        lines += [f"- Table {number}: {line}" for line in table.decision_lines()]
        if not table.decisions:
            why = "no baseline rows to compare with" if not table.missing else "no runs"
            lines.append(f"- Table {number}: no decisions ({why}).")
    return "\n".join(lines) + "\n"
