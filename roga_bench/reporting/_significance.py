"""Paired significance tests of each row against its baseline (ERM) over (column, trial) pairs.

Besides the p-value, every test reports the mean paired difference and the minimum detectable
effect (MDE) of a two-sided paired t-test at alpha = 0.05 with power 0.8, from the observed spread
of the differences d (s_d, sample std) over n pairs::

    MDE = (t_{0.975, n-1} + t_{0.8, n-1}) * s_d / sqrt(n)

A difference smaller than the MDE that the test does not find is not evidence of equality: with
more trials the same difference could become significant. The MDE is that of the paired t-test
also when the Wilcoxon test gives the p-value (its efficiency relative to the t-test is about
0.95 for normal differences, so its MDE is slightly larger).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PairedTest", "paired_test", "versus_baseline", "min_detectable_effect", "versus_rows"]

ALPHA = 0.05
POWER = 0.8

# below this many pairs the Wilcoxon signed-rank test cannot reach p < 0.05 (two-sided, exact),
# so the paired t-test is used instead, with that caveat stated in the note
MIN_WILCOXON_PAIRS = 6


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired test: p-value (NaN if not computable), number of pairs, test name,
    mean difference (a - b) and the minimum detectable effect (both NaN below 2 pairs)."""

    p: float
    n: int
    test: str
    diff: float = math.nan
    mde: float = math.nan

    def describe(self) -> str:
        """``Δ=+1.2, p=0.04 (n=10, Wilcoxon), MDE 1.9`` (differences in percentage points)."""
        p = "n/a" if math.isnan(self.p) else f"{self.p:.3g}"
        text = f"p={p} (n={self.n}, {self.test})"
        if not math.isnan(self.diff):
            text = f"Δ={100 * self.diff:+.1f}, " + text
        if not math.isnan(self.mde):
            text += f", MDE {100 * self.mde:.1f}"
        return text


def min_detectable_effect(d: Sequence[float], alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of a two-sided paired t-test on differences ``d``: (t_{1-α/2} + t_power)·s_d/√n.

    NaN below 2 differences (no spread to estimate); 0 when all differences are equal.
    """
    arr = np.asarray(d, dtype=float)
    arr = arr[~np.isnan(arr)]
    n = len(arr)
    if n < 2:
        return math.nan
    t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * arr.std(ddof=1) / math.sqrt(n))


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired test of ``a`` against ``b`` (pairs with a NaN are dropped).

    Wilcoxon signed-rank for n >= 6 pairs, the paired t-test for 2 <= n < 6, nothing below.
    All-equal pairs give p = 1.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 2:
        diff = float(np.mean(x - y)) if n else math.nan
        return PairedTest(math.nan, n, "too few pairs", diff)
    diff, mde = float(np.mean(x - y)), min_detectable_effect(x - y)
    if np.allclose(x, y):
        return PairedTest(1.0, n, "identical", diff, mde)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n >= MIN_WILCOXON_PAIRS:
            return PairedTest(float(stats.wilcoxon(x, y).pvalue), n, "Wilcoxon", diff, mde)
        return PairedTest(float(stats.ttest_rel(x, y).pvalue), n, "paired t", diff, mde)


def versus_baseline(
    selected: pd.DataFrame, value: str, baseline: str = "ERM"
) -> dict[str, PairedTest]:
    """Each algorithm in ``selected`` against ``baseline`` on ``value``.

    Pairs are matched on (test env name, trial seed); the rows of ``selected`` must come from
    one dataset and backbone.

    Returns:
        ``{algorithm: PairedTest}`` for every algorithm except the baseline (empty without it).
    """
    if selected.empty or baseline not in set(selected["algorithm"]):
        return {}
    table = selected.pivot_table(
        index=["env_name", "trial_seed"],
        columns="algorithm",
        values=value,
        aggfunc="mean",
        dropna=False,
    )
    out = {}
    for algorithm in table.columns:
        if algorithm != baseline:
            out[algorithm] = paired_test(table[algorithm], table[baseline])
    return out


def versus_rows(
    samples: Mapping[tuple[str, str], Mapping[object, float]],
    baselines: Mapping[str, str],
    columns: Sequence[str],
) -> dict[str, PairedTest]:
    """Each row in ``baselines`` against its baseline row, paired over (column, trial).

    Args:
        samples: ``{(row, column key): {trial: value}}`` (a table's per-trial values).
        baselines: ``{row: baseline row}``, e.g. ``{"SAM": "ERM"}``.
        columns: the column keys to pair over (e.g. the table's AUC columns).

    Returns:
        ``{row: PairedTest}`` for the rows whose baseline has values (others left out).
    """
    out = {}
    for row, base in baselines.items():
        a, b = [], []
        for col in columns:
            mine, theirs = samples.get((row, col), {}), samples.get((base, col), {})
            for trial in sorted(set(mine) & set(theirs), key=str):
                a.append(mine[trial])
                b.append(theirs[trial])
        has = [any((r, col) in samples for col in columns) for r in (row, base)]
        if all(has) and row != base:  # a row or baseline without runs gets no test
            out[row] = paired_test(a, b)
    return out
