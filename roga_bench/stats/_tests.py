"""The paired tests, Holm's adjustment and the paired TOST: thin wrappers over scipy/statsmodels.

Pure functions on numbers; which values form a pair (one run of each algorithm with the same
trial seed and held-out envs) is the caller's business.

- :func:`paired_test`: two-sided Wilcoxon signed-rank (``scipy.stats.wilcoxon``) when at least
  :data:`MIN_WILCOXON_PAIRS` differences are non-zero, else the paired t-test
  (``scipy.stats.ttest_rel``). Wilcoxon drops zero differences (scipy's ``zero_method="wilcox"``)
  and its ``n`` is the count it kept; the paired t-test uses every pair. Its smallest possible
  two-sided p is ``2 / 2**n`` (exact distribution), which is why it needs 6 pairs to go below
  0.05 (1/32 = 0.031 at n = 6, 1/16 = 0.0625 at n = 5).
- :func:`holm`: what ``statsmodels.stats.multitest.multipletests(method="holm")`` computes (the
  same operations, written out: statsmodels runs ``gc.collect()`` on every Holm call); NaN stays
  NaN and does not count in m.
- :func:`tost_paired`: ``statsmodels.stats.weightstats.ttost_paired`` on the differences against
  zero, margins (-δ, +δ); p < α ⇔ the (1 − 2α) t interval of the mean difference lies inside ±δ.

The confidence interval of Δ is always the t interval of the mean paired difference (the
interval TOST inverts), whichever test gave the p-value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

__all__ = [
    "ALPHA",
    "MIN_WILCOXON_PAIRS",
    "PairedTest",
    "Tost",
    "holm",
    "paired_test",
    "tost_paired",
    "wilcoxon_min_p",
]

ALPHA = 0.05

# the fewest non-zero differences at which the exact two-sided Wilcoxon test can reach p < 0.05
# (2 / 2**6 = 0.031); below it the paired t-test is used
MIN_WILCOXON_PAIRS = 6


def wilcoxon_min_p(n: int) -> float:
    """The smallest two-sided p the exact Wilcoxon signed-rank test can give on ``n`` non-zero
    differences: every rank on one side, ``2 / 2**n`` (1 for n = 0)."""
    return min(1.0, 2.0 ** (1 - n)) if n > 0 else 1.0  # 2 / 2**n without overflow


@dataclass(frozen=True)
class PairedTest:
    """One paired comparison of ``a`` against ``b``.

    Attributes:
        n: the pairs the test used (Wilcoxon: the non-zero differences; paired t: all pairs).
        test: ``"paired t"``, ``"Wilcoxon"``, ``"identical"`` (every difference 0, p = 1) or
            ``"too few pairs"`` (below 2 pairs, p NaN).
        diff: mean of a - b over all pairs (NaN without pairs).
        sd: sample standard deviation of the differences (ddof 1; NaN below 2 pairs).
        p: two-sided p-value (NaN when not computable).
        n_pairs: all pairs without a NaN (zeros included): what ``diff``, ``sd`` and :meth:`ci`
            are computed over.
    """

    n: int
    test: str
    diff: float
    sd: float
    p: float
    n_pairs: int

    @property
    def se(self) -> float:
        """Standard error of the mean difference, ``sd / sqrt(n_pairs)``."""
        return self.sd / math.sqrt(self.n_pairs) if self.n_pairs >= 2 else math.nan

    def ci(self, level: float = 1 - ALPHA) -> tuple[float, float]:
        """Two-sided t interval of the mean difference at ``level`` ((NaN, NaN) below 2 pairs;
        a point when every difference is equal)."""
        if self.n_pairs < 2 or math.isnan(self.sd):
            return (math.nan, math.nan)
        half = float(stats.t.ppf(0.5 + level / 2, self.n_pairs - 1)) * self.se
        return (self.diff - half, self.diff + half)


def _clean(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired values of unequal length: {len(x)} and {len(y)}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep] - y[keep]


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired test of ``a`` against ``b`` (pairs holding a NaN are dropped).

    Wilcoxon signed-rank on the non-zero differences when there are at least
    :data:`MIN_WILCOXON_PAIRS` of them, else the paired t-test on all pairs.
    """
    d = _clean(a, b)
    n = len(d)
    diff = float(d.mean()) if n else math.nan
    if n < 2:
        return PairedTest(n, "too few pairs", diff, math.nan, math.nan, n)
    sd = float(d.std(ddof=1))
    nonzero = d[d != 0]
    if not len(nonzero):
        return PairedTest(n, "identical", diff, sd, 1.0, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(nonzero) >= MIN_WILCOXON_PAIRS:
            p = float(stats.wilcoxon(nonzero).pvalue)
            return PairedTest(len(nonzero), "Wilcoxon", diff, sd, p, n)
        p = float(stats.ttest_1samp(d, 0.0).pvalue)  # = ttest_rel(a, b)
    return PairedTest(n, "paired t", diff, sd, p, n)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (as statsmodels); NaN stays NaN and is not counted in m.

    With the m finite p-values sorted ascending, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``.
    """
    values = [float(p) for p in p_values]
    finite = [i for i, p in enumerate(values) if not math.isnan(p)]
    out = [math.nan] * len(values)
    if finite:
        adjusted = _holm_adjusted(np.asarray([values[i] for i in finite]))
        for i, p in zip(finite, adjusted, strict=True):
            out[i] = float(p)
    return out


def _holm_adjusted(p: np.ndarray) -> np.ndarray:
    """What ``multipletests(p, method="holm")[1]`` computes, operation for operation (sort,
    times m - j + 1, running max, capped at 1), without its ``gc.collect()`` on every call
    (0.1-0.5 s each in a process holding torch; tests/test_stats_mutants.py checks the two
    agree)."""
    order = np.argsort(p, kind="stable")
    ranked = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(ranked)
    out[order] = np.minimum(ranked, 1.0)
    return out


def holm_levels(p_values: Sequence[float], alpha: float = ALPHA) -> list[float]:
    """The level each p-value is compared with at its Holm position: ``alpha / (m - k + 1)``
    for the k-th smallest of the m finite ones (NaN for NaN; ties share the first one's level,
    as their adjusted p-values do)."""
    finite = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    out = [math.nan] * len(p_values)
    first: dict[float, int] = {}  # tied p-values share the level of their first position
    for k, (p, i) in enumerate(finite):
        out[i] = alpha / (len(finite) - first.setdefault(p, k))
    return out


@dataclass(frozen=True)
class Tost:
    """A paired two one-sided tests (TOST) result against margins (-δ, +δ).

    Attributes:
        p: the TOST p-value, max of the two one-sided p-values (NaN below 2 pairs).
        p_lower: p of H0: Δ <= -δ. p_upper: p of H0: Δ >= +δ.
        margin: δ (same unit as the data).
    """

    p: float
    p_lower: float
    p_upper: float
    margin: float

    def equivalent(self, alpha: float = ALPHA) -> bool:
        """TOST at level ``alpha``: both one-sided nulls rejected."""
        return not math.isnan(self.p) and self.p < alpha


def tost_paired(diffs: Sequence[float], margin: float, alpha: float = ALPHA) -> Tost:
    """Paired TOST of the mean of ``diffs`` against (-``margin``, +``margin``) (statsmodels).

    ``alpha`` only documents the level the caller compares ``p`` with (``Tost.equivalent``);
    the p-value does not depend on it. Zero spread (every difference equal) has no t statistic:
    p = 0 when the common difference is strictly inside the margins, else 1.

    Raises:
        ValueError: ``margin`` not a positive number.
    """
    if not margin > 0:
        raise ValueError(f"equivalence margin {margin!r}: expected a positive number")
    del alpha
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return Tost(math.nan, math.nan, math.nan, margin)
    if float(d.std(ddof=1)) == 0.0:
        inside = abs(float(d[0])) < margin
        p = 0.0 if inside else 1.0
        return Tost(p, 0.0 if d[0] > -margin else 1.0, 0.0 if d[0] < margin else 1.0, margin)
    p, lower, upper = ttost_paired(d, np.zeros_like(d), -margin, margin)
    return Tost(float(p), float(lower[1]), float(upper[1]), margin)
