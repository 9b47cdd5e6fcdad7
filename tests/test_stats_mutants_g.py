"""Tests that kill survivors of ``benchmarks/mutation.py stats`` (issue 28), helper g.

- ``_power._first_clear_wilcoxon`` 2, 4, 5, 6, 9: the fewest Wilcoxon pairs whose floor
  ``2 / 2**n`` is below the level, by hand (a level equal to a floor, the 1075-pair cap).
- ``_power.trials_to_decide`` 82, 90, 105, 109-115, 155: the count against a linear scan over
  the trials where power dips at the t-to-Wilcoxon switch (Holm level 0.025: 6 pairs have
  power 0), fractional pairs per trial, ``max_trials`` inside the one-by-one scan, the full
  ``Need`` of a give-up, and the pairs of a 2-pair answer.
- ``_decide.decide`` 47, 51: Δ exactly 0 with a significant Wilcoxon test; a Holm TOST p equal
  to α.
- ``_spending._calibrate`` 62, 63, 85: boundaries against the calibration rule by brute force
  on a few simulated sequences (one sequence allowed to cross; a stopped sequence stays out).
- ``_spending._simulate_null_t`` 10, 28: each look's simulated statistic follows Student's t
  with n_k - 1 degrees of freedom (looks with 1- and 2-pair increments).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from roga_bench.stats import Comparison, DecisionRule, decide
from roga_bench.stats._power import (
    Need,
    _first_clear_wilcoxon,
    power_difference,
    power_equivalence,
    trials_to_decide,
)
from roga_bench.stats._spending import _simulate_null_t, spent, t_boundaries
from roga_bench.stats._tests import PairedTest, tost_paired


def _t(diff: float, sd: float, n: int = 3) -> PairedTest:
    return PairedTest(n, "paired t", diff, sd, 0.5, n)


def _linear(test: PairedTest, level: float, margin: float, trials_run: int, ppt: float,
            max_trials: int) -> Need:  # fmt: skip
    """Brute-force reference: every trial count from trials_run + 1 up, one by one."""
    target = "difference" if abs(test.diff) >= margin else "equivalence"
    for trials in range(max(trials_run, 0) + 1, max_trials + 1):
        pairs = max(2, math.floor(trials * ppt))
        if target == "difference":
            power = power_difference(pairs, test.diff, test.sd, level)
        else:
            power = power_equivalence(pairs, test.diff, test.sd, margin, level)
        if power >= 0.8:
            return Need(trials, pairs, target)
    return Need(None, None, target, f"more than {max_trials} trials would be needed")


# ----------------------------------------------------------------- _first_clear_wilcoxon


def test_first_clear_wilcoxon_by_hand():
    # floors 2/2**n: 6 -> 1/32, 7 -> 1/64, 8 -> 1/128
    assert _first_clear_wilcoxon(0.05) == 6  # bug: `or` runs on to the 1075 cap
    assert _first_clear_wilcoxon(0.02) == 7  # bug: n += 2 jumps from 6 to 8
    assert _first_clear_wilcoxon(0.01) == 8
    # a level equal to a floor is not cleared by it (power_difference is 0 there; bug: `>`)
    assert _first_clear_wilcoxon(2.0**-5) == 7
    assert power_difference(6, 1.0, 1.0, 2.0**-5) == 0.0
    # the cap: at 1075 pairs the floor is the smallest float; bugs `<= 1075` / `< 1076`
    # step on to 1076, where the floor underflows to 0
    assert _first_clear_wilcoxon(5e-324) == 1075
    assert _first_clear_wilcoxon(0.0) == 1075


# ---------------------------------------------------------------------- trials_to_decide


def test_trials_to_decide_with_a_power_dip_and_fractional_pairs():
    # Holm level 0.025: 6 pairs (Wilcoxon, floor 1/32) have power 0, 5 (paired t) do not
    es, level = 2.2, 0.025
    assert power_difference(4, es, 1.0, level) < 0.8 <= power_difference(5, es, 1.0, level)
    assert power_difference(6, es, 1.0, level) == 0.0
    # half a pair per trial: 10 trials give the 5 pairs (bugs: the scan bound or the pairs
    # from trials / ppt -> bisection from 4 trials lands on 14, or 20 pairs reported)
    need = trials_to_decide(_t(es, 1.0), level=level, margin=0.01, trials_run=0,
                            pairs_per_trial=0.5)  # fmt: skip
    assert need == Need(10, 5, "difference")
    for ppt in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        for trials_run in (0, 1, 3):
            got = trials_to_decide(_t(es, 1.0), level=level, margin=0.01,
                                   trials_run=trials_run, pairs_per_trial=ppt)  # fmt: skip
            assert got == _linear(_t(es, 1.0), level, 0.01, trials_run, ppt, 10_000), ppt


def test_trials_to_decide_gives_up_inside_the_one_by_one_scan():
    # max_trials = 3 ends the scan of the non-monotone counts: the full Need of a give-up
    # (bugs: `or` scans on to 5 trials; target/pairs/reason dropped or shifted)
    es, level = 2.2, 0.025
    need = trials_to_decide(_t(es, 1.0), level=level, margin=0.01, trials_run=0, max_trials=3)
    assert need == Need(None, None, "difference", "more than 3 trials would be needed")
    assert need.text() == "more than 3 trials would be needed"
    assert need == _linear(_t(es, 1.0), level, 0.01, 0, 1.0, 3)


def test_trials_to_decide_answer_at_max_trials_right_after_the_scan():
    # level 0.05: the scan stops at 6 pairs (floor 1/32 clears it); 6 trials are the answer
    # and the maximum: still found (bug: `low >= max_trials` gives up without trying 6)
    es = 1.6
    assert power_difference(5, es, 1.0, 0.05) < 0.8 <= power_difference(6, es, 1.0, 0.05)
    need = trials_to_decide(_t(es, 1.0), level=0.05, margin=0.01, trials_run=0, max_trials=6)
    assert need == Need(6, 6, "difference")
    need = trials_to_decide(_t(es, 1.0), level=0.05, margin=0.01, trials_run=0, max_trials=5)
    assert need == Need(None, None, "difference", "more than 5 trials would be needed")


def test_trials_to_decide_two_pair_answer_by_bisection_path():
    # equivalence (no one-by-one scan): a tiny spread decides at the first trial, 2 pairs
    # (bug: max(3, ...) in the final return reports 3 pairs)
    need = trials_to_decide(_t(0.0, 0.001), level=0.05, margin=0.1, trials_run=0)
    assert need == Need(1, 2, "equivalence")
    need = trials_to_decide(_t(0.0, 0.001), level=0.05, margin=0.1, trials_run=0,
                            pairs_per_trial=0.5)  # fmt: skip
    assert need == Need(1, 2, "equivalence")


# -------------------------------------------------------------------------------- decide


def test_decide_a_zero_mean_difference_is_not_better():
    # Δ = 0 exactly while the Wilcoxon test is significant (eleven negative differences, one
    # large positive one): the sign of Δ is not positive, so the row is not "better"
    # (bug: `diff >= 0`); it is "worse", as the Wilcoxon ranks say (W+ = 12 of 78)
    d = [-float(i) for i in range(1, 12)] + [66.0]
    assert float(np.mean(d)) == 0.0
    row = Comparison("A vs ERM", tuple(d), tuple([0.0] * len(d)))
    (v,) = decide([row], DecisionRule(alpha=0.05, margin=1.0, scale=1.0))
    assert v.test.test == "Wilcoxon" and v.p_holm < 0.05 and v.diff == 0.0
    assert v.kind == "worse"


def test_decide_a_tost_holm_p_equal_to_alpha_is_not_equivalence():
    # one row: the Holm TOST p is the raw TOST p; α set to exactly that value is not passed
    # (bug: `<=`), a hair above it is
    d = (0.001, -0.002, 0.0015, -0.0005, 0.002, -0.001, 0.0005, -0.0015)
    row = Comparison("A vs ERM", tuple(x + 0.7 for x in d), tuple([0.7] * len(d)))
    delta = 0.003
    p = tost_paired(row.diffs, delta).p
    assert 0 < p < 0.5
    (v,) = decide([row], DecisionRule(alpha=p, margin=delta, scale=1.0))
    assert v.p_tost_holm == p and v.p_holm >= p
    assert v.kind == "undecided"
    (v,) = decide([row], DecisionRule(alpha=math.nextafter(p, 1.0), margin=delta, scale=1.0))
    assert v.kind == "equivalent"


# ---------------------------------------------------------------------- _simulate_null_t


def test_simulated_null_t_follows_student_t_at_every_look():
    # under the null each look's paired t on n_k N(0, 1) differences is t with n_k - 1 df,
    # whatever the increments: 2 pairs (a 2-pair increment from 0), +1, +2, +3 pairs
    # (bugs: the first look pooled as if 1 pair came before it; no within-look spread for
    # a 2-pair increment -> |t| = inf or a too small spread)
    looks = (2, 3, 5, 8)
    t = _simulate_null_t(looks, 20_000, 7)
    assert t.shape == (20_000, len(looks))
    for k, n in enumerate(looks):
        assert np.isfinite(t[:, k]).all()
        ks = stats.kstest(t[:, k], stats.t(n - 1).cdf)
        assert ks.pvalue > 1e-3, (n, ks)
        # the two-sided 5 % tail of t_{n-1}
        tail = float(np.mean(np.abs(t[:, k]) > stats.t.ppf(0.975, n - 1)))
        assert abs(tail - 0.05) < 0.01, (n, tail)
    # looks of the same sequences: correlated (t_k and t_{k+1} share pairs)
    assert np.corrcoef(t[:, 2], t[:, 3])[0, 1] > 0.5


# ---------------------------------------------------------------------------- _calibrate


def _reference_boundaries(looks, level, spending, two_sided, n_sim, seed):
    """The calibration rule of ``t_boundaries`` by brute force: at look k the ``need``-th
    largest statistic among the sequences that crossed no earlier boundary (need = the spent
    increment times n_sim, truncated), inf when need < 1; sequences at or above it stop."""
    t = _simulate_null_t(looks, n_sim, seed)
    stat = np.abs(t) if two_sided else t
    alive, before, out = set(range(n_sim)), 0.0, []
    for k, n in enumerate(looks):
        cum = float(spent(spending, n / looks[-1], level))
        need, before = int((cum - before) * n_sim), cum
        values = sorted((float(stat[i, k]) for i in alive), reverse=True)
        if need < 1 or not values:
            out.append(math.inf)
            continue
        c = values[min(need, len(values)) - 1]
        out.append(c)
        alive = {i for i in alive if stat[i, k] < c}
    return tuple(out)


def test_boundaries_follow_the_calibration_rule_on_few_sequences():
    # one look, need = int(0.01 * 100) = 1: the largest |t| is the boundary (bugs: need <= 1
    # or need < 2 give inf, as if less than one sequence were allowed)
    (c,) = t_boundaries((5,), 0.01, "obf", True, 100, 1)
    assert c == float(np.abs(_simulate_null_t((5,), 100, 1)).max())
    # the sequence at a boundary has stopped: it is not among the next look's candidates
    # (bug: `stat <= c` keeps it alive, which moves the later boundaries)
    for args in (((3, 6), 0.5, "pocock", True, 20, 1), ((2, 4, 7), 0.3, "obf", False, 40, 3),
                 ((3, 6), 0.05, "obf", True, 200, 1)):  # fmt: skip
        assert t_boundaries(*args) == _reference_boundaries(*args), args
