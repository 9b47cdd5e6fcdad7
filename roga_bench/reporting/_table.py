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
from roga_bench.stats import DecisionRule, PairedTest, Verdict

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
        units: ``{(row, column key): {trial seed: unit}}``, the run(s) each value came from:
            ``(trial seed, held-out env sets)``; a paired test pairs equal units.
        test_se: ``{(row, column key): {trial seed: DeLong s.e.}}`` (NaN when unknown).
        runs: ``{(row, column key): {trial seed: job folders}}``, the run(s) behind each value.
        significance: ``{row: PairedTest}`` against the row's baseline (ERM), the run as the
            unit (raw p; the Holm-adjusted one is in the verdict).
        column_tests: ``{row: {column key: PairedTest}}``, each AUC column on its own.
        decisions: ``{row: (baseline row, Verdict)}``: better / worse / equivalent within ±δ /
            undecided under ``rule`` (``roga_bench.stats``); :meth:`decision_lines` prints them.
        excluded: ``[(job folder, reason)]``: runs of this table's datasets left out of its
            cells or tests (variants, other backbones, not selected, no pair), each with why.
        rule: the decision rule the verdicts follow (α, margin δ).
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
    units: dict[tuple[str, str], dict[object, object]] = field(default_factory=dict)
    test_se: dict[tuple[str, str], dict[object, float]] = field(default_factory=dict)
    runs: dict[tuple[str, str], dict[object, tuple[str, ...]]] = field(default_factory=dict)
    significance: dict[str, PairedTest] = field(default_factory=dict)
    column_tests: dict[str, dict[str, PairedTest]] = field(default_factory=dict)
    decisions: dict[str, tuple[str, Verdict]] = field(default_factory=dict)
    excluded: list[tuple[str, str]] = field(default_factory=list)
    rule: DecisionRule = field(default_factory=DecisionRule)
    missing: str | None = None

    def decision_lines(self) -> list[str]:
        """``RoGA vs ERM: undecided — ... [n=12 run pairs (Wilcoxon), Δ=+3.1 [-0.4, +6.6] ...]``."""
        return [verdict.line() for _, verdict in self.decisions.values()]

    def cell_test_se(self, row: str, col: str) -> float:
        """s.e. of the cell's mean from the finite test sets alone: sqrt(Σ se²) / n (NaN if a
        trial's s.e. is unknown)."""
        ses = list(self.test_se.get((row, col), {}).values())
        if not ses or any(math.isnan(s) for s in ses):
            return math.nan
        return math.sqrt(sum(s * s for s in ses)) / len(ses)

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
