"""Each row against its baseline row (ERM): which runs pair, and the words under the table.

A *pair* is one run of the row and one of its baseline with the same trial seed, the same
held-out env set (their *unit*, see ``_fill``) and identical shared settings (``_settings``):
under the sweep's paired seeds the two started from the same weights and saw the same batches.
A run that cannot be paired (no baseline run of its trial, another held-out set, other
settings, no baseline row at all) stays out of the test and is listed with the reason. Columns
that come from one run are not independent, so the table-level test first averages a run's AUC
columns (one value per unit), then pairs units; every column also gets its own test over the
units that fill it. The statistics, the Holm adjustment and the decision rule are
``roga_bench.stats``'; this module only gathers the pairs and writes the notes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from roga_bench.reporting._settings import differences
from roga_bench.reporting._table import Table
from roga_bench.stats import Comparison, PairedTest, decide, paired_test

__all__ = [
    "add_significance",
    "base_of",
    "column_tests",
    "note_excluded",
    "pair_units",
    "unit_values",
]

Pairs = dict[Hashable, tuple[float, float]]
Settings = Mapping[str, Mapping[str, Any]]


def base_of(row: str, base: str) -> str:
    """The baseline row of ``row``: ``base`` with the row's setting suffix (``"RoGA [lr=0.01]"``
    -> ``"ERM [lr=0.01]"``), so a row is never compared with its baseline at another setting."""
    if row.endswith("]") and " [" in row and not base.endswith("]"):
        return base + row[row.rindex(" [") :]
    return base


def _name(run: str) -> str:
    return Path(run).name


def pair_units(
    table: Table, row: str, base: str, columns: Sequence[str], settings: Settings
) -> tuple[Pairs, list[tuple[str, str]], set[str]]:
    """``({unit: (row's mean, baseline's mean)}, [(run, why not paired)], runs paired)`` over
    ``columns`` (runs paired: both sides); a unit's value is the mean over the columns both
    filled from it."""
    acc: dict[Hashable, list[tuple[float, float]]] = {}
    left: list[tuple[str, str]] = []
    used: set[str] = set()
    for col in columns:
        mine, theirs = table.samples.get((row, col), {}), table.samples.get((base, col), {})
        for trial in mine:
            unit = table.units.get((row, col), {}).get(trial, (trial,))
            runs = table.runs.get((row, col), {}).get(trial, ())
            if trial not in theirs:
                why = f"no {base} run of trial {trial} (held-out {_sets(unit)}) to pair with"
                left += [(r, why) for r in runs]
                continue
            other = table.runs.get((base, col), {}).get(trial, ())
            if unit != table.units.get((base, col), {}).get(trial, (trial,)):
                why = f"held-out set {_sets(unit)} differs from its {base} run's"
                left += [(r, why) for r in runs]
                continue
            diff = _setting_differences(runs, other, settings)
            if diff:
                why = f"settings differ from {base}'s run {_name(other[0])}: {', '.join(diff)}"
                left += [(r, why) for r in runs]
                continue
            a, b = mine[trial], theirs[trial]
            if not (math.isnan(a) or math.isnan(b)):
                acc.setdefault(unit, []).append((a, b))
                used.update(other)
                used.update(runs)
    values = {
        u: (sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v)) for u, v in acc.items()
    }
    return values, left, used


def _sets(unit: Hashable) -> str:
    """A unit's held-out envs as a reader writes them: ``[4, 5, 6]``, or ``[0], [1]`` for the
    several held-out sets of a GID trial (not Python's tuple of tuples)."""
    if not (isinstance(unit, tuple) and len(unit) > 1):
        return "-"
    sets = unit[1]
    if isinstance(sets, tuple) and sets and all(isinstance(s, tuple) for s in sets):
        return ", ".join(str(list(s)) for s in sets)
    return str(list(sets)) if isinstance(sets, tuple) else str(sets)


def _setting_differences(mine: Sequence[str], theirs: Sequence[str], settings: Settings) -> list:
    if not settings or not mine or not theirs:
        return []
    found: list[str] = []
    for a in mine:
        for b in theirs:
            found += [
                d for d in differences(settings.get(a, {}), settings.get(b, {})) if d not in found
            ]
    return found


def unit_values(table: Table, row: str, base: str, columns: Sequence[str]) -> Pairs:
    """``{unit: (row's mean, baseline's mean)}`` without the settings check (tests, analysis)."""
    return pair_units(table, row, base, columns, {})[0]


def _test(values: Mapping[Hashable, tuple[float, float]]) -> PairedTest:
    keys = sorted(values, key=str)
    return paired_test([values[k][0] for k in keys], [values[k][1] for k in keys])


def column_tests(
    table: Table, baselines: Mapping[str, str], columns: Sequence[str], settings: Settings
) -> dict[str, dict[str, PairedTest]]:
    """``{row: {column: PairedTest}}``: each column alone, pairs = paired units filling it."""
    out: dict[str, dict[str, PairedTest]] = {}
    for row, base in baselines.items():
        for col in columns:
            if (row, col) in table.samples and (base, col) in table.samples:
                values = pair_units(table, row, base, [col], settings)[0]
                out.setdefault(row, {})[col] = _test(values)
    return out


UNIT_NOTE = (
    "Paired tests vs {versus} on AUC, the run as the unit: a pair = the two runs of one trial "
    "seed and held-out set with identical shared settings, a run's AUC columns averaged; Holm "
    "across the rows of this table. {rule}"
)


def add_significance(
    table: Table, baselines: dict[str, str], versus: str = "ERM", ctx: Any = None
) -> None:
    """The paired tests of each row against its baseline row (AUC columns), their verdicts
    under ``table.rule`` (``table.decisions``), the notes, and the runs left out of the tests.

    Args:
        table: a built table (``samples``, ``units`` and ``runs`` filled).
        baselines: ``{row: baseline row}`` (a setting's row gets the baseline of its setting).
        versus: how the notes name the baseline ("ERM", "the same backbone's ERM").
        ctx: the ``Context``: its decision rule (α, δ) and each run's settings
            (``run_settings``); None: the default rule, settings not checked.
    """
    settings: Settings = {}
    if ctx is not None:
        table.rule, settings = ctx.rule, ctx.run_settings
    columns = [c.key for c in table.columns if c.metric == "auc"]
    rows = {k[0] for k in table.samples}
    pairs: dict[str, tuple[str, Pairs]] = {}
    used: set[str] = set()
    no_base = False
    for row in [r for r in table.rows if r in baselines]:
        base = base_of(row, baselines[row])
        if row == base or row not in rows:
            continue
        if base not in rows:
            no_base = True
            why = f"no {base} row (no runs) to compare with"
            table.excluded += [(r, why) for r in _row_runs(table, row)]
            continue
        values, left, paired = pair_units(table, row, base, columns, settings)
        table.excluded += left
        used |= paired
        pairs[row] = (base, values)
    listed = {r for r, _ in table.excluded}
    for row in sorted({k[0] for k in table.runs}):  # e.g. ERM runs at a setting no row shares
        if row in baselines or any(base_of(r, b) == row for r, b in baselines.items()):
            why = f"{row} run in no paired test (no compared run of its trial and settings)"
        else:  # a row the caller keeps out of the tests (Table IV's rows marked ours)
            why = f"{row} run: its row is shown but not in this table's paired tests"
        table.excluded += [(r, why) for r in _row_runs(table, row) if r not in used | listed]
    if not pairs:
        if no_base:
            table.notes.append(f"No {versus} rows to pair with: no tests vs {versus}.")
        note_excluded(table)
        return
    comparisons = [
        Comparison(f"{row} vs {base}", *_columns(values), *_per_trial(values))
        for row, (base, values) in pairs.items()
    ]
    verdicts = decide(comparisons, table.rule)
    for (row, (base, _)), verdict in zip(pairs.items(), verdicts, strict=True):
        table.decisions[row] = (base, verdict)
        table.significance[row] = verdict.test
    table.column_tests = column_tests(
        table, {row: base for row, (base, _) in pairs.items()}, columns, settings
    )
    table.notes.append(UNIT_NOTE.format(versus=versus, rule=table.rule.text()))
    table.notes.append(_column_note(table, list(pairs), versus))
    note_excluded(table)


def _columns(values: Pairs) -> tuple[tuple[float, ...], tuple[float, ...]]:
    keys = sorted(values, key=str)
    return tuple(values[k][0] for k in keys), tuple(values[k][1] for k in keys)


def _per_trial(values: Pairs) -> tuple[int, float]:
    """(trials the pairs come from, pairs per trial)."""
    trials = {u[0] if isinstance(u, tuple) else u for u in values}
    return len(trials), (len(values) / len(trials) if trials else 1.0)


def _row_runs(table: Table, row: str) -> list[str]:
    found = {
        r for (name, _), per in table.runs.items() if name == row for rs in per.values() for r in rs
    }
    return sorted(found)


def note_excluded(table: Table) -> None:
    """``Runs left out ...: 5 (3 × <reason>; ...)`` under the table (each run in excluded.csv);
    also drops duplicate (run, reason) entries."""
    seen: dict[tuple[str, str], None] = {}
    for item in table.excluded:
        seen.setdefault(item, None)
    table.excluded = list(seen)
    what = "cells or tests" if table.decisions else "cells"
    if not table.excluded:
        table.notes.append(f"Runs left out of this table's {what}: none.")
        return
    counts: dict[str, int] = {}
    for _, why in table.excluded:
        counts[why] = counts.get(why, 0) + 1
    runs = len({r for r, _ in table.excluded})
    parts = "; ".join(f"{n} × {why}" for why, n in counts.items())
    table.notes.append(
        f"Runs left out of this table's {what}: {runs} ({parts}); each run and why in excluded.csv."
    )


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
    return f"Per-column paired tests vs {versus} (n = run pairs of that column; no Holm): " + (
        "; ".join(parts) + "." if parts else "none."
    )
