"""The table model shared by the builders and the renderers (LaTeX, markdown, CSV).

Values are stored as fractions and shown as percentages with one decimal, like the paper
(``0.9123`` -> ``91.2``), except ``loss`` which is shown as is with three decimals. A cell is
``mean ± standard error`` over trials, with ``±`` left out for one trial; missing cells show as
``-``, NaN results as ``NaN``. The best value of each column is bold (highest, or lowest for
``loss`` and ``eer``), among measured rows only: reported rows are context, not contenders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from roga_bench.reporting._aggregate import Cell
from roga_bench.reporting._significance import PairedTest

__all__ = ["Column", "Table", "format_value", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = frozenset({"loss", "eer"})


@dataclass(frozen=True)
class Column:
    """A column: ``key`` (unique), its header ``label``, an optional ``group`` header above it,
    and the ``metric`` it shows (formatting and the direction of "best")."""

    key: str
    label: str
    metric: str = "auc"
    group: str = ""


@dataclass
class Table:
    """One paper table, ready to render.

    Attributes:
        number: roman numeral ("II").
        title: caption text.
        row_header: header of the label column.
        columns, rows: layout (rows are labels; reported rows end in "(reported)").
        cells: ``{(row, column key): Cell}``; absent keys are missing cells.
        notes: lines printed under the table (selection, metric, trials, missing parts, tests).
        samples: ``{(row, column key): {trial seed: value}}``, the per-trial values behind each
            measured cell (what the paired tests and the reproduce report use).
        significance: ``{row: PairedTest}`` against the row's baseline (ERM).
        missing: set when nothing at all could be built; says what is missing.
    """

    number: str
    title: str
    row_header: str = "Method"
    columns: list[Column] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    samples: dict[tuple[str, str], dict[object, float]] = field(default_factory=dict)
    significance: dict[str, PairedTest] = field(default_factory=dict)
    missing: str | None = None

    @property
    def caption(self) -> str:
        return f"Table {self.number}: {self.title}"

    def best(self, column: Column) -> set[str]:
        """Rows holding the best finite value of ``column`` (ties all win), measured rows only."""
        values = {
            r: self.cells[(r, column.key)].mean
            for r in self.rows
            if (r, column.key) in self.cells
            and self.cells[(r, column.key)].finite
            and not self.cells[(r, column.key)].reported
        }
        if not values:
            return set()
        pick = min if column.metric in LOWER_IS_BETTER else max
        target = round(pick(values.values()), 12)
        return {r for r, v in values.items() if round(v, 12) == target}


def format_value(value: float, metric: str) -> str:
    """``91.2`` for a fraction 0.9123 (percent, one decimal); ``0.123`` for loss; ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if metric == "loss":
        return f"{value:.3f}"
    return f"{100.0 * value:.1f}"


def format_cell(cell: Cell | None, metric: str, pm: str) -> str:
    """A cell as text: ``mean{pm}se`` (``pm`` is the renderer's ± symbol), ``-`` when missing."""
    if cell is None:
        return "-"
    text = format_value(cell.mean, metric)
    if cell.n > 1 and not math.isnan(cell.se) and cell.finite:
        text += pm + format_value(cell.se, metric)
    return text
