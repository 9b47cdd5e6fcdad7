"""What the table builders share: the records, the chosen selection and cached selections.

Runs whose ``--hparams`` override more keys than the plain runs of their group (the α × ρ grid of
Table VI, e.g. ``{"alpha": 0.002, "rho": 0.05}`` beside a plain RoGA run) are *variants*: they
count in Table VI only, so that no algorithm in Tables I–V gets more hparam choices than the
others. A group is (dataset, algorithm, backbone, test envs, trial seed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from roga_bench._registry import SELECTIONS
from roga_bench.reporting._aggregate import Cell, cell_of
from roga_bench.reporting._significance import versus_rows
from roga_bench.reporting._table import Table

__all__ = [
    "Context",
    "ALGORITHM_ORDER",
    "order_rows",
    "fill",
    "put",
    "finish_notes",
    "add_significance",
]

ALGORITHM_ORDER = [
    "ERM (Adam)",
    "ERM",
    "SAM",
    "ASAM",
    "SAGM",
    "GSAM",
    "RoGA_Robust",
    "RoGA_Align",
    "RoGA",
]
CROSS_ORDER = {
    "FFpp": ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"],
    "SynthFF": ["SynthCDF", "SynthUADFV", "SynthDFDC"],
}
UADFV = {"FFpp": "UADFV", "SynthFF": "SynthUADFV"}
CELEBDF = {"FFpp": "CDF-v2", "SynthFF": "SynthCDF"}


def order_rows(labels: Sequence[str]) -> list[str]:
    """Known algorithms in the paper's order, then the rest alphabetically."""
    known = [a for a in ALGORITHM_ORDER if a in labels]
    return known + sorted(set(labels) - set(known))


@dataclass
class Context:
    """Records plus the selection settings; selections are computed once and cached."""

    df: pd.DataFrame
    selection: str = "iid"
    metric: str = "auc"
    with_reported: bool = False  # the paper's rows on a non-FF++ family too (not comparable)
    _cache: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = SELECTIONS.get(self.selection)  # unknown name fails here, early
        self.plain = self.df[self.df["run"].isin(_plain_runs(self.df))]
        self._by_checkpoint: dict[tuple[str, Any], dict[str, Any]] | None = None
        datasets = set(self.df["dataset"].dropna())
        self.family = "FFpp" if any(str(d).startswith("FFpp") for d in datasets) else "SynthFF"
        self.lomo = f"{self.family}LOMO" if f"{self.family}LOMO" in datasets else None
        cross = f"{self.family}CrossDataset"
        self.cross = cross if cross in datasets else None
        mine = self.df[self.df["dataset"].isin([self.lomo, self.cross])]
        counts = mine["backbone"].astype(str).value_counts() if len(mine) else pd.Series()
        # the default backbone: the one most runs use (ties: alphabetical)
        self.backbone = (
            sorted(counts.index, key=lambda b: (-counts[b], b))[0] if len(counts) else None
        )

    @property
    def show_reported(self) -> bool:
        """Whether tables carry the paper's rows: always on FF++, on request elsewhere."""
        return self.family == "FFpp" or self.with_reported

    def selected(
        self,
        dataset: str | None,
        extra: Sequence[str] = (),
        all_backbones: bool = False,
        variants: bool = False,
    ) -> pd.DataFrame:
        """Selected rows of ``dataset`` (default backbone unless ``all_backbones``; plain runs
        only unless ``variants``)."""
        key = (str(dataset), str(variants), *extra)
        if key not in self._cache:
            frame = self.df if variants else self.plain
            sub = frame[frame["dataset"] == dataset]
            self._cache[key] = (
                self.method(sub, self.metric, extra)
                if len(sub)
                else self.method(self.df.iloc[:0], self.metric, ())
            )
        out = self._cache[key]
        if not all_backbones and self.backbone is not None and len(out):
            out = out[out["backbone"].astype(str) == self.backbone]
        return out

    def checkpoint(self, run: str, step: Any) -> dict[str, Any]:
        """The full record of ``run`` at ``step`` (every ``env{i}_*`` key)."""
        if self._by_checkpoint is None:
            self._by_checkpoint = {
                (str(r["run"]), r.get("step")): r for r in self.df.to_dict("records")
            }
        return self._by_checkpoint[(str(run), step)]

    def header_note(self, datasets: Sequence[str | None]) -> str:
        names = ", ".join(d for d in datasets if d) or "none"
        return (
            f"Selection: {self.method.title} ({self.selection}) on {self.metric.upper()}; "
            f"datasets: {names}; backbone: {self.backbone or '-'}."
        )


def _override_count(value: Any) -> int:
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return 0
        return len(parsed) if isinstance(parsed, dict) else 0
    return 0


def _plain_runs(df: pd.DataFrame) -> set[str]:
    """Runs with the fewest ``--hparams`` override keys within their group (see module doc)."""
    if df.empty:
        return set()
    keys = ["dataset", "algorithm", "backbone", "test_envs", "trial_seed"]
    first = df.drop_duplicates("run")
    overrides = first.get("args.hparams", pd.Series([""] * len(first), index=first.index))
    counts = overrides.map(_override_count)
    least = counts.groupby([first[k].astype(str) for k in keys]).transform("min")
    return set(first.loc[counts == least, "run"].astype(str))


def put(table: Table, row: str, col: str, trial: Any, value: float) -> None:
    """Record one trial's value of cell (row, col) and refresh the cell (mean ± s.e.)."""
    per_trial = table.samples.setdefault((row, col), {})
    per_trial[trial] = float(value)
    table.cells[(row, col)] = cell_of(list(per_trial.values()))


def fill(
    table: Table,
    sel: pd.DataFrame,
    row_of: Callable[[pd.Series], str | None],
    col_of: Callable[[pd.Series], str | None],
    value: str,
) -> None:
    """Put ``value`` of each selected row into cell (``row_of(r)``, ``col_of(r)``), per trial.

    Several rows of one trial in one cell (e.g. the test envs of a LOMO fallback) are averaged
    first, so a cell is always mean ± s.e. over trials.
    """
    buckets: dict[tuple[str, str], dict[Any, list[float]]] = {}
    for r in sel.to_dict("records"):
        row, col = row_of(r), col_of(r)
        if row is not None and col is not None:
            buckets.setdefault((row, col), {}).setdefault(r["trial_seed"], []).append(
                float(r[value])
            )
    for (row, col), trials in buckets.items():
        for trial, values in trials.items():
            put(table, row, col, trial, _nanmean(values))


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def finish_notes(
    table: Table,
    ctx: Context,
    datasets: Sequence[str | None],
    expected_rows: Sequence[str],
    why: str,
) -> None:
    """Add the selection/trials note and list missing rows and columns; mark empty tables."""
    table.notes.insert(0, ctx.header_note(datasets))
    measured = [c for c in table.cells.values() if not c.reported]
    if measured:
        lo, hi = min(c.n for c in measured), max(c.n for c in measured)
        table.notes.insert(1, f"Trials per cell: {lo}" + (f"-{hi}." if hi != lo else "."))
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


def cell_or_none(table: Table, row: str, col: str) -> Cell | None:
    """The cell at (row, col) or None."""
    return table.cells.get((row, col))


MDE_NOTE = (
    "Δ = mean paired difference and MDE = the smallest difference the paired t-test could "
    "detect at p < 0.05 with power 0.8 and the observed spread, both in AUC points; a "
    "non-significant Δ means 'equal' only within the MDE, else too few trials."
)


def add_significance(table: Table, baselines: dict[str, str], versus: str = "ERM") -> None:
    """Paired tests of each row against its baseline row on the table's AUC columns (+ MDE).

    Args:
        table: a built table (its ``samples`` hold the per-trial values).
        baselines: ``{row: baseline row}``; rows or baselines without values are skipped.
        versus: how the note names the baseline ("ERM", "the same backbone's ERM").
    """
    columns = [c.key for c in table.columns if c.metric == "auc"]
    tests = versus_rows(table.samples, baselines, columns)
    table.significance = tests
    if tests:
        parts = [f"{row} {tests[row].describe()}" for row in table.rows if row in tests]
        table.notes.append(
            f"Paired test vs {versus} on AUC over (column, trial) pairs (Wilcoxon signed-rank "
            "for ≥ 6 pairs, else paired t): " + "; ".join(parts) + ". " + MDE_NOTE
        )
    else:
        rows = {k[0] for k in table.samples}
        if any(r in baselines and baselines[r] not in rows for r in rows):  # no baseline runs
            table.notes.append(f"No {versus} rows: significance tests vs {versus} not computed.")
