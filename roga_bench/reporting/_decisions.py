"""The decision lines of every table, together: what ``python -m roga_bench.tables`` prints first.

The decision rule (α, δ, Holm, the tests) heads them; then one line (and one CSV row) per compared
row and table: the baseline, the test and its n (independent run pairs), Δ with its 95% interval,
p, Holm p, the TOST p against ±δ, the verdict and, for an undecided row, the trials a new sweep
would need or why none can decide it (AUC points in the text, fractions in the CSV). The runs a
table left out, with the reason, are ``excluded_frame``'s (``excluded.csv``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from roga_bench.reporting._table import Table
from roga_bench.stats import DecisionRule

__all__ = [
    "DECISION_COLUMNS",
    "EXCLUDED_COLUMNS",
    "decisions_frame",
    "decisions_text",
    "excluded_frame",
]

DECISION_COLUMNS = [
    "table",
    "row",
    "baseline",
    "test",
    "n_pairs",
    "diff",
    "ci_low",
    "ci_high",
    "p",
    "p_holm",
    "p_tost",
    "p_tost_holm",
    "alpha",
    "margin",
    "decision",
    "trials_to_decide",
    "note",
]
EXCLUDED_COLUMNS = ["table", "run", "reason"]


def _rule(tables: Mapping[str, Table]) -> DecisionRule:
    return next(iter(tables.values())).rule if tables else DecisionRule()


def decisions_frame(tables: Mapping[str, Table]) -> pd.DataFrame:
    """Every table's verdicts as rows (columns ``DECISION_COLUMNS``; fractions of AUC)."""
    rows = []
    for number, table in tables.items():
        for row, (base, v) in table.decisions.items():
            note = "; ".join(x for x in (v.why_not, v.need.text() if v.need else None) if x)
            rows.append(
                [number, row, base, v.test.test, v.n, v.diff, *v.ci, v.p, v.p_holm, v.p_tost,
                 v.p_tost_holm, table.rule.alpha, v.margin, v.label(), v.trials_to_decide, note]
            )  # fmt: skip
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    frame["trials_to_decide"] = frame["trials_to_decide"].astype("Int64")
    return frame


def decisions_text(tables: Mapping[str, Table]) -> str:
    """The rule, then ``Table I: RoGA vs ERM: undecided — ... [n=3 run pairs (paired t), ...]``
    lines as markdown bullets."""
    lines = [
        "**Decisions (each row vs its baseline; n = independent run pairs)**",
        "",
        _rule(tables).text(),
        "",
    ]
    for number, table in tables.items():
        lines += [f"- Table {number}: {line}" for line in table.decision_lines()]
        if not table.decisions:
            why = "no baseline rows to compare with" if not table.missing else "no runs"
            lines.append(f"- Table {number}: no decisions ({why}).")
        if table.excluded:
            runs = len({r for r, _ in table.excluded})
            lines.append(f"- Table {number}: {runs} run(s) left out, listed in excluded.csv.")
    return "\n".join(lines) + "\n"


def excluded_frame(tables: Mapping[str, Table]) -> pd.DataFrame:
    """``table, run, reason``: every run a table left out of its cells or tests (the run as its
    job folder's name)."""
    rows = [
        [number, Path(run).name, why]
        for number, table in tables.items()
        for run, why in table.excluded
    ]
    return pd.DataFrame(rows, columns=EXCLUDED_COLUMNS)
