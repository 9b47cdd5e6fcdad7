"""Paired significance tests of each algorithm against ERM over (test env, trial) pairs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PairedTest", "paired_test", "versus_baseline"]

# below this many pairs the Wilcoxon signed-rank test cannot reach p < 0.05 (two-sided, exact),
# so the paired t-test is used instead, with that caveat stated in the note
MIN_WILCOXON_PAIRS = 6


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired test: p-value (NaN if not computable), number of pairs, test name."""

    p: float
    n: int
    test: str

    def describe(self) -> str:
        p = "n/a" if math.isnan(self.p) else f"{self.p:.3g}"
        return f"p={p} (n={self.n}, {self.test})"


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
        return PairedTest(math.nan, n, "too few pairs")
    if np.allclose(x, y):
        return PairedTest(1.0, n, "identical")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n >= MIN_WILCOXON_PAIRS:
            return PairedTest(float(stats.wilcoxon(x, y).pvalue), n, "Wilcoxon")
        return PairedTest(float(stats.ttest_rel(x, y).pvalue), n, "paired t")


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
