"""Lan-DeMets α spending and boundaries for the paired t statistic, calibrated by simulation.

See ``roga_bench.stats.sequential`` for the design that uses them and why they are calibrated.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats

__all__ = ["CALIBRATION_SEED", "N_SIM", "SPENDING", "spent", "t_boundaries"]

SPENDING = ("obf", "pocock")
N_SIM = 2**18  # null sequences of the calibration: MC s.e. of a 5 % level about 0.0004
CALIBRATION_SEED = 20250601


def spent(spending: str, fraction: np.ndarray | float, level: float) -> np.ndarray:
    """Lan-DeMets cumulative α spent at information ``fraction`` (0..1) for total ``level``.

    ``obf``: 2 − 2Φ(z_{1−γ/2}/√t) (O'Brien-Fleming-shaped); ``pocock``: γ·ln(1 + (e − 1)t).
    """
    t = np.clip(np.asarray(fraction, dtype=float), 1e-12, 1.0)
    if spending == "obf":
        return 2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1 - level / 2) / np.sqrt(t))
    if spending == "pocock":
        return level * np.log1p((math.e - 1.0) * t)
    raise ValueError(f"spending {spending!r}: expected one of {SPENDING}")


# The two cached functions below only call their computation: mutmut (benchmarks/mutation.py)
# does not mutate a decorated function, so the calibration lives in undecorated ones.
@lru_cache(maxsize=8)
def _null_t(looks: tuple[int, ...], n_sim: int, seed: int) -> np.ndarray:
    """t_k of ``n_sim`` sequences of N(0, 1) differences at each look, shape (n_sim, K)."""
    return _simulate_null_t(looks, n_sim, seed)


def _simulate_null_t(looks: tuple[int, ...], n_sim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    total = np.zeros(n_sim)
    ss = np.zeros(n_sim)  # sum of squared deviations from the running mean
    out = np.empty((n_sim, len(looks)))
    prev = 0
    for k, n in enumerate(looks):
        m = n - prev
        inc = rng.standard_normal(n_sim) * math.sqrt(m)  # sum of m new differences
        within = rng.chisquare(m - 1, n_sim) if m > 1 else np.zeros(n_sim)
        # pooled sum of squares: old + new within-look + the between-means term
        ss = ss + within + prev * m / n * (total / prev - inc / m) ** 2 if prev else within
        total = total + inc
        out[:, k] = (total / n) / np.sqrt(ss / (n - 1) / n)
        prev = n
    return out


@lru_cache(maxsize=64)
def t_boundaries(
    looks: tuple[int, ...],
    level: float,
    spending: str = "obf",
    two_sided: bool = True,
    n_sim: int = N_SIM,
    seed: int = CALIBRATION_SEED,
) -> tuple[float, ...]:
    """Boundaries c_k for the paired t statistic (|t| if ``two_sided``) at ``looks`` pairs.

    Calibrated on null sequences: among the sequences that crossed no earlier boundary, c_k
    leaves at most the spent increment α(t_k) − α(t_{k−1}) of all sequences at or above it;
    an increment below one sequence gives c_k = inf (no stopping at that look).

    Raises:
        ValueError: looks not increasing from at least 2 pairs, level outside (0, 1).
    """
    return _calibrate(looks, level, spending, two_sided, n_sim, seed)


def _calibrate(
    looks: tuple[int, ...], level: float, spending: str, two_sided: bool, n_sim: int, seed: int
) -> tuple[float, ...]:
    if not looks or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:], strict=False)):
        raise ValueError(f"looks {list(looks)}: expected increasing trial counts from 2")
    if not 0 < level < 1:
        raise ValueError(f"level {level}: expected 0 < level < 1")
    t = _null_t(looks, n_sim, seed)
    stat = np.abs(t) if two_sided else t
    cumulative = spent(spending, np.asarray(looks) / looks[-1], level)
    alive = np.ones(n_sim, dtype=bool)
    bounds, before = [], 0.0
    for k in range(len(looks)):
        need = int((cumulative[k] - before) * n_sim)  # sequences allowed to cross here
        before = cumulative[k]
        values = stat[alive, k]
        if need < 1 or len(values) == 0:
            bounds.append(math.inf)
            continue
        need = min(need, len(values))
        c = float(np.partition(values, len(values) - need)[len(values) - need])
        bounds.append(c)
        alive &= stat[:, k] < c
    return tuple(bounds)
