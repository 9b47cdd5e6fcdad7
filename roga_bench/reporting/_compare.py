"""Each row against its baseline row (ERM): the run as the unit, Holm, and a decision per row.

A *pair* is one run of the row and one of its baseline with the same trial seed and the same
held-out env set (their *unit*, see ``_fill``): under the sweep's paired seeds the two started
from the same weights and saw the same batches. Columns that come from one run are not
independent, so the table-level test first averages a run's AUC columns (one value per unit),
then pairs units; every column also gets its own test over the units that fill it. Holm's
adjustment runs over the table-level tests of one table. The decision per row:

- ``better`` / ``worse``: Holm p < 0.05 (the sign of Δ);
- ``equal within ±MDE``: not significant and the MDE is at most 2 AUC points;
- ``undecided (MDE x; about N trials would decide)``: otherwise; N is the trial count whose MDE,
  at the observed spread of the pair differences, reaches max(2 points, |Δ|).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace

from roga_bench.reporting._significance import (
    ALPHA,
    PairedTest,
    holm,
    mde_factor,
    paired_test,
    pairs_to_decide,
)
from roga_bench.reporting._table import Table

__all__ = [
    "EQUIVALENCE_MARGIN",
    "add_significance",
    "column_tests",
    "decide",
    "unit_values",
    "versus_rows",
]

EQUIVALENCE_MARGIN = 0.02  # 2 AUC points: "equal" needs an MDE at most this

Samples = Mapping[tuple[str, str], Mapping[Hashable, float]]
Units = Mapping[tuple[str, str], Mapping[Hashable, Hashable]]


def unit_values(
    samples: Samples, units: Units, row: str, base: str, columns: Sequence[str]
) -> dict[Hashable, tuple[float, float]]:
    """``{unit: (row's mean, baseline's mean)}`` over the columns both filled from that unit.

    A trial whose row and baseline values come from different held-out sets is no pair.
    """
    acc: dict[Hashable, list[tuple[float, float]]] = {}
    for col in columns:
        mine, theirs = samples.get((row, col), {}), samples.get((base, col), {})
        for trial in set(mine) & set(theirs):
            unit = units.get((row, col), {}).get(trial, (trial,))
            if unit != units.get((base, col), {}).get(trial, (trial,)):
                continue
            a, b = mine[trial], theirs[trial]
            if not (math.isnan(a) or math.isnan(b)):
                acc.setdefault(unit, []).append((a, b))
    return {
        u: (sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v)) for u, v in acc.items()
    }


def _test(values: Mapping[Hashable, tuple[float, float]]) -> PairedTest:
    keys = sorted(values, key=str)
    return paired_test([values[k][0] for k in keys], [values[k][1] for k in keys])


def versus_rows(
    samples: Samples, units: Units, baselines: Mapping[str, str], columns: Sequence[str]
) -> dict[str, PairedTest]:
    """Each row in ``baselines`` against its baseline row, one pair per unit (run), with Holm.

    Args:
        samples: ``{(row, column key): {trial: value}}`` (a table's per-trial values).
        units: ``{(row, column key): {trial: unit}}``; a missing unit is the trial alone.
        baselines: ``{row: baseline row}``, e.g. ``{"SAM": "ERM"}``.
        columns: the column keys of the test (e.g. the table's AUC columns).

    Returns:
        ``{row: PairedTest}`` (``p_holm`` set) for the rows whose baseline has values.
    """
    out = {}
    for row, base in baselines.items():
        has = [any((r, col) in samples for col in columns) for r in (row, base)]
        if all(has) and row != base:  # a row or baseline without runs gets no test
            out[row] = _test(unit_values(samples, units, row, base, columns))
    adjusted = holm([t.p for t in out.values()])
    return {row: replace(t, p_holm=p) for (row, t), p in zip(out.items(), adjusted, strict=True)}


def column_tests(
    samples: Samples, units: Units, baselines: Mapping[str, str], columns: Sequence[str]
) -> dict[str, dict[str, PairedTest]]:
    """``{row: {column: PairedTest}}``: each column alone, pairs = units filling it."""
    out: dict[str, dict[str, PairedTest]] = {}
    for row, base in baselines.items():
        for col in columns:
            if row != base and (row, col) in samples and (base, col) in samples:
                values = unit_values(samples, units, row, base, [col])
                out.setdefault(row, {})[col] = _test(values)
    return out


def decide(test: PairedTest, pairs_per_trial: float) -> str:
    """The decision text of one comparison (see the module docstring)."""
    if math.isnan(test.p):
        return f"undecided (n={test.n} run pairs: too few to test)"
    p = test.p if math.isnan(test.p_holm) else test.p_holm
    if p < ALPHA:
        return "better" if test.diff > 0 else "worse"
    if test.mde <= EQUIVALENCE_MARGIN:
        return f"equal within ±{100 * test.mde:.1f}"
    sd = test.mde * math.sqrt(test.n) / mde_factor(test.n)  # the observed spread s_d
    need = pairs_to_decide(sd, max(EQUIVALENCE_MARGIN, abs(test.diff)))
    trials = "over 10^5 pairs" if need is None else str(math.ceil(need / pairs_per_trial))
    return f"undecided (MDE {100 * test.mde:.1f}; about {trials} trials would decide)"


UNIT_NOTE = (
    "Paired test vs {versus} on AUC, the run as the unit: a pair = the two runs of one trial "
    "seed and held-out set, a run's AUC columns averaged (Wilcoxon signed-rank for ≥ 6 pairs, "
    "else paired t; Holm across the rows of this table): "
)
MDE_NOTE = (
    "Δ = mean paired difference and MDE = the smallest difference the paired t-test could "
    "detect at p < 0.05 with power 0.8 and the observed spread, both in AUC points, over "
    "independent run pairs; a non-significant Δ means 'equal' only within the MDE."
)


def add_significance(table: Table, baselines: dict[str, str], versus: str = "ERM") -> None:
    """Table-level and per-column paired tests of each row against its baseline row (AUC
    columns), their notes and one decision line per compared row (``table.decisions``).

    Args:
        table: a built table (``samples`` and ``units`` filled).
        baselines: ``{row: baseline row}``; rows or baselines without values are skipped.
        versus: how the notes name the baseline ("ERM", "the same backbone's ERM").
    """
    columns = [c.key for c in table.columns if c.metric == "auc"]
    tests = versus_rows(table.samples, table.units, baselines, columns)
    table.significance = tests
    table.column_tests = column_tests(table.samples, table.units, baselines, columns)
    if not tests:
        rows = {k[0] for k in table.samples}
        if any(r in baselines and baselines[r] not in rows for r in rows):  # no baseline runs
            table.notes.append(f"No {versus} rows: significance tests vs {versus} not computed.")
        return
    ordered = [row for row in table.rows if row in tests]
    parts = [f"{row} {tests[row].describe('run pairs')}" for row in ordered]
    table.notes.append(UNIT_NOTE.format(versus=versus) + "; ".join(parts) + ". " + MDE_NOTE)
    table.notes.append(_column_note(table, ordered, versus))
    for row in ordered:
        decision = decide(tests[row], _pairs_per_trial(table, row, baselines))
        table.decisions[row] = (baselines[row], decision)


def _pairs_per_trial(table: Table, row: str, baselines: Mapping[str, str]) -> float:
    columns = [c.key for c in table.columns if c.metric == "auc"]
    values = unit_values(table.samples, table.units, row, baselines[row], columns)
    trials = {u[0] if isinstance(u, tuple) else u for u in values}
    return len(values) / len(trials) if trials else 1.0


def _column_note(table: Table, rows: Sequence[str], versus: str) -> str:
    labels = {c.key: f"{c.group} {c.label}".strip() for c in table.columns}
    parts = []
    for row in rows:
        tests = table.column_tests.get(row, {})
        cols = [
            f"{labels[c]} Δ={100 * t.diff:+.1f} p={'n/a' if math.isnan(t.p) else f'{t.p:.3g}'}"
            f" (n={t.n})"
            for c, t in tests.items()
            if not math.isnan(t.diff)
        ]
        if cols:
            parts.append(f"{row}: " + ", ".join(cols))
    return f"Per-column paired tests vs {versus} (n = run pairs of that column): " + (
        "; ".join(parts) + "." if parts else "none."
    )
