"""A group-sequential design on the paired t statistic: planned looks, α spent across them.

Each comparison (an algorithm against the baseline) is looked at after n_1 < n_2 < ... < n_K
run pairs (default 3, 6, 12, 24, 48, ... up to the maximum). At look k, with mean paired
difference d̄_k, its standard error se_k = s_k/√n_k and t_k = d̄_k/se_k:

- **better / worse** when |t_k| ≥ c_k(γ), the two-sided boundary at level γ. The boundaries
  spend γ across the looks by a Lan-DeMets spending function (Lan & DeMets 1983) of the
  information fraction n_k/n_K: O'Brien-Fleming-shaped ``obf`` (O'Brien & Fleming 1979; the
  default: almost nothing spent early, the last look close to a fixed-sample test) or
  ``pocock``.
- **equivalent within ±δ** when the repeated confidence interval d̄_k ± e_k·se_k lies inside
  (−δ, +δ): a sequential TOST, each one-sided test with the boundaries e_k of a one-sided
  design at level α/m (its own spending function, ``pocock`` by default: it spends more
  early, so a comparison with no effect stops for equivalence sooner; docs/sequential.md).
- otherwise the comparison gets more trials; after the last look it is **undecided**.

With ``non_inferiority=True`` the design asks a one-sided question instead: H0 Δ ≤ −δ against
H1 Δ > −δ (Jennison & Turnbull 2000, ch. 6, one-sided tests and non-inferiority). Each test is
one-sided at level α/2 (0.025 at α = 0.05: the FDA's 2016 guidance *Non-Inferiority Clinical
Trials to Establish Effectiveness* tests the margin with the lower bound of a two-sided 95 %
interval), on the shifted statistic t'_k = (d̄_k + δ)/se_k:

- **non-inferior** when t'_k ≥ u_k(γ): the one-sided boundaries of the ``spending`` function at
  γ = (α/2)/(m − r), Holm with α recycling over the non-inferior verdicts (as better/worse);
  equivalently the repeated lower bound d̄_k − u_k·se_k lies above −δ;
- **inferior** when t'_k ≤ −f_k: the mirrored one-sided test (H0 Δ ≥ −δ) at (α/2)/m each
  (Bonferroni, ``equivalence_spending``), i.e. the repeated upper bound d̄_k + f_k·se_k lies
  below −δ: the candidate is worse than the margin allows, and more trials would not help;
- otherwise more trials, then **undecided**.

Why calibrate by simulation: at 2 degrees of freedom the t statistic is heavy-tailed, and the
looks share their variance estimates, so z boundaries (Jennison & Turnbull 2000, ch. 2 and 7)
put through the t quantile function only approximate the level. Under normal differences the
sequence (t_1, ..., t_K) is pivotal (its null law depends on nothing unknown), so the
boundaries are calibrated exactly, up to Monte-Carlo error, on 2**18 seeded null sequences: c_k
is the quantile of |t_k| among the sequences not yet stopped that spends α(t_k) − α(t_{k−1})
(Jennison & Turnbull 2000, §7.2; the same construction as their "significance level"
approach, with the exact joint law in place of its approximation). The sequences are drawn
from sufficient statistics (a look's sum is normal, its within-look sum of squares χ²), so the
calibration takes well under a second and is cached. No maintained Python package implements
Lan-DeMets spending for the t statistic (the group-sequential packages gsDesign and rpact are R
packages, for z statistics); scipy gives the distributions and statsmodels the fixed design.

Several comparisons with one baseline (m of them): better / worse are tested with Holm's
procedure recycling α between group-sequential tests (Maurer & Bretz 2013): each open
comparison is tested at γ = α/(m − r) where r comparisons are already better or worse, and
when r grows, the open comparisons' earlier looks are checked again against the boundaries of
the larger level. This is the shortcut of a closed procedure whose local tests are weighted
Bonferroni group-sequential tests, so the familywise rate of a wrong better/worse stays ≤ α
across all looks and comparisons, whatever the correlation (they share the baseline's runs).
The equivalence side uses Bonferroni (α/m each): a wrong "equivalent" needs |Δ| ≥ δ, and each
sequential TOST has level α/m, so the familywise rate of a wrong "equivalent" is ≤ α.
A decided comparison stops getting trials; its verdict never changes afterwards.

References: Jennison C., Turnbull B. W. (2000) *Group Sequential Methods with Applications to
Clinical Trials*, Chapman & Hall. Lan K. K. G., DeMets D. L. (1983) Discrete sequential
boundaries for clinical trials, *Biometrika* 70:659-663. O'Brien P. C., Fleming T. R. (1979) A
multiple testing procedure for clinical trials, *Biometrics* 35:549-556. Maurer W., Bretz F.
(2013) Multiple testing in group sequential trials using graphical approaches, *Statistics in
Biopharmaceutical Research* 5:311-320.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from roga_bench.stats._spending import CALIBRATION_SEED, N_SIM, SPENDING, spent, t_boundaries

__all__ = [
    "BETTER",
    "EQUIVALENT",
    "INFERIOR",
    "NON_INFERIOR",
    "SPENDING",
    "UNDECIDED",
    "VERDICTS",
    "WORSE",
    "LookStats",
    "SequentialDesign",
    "SequentialResult",
    "default_looks",
    "fixed_design_trials",
    "look_stats",
    "run_design",
    "simulate_design",
    "spent",
    "t_boundaries",
]

# verdict codes of the arrays; VERDICTS names them as the decision rule does
UNDECIDED, BETTER, WORSE, EQUIVALENT = 0, 1, -1, 2
NON_INFERIOR, INFERIOR = 3, -3  # the non-inferiority mode's verdicts
VERDICTS = {
    UNDECIDED: "undecided",
    BETTER: "better",
    WORSE: "worse",
    EQUIVALENT: "equivalent",
    NON_INFERIOR: "non-inferior",
    INFERIOR: "inferior",
}


def default_looks(max_trials: int, first: int = 3) -> tuple[int, ...]:
    """3, 6, 12, 24, ... (doubling), then ``max_trials``: a doubling look n is kept while
    n <= 3/4 ``max_trials``, so the last look adds at least a quarter of the trials
    (100 -> 3, 6, 12, 24, 48, 100: a look at 96 would leave almost nothing to spend at 100;
    150 -> 3, ..., 96, 150)."""
    if max_trials < 2:
        raise ValueError(f"max_trials must be >= 2 (a t statistic needs 2 pairs), got {max_trials}")
    looks, n = [], first
    while 4 * n <= 3 * max_trials:
        looks.append(n)
        n *= 2
    return (*looks, max_trials)


@dataclass(frozen=True)
class SequentialDesign:
    """The planned design; ``to_dict`` is what ``design.json`` records of it.

    Attributes:
        looks: trial counts (run pairs per comparison) at the looks, increasing.
        n_comparisons: m, the comparisons with the baseline (Holm / Bonferroni over them).
        alpha: familywise level of each side (wrong better/worse; wrong equivalent).
        margin: δ, the equivalence margin, in the unit of the differences (AUC points).
        spending: spending function of better/worse (``obf`` or ``pocock``).
        equivalence_spending: spending function of each one-sided test of the TOST (in the
            non-inferiority mode: of the inferiority test).
        non_inferiority: decide non-inferior / inferior (one-sided, at α/2 each) instead of
            better / worse / equivalent.
    """

    looks: tuple[int, ...]
    n_comparisons: int = 1
    alpha: float = 0.05
    margin: float = 1.0
    spending: str = "obf"
    equivalence_spending: str = "pocock"
    non_inferiority: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "looks", tuple(int(n) for n in self.looks))
        if self.n_comparisons < 1:
            raise ValueError(f"n_comparisons must be >= 1, got {self.n_comparisons}")
        if not self.margin > 0:
            raise ValueError(f"margin must be > 0, got {self.margin}")
        for name in (self.spending, self.equivalence_spending):
            if name not in SPENDING:
                raise ValueError(f"spending {name!r}: expected one of {SPENDING}")
        self.efficacy(1)  # checks looks and alpha

    @classmethod
    def from_rule(cls, rule: Any, looks: Sequence[int], n_comparisons: int) -> SequentialDesign:
        """The design of a decision rule (anything with ``alpha`` and ``margin`` in AUC points,
        such as ``roga_bench.stats.DecisionRule``): the same α, δ and verdict kinds."""
        return cls(tuple(looks), n_comparisons, float(rule.alpha), float(rule.margin))

    def efficacy(self, level_divisor: int) -> tuple[float, ...]:
        """Two-sided boundaries at level α / ``level_divisor`` (Holm: m − r open)."""
        return t_boundaries(self.looks, self.alpha / level_divisor, self.spending, True)

    def equivalence(self) -> tuple[float, ...]:
        """One-sided boundaries e_k of each test of the TOST, at level α/m (non-inferiority
        mode: f_k of the inferiority test, at level (α/2)/m)."""
        return t_boundaries(
            self.looks, self.side_alpha / self.n_comparisons, self.equivalence_spending, False
        )

    @property
    def side_alpha(self) -> float:
        """Level of each side: α (better/worse two-sided, each TOST test), or α/2 one-sided in
        the non-inferiority mode."""
        return self.alpha / 2 if self.non_inferiority else self.alpha

    def non_inferiority_bounds(self, level_divisor: int) -> tuple[float, ...]:
        """One-sided boundaries u_k of the non-inferiority test at (α/2) / ``level_divisor``."""
        return t_boundaries(self.looks, self.side_alpha / level_divisor, self.spending, False)

    def alpha_spent(self, k: int, level: float, equivalence: bool = False) -> float:
        """Nominal cumulative α spent at look ``k`` (0-based) for total ``level``."""
        name = self.equivalence_spending if equivalence else self.spending
        return float(spent(name, self.looks[k] / self.looks[-1], level))

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["looks"] = list(self.looks)
        if not self.non_inferiority:  # the key exists only in the new mode (older designs)
            del doc["non_inferiority"]
            doc["efficacy_boundaries"] = {
                f"alpha/{j}": _finite(self.efficacy(j)) for j in range(1, self.n_comparisons + 1)
            }
            doc["equivalence_boundaries"] = _finite(self.equivalence())
        else:
            doc["one_sided_alpha"] = self.side_alpha
            doc["non_inferiority_boundaries"] = {
                f"alpha/2/{j}": _finite(self.non_inferiority_bounds(j))
                for j in range(1, self.n_comparisons + 1)
            }
            doc["inferiority_boundaries"] = _finite(self.equivalence())
        doc["calibration"] = f"{N_SIM} null sequences, seed {CALIBRATION_SEED}"
        return doc


def _finite(values: Sequence[float]) -> list[float | None]:
    return [None if math.isinf(v) else round(v, 6) for v in values]


@dataclass
class LookStats:
    """Per-look summaries of each comparison's paired differences.

    Attributes:
        n: pairs at each look, shape (K,).
        mean: mean difference, shape (S, m, K) (S sequences, m comparisons).
        sd: sample standard deviation of the differences, same shape.
    """

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray


def look_stats(differences: np.ndarray, looks: Sequence[int]) -> LookStats:
    """Summaries at ``looks`` of raw differences shaped (S, m, N) (N ≥ the looks used)."""
    d = np.asarray(differences, dtype=float)
    looks = [n for n in looks if n <= d.shape[-1]]
    idx = np.asarray(looks) - 1
    s1 = np.cumsum(d, axis=-1)[..., idx]
    s2 = np.cumsum(d * d, axis=-1)[..., idx]
    n = np.asarray(looks, dtype=float)
    mean = s1 / n
    var = np.maximum(s2 - n * mean**2, 0.0) / (n - 1)
    return LookStats(np.asarray(looks), mean, np.sqrt(var))


@dataclass
class SequentialResult:
    """What the design decided; arrays shaped (S, m) or (S, m, K).

    Attributes:
        verdict: final code per comparison (:data:`VERDICTS`).
        stop: the look (0-based) at which it was decided, or the last look run if undecided.
        trials: pairs used by each comparison.
        t, se, boundary, level, eq_boundary: per look, the statistic, its standard error, the
            two-sided boundary in force and its level, and the TOST boundary.
        state: the verdict after each look (what ``looks.csv`` lists).
        looks_run: looks analysed.
    """

    verdict: np.ndarray
    stop: np.ndarray
    trials: np.ndarray
    t: np.ndarray
    se: np.ndarray
    boundary: np.ndarray
    level: np.ndarray
    eq_boundary: np.ndarray
    state: np.ndarray
    looks_run: int
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))


def _holm_step(
    k: int, t: np.ndarray, mean: np.ndarray, eff: np.ndarray, verdict: np.ndarray,
    stop: np.ndarray, rejected: np.ndarray, one_sided: bool = False,
) -> np.ndarray:  # fmt: skip
    """Better/worse at look k, in place: Holm with α recycling (Maurer & Bretz 2013).

    An open comparison is tested at α/(m − r), r = better/worse so far, against every look it
    has been observed at (its earlier looks included); each new rejection lowers the boundaries
    of the others, which are checked again until nothing changes. ``one_sided``: the
    non-inferiority test, t ≥ boundary (t the shifted statistic), verdict non-inferior.

    Returns (S, m): the Holm divisor m − r at which each comparison was rejected at this look
    (0 where it was not), so its row reports the boundary it crossed, not the lower one that
    its own rejection left in force for the others.
    """
    S, m = verdict.shape
    open_ = verdict == UNDECIDED
    at_divisor = np.zeros((S, m), dtype=int)
    while True:
        divisor = np.maximum(m - rejected, 1)  # (S,); all rejected: nothing open
        stat = t[..., : k + 1] if one_sided else np.abs(t[..., : k + 1])
        cross = stat >= eff[divisor - 1][:, None, : k + 1]
        new = open_ & cross.any(axis=-1)
        if not new.any():
            return at_divisor
        at_divisor[new] = np.broadcast_to(divisor[:, None], (S, m))[new]
        if one_sided:
            verdict[new] = NON_INFERIOR
        else:
            last = k - np.argmax(cross[..., ::-1], axis=-1)  # the latest look that crossed
            sign = np.sign(mean[np.arange(S)[:, None], np.arange(m)[None, :], last])
            verdict[new] = np.where(sign[new] > 0, BETTER, WORSE)
        stop[new] = k
        rejected += new.sum(axis=1)
        open_ &= ~new


def run_design(
    design: SequentialDesign, summary: LookStats, n_looks: int | None = None
) -> SequentialResult:
    """Replay the design over the looks of ``summary`` (the first ``n_looks`` of them).

    The same code decides a real sweep (S = 1) and the simulations (S sequences at once).
    Comparisons still open after the design's last look are undecided; so are those open
    when fewer looks than the design's were run (a budget that ran out).
    """
    m = design.n_comparisons
    mean, sd = summary.mean, summary.sd
    S, m_given, K_have = mean.shape
    if m_given != m:
        raise ValueError(f"{m_given} comparisons given, the design has {m}")
    K = min(K_have, len(design.looks) if n_looks is None else n_looks)
    if list(summary.n[:K]) != list(design.looks[:K]):
        have = [int(n) for n in summary.n[:K]]
        raise ValueError(f"looks at {have} pairs, the design's at {list(design.looks)}")
    se = sd[..., :K] / np.sqrt(np.asarray(design.looks[:K], dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean[..., :K] / se, np.sign(mean[..., :K]) * np.inf)
    t = np.nan_to_num(t, nan=0.0)
    ni = design.non_inferiority
    if ni:  # the shifted statistic t' = (d̄ + δ)/se of H0: Δ <= -δ
        with np.errstate(divide="ignore", invalid="ignore"):
            shifted = mean[..., :K] + design.margin
            t = np.nan_to_num(np.where(se > 0, shifted / se, np.sign(shifted) * np.inf), nan=0.0)
        eff = np.array([design.non_inferiority_bounds(j) for j in range(1, m + 1)])
    else:
        eff = np.array([design.efficacy(j) for j in range(1, m + 1)])  # (m, K) by divisor j
    eq = np.asarray(design.equivalence()[:K])
    verdict, stop = np.zeros((S, m), dtype=int), np.full((S, m), K - 1)
    state = np.zeros((S, m, K), dtype=int)
    boundary, level = np.zeros((S, m, K)), np.zeros((S, m, K))
    rejected = np.zeros(S, dtype=int)
    for k in range(K):
        at_divisor = _holm_step(k, t, mean, eff, verdict, stop, rejected, one_sided=ni)
        divisor = np.where(at_divisor > 0, at_divisor, np.maximum(m - rejected, 1)[:, None])
        boundary[..., k] = eff[divisor - 1, k]
        level[..., k] = design.side_alpha / divisor
        half = eq[k] * se[..., k]
        if ni:  # inferior: the repeated upper bound below -δ (Bonferroni, (α/2)/m each)
            worse = (verdict == UNDECIDED) & (mean[..., k] + half < -design.margin)
            verdict[worse] = INFERIOR
            stop[worse] = k
            state[..., k] = verdict
            continue  # the TOST: the repeated (1 - 2α/m) interval inside ±δ
        inside = (mean[..., k] - half > -design.margin) & (mean[..., k] + half < design.margin)
        eqv = (verdict == UNDECIDED) & inside & np.isfinite(half)
        verdict[eqv] = EQUIVALENT
        stop[eqv] = k
        state[..., k] = verdict
    return SequentialResult(
        verdict=verdict,
        stop=stop,
        trials=np.asarray(design.looks)[stop],
        t=t,
        se=se,
        boundary=boundary,
        level=level,
        eq_boundary=np.broadcast_to(eq, (S, m, K)),
        state=state,
        looks_run=K,
        mean=mean[..., :K],
    )


def simulate_design(
    design: SequentialDesign,
    effects: Sequence[float],
    sd: float,
    n_sim: int,
    seed: int = 0,
    shared_baseline: bool = False,
) -> SequentialResult:
    """Run the design on ``n_sim`` simulated sequences of normal paired differences.

    Args:
        design: the design (m = ``len(effects)``).
        effects: the true Δ of each comparison.
        sd: standard deviation of one paired difference.
        n_sim: sequences.
        seed: numpy seed.
        shared_baseline: draw the runs, not the differences: d_i = x_i − x_0 with the baseline
            run x_0 shared by all comparisons of a trial (correlation 1/2, as in a sweep); each
            run then has s.d. sd/√2. Needs raw arrays (memory S·(m+1)·N).
    """
    rng = np.random.default_rng(seed)
    m, looks = len(effects), design.looks
    mu = np.asarray(effects, dtype=float)[None, :, None]
    if shared_baseline:
        runs = rng.standard_normal((n_sim, m + 1, looks[-1])) * (sd / math.sqrt(2))
        d = runs[:, 1:, :] - runs[:, :1, :] + mu
        return run_design(design, look_stats(d, looks))
    total = np.zeros((n_sim, m))
    ss = np.zeros((n_sim, m))
    means, sds, prev = [], [], 0
    for n in looks:  # sufficient statistics: each look's sum and within sum of squares
        k = n - prev
        inc = rng.standard_normal((n_sim, m)) * (sd * math.sqrt(k)) + mu[..., 0] * k
        within = sd**2 * rng.chisquare(k - 1, (n_sim, m)) if k > 1 else np.zeros((n_sim, m))
        ss = ss + within + (prev * k / n * (total / prev - inc / k) ** 2 if prev else 0.0)
        total = total + inc
        means.append(total / n)
        sds.append(np.sqrt(ss / (n - 1)))
        prev = n
    summary = LookStats(np.asarray(looks), np.stack(means, -1), np.stack(sds, -1))
    return run_design(design, summary)


def fixed_design_trials(effect: float, sd: float, alpha: float, power: float) -> int:
    """Pairs of the fixed-sample two-sided paired t-test with ``power`` at ``effect``: the fewest
    n >= 2 whose exact noncentral-t power reaches it (what statsmodels' ``TTestPower`` solves
    for, searched on the integers here: its solver stops at 2 pairs or fails for large effects).

    Raises:
        ValueError: no effect, no spread or a power outside (0, 1).
    """
    from roga_bench.stats._power import t_power

    es = abs(effect) / sd if sd > 0 else math.nan
    if not (es > 0 and 0 < power < 1):
        raise ValueError(f"effect {effect}, sd {sd}, power {power}: expected Δ ≠ 0, sd > 0")
    high = 2
    while t_power(high, es, alpha) < power:  # double, then bisect
        high *= 2
    low = high // 2 + 1 if high > 2 else 2
    while low < high:
        mid = (low + high) // 2
        if t_power(mid, es, alpha) >= power:
            high = mid
        else:
            low = mid + 1
    return high
