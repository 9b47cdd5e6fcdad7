"""Our measured cells beside the paper's reported ones: ``python -m roga_bench.tables reproduce``.

For every cell that both hold (rows and columns mapped as ``_reported`` states), the report gives
the measured mean ± s.e. over trials, the reported value, their difference and whether the
reported value lies inside the measured 95% interval, mean ± t_{0.975, n-1} · s.e. (Student t
with n − 1 degrees of freedom). With one trial there is no spread, so no interval: the cell says
"n/a (1 trial)" and counts neither way.

Per table it also gives Kendall's τ-b (``scipy.stats.kendalltau``) between our order of the rows
and the paper's, per column over the rows present in both, and pooled: over the AUC columns, the
rows present in all of them, ranked by their mean. τ-b accounts for ties; τ needs at least
``MIN_TAU_ROWS`` rows (below, it is reported as "too few rows"), and is undefined (NaN) when
either side is all tied. On SynthFF levels are not comparable (SynthFF is not FF++): compare the
orderings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tabulate import tabulate

from roga_bench.paper._reported import load_reported, our_column, our_row, reported_value
from roga_bench.reporting import Table, format_value

__all__ = ["Comparison", "Ordering", "ReproduceReport", "reproduce", "MIN_TAU_ROWS"]

MIN_TAU_ROWS = 3  # with 2 rows τ is ±1 whatever the data: no evidence about an ordering


@dataclass(frozen=True)
class Comparison:
    """One cell held by both: our measurement and the paper's number (fractions; loss as is)."""

    table: str
    row: str
    paper_row: str
    column: str
    metric: str
    mean: float
    se: float
    n: int
    reported: float

    @property
    def diff(self) -> float:
        return self.mean - self.reported

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% t interval (NaN, NaN) when there is no spread to use (one trial)."""
        if self.n < 2 or math.isnan(self.se):
            return math.nan, math.nan
        half = float(stats.t.ppf(0.975, self.n - 1)) * self.se
        return self.mean - half, self.mean + half

    @property
    def inside(self) -> bool | None:
        lo, hi = self.interval
        return None if math.isnan(lo) else bool(lo <= self.reported <= hi)


@dataclass(frozen=True)
class Ordering:
    """Kendall τ-b of one column (or pooled) of one table; NaN with ``why`` when not computed."""

    table: str
    column: str
    n_rows: int
    tau: float
    p: float
    why: str = ""

    def describe(self) -> str:
        if math.isnan(self.tau):
            return f"{self.column}: τ n/a ({self.why}, {self.n_rows} rows)"
        return f"{self.column}: τ={self.tau:+.2f} (p={self.p:.2g}, {self.n_rows} rows)"


@dataclass
class ReproduceReport:
    family: str
    comparisons: list[Comparison] = field(default_factory=list)
    orderings: list[Ordering] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.family == "FFpp":
            return "Measured (FF++) vs the paper's reported numbers"
        return "SynthFF vs the paper's FF++ (not comparable in level; compare orderings)"

    def frame(self) -> pd.DataFrame:
        """One line per compared cell (raw fractions, loss as is)."""
        rows = []
        for c in self.comparisons:
            lo, hi = c.interval
            rows.append(
                {
                    "table": c.table,
                    "row": c.row,
                    "paper_row": c.paper_row,
                    "column": c.column,
                    "metric": c.metric,
                    "mean": c.mean,
                    "stderr": c.se,
                    "n": c.n,
                    "ci95_low": lo,
                    "ci95_high": hi,
                    "reported": c.reported,
                    "diff": c.diff,
                    "inside_ci95": "n/a" if c.inside is None else c.inside,
                }
            )
        return pd.DataFrame(rows, columns=_CSV_COLUMNS)

    def tau_frame(self) -> pd.DataFrame:
        cols = ["table", "column", "n_rows", "kendall_tau", "p", "why"]
        data = [[o.table, o.column, o.n_rows, o.tau, o.p, o.why] for o in self.orderings]
        return pd.DataFrame(data, columns=cols)

    def to_csv(self) -> str:
        return self.frame().to_csv(index=False, na_rep="NaN", lineterminator="\n")

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.family != "FFpp":
            lines += [
                "Columns are mapped by name: DF→DF, F2F→F2F, FS→FS, NT→NT, SynthCDF→CDF-v2 "
                "(CelebDF), SynthUADFV→UADFV, SynthDFDC→DFDC. Differences of level say nothing "
                "about the paper; Kendall τ compares the orders of the rows.",
                "",
            ]
        lines += [_INTERVAL_NOTE, ""]
        for number in dict.fromkeys(o.table for o in self.orderings):
            lines += self._section(number)
        return "\n".join(lines).rstrip("\n") + "\n"

    def _section(self, number: str) -> list[str]:
        mine = [c for c in self.comparisons if c.table == number]
        lines = [f"## Table {number}", ""]
        if mine:
            body = [_md_row(c) for c in mine]
            grid = tabulate(body, headers=_MD_HEADERS, tablefmt="github", disable_numparse=True)
            lines += [grid, ""]
            inside = [c.inside for c in mine if c.inside is not None]
            without = len(mine) - len(inside)
            lines.append(
                f"- {len(mine)} cells in both; the reported value lies inside our 95% interval in "
                f"{sum(inside)} of the {len(inside)} cells that have one"
                + (f" ({without} cells of one trial have none)." if without else ".")
            )
        else:
            lines.append("- No cell of this table is in both (no mapped row or column measured).")
        mine_orders = [o for o in self.orderings if o.table == number]
        whys = {o.why for o in mine_orders}
        if len(whys) == 1 and "" not in whys:  # nothing computed, for one reason: say it once
            most = max(o.n_rows for o in mine_orders)
            text = f"n/a in every column ({whys.pop()}; at most {most} rows in both)"
        else:
            text = "; ".join(o.describe() for o in mine_orders)
        lines += [f"- Kendall τ-b of the rows' order vs the paper's: {text}.", ""]
        return lines


_CSV_COLUMNS = [
    "table",
    "row",
    "paper_row",
    "column",
    "metric",
    "mean",
    "stderr",
    "n",
    "ci95_low",
    "ci95_high",
    "reported",
    "diff",
    "inside_ci95",
]
_MD_HEADERS = ["Row (ours)", "Paper row", "Column", "Measured", "n", "95% CI", "Reported"]
_MD_HEADERS += ["Diff", "Inside"]
_INTERVAL_NOTE = (
    "Measured = mean ± s.e. over trials (percent; loss as is); 95% CI = mean ± t(0.975, n−1)·s.e.; "
    "one trial gives no interval (n/a). Diff = measured − reported."
)


def _md_row(c: Comparison) -> list[str]:
    lo, hi = c.interval

    def fmt(value: float) -> str:
        return format_value(value, c.metric)

    measured = fmt(c.mean) + (f" ± {fmt(c.se)}" if c.n > 1 and not math.isnan(c.se) else "")
    ci = "n/a (1 trial)" if math.isnan(lo) else f"[{fmt(lo)}, {fmt(hi)}]"
    inside = "n/a" if c.inside is None else ("yes" if c.inside else "no")
    diff = fmt(c.diff)
    diff = diff if diff.startswith("-") or diff == "NaN" else "+" + diff
    column = f"{c.column} {c.metric.upper()}"
    return [c.row, c.paper_row, column, measured, str(c.n), ci, fmt(c.reported), diff, inside]


def _kendall(table: str, column: str, ours: list[float], theirs: list[float]) -> Ordering:
    n = len(ours)
    if n < MIN_TAU_ROWS:
        return Ordering(table, column, n, math.nan, math.nan, f"too few rows, need {MIN_TAU_ROWS}")
    if len(set(ours)) < 2 or len(set(theirs)) < 2:
        return Ordering(table, column, n, math.nan, math.nan, "all tied on one side")
    result = stats.kendalltau(ours, theirs)  # tau-b: ties counted as neither order
    return Ordering(table, column, n, float(result.statistic), float(result.pvalue))


def _column_name(number: str, key: str, paper_column: str) -> str:
    """Our column's name, with the paper's beside it where they differ (SynthCDF ↔ CDF-v2)."""
    ours = "in-domain" if number == "III" else key.split(":")[0]
    if number == "III" or ours == paper_column:
        return ours
    return f"{ours} ↔ {paper_column}"


def _orderings(number: str, comps: list[Comparison]) -> list[Ordering]:
    out = []
    columns = list(dict.fromkeys((c.column, c.metric) for c in comps))
    for column, metric in columns:
        pairs = [c for c in comps if (c.column, c.metric) == (column, metric)]
        label = f"{column} {metric.upper()}"
        out.append(_kendall(number, label, [c.mean for c in pairs], [c.reported for c in pairs]))
    auc = [col for col, m in columns if m == "auc"]
    held = {(c.row, c.column) for c in comps if c.metric == "auc"}
    rows = [
        r for r in dict.fromkeys(c.row for c in comps) if auc and all((r, k) in held for k in auc)
    ]

    def mean(row: str, attr: str) -> float:
        return float(
            np.mean([getattr(c, attr) for c in comps if c.row == row and c.metric == "auc"])
        )

    ours, theirs = [mean(r, "mean") for r in rows], [mean(r, "reported") for r in rows]
    return [*out, _kendall(number, "pooled AUC", ours, theirs)]


def reproduce(
    tables: dict[str, Table], family: str, paper_dir: Path | None = None
) -> ReproduceReport:
    """Compare built tables with ``reported.csv`` (see the module docstring).

    Args:
        tables: ``{number: Table}`` from ``build_tables`` (reported rows in them are ignored).
        family: ``"FFpp"`` or ``"SynthFF"`` (the title and the column mapping).
        paper_dir: folder of a ``reported.csv`` (default: the one shipped in the package).

    Raises:
        ReportInputError: ``reported.csv`` has a bad line (the message names the file and line).
        PaperDataError: the package's own ``reported.csv`` is missing (a broken install).
    """
    report = ReproduceReport(family)
    for number, table in tables.items():
        measured = [r for r in table.rows if not r.endswith("(reported)")]
        comps = []
        for rec in load_reported(number, paper_dir):
            key, row = our_column(table, family, rec), our_row(number, rec["row"], measured)
            cell = table.cells.get((row, key)) if key and row else None
            if cell is None or cell.reported or not cell.finite:
                continue
            comp = Comparison(
                number,
                row,
                rec["row"],
                _column_name(number, key, rec["column"]),
                rec["metric"],
                cell.mean,
                cell.se,
                cell.n,
                reported_value(rec),
            )
            comps.append(comp)
        report.comparisons += comps
        report.orderings += _orderings(number, comps)
    return report
