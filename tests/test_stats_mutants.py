"""roga_bench.stats against hand computations, published boundaries and edge cases (issue 28).

Each test names the bug it catches (the mutation run of ``benchmarks/mutation.py stats`` found
them alive). Numbers come from scipy's distributions computed here, from published tables
(Lan-DeMets boundaries) or from arithmetic in the comments; none from files the code wrote.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from roga_bench.stats import (
    Comparison,
    DecisionRule,
    PairedTest,
    Verdict,
    decide,
    holm,
    holm_levels,
    paired_test,
    tost_paired,
    trials_to_decide,
    wilcoxon_min_p,
)
from roga_bench.stats._power import (
    Need,
    floor_reason,
    min_detectable_effect,
    power_difference,
    power_equivalence,
    t_power,
)
from roga_bench.stats._spending import spent, t_boundaries
from roga_bench.stats.sequential import (
    BETTER,
    EQUIVALENT,
    INFERIOR,
    NON_INFERIOR,
    UNDECIDED,
    WORSE,
    LookStats,
    SequentialDesign,
    default_looks,
    fixed_design_trials,
    look_stats,
    run_design,
    simulate_design,
)


@contextmanager
def _no_warnings() -> Iterator[None]:
    """A context in which any warning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------- paired tests


def test_wilcoxon_floor_values():
    # 2 / 2**n: every rank on one side; 1 without pairs (bug: 2.0 or 3**... for n = 0)
    assert wilcoxon_min_p(0) == 1.0
    assert wilcoxon_min_p(2) == 0.5 and wilcoxon_min_p(6) == 1 / 32
    assert wilcoxon_min_p(1100) == 2.0**-1099  # no overflow


def test_paired_t_interval_by_hand():
    # d = 1, 2, 3, 4: mean 2.5, s = sqrt(5/3), se = s/2; t_{0.975,3} = 3.182
    t = paired_test([1.0, 2.0, 3.0, 4.0], [0.0] * 4)
    s = math.sqrt(5 / 3)
    assert (t.n, t.test, t.n_pairs) == (4, "paired t", 4)
    assert t.diff == pytest.approx(2.5) and t.sd == pytest.approx(s)
    assert t.se == pytest.approx(s / 2)
    for level in (0.95, 0.9):
        half = stats.t.ppf(0.5 + level / 2, 3) * s / 2
        assert t.ci(level) == pytest.approx((2.5 - half, 2.5 + half))
    assert t.ci() == pytest.approx(t.ci(0.95))
    # the one-sample t against 0 (bug: against 1)
    assert t.p == pytest.approx(2 * stats.t.sf(2.5 / (s / 2), 3))
    # two pairs are enough for a t interval (bug: < 3)
    two = paired_test([1.0, 3.0], [0.0, 0.0])
    assert two.test == "paired t" and two.n == 2
    half = stats.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2)
    assert two.ci() == pytest.approx((2.0 - half, 2.0 + half))
    assert two.p == pytest.approx(2 * stats.t.sf(2.0, 1))


def test_too_few_pairs_and_identical_fields():
    one = paired_test([0.7], [0.5])
    assert (one.n, one.test, one.n_pairs) == (1, "too few pairs", 1)
    assert one.diff == pytest.approx(0.2) and math.isnan(one.sd) and math.isnan(one.p)
    assert math.isnan(one.se) and all(math.isnan(x) for x in one.ci())
    with _no_warnings():  # no mean of an empty slice
        none = paired_test([], [])
    assert none.n == 0 and math.isnan(none.diff)
    same = paired_test([0.8, 0.7], [0.8, 0.7])
    assert (same.n, same.test, same.diff, same.sd, same.p, same.n_pairs) == (
        2, "identical", 0.0, 0.0, 1.0, 2,
    )  # fmt: skip
    # an interval needs a spread: NaN s.d. with 2 pairs gives no interval (bug: `and`)
    nan_sd = PairedTest(2, "paired t", 0.1, math.nan, 0.5, 2)
    assert all(math.isnan(x) for x in nan_sd.ci())


def test_wilcoxon_fields_count_differences_equal_to_one():
    # six non-zero differences, one of them exactly 1.0 (bug: dropping d == 1 as if zero)
    d = [1.0, 0.5, 0.25, 2.0, -0.125, 3.0, 0.0]
    t = paired_test(d, [0.0] * 7)
    assert (t.n, t.test, t.n_pairs) == (6, "Wilcoxon", 7)
    assert t.diff == pytest.approx(np.mean(d)) and t.sd == pytest.approx(np.std(d, ddof=1))
    assert t.p == pytest.approx(stats.wilcoxon([x for x in d if x]).pvalue)


def test_pairs_with_a_missing_value_are_dropped():
    # NaN in either side, or None (a JSON null), drops the pair; a - b, not a + b
    t = paired_test([0.9, math.nan, 0.8, None, 0.7], [0.5, 0.1, math.nan, 0.2, 0.6])
    assert t.n_pairs == 2 and t.diff == pytest.approx((0.4 + 0.1) / 2)
    t = paired_test([0.9, 0.3, 0.8], [0.5, None, 0.6])
    assert t.n_pairs == 2 and t.diff == pytest.approx((0.4 + 0.2) / 2)
    with pytest.raises(ValueError, match="unequal length: 3 and 2"):
        paired_test([0.1, 0.2, 0.3], [0.1, 0.2])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.sampled_from([0.01, 0.2, 0.5])), max_size=9))
def test_holm_is_statsmodels_holm(ps):
    # Holm written out must agree with multipletests (ties included; NaN-free here)
    got = holm(ps)
    want = list(multipletests(ps, method="holm")[1]) if ps else []
    assert got == want


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.03 (m = 3): 0.03, 0.04, 0.04 (running max); 0.4 · 3 capped at 1
    assert holm([0.03, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.4, 0.9]) == pytest.approx([0.8, 0.9]) and math.isnan(holm([math.nan])[0])


def test_holm_levels_default_alpha_and_ties():
    assert holm_levels([0.01, 0.02]) == pytest.approx([0.025, 0.05])
    assert holm_levels([0.03, 0.01, 0.03], 0.1) == pytest.approx([0.05, 0.1 / 3, 0.05])


def test_tost_zero_spread_branches():
    # every difference equal: p 0 strictly inside ±δ, else 1; each side on its own
    inside = tost_paired([0.005, 0.005], 0.01)
    assert (inside.p, inside.p_lower, inside.p_upper, inside.margin) == (0.0, 0.0, 0.0, 0.01)
    at_top = tost_paired([0.01, 0.01, 0.01], 0.01)
    assert (at_top.p, at_top.p_lower, at_top.p_upper) == (1.0, 0.0, 1.0)
    at_bottom = tost_paired([-0.01, -0.01], 0.01)
    assert (at_bottom.p, at_bottom.p_lower, at_bottom.p_upper) == (1.0, 1.0, 0.0)
    assert inside.equivalent() and not at_top.equivalent(0.5)


def test_tost_two_pairs_missing_values_and_bad_margins():
    # two values are enough (bug: < 3); NaN and None dropped first
    d = [0.004, math.nan, -0.002, None]
    tost = tost_paired(d, 0.01)
    x = np.array([0.004, -0.002])
    se = x.std(ddof=1) / math.sqrt(2)
    p_low, p_high = stats.t.sf((x.mean() + 0.01) / se, 1), stats.t.cdf((x.mean() - 0.01) / se, 1)
    assert tost.p_lower == pytest.approx(p_low) and tost.p_upper == pytest.approx(p_high)
    assert tost.p == pytest.approx(max(p_low, p_high)) and tost.margin == 0.01
    one = tost_paired([0.004], 0.01)
    assert math.isnan(one.p) and math.isnan(one.p_lower) and math.isnan(one.p_upper)
    assert one.margin == 0.01 and not one.equivalent()
    assert tost_paired([0.1, 0.3], 0.5).p < 1  # a margin below 1 is fine
    for bad in (0.0, -0.1, math.nan):
        with pytest.raises(ValueError, match="equivalence margin"):
            tost_paired([0.1, 0.2], bad)


def test_tost_equivalent_is_strict():
    from roga_bench.stats import Tost

    assert not Tost(0.05, 0.05, 0.01, 0.01).equivalent(0.05)
    assert Tost(0.0499, 0.0499, 0.01, 0.01).equivalent(0.05)


# ----------------------------------------------------------------------------- power


def test_power_difference_by_hand():
    def exact(nobs, es, level):
        crit = stats.t.ppf(1 - level / 2, nobs - 1)
        nc = es * math.sqrt(nobs)
        return stats.nct.sf(crit, nobs - 1, nc) + stats.nct.cdf(-crit, nobs - 1, nc)

    # 2 pairs: the paired t-test (bug: NaN at n = 2)
    assert power_difference(2, 3.0, 1.0, 0.05) == pytest.approx(exact(2, 3.0, 0.05), rel=1e-9)
    # from 6 pairs the Wilcoxon test at n·3/π pairs (bugs: n, n/(3/π)); the sign of Δ is moot
    nobs = 10 * 3 / math.pi
    assert power_difference(10, -0.5, 1.0, 0.05) == pytest.approx(exact(nobs, 0.5, 0.05), rel=1e-9)
    # no power below 2 pairs or without spread (bugs: `and`, `>= 0`: 0 or ZeroDivisionError)
    assert math.isnan(power_difference(1, 1.0, 1.0, 0.05))
    assert math.isnan(power_difference(5, 1.0, 0.0, 0.05))
    # the Wilcoxon floor at exactly the level: 1/32 is not below 1/32, no power (bug: `>`)
    assert power_difference(6, 1.0, 0.1, 1 / 32) == 0.0


def test_t_power_ignores_an_underflowed_tail():
    # at 6 pairs and nc = 10, scipy returns NaN for the lower tail (true value ~1e-25): the
    # power is the upper tail alone, not 1 (bugs: NaN kept, NaN taken as 1)
    crit = stats.t.ppf(0.975, 5)
    assert math.isnan(stats.nct.cdf(-crit, 5, 10.0))
    upper = stats.nct.sf(crit, 5, 10.0)
    assert t_power(6, 10 / math.sqrt(6), 0.05) == pytest.approx(upper, rel=1e-12)
    assert t_power(6, 10 / math.sqrt(6), 0.05) < 1.0


def test_power_equivalence_by_hand():
    # P(T1 > t_c) + P(T2 < -t_c) - 1, T1/T2 noncentral t at (Δ ± δ)√n/s, df n - 1
    n, effect, sd, margin, level = 10, 0.002, 0.01, 0.01, 0.05
    crit = stats.t.ppf(1 - level, n - 1)
    low = stats.nct.sf(crit, n - 1, (effect + margin) * math.sqrt(n) / sd)
    high = stats.nct.cdf(-crit, n - 1, (effect - margin) * math.sqrt(n) / sd)
    value = power_equivalence(n, effect, sd, margin, level)
    assert value == pytest.approx(low + high - 1, rel=1e-9) and 0 < value < 1
    assert power_equivalence(2, 0.0, 0.01, 0.1, 0.05) > 0  # 2 pairs plan (bug: <= 2)
    assert math.isnan(power_equivalence(1, 0.0, 0.01, 0.1, 0.05))
    assert math.isnan(power_equivalence(5, 0.0, 0.0, 0.1, 0.05))
    # outside the margin, an underflowed (NaN) tail counts 0: the power is 0, not 1
    assert math.isnan(stats.nct.cdf(-stats.t.ppf(0.95, 5), 5, 10.0))
    assert power_equivalence(6, 2.0, math.sqrt(6) / 10, 1.0, 0.05) == 0.0


def test_min_detectable_effect_is_statsmodels_solve_power():
    es = TTestPower().solve_power(effect_size=None, nobs=10, alpha=0.05, power=0.8)
    assert min_detectable_effect(2.0, 10) == pytest.approx(2.0 * es, rel=1e-9)
    assert min_detectable_effect(0.5, 10, level=0.01, power=0.9) == pytest.approx(
        0.5 * TTestPower().solve_power(effect_size=None, nobs=10, alpha=0.01, power=0.9)
    )
    # at the MDE the exact power is the asked power
    mde = min_detectable_effect(0.5, 7, level=0.02)
    assert t_power(7, mde / 0.5, 0.02) == pytest.approx(0.8, abs=1e-6)
    assert min_detectable_effect(1.0, 2) > min_detectable_effect(1.0, 3) > 0
    assert math.isnan(min_detectable_effect(1.0, 1)) and math.isnan(min_detectable_effect(0.0, 9))


def test_floor_reason_cases():
    six = PairedTest(6, "Wilcoxon", 0.05, 0.001, 1 / 32, 6)
    assert floor_reason(six, 1 / 32) == (
        "cannot be decided with this test at 6 pairs: the Wilcoxon test's smallest p, "
        "0.0312, is not below the level 0.0312"
    )
    assert floor_reason(six, 0.05) is None
    # a paired t row on few pairs has no Wilcoxon floor (bug: `or`)
    assert floor_reason(PairedTest(3, "paired t", 0.05, 0.01, 0.01, 3), 0.05) is None
    few = PairedTest(1, "too few pairs", 0.1, math.nan, math.nan, 1)
    assert floor_reason(few, 0.05) == "cannot be decided with 1 pair(s): a paired test needs 2"


def test_need_text():
    assert Need(None, None, "difference", "why not").text() == "why not"
    assert Need(7, 28, "equivalence").text() == (
        "about 7 trials in a new sweep would decide it (equivalence)"
    )


def _t(diff: float, sd: float, n: int = 3) -> PairedTest:
    return PairedTest(n, "paired t", diff, sd, 0.5, n)


def test_trials_to_decide_without_spread_or_pairs():
    assert trials_to_decide(_t(0.1, 0.0), level=0.05, margin=0.01, trials_run=3) == Need(
        None, None, "difference", "no trial count: no spread of the differences to plan from"
    )
    assert trials_to_decide(_t(0.1, 0.0, 2), level=0.05, margin=0.01, trials_run=2).reason == (
        "no trial count: no spread of the differences to plan from"
    )  # 2 pairs without spread: the spread is missing, not the pairs
    one = PairedTest(1, "too few pairs", 0.0, math.nan, math.nan, 1)
    assert trials_to_decide(one, level=0.05, margin=0.01, trials_run=1) == Need(
        None, None, "equivalence", "no trial count: too few pairs"
    )
    # 2 pairs with spread do plan (bug: < 3 / <= 2); |Δ| == δ asks for a difference
    need = trials_to_decide(_t(0.01, 0.01, 2), level=0.05, margin=0.01, trials_run=2)
    assert need.trials is not None and need.target == "difference"


def test_trials_to_decide_fewest_trials_by_hand():
    # effect size 5: 2 pairs (df 1) fall short of power 0.8, 3 pairs reach it
    assert t_power(2, 5.0, 0.05) < 0.8 <= t_power(3, 5.0, 0.05)
    assert trials_to_decide(_t(5.0, 1.0), level=0.05, margin=0.01, trials_run=1) == Need(
        3, 3, "difference"
    )
    # effect size 100: the first trial (2 pairs at least) suffices (bug: starting at 2)
    assert trials_to_decide(_t(100.0, 1.0), level=0.05, margin=0.01, trials_run=0) == Need(
        1, 2, "difference"
    )
    # default one pair per trial; 0 or less pairs per trial counts as 1
    base = trials_to_decide(_t(0.5, 1.0), level=0.05, margin=0.01, trials_run=3)
    for ppt in (0.0, -1.0, 1.0):
        assert trials_to_decide(_t(0.5, 1.0), level=0.05, margin=0.01, trials_run=3,
                                pairs_per_trial=ppt) == base  # fmt: skip
    assert base.pairs == base.trials
    assert power_difference(base.pairs, 0.5, 1.0, 0.05) >= 0.8
    assert power_difference(base.pairs - 1, 0.5, 1.0, 0.05) < 0.8
    # pairs per trial: trials · ppt pairs (bugs: trials / ppt, ppt <= 1 ignored)
    for ppt in (0.5, 4.0):
        need = trials_to_decide(_t(0.5, 1.0), level=0.05, margin=0.01, trials_run=3,
                                pairs_per_trial=ppt)  # fmt: skip
        assert need.pairs == max(2, math.floor(need.trials * ppt))
        assert power_difference(need.pairs, 0.5, 1.0, 0.05) >= 0.8
        before = max(2, math.floor((need.trials - 1) * ppt))
        assert need.trials == 4 or power_difference(before, 0.5, 1.0, 0.05) < 0.8


def test_trials_to_decide_after_two_trials_finds_the_fewest_count():
    # doubling 3, 6, 12, ... then bisection: no count may be skipped (bugs: low = high + 2,
    # tripling, a float midpoint); level 0.05 keeps the Wilcoxon floor out of the way
    for es in (5.0, 3.5, 3.0, 2.0, 1.5, 1.2, 1.0, 0.8, 0.5):
        need = trials_to_decide(_t(es, 1.0, 2), level=0.05, margin=0.01, trials_run=2)
        first = next(n for n in range(3, 500) if power_difference(n, es, 1.0, 0.05) >= 0.8)
        assert need == Need(first, first, "difference"), es


def test_trials_to_decide_finds_the_fewest_count_exactly():
    # doubling then bisection must land on the fewest trials: check against a linear scan
    for diff, target_fn in ((0.3, power_difference), (0.0, None)):
        test = _t(diff, 1.0, 8)
        need = trials_to_decide(test, level=0.01, margin=0.1, trials_run=8)
        if target_fn is None:

            def target_fn(n, d, s, lv):  # noqa: E306
                return power_equivalence(n, d, s, 0.1, lv)

        first = next(n for n in range(9, 5000) if target_fn(n, diff, 1.0, 0.01) >= 0.8)
        assert need.trials == first, (diff, need)


def test_power_zero_asks_for_just_the_next_trial():
    # a power target of 0 is met by any count, a power of exactly 0 included (bug: `>`)
    floor = _t(0.1, 0.01, 6)  # 7 pairs: Wilcoxon floor 1/64 above 0.01, power exactly 0
    assert power_difference(7, 0.1, 0.01, 0.01) == 0.0
    need = trials_to_decide(floor, level=0.01, margin=0.01, trials_run=6, power=0.0)
    assert need == Need(7, 7, "difference")
    wide = _t(0.0, 1.0, 6)
    assert power_equivalence(7, 0.0, 1.0, 0.01, 0.05) == 0.0
    need = trials_to_decide(wide, level=0.05, margin=0.01, trials_run=6, power=0.0)
    assert need == Need(7, 7, "equivalence")


def test_trials_to_decide_gives_up_above_the_maximum():
    need = trials_to_decide(_t(0.001, 1.0), level=0.05, margin=0.0001, trials_run=3,
                            max_trials=50)  # fmt: skip
    assert need == Need(None, None, "difference", "more than 50 trials would be needed")


# ----------------------------------------------------------------------------- decisions


def test_rule_validation_and_text():
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"alpha .*: expected a number in \(0, 1\)"):
            DecisionRule(alpha=bad)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="margin .*: expected a positive number"):
            DecisionRule(margin=bad)
    DecisionRule(alpha=0.5, margin=0.5)  # inside both ranges
    rule = DecisionRule(alpha=0.1, margin=2.0)
    assert rule.delta == 0.02
    assert rule.short() == "α = 0.1, δ = ±2 AUC points, Holm across rows"
    assert rule.text() == (
        "Decision rule: α = 0.1, margin δ = ±2 AUC points, Holm across each table's rows. "
        "better/worse: Holm-adjusted p < 0.1 by the test used (Wilcoxon signed-rank from 6 "
        "non-zero differences, else paired t). equivalent within ±2: Holm-adjusted TOST p < 0.1 "
        "(the 1 − 2α_Holm interval of Δ inside ±2). Otherwise undecided, with the 95% t "
        "interval of Δ and the trials a new sweep would need (exact noncentral t at the row's "
        "Holm level; power 0.8) — adding trials to these runs and testing again is a second "
        "look, not covered by α: use --until_decided."
    )


def _verdict(kind: str, **kw) -> Verdict:
    test = kw.pop("test", PairedTest(12, "Wilcoxon", 0.031, 0.02, 0.002, 12))
    base = dict(
        name="RoGA vs ERM", kind=kind, test=test, diff=test.diff, ci=(0.004, 0.058), p=0.002,
        p_holm=0.01, p_tost=0.4, p_tost_holm=0.4, level=0.025, margin=0.01, scale=100.0,
    )  # fmt: skip
    base.update(kw)
    return Verdict(**base)


def test_verdict_lines_by_hand():
    better = _verdict("better")
    assert better.label() == "better (Wilcoxon)"
    assert better.line() == (
        "RoGA vs ERM: better (Wilcoxon) [n=12 run pairs (Wilcoxon), Δ=+3.1 [+0.4, +5.8], "
        "p=0.002, Holm p=0.01, TOST ±1 Holm p=0.4]"
    )
    worse = _verdict("worse", diff=-0.0012345, ci=(-0.002, math.nan), p_tost_holm=0.01,
                     p=1.234e-5, p_holm=math.nan, margin=0.02)  # fmt: skip
    assert worse.line() == (
        "RoGA vs ERM: worse (Wilcoxon) (smaller than ±2) [n=12 run pairs (Wilcoxon), "
        "Δ=-0.1 [-0.2, n/a], p=1.23e-05, Holm p=n/a, TOST ±2 Holm p=0.01]"
    )
    # exactly at α is not below it; below it a better row says its Δ is inside ±δ
    assert "smaller" not in _verdict("better", p_tost_holm=0.05).line()
    small = _verdict("better", p_holm=2.5e-5, p_tost_holm=3e-6)
    assert small.line() == (
        "RoGA vs ERM: better (Wilcoxon) (smaller than ±1) [n=12 run pairs (Wilcoxon), "
        "Δ=+3.1 [+0.4, +5.8], p=0.002, Holm p=2.5e-05, TOST ±1 Holm p=3e-06]"
    )
    # infinities print as inf, lower case (no spread to bound them)
    wild = _verdict("undecided", diff=math.inf, ci=(-math.inf, math.inf))
    assert "Δ=+inf [-inf, +inf]" in wild.numbers()
    eq = _verdict("equivalent", p_tost_holm=0.01, scale=10.0, margin=0.2)
    assert eq.label() == "equivalent within ±2" and "smaller" not in eq.line()
    need = Need(20, 20, "difference")
    und = _verdict("undecided", need=need, why_not="floor")
    assert und.label() == "undecided" and und.trials_to_decide == 20 and und.n == 12
    assert und.line().startswith(
        "RoGA vs ERM: undecided — floor; about 20 trials in a new sweep would decide it "
        "(difference) [n=12"
    )
    bare = _verdict("undecided")
    assert bare.line().startswith("RoGA vs ERM: undecided [n=12") and bare.trials_to_decide is None


def test_decide_fields_by_hand():
    base = [0.70 + 0.01 * i for i in range(5)]
    up = [b + 0.03 + 0.002 * (-1) ** i for i, b in enumerate(base)]  # 5 pairs: paired t
    flat = [b + 0.001 * (-1) ** i for i, b in enumerate(base)]
    rows = [Comparison("U vs ERM", tuple(up), tuple(base), trials_run=5),
            Comparison("F vs ERM", tuple(flat), tuple(base), trials_run=5)]  # fmt: skip
    rule = DecisionRule(alpha=0.05, margin=1.0)
    u, f = decide(rows, rule)
    du, df = np.subtract(up, base), np.subtract(flat, base)
    pu, pf = stats.ttest_1samp(du, 0).pvalue, stats.ttest_1samp(df, 0).pvalue
    assert (u.p, f.p) == pytest.approx((pu, pf))
    assert u.p_holm == pytest.approx(min(1, 2 * pu)) and f.p_holm == pytest.approx(max(pf, 2 * pu))
    assert u.level == pytest.approx(0.025) and f.level == pytest.approx(0.05)
    tu, tf = tost_paired(du, 0.01), tost_paired(df, 0.01)
    assert (u.p_tost, f.p_tost) == pytest.approx((tu.p, tf.p))
    assert f.p_tost_holm == pytest.approx(min(1, 2 * tf.p))
    assert u.kind == "better" and f.kind == "equivalent"
    assert u.margin == 0.01 and u.scale == 100.0 and u.diff == pytest.approx(du.mean())
    assert u.ci == pytest.approx(paired_test(up, base).ci(0.95))
    # the TOST interval at the row's Holm TOST level: 1 - 2·α/m for the smallest TOST p
    assert f.tost_ci == pytest.approx(paired_test(flat, base).ci(1 - 2 * 0.05 / 2))
    assert u.need is None and u.why_not is None


def test_undecided_row_gets_its_floor_and_need_at_its_holm_level():
    # one row, 6 pairs of +5 points: Wilcoxon p 1/32, raw level 0.05 -> better; with a rule
    # at α = 0.03 the floor 1/32 blocks it
    erm = [0.70 + 0.01 * i for i in range(6)]
    spread = [0.002, -0.002, 0.001, -0.001, 0.0015, -0.0005]
    row = Comparison("A vs ERM", tuple(e + 0.05 + s for e, s in zip(erm, spread, strict=True)),
                     tuple(erm), trials_run=6, pairs_per_trial=2.0)  # fmt: skip
    (v,) = decide([row], DecisionRule(alpha=0.03))
    assert v.kind == "undecided" and v.level == 0.03
    assert v.why_not == floor_reason(v.test, 0.03) and v.why_not is not None
    want = trials_to_decide(v.test, level=0.03, margin=0.01, trials_run=6, pairs_per_trial=2.0)
    assert v.need == want and v.need.pairs == 2 * v.need.trials
    (v,) = decide([row])
    assert v.kind == "better" and v.need is None


def test_decide_names_scales_and_tost_levels_follow_the_rule():
    base = [0.70 + 0.01 * i for i in range(5)]
    flat = [b + 0.001 * (-1) ** i for i, b in enumerate(base)]
    rule = DecisionRule(alpha=0.1, margin=10.0, scale=1000.0)  # δ = 0.01 in data units
    (f,) = decide([Comparison("F vs ERM", tuple(flat), tuple(base), trials_run=5)], rule)
    assert f.name == "F vs ERM" and f.scale == 1000.0 and f.margin == pytest.approx(0.01)
    # one row: its TOST Holm level is α itself, the interval the 1 - 2α one
    assert f.tost_ci == pytest.approx(paired_test(flat, base).ci(1 - 2 * 0.1))
    with pytest.raises(ValueError, match="X vs ERM: 2 values against 3"):
        Comparison("X vs ERM", (0.1, 0.2), (0.1, 0.2, 0.3))


def test_a_holm_p_equal_to_alpha_is_not_below_it():
    # six positive differences: Wilcoxon p = 1/32 exactly; at α = 1/32 that is not a win
    erm = [0.70 + 0.01 * i for i in range(6)]
    row = Comparison("A vs ERM", tuple(e + 0.05 + 0.001 * i for i, e in enumerate(erm)), tuple(erm))
    (v,) = decide([row], DecisionRule(alpha=1 / 32))
    assert v.p_holm == 1 / 32 and v.kind == "undecided"
    (v,) = decide([row], DecisionRule(alpha=0.04))
    assert v.kind == "better"


def test_decide_with_nan_p_uses_the_rule_alpha():
    # a row of one pair has p NaN: its level falls back to α, it is undecided with a reason
    (v,) = decide([Comparison("X vs ERM", (0.8,), (0.7,), trials_run=1)], DecisionRule(alpha=0.1))
    assert v.kind == "undecided" and v.level == 0.1
    assert v.why_not == "cannot be decided with 1 pair(s): a paired test needs 2"
    assert all(math.isnan(x) for x in v.tost_ci)


# ----------------------------------------------------------------------------- spending


def test_spending_values_by_hand():
    # Lan-DeMets at t = 1/2, level 0.05: O'Brien-Fleming-type 2 - 2Φ(1.96/√0.5) = 0.005575,
    # Pocock-type 0.05·ln(1 + (e - 1)/2) = 0.031006
    assert float(spent("obf", 0.5, 0.05)) == pytest.approx(0.0055746, abs=1e-6)
    assert float(spent("pocock", 0.5, 0.05)) == pytest.approx(0.0310057, abs=1e-6)
    # nothing before the start, the level after the end (clipped), no warning at 0
    with _no_warnings():
        for name in ("obf", "pocock"):
            assert spent(name, np.asarray([0, -0.5]), 0.05) == pytest.approx([0.0, 0.0], abs=1e-9)
            assert spent(name, np.asarray([1, 2]), 0.05) == pytest.approx([0.05, 0.05])
            assert float(spent(name, 1.5, 0.05)) == pytest.approx(0.05)
            assert float(spent(name, 0, 0.05)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="spending 'linear': expected one of"):
        spent("linear", 0.5, 0.05)


def test_boundaries_match_published_lan_demets_values():
    # with many pairs the t statistic is z: the boundaries approach the published z values.
    # Lan-DeMets O'Brien-Fleming-type, 5 equally spaced looks, one-sided 0.025 (gsDesign
    # sfLDOF; Jennison & Turnbull 2000 ch. 7): 4.877, 3.357, 2.680, 2.290, 2.031. The first
    # look spends 5e-7, under one of the 2**18 null sequences: no stopping there (inf).
    looks = (200, 400, 600, 800, 1000)
    obf = t_boundaries(looks, 0.025, "obf", two_sided=False)
    assert math.isinf(obf[0])
    assert obf[1:] == pytest.approx((3.357, 2.680, 2.290, 2.031), abs=0.03)
    # Pocock-type, two-sided 0.05 (DeMets & Lan 1994, Table 1): 2.44, 2.43, 2.41, 2.40, 2.39
    pocock = t_boundaries(looks, 0.05, "pocock", two_sided=True)
    assert pocock == pytest.approx((2.438, 2.427, 2.410, 2.397, 2.386), abs=0.035)


def test_boundaries_refuse_bad_looks_and_levels():
    for looks in ((), (1, 4), (3, 3), (4, 3)):
        with pytest.raises(ValueError, match="expected increasing trial counts from 2"):
            t_boundaries(looks, 0.05)
    for level in (0.0, 1.0):
        with pytest.raises(ValueError, match="expected 0 < level < 1"):
            t_boundaries((2, 4), level)
    assert len(t_boundaries((2, 3), 0.5)) == 2  # 2 pairs and a level of 0.5 are fine


# ----------------------------------------------------------------------------- sequential


def test_design_validation():
    design = SequentialDesign([3, 6])  # a list, numpy ints: stored as a tuple of ints
    assert design.looks == (3, 6) and isinstance(design.looks, tuple)
    assert SequentialDesign(np.array([3, 6])).looks == (3, 6)
    with pytest.raises(ValueError, match="n_comparisons must be >= 1"):
        SequentialDesign((3, 6), 0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="margin must be > 0"):
            SequentialDesign((3, 6), margin=bad)
    with pytest.raises(ValueError, match="spending 'linear'"):
        SequentialDesign((3, 6), equivalence_spending="linear")
    with pytest.raises(ValueError, match="level"):
        SequentialDesign((3, 6), alpha=1.5)  # α itself is checked, not α/2
    with pytest.raises(ValueError, match="max_trials must be >= 2"):
        default_looks(1)
    assert default_looks(2) == (2,)


def test_alpha_spent_per_look():
    design = SequentialDesign((2, 4, 8), margin=1.0)
    assert design.alpha_spent(0, 0.05) == pytest.approx(float(spent("obf", 0.25, 0.05)))
    assert design.alpha_spent(1, 0.05) == pytest.approx(0.0055746, abs=1e-6)
    assert design.alpha_spent(1, 0.05, equivalence=True) == pytest.approx(0.0310057, abs=1e-6)
    assert design.alpha_spent(2, 0.05) == pytest.approx(0.05)


def test_boundaries_of_the_design_sides():
    design = SequentialDesign((4, 16), 2, 0.05)
    assert design.efficacy(2) == t_boundaries((4, 16), 0.025, "obf", True)
    assert design.equivalence() == t_boundaries((4, 16), 0.025, "pocock", False)
    ni = SequentialDesign((4, 16), 2, 0.05, non_inferiority=True)
    assert ni.non_inferiority_bounds(1) == t_boundaries((4, 16), 0.025, "obf", False)
    assert ni.equivalence() == t_boundaries((4, 16), 0.0125, "pocock", False)


def _rounded(values):
    return [None if math.isinf(v) else round(v, 6) for v in values]


def test_design_dict_in_full():
    looks = (3, 6, 12)
    doc = SequentialDesign(looks, 2, 0.05, margin=1.0).to_dict()
    assert doc == {
        "looks": [3, 6, 12],
        "n_comparisons": 2,
        "alpha": 0.05,
        "margin": 1.0,
        "spending": "obf",
        "equivalence_spending": "pocock",
        "efficacy_boundaries": {
            "alpha/1": _rounded(t_boundaries(looks, 0.05)),
            "alpha/2": _rounded(t_boundaries(looks, 0.025)),
        },
        "equivalence_boundaries": _rounded(t_boundaries(looks, 0.025, "pocock", False)),
        "calibration": "262144 null sequences, seed 20250601",
    }
    # inf (no stopping at a look that spends under one null sequence) is written as null
    early = SequentialDesign((2, 100)).to_dict()["efficacy_boundaries"]["alpha/1"]
    assert early[0] is None and early[1] == round(t_boundaries((2, 100), 0.05)[1], 6)
    last = doc["efficacy_boundaries"]["alpha/1"][-1]
    assert last == round(last, 6) and last != round(last, 5)
    ni = SequentialDesign(looks, 1, 0.05, non_inferiority=True).to_dict()
    assert ni["non_inferiority_boundaries"] == {
        "alpha/2/1": _rounded(t_boundaries(looks, 0.025, "obf", False))
    }
    assert ni["inferiority_boundaries"] == _rounded(t_boundaries(looks, 0.025, "pocock", False))
    assert ni["looks"] == [3, 6, 12] and "calibration" in ni


def test_look_stats_by_hand():
    d = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    s = look_stats(d, (2, 4, 8))  # a look past the data is left out
    assert list(s.n) == [2, 4]
    assert s.mean[0, 0] == pytest.approx([1.5, 2.5])
    assert s.sd[0, 0] == pytest.approx([math.sqrt(0.5), math.sqrt(5 / 3)])
    # computed in double precision whatever the input type (int8 squares overflow, float32
    # loses the spread of values near 1000)
    ints = look_stats(np.array([[[100, 120, 110, 90]]], dtype=np.int8), (4,))
    assert ints.sd[0, 0, 0] == pytest.approx(np.std([100, 120, 110, 90], ddof=1))
    near = 1000 + np.array([0.001, -0.002, 0.0015, -0.0005])
    f32 = look_stats(near.astype(np.float32)[None, None], (4,))
    want = np.std(near.astype(np.float32).astype(float), ddof=1)
    assert f32.sd[0, 0, 0] == pytest.approx(want, rel=1e-3)


def _summary(t_values, looks):
    """Look summaries with s.d. √n (se exactly 1 at square n): mean = t."""
    t = np.asarray(t_values, dtype=float)[None]
    n = np.asarray(looks, dtype=float)
    return LookStats(np.asarray(looks), t, np.broadcast_to(np.sqrt(n), t.shape).copy())


def test_reaching_the_boundary_exactly_rejects():
    design = SequentialDesign((4, 16), 1, 0.05, margin=1e-3)
    c = design.efficacy(1)[1]
    res = run_design(design, _summary([[0.0, c]], (4, 16)))
    assert res.t[0, 0, 1] == c and res.verdict[0, 0] == BETTER and res.stop[0, 0] == 1


def test_an_interval_touching_the_margin_is_not_inside():
    # "inside (-δ, +δ)" is strict: margins chosen so that an end of the repeated interval
    # equals ∓δ exactly in floating point (the boundaries do not depend on δ); se = 1
    looks = (4, 16)
    e = SequentialDesign(looks, 1, 0.05).equivalence()[0]
    for mean, margin in ((-0.3, e + 0.3), (0.3, 0.3 + e)):  # lower end -δ; upper end +δ
        design = SequentialDesign(looks, 1, 0.05, margin=margin)
        res = run_design(design, _summary([[mean, 0.0]], looks), n_looks=1)
        assert res.verdict[0, 0] == UNDECIDED
        wider = SequentialDesign(looks, 1, 0.05, margin=np.nextafter(margin, np.inf))
        assert run_design(wider, _summary([[mean, 0.0]], looks), n_looks=1).verdict[0, 0] == (
            EQUIVALENT
        )
    # inferior: the upper end d̄ + f below -δ, strictly
    f = SequentialDesign(looks, 1, 0.05, non_inferiority=True).equivalence()[0]
    margin = 10.0 - f  # d̄ = -10: d̄ + f == -δ exactly
    ni = SequentialDesign(looks, 1, 0.05, margin=margin, non_inferiority=True)
    assert run_design(ni, _summary([[-10.0, 0.0]], looks), n_looks=1).verdict[0, 0] == UNDECIDED
    ni = SequentialDesign(looks, 1, 0.05, margin=np.nextafter(margin, 0), non_inferiority=True)
    assert run_design(ni, _summary([[-10.0, 0.0]], looks), n_looks=1).verdict[0, 0] == INFERIOR


def test_zero_spread_runs_decide_without_warnings():
    looks = (4, 16)
    design = SequentialDesign(looks, 3, 0.05, margin=1e-3)
    mean = np.array([[[0.5, 0.5], [0.0, 0.0], [-0.5, -0.5]]])
    summary = LookStats(np.asarray(looks), mean, np.zeros_like(mean))
    with _no_warnings():
        res = run_design(design, summary)
    # zero spread: ±inf statistics, 0 for a zero mean (whose point interval is inside ±δ)
    assert list(res.verdict[0]) == [BETTER, EQUIVALENT, WORSE]
    assert res.t[0, 1, 0] == 0.0 and res.t[0, 0, 0] > 1e300
    ni = SequentialDesign(looks, 3, 0.05, margin=1.0, non_inferiority=True)
    mean = np.array([[[0.5, 0.5], [-1.0, -1.0], [-1.5, -1.5]]])
    with _no_warnings():
        res = run_design(ni, LookStats(np.asarray(looks), mean, np.zeros_like(mean)))
    assert list(res.verdict[0]) == [NON_INFERIOR, UNDECIDED, INFERIOR]
    assert res.t[0, 1, 0] == 0.0


def test_run_design_result_fields():
    looks = (4, 16, 36)
    design = SequentialDesign(looks, 2, 0.05, margin=1e-3)
    summary = _summary([[0.1, 0.2, 0.3], [0.1, -0.2, 0.1]], looks)
    res = run_design(design, summary)
    assert res.verdict.dtype.kind == "i" and res.state.dtype.kind == "i"
    assert list(res.verdict[0]) == [UNDECIDED, UNDECIDED]
    assert list(res.stop[0]) == [2, 2] and list(res.trials[0]) == [36, 36]  # the last look
    assert res.looks_run == 3 and res.state.shape == (1, 2, 3) and not res.state.any()
    assert res.se[0] == pytest.approx(np.ones((2, 3)))
    assert res.mean[0] == pytest.approx(summary.mean[0])
    eq = design.equivalence()
    assert res.eq_boundary.shape == (1, 2, 3) and res.eq_boundary[0, 1] == pytest.approx(eq)
    # the first look only (a budget that ran out): open comparisons stay undecided there
    short = run_design(design, summary, n_looks=1)
    assert short.looks_run == 1 and list(short.stop[0]) == [0, 0] and short.t.shape == (1, 2, 1)
    with pytest.raises(ValueError, match="3 comparisons given, the design has 2"):
        run_design(design, _summary([[0.1] * 3] * 3, looks))
    with pytest.raises(ValueError, match=r"looks at \[4, 16, 36\] pairs, the design's at"):
        run_design(SequentialDesign((4, 9, 36), 2), summary)


def test_the_sign_comes_from_the_latest_crossing_look():
    # A sat between the α/2 and α boundaries at look 1 (positive), then fell back (negative,
    # not crossing); B crosses at look 3, which lowers A's boundaries to α: A is re-tested at
    # every look it was seen at, and its only crossing (look 1) is positive: better
    looks = (4, 16, 36)
    design = SequentialDesign(looks, 2, 0.05, margin=1e-3, spending="pocock")
    c_half, c_full = design.efficacy(2), design.efficacy(1)
    between = (c_half[0] + c_full[0]) / 2
    res = run_design(design, _summary([[between, -0.1, -0.1], [0.1, 0.1, c_half[2] + 1]], looks))
    assert list(res.verdict[0]) == [BETTER, BETTER] and list(res.stop[0]) == [2, 2]


def test_fixed_design_trials_reach_the_power_at_the_fewest_pairs():
    # effect size 10: 2 pairs have power 0.73, 3 pairs 0.9999996 (statsmodels' solver stops at
    # its lower bound and says 2); effect size 40: 2 pairs suffice (the solver fails)
    assert t_power(2, 10.0, 0.05) < 0.8 <= t_power(3, 10.0, 0.05)
    assert fixed_design_trials(10.0, 1.0, 0.05, 0.8) == 3
    assert type(fixed_design_trials(0.3, 1.0, 0.05, 0.8)) is int  # a count, not 90.0
    assert fixed_design_trials(40.0, 1.0, 0.05, 0.8) == 2
    for es in (0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.4, 2.0, 3.0, 5.0, -1.0):
        n = fixed_design_trials(es, 1.0, 0.05, 0.8)
        assert t_power(n, abs(es), 0.05) >= 0.8 and (n == 2 or t_power(n - 1, abs(es), 0.05) < 0.8)
        # statsmodels agrees where its solver works
        solved = TTestPower().solve_power(effect_size=abs(es), alpha=0.05, power=0.8)
        assert n == max(2, math.ceil(solved - 1e-6)), es
    assert fixed_design_trials(0.5, 1.0, 0.01, 0.9) > fixed_design_trials(0.5, 1.0, 0.05, 0.8)
    for bad in ((0.0, 1.0, 0.8), (1.0, 0.0, 0.8), (1.0, 1.0, 1.0), (1.0, 1.0, 0.0)):
        with pytest.raises(ValueError, match="expected Δ ≠ 0, sd > 0"):
            fixed_design_trials(bad[0], bad[1], 0.05, bad[2])


def test_simulations_are_seeded():
    design = SequentialDesign((3, 6), 1, 0.05, margin=0.5)
    a = simulate_design(design, [0.2], sd=1.0, n_sim=50)
    b = simulate_design(design, [0.2], sd=1.0, n_sim=50, seed=0, shared_baseline=False)
    assert np.array_equal(a.t, b.t)  # the default: seed 0, differences drawn directly
    c = simulate_design(design, [0.2], sd=1.0, n_sim=50, seed=1)
    assert not np.array_equal(a.t, c.t)
    shared = [simulate_design(design, [0.2], 1.0, 50, seed=3, shared_baseline=True) for _ in "ab"]
    assert np.array_equal(shared[0].t, shared[1].t)


def test_simulated_looks_have_the_right_law():
    # looks 2, 3, 5, 6: increments of 1 and 2 pairs; s.d. 3 (s.d.² 9 ≠ 2·s.d. 6); the look
    # means average Δ with variance σ²/n, the look variances average σ² (unbiased)
    looks, sd, n_sim = (2, 3, 5, 6), 3.0, 20_000
    design = SequentialDesign(looks, 1, 0.05, margin=1e-3)
    res = simulate_design(design, [0.7], sd=sd, n_sim=n_sim, seed=5)
    mean, var = res.mean[:, 0, :], (res.se[:, 0, :] ** 2) * np.asarray(looks)
    assert mean.mean(axis=0) == pytest.approx([0.7] * 4, abs=0.05)
    assert mean.var(axis=0) == pytest.approx(sd**2 / np.asarray(looks), rel=0.05)
    assert var.mean(axis=0) == pytest.approx([sd**2] * 4, rel=0.04)
    # with the baseline's runs shared, each difference still has s.d. sd
    two = SequentialDesign(looks, 2, 0.05, margin=1e-3)
    shared = simulate_design(two, [0.7, 0.0], sd=sd, n_sim=4000, seed=6, shared_baseline=True)
    assert ((shared.se[..., -1] ** 2) * 6).mean() == pytest.approx(sd**2, rel=0.04)
    assert shared.mean[:, 0, -1].mean() == pytest.approx(0.7, abs=0.1)


# ---------------------------------------------------- trials_to_decide: the fewest, not a guess
def _fewest_by_scan(diff, sd, level, trials_run, max_trials=200):
    from roga_bench.stats._power import power_difference

    for n in range(trials_run + 1, max_trials + 1):
        if power_difference(n, diff, sd, level) >= 0.8:
            return n
    return None


def test_trials_to_decide_does_not_jump_over_the_t_tests_few_pairs():
    """Power dips to 0 at 6 pairs (Wilcoxon, floor 2/2**6 = 0.031 above a Holm level of 0.02)
    after 5 pairs by the paired t reach 0.895: the fewest is 5. A doubling search from 3 went
    3, 6, 12 and bisected 7..12 to answer 7."""
    from roga_bench.stats._power import trials_to_decide

    test = PairedTest(n=2, test="t", diff=2.5, sd=1.0, p=0.1, n_pairs=2)
    need = trials_to_decide(test, level=0.02, margin=1.0, trials_run=2)
    assert need.target == "difference" and need.trials == 5 and need.pairs == 5


@pytest.mark.parametrize("level", [0.05, 0.025, 0.02, 0.0125, 0.004])
@pytest.mark.parametrize("diff", [0.8, 1.5, 2.5, 4.0])
def test_trials_to_decide_is_the_fewest_a_scan_finds(level, diff):
    from roga_bench.stats._power import trials_to_decide

    for trials_run in (2, 3, 5, 8):
        test = PairedTest(n=trials_run, test="t", diff=diff, sd=1.0, p=0.1, n_pairs=trials_run)
        need = trials_to_decide(test, level=level, margin=0.5, trials_run=trials_run)
        assert need.trials == _fewest_by_scan(diff, 1.0, level, trials_run), (trials_run, need)
