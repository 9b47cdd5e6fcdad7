"""Paired tests, their minimum detectable effect, Holm's adjustment and a trial-count estimate.

Pure functions on numbers; which values form a pair (one pair = one run of each algorithm with
the same trial seed and held-out envs) is ``_compare``'s business. Besides the p-value, every
test reports the mean paired difference and the minimum detectable
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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "ALPHA",
    "PairedTest",
    "holm",
    "mde_factor",
    "min_detectable_effect",
    "pairs_to_decide",
    "paired_test",
]

ALPHA = 0.05
POWER = 0.8

# below this many pairs the Wilcoxon signed-rank test cannot reach p < 0.05 (two-sided, exact),
# so the paired t-test is used instead, with that caveat stated in the note
MIN_WILCOXON_PAIRS = 6


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired test: p-value (NaN if not computable), number of pairs, test name,
    mean difference (a - b), the minimum detectable effect (both NaN below 2 pairs) and the
    Holm-adjusted p-value among the tests of one table (NaN until :func:`holm` sets it)."""

    p: float
    n: int
    test: str
    diff: float = math.nan
    mde: float = math.nan
    p_holm: float = math.nan

    def describe(self, unit: str = "") -> str:
        """``Δ=+1.2, p=0.04, Holm p=0.08 (n=10 run pairs, Wilcoxon), MDE 1.9`` (points)."""
        p = "n/a" if math.isnan(self.p) else f"{self.p:.3g}"
        text = f"p={p}"
        if not math.isnan(self.p_holm):
            text += f", Holm p={self.p_holm:.3g}"
        text += f" (n={self.n}{' ' + unit if unit else ''}, {self.test})"
        if not math.isnan(self.diff):
            text = f"Δ={100 * self.diff:+.1f}, " + text
        if not math.isnan(self.mde):
            text += f", MDE {100 * self.mde:.1f}"
        return text

    def summary(self, unit: str = "pairs") -> str:
        """``n=12 run pairs, Δ=+3.1, p=0.002, Holm p=0.01, MDE 1.9`` (AUC points)."""
        return (
            f"n={self.n} {unit}, Δ={_num(self.diff, '+.1f', 100)}, p={_num(self.p, '.3g')}, "
            f"Holm p={_num(self.p_holm, '.3g')}, MDE {_num(self.mde, '.1f', 100)}"
        )


def _num(value: float, fmt: str, scale: float = 1.0) -> str:
    return "n/a" if math.isnan(value) else format(scale * value, fmt)


def min_detectable_effect(d: Sequence[float], alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of a two-sided paired t-test on differences ``d``: (t_{1-α/2} + t_power)·s_d/√n.

    NaN below 2 differences (no spread to estimate); 0 when all differences are equal.
    """
    arr = np.asarray(d, dtype=float)
    arr = arr[~np.isnan(arr)]
    n = len(arr)
    if n < 2:
        return math.nan
    return float(mde_factor(n, alpha, power) * arr.std(ddof=1) / math.sqrt(n))


def mde_factor(n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """``t_{1-α/2, n-1} + t_{power, n-1}``: MDE = this · s_d / √n (n >= 2 pairs)."""
    return float(stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1))


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


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (NaN stays NaN and does not count in m).

    With the m finite p-values sorted ascending, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``: the family-wise error rate stays at alpha.
    """
    finite = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(finite)
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def pairs_to_decide(
    sd: float, target: float, alpha: float = ALPHA, power: float = POWER, limit: int = 100_000
) -> int | None:
    """The fewest pairs n whose MDE ``(t_{1-α/2,n-1} + t_{power,n-1}) sd / sqrt(n)`` is at most
    ``target``; None when ``sd`` or ``target`` is not a positive finite number or n > ``limit``."""
    if not (sd > 0 and target > 0) or math.isinf(sd):
        return None
    # the normal approximation is a lower bound; step up from there
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, math.ceil((z * sd / target) ** 2))
    while n <= limit:
        if mde_factor(n, alpha, power) * sd / math.sqrt(n) <= target:
            return n
        n += 1
    return None
