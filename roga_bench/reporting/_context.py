"""What the table builders share: the records, the chosen selection and cached selections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from roga_bench._registry import SELECTIONS
from roga_bench.reporting._aggregate import Cell, cell_of
from roga_bench.reporting._table import Table

__all__ = ["Context", "ALGORITHM_ORDER", "order_rows", "fill", "finish_notes"]

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
    _cache: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = SELECTIONS.get(self.selection)  # unknown name fails here, early
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

    def selected(
        self, dataset: str | None, extra: Sequence[str] = (), all_backbones: bool = False
    ) -> pd.DataFrame:
        """Selected rows of ``dataset`` (default backbone unless ``all_backbones``)."""
        key = (str(dataset), *extra)
        if key not in self._cache:
            sub = self.df[self.df["dataset"] == dataset]
            self._cache[key] = (
                self.method(sub, self.metric, extra)
                if len(sub)
                else self.method(self.df.iloc[:0], self.metric, ())
            )
        out = self._cache[key]
        if not all_backbones and self.backbone is not None and len(out):
            out = out[out["backbone"].astype(str) == self.backbone]
        return out

    def header_note(self, datasets: Sequence[str | None]) -> str:
        names = ", ".join(d for d in datasets if d) or "none"
        return (
            f"Selection: {self.method.title} ({self.selection}) on {self.metric.upper()}; "
            f"datasets: {names}; backbone: {self.backbone or '-'}."
        )


def fill(
    table: Table,
    sel: pd.DataFrame,
    row_of: Callable[[pd.Series], str | None],
    col_of: Callable[[pd.Series], str | None],
    value: str,
) -> None:
    """Aggregate ``value`` over trials into ``table.cells[(row, col)]`` via the callbacks."""
    buckets: dict[tuple[str, str], list[float]] = {}
    for _, r in sel.iterrows():
        row, col = row_of(r), col_of(r)
        if row is not None and col is not None:
            buckets.setdefault((row, col), []).append(float(r[value]))
    for key, values in buckets.items():
        table.cells[key] = cell_of(values)


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
