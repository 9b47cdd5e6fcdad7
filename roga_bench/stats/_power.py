"""Power, the minimum detectable effect and the trials that would decide a comparison.

Exact noncentral t (what ``statsmodels.stats.power.TTestPower`` computes; its ``solve_power``
gives the MDE) for the paired t-test, at the level
the decision actually uses (the Holm-adjusted level of the row's position, not a bare 0.05).
What no library gives, written here:

- Wilcoxon power: the t power at ``n · 3/π`` pairs (its asymptotic efficiency relative to the
  t-test for normal differences), and zero whenever its exact floor ``2 / 2**n`` is not below the
  level: at 6 pairs it cannot go below 1/32, which Holm over 6 rows lifts above 0.05.
- TOST power: ``P(T₁ > t_c) + P(T₂ < −t_c) − 1`` with T₁, T₂ the two one-sided statistics
  (noncentral t, t_c the one-sided critical value); a lower bound of the exact power, so the
  trial count it gives errs on the side of more trials.

The counts are for planning a *new* sweep (or the sequential design, ``--until_decided``):
adding trials to runs already looked at and testing again is a second look, whose error rate
these numbers do not control.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats
from statsmodels.stats.power import TTestPower

from roga_bench.stats._tests import MIN_WILCOXON_PAIRS, PairedTest, wilcoxon_min_p

__all__ = [
    "POWER",
    "Need",
    "floor_reason",
    "min_detectable_effect",
    "power_difference",
    "power_equivalence",
    "t_power",
    "trials_to_decide",
]

POWER = 0.8
WILCOXON_EFFICIENCY = 3 / math.pi  # Pitman ARE of Wilcoxon vs t for normal differences
MAX_TRIALS = 10_000


def power_difference(n: int, effect: float, sd: float, level: float) -> float:
    """Power of the two-sided test the table would use at ``n`` pairs (Wilcoxon from
    :data:`MIN_WILCOXON_PAIRS` on, else paired t) to find a true mean difference ``effect``
    with difference spread ``sd`` at ``level``."""
    if n < 2 or not sd > 0:
        return math.nan
    wilcoxon = n >= MIN_WILCOXON_PAIRS
    if wilcoxon and wilcoxon_min_p(n) >= level:
        return 0.0
    nobs = max(2.0, n * WILCOXON_EFFICIENCY) if wilcoxon else float(n)
    return t_power(nobs, abs(effect) / sd, level)


def t_power(nobs: float, effect_size: float, level: float) -> float:
    """Exact power of the two-sided one-sample (paired) t-test: both noncentral-t tails.

    What ``TTestPower().power`` computes; written out because statsmodels returns NaN when a
    tail underflows (effect sizes of 5 and more at small n), where the tail is simply 0.
    """
    df, nc = nobs - 1, effect_size * math.sqrt(nobs)
    crit = float(stats.t.ppf(1 - level / 2, df))
    tails = [float(stats.nct.sf(crit, df, nc)), float(stats.nct.cdf(-crit, df, nc))]
    return min(1.0, sum(0.0 if math.isnan(t) else t for t in tails))


def power_equivalence(n: int, effect: float, sd: float, margin: float, level: float) -> float:
    """Lower bound of the paired TOST's power at ``n`` pairs (true difference ``effect``)."""
    if n < 2 or not sd > 0:
        return math.nan
    df, root = n - 1, math.sqrt(n)
    crit = float(stats.t.ppf(1 - level, df))
    low = float(stats.nct.sf(crit, df, (effect + margin) * root / sd))
    high = float(stats.nct.cdf(-crit, df, (effect - margin) * root / sd))
    low, high = (0.0 if math.isnan(x) else x for x in (low, high))  # an underflowed tail is 0
    return max(0.0, low + high - 1.0)


def min_detectable_effect(sd: float, n: int, level: float = 0.05, power: float = POWER) -> float:
    """The smallest true difference the paired t-test finds with ``power`` at ``level`` over
    ``n`` pairs (exact noncentral t); NaN below 2 pairs or without spread."""
    if n < 2 or not sd > 0:
        return math.nan
    es = TTestPower().solve_power(effect_size=None, nobs=n, alpha=level, power=power)
    return float(es) * sd


def floor_reason(test: PairedTest, level: float) -> str | None:
    """Why ``test`` cannot reach ``level`` at its own n whatever the data, or None."""
    if test.test == "Wilcoxon" and wilcoxon_min_p(test.n) >= level:
        return (
            f"cannot be decided with this test at {test.n} pairs: the Wilcoxon test's smallest "
            f"p, {wilcoxon_min_p(test.n):.3g}, is not below the level {level:.3g}"
        )
    if test.test == "too few pairs":
        return f"cannot be decided with {test.n_pairs} pair(s): a paired test needs 2"
    return None


@dataclass(frozen=True)
class Need:
    """The trials a *new* run of the comparison would need to decide it with power 0.8.

    Attributes:
        trials: the trial count (> the trials already run), or None (see ``reason``).
        pairs: the run pairs those trials give.
        target: ``"difference"`` (|Δ| >= δ: show it is not 0) or ``"equivalence"`` (|Δ| < δ:
            show it lies inside ±δ).
        reason: why there is no count (no spread to plan from, over ``MAX_TRIALS``).
    """

    trials: int | None
    pairs: int | None
    target: str
    reason: str | None = None

    def text(self) -> str:
        if self.trials is None:
            return str(self.reason)
        return f"about {self.trials} trials in a new sweep would decide it ({self.target})"


def _first_clear_wilcoxon(level: float) -> int:
    """The fewest pairs from which the difference test's power rises with n: the Wilcoxon test
    is in use and its floor ``2 / 2**n`` is below ``level`` (at most 1075 pairs, where the floor
    underflows to 0)."""
    n = MIN_WILCOXON_PAIRS
    while wilcoxon_min_p(n) >= level and n < 1075:
        n += 1
    return n


def trials_to_decide(
    test: PairedTest,
    *,
    level: float,
    margin: float,
    trials_run: int,
    pairs_per_trial: float = 1.0,
    power: float = POWER,
    max_trials: int = MAX_TRIALS,
) -> Need:
    """The fewest trials above ``trials_run`` whose pairs reach ``power`` for the decision that
    the observed Δ points to, by the test that would be used and at ``level`` (the row's Holm
    level): a difference test at effect |Δ| when |Δ| >= ``margin``, else TOST at ±``margin``.

    The observed Δ and spread stand in for the true ones (a plan, not a promise). Never returns
    a count at or below ``trials_run``.
    """
    target = "difference" if abs(test.diff) >= margin else "equivalence"
    if test.n_pairs < 2 or not test.sd > 0:
        why = "no spread of the differences to plan from" if test.n_pairs >= 2 else "too few pairs"
        return Need(None, None, target, f"no trial count: {why}")
    ppt = pairs_per_trial if pairs_per_trial > 0 else 1.0

    def enough(trials: int) -> bool:  # power grows with the pairs (and the Wilcoxon floor falls)
        pairs = max(2, math.floor(trials * ppt))
        if target == "difference":
            return power_difference(pairs, test.diff, test.sd, level) >= power
        return power_equivalence(pairs, test.diff, test.sd, margin, level) >= power

    low = max(trials_run, 0) + 1
    if target == "difference":
        # Power is not monotone in the pairs until the Wilcoxon floor clears the level: 5 pairs
        # (paired t) can decide where 6 (Wilcoxon, floor 2/2**6) cannot. Those counts are tried
        # one by one, so a search that jumps over them cannot miss the fewest.
        monotone_from = _first_clear_wilcoxon(level)
        while low <= max_trials and max(2, math.floor(low * ppt)) < monotone_from:
            if enough(low):
                return Need(low, max(2, math.floor(low * ppt)), target)
            low += 1
        if low > max_trials:
            return Need(None, None, target, f"more than {max_trials} trials would be needed")
    high = low
    while not enough(high):  # double, then bisect: O(log) power evaluations
        if high >= max_trials:
            return Need(None, None, target, f"more than {max_trials} trials would be needed")
        low, high = high + 1, min(max_trials, 2 * high)
    while low < high:
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid + 1
    return Need(high, max(2, math.floor(high * ppt)), target)
