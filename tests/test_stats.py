"""roga_bench.stats: each number against a hand computation, and the laws Holm and TOST obey.

Issue 24's defects: "equal" without an equivalence test (the +5-point rows under Holm),
trials-to-decide at or below the trials run and blind to the Wilcoxon floor, Wilcoxon's n
counting the zeros scipy drops, s_d back-computed from an MDE.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from roga_bench.stats import (
    Comparison,
    DecisionRule,
    decide,
    holm,
    holm_levels,
    paired_test,
    power_difference,
    tost_paired,
    trials_to_decide,
    wilcoxon_min_p,
)

SPREAD = [0.002, -0.002, 0.001, -0.001, 0.0015, -0.0005]  # ±0.2 AUC points


def _five_point_rows(m: int = 5, trials: int = 6) -> list[Comparison]:
    """m algorithms vs ERM on 6 run pairs, each +5 AUC points with ±0.2 spread (issue 24.1)."""
    erm = [0.70 + 0.01 * i for i in range(trials)]
    return [
        Comparison(
            f"A{k} vs ERM",
            tuple(e + 0.05 + s for e, s in zip(erm, SPREAD, strict=True)),
            tuple(erm),
            trials_run=trials,
        )  # fmt: skip
        for k in range(m)
    ]


def test_a_five_point_win_is_never_called_equal():
    verdicts = decide(_five_point_rows(), DecisionRule())
    for v in verdicts:
        assert v.test.test == "Wilcoxon" and v.n == 6
        assert v.p == pytest.approx(1 / 32) and v.p_holm == pytest.approx(5 / 32)
        assert v.kind == "undecided"  # the Wilcoxon floor, lifted by Holm, blocks "better"
        assert "equal" not in v.line() and "cannot be decided with this test at 6 pairs" in v.line()
        assert v.ci[0] > 0.048 and v.ci[1] < 0.052  # the interval says +5 clearly
        # a new sweep with enough trials would decide it, and the floor allows it at that size
        assert v.need.trials > 6 and wilcoxon_min_p(v.need.pairs) < v.level


def test_holm_matches_a_hand_computation():
    # sorted 0.01, 0.02, 0.04, 0.30 with m = 4: 0.04, 0.06, 0.08, 0.30 (monotone), NaN kept
    assert holm([0.04, 0.01, math.nan, 0.30, 0.02]) == pytest.approx(
        [0.08, 0.04, math.nan, 0.30, 0.06], nan_ok=True
    )
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, then monotone
    levels = holm_levels([0.04, 0.01, math.nan, 0.30, 0.04])
    assert levels == pytest.approx([0.05 / 3, 0.05 / 4, math.nan, 0.05, 0.05 / 3], nan_ok=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_laws(ps):
    adj = holm(ps)
    for p, a in zip(ps, adj, strict=True):
        assert p - 1e-12 <= a <= 1.0
    for i in range(len(ps)):
        for j in range(len(ps)):
            if ps[i] <= ps[j]:
                assert adj[i] <= adj[j] + 1e-12


def test_tost_matches_a_hand_computation():
    d = np.array([0.004, -0.002, 0.006, 0.001, 0.003])
    delta, n = 0.01, len(d)
    se = d.std(ddof=1) / math.sqrt(n)
    p_low = stats.t.sf((d.mean() + delta) / se, n - 1)
    p_high = stats.t.cdf((d.mean() - delta) / se, n - 1)
    tost = tost_paired(d, delta)
    assert tost.p_lower == pytest.approx(p_low) and tost.p_upper == pytest.approx(p_high)
    assert tost.p == pytest.approx(max(p_low, p_high))
    # p < α  <=>  the (1 - 2α) interval lies inside ±δ
    test = paired_test(d, np.zeros(n))
    for alpha in (0.05, 0.01, 0.001):
        lo, hi = test.ci(1 - 2 * alpha)
        assert tost.equivalent(alpha) == (-delta < lo and hi < delta)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=2, max_size=10), st.floats(0.001, 0.05))
def test_tost_is_symmetric_in_sign(d, delta):
    a, b = tost_paired(d, delta), tost_paired([-x for x in d], delta)
    assert a.p == pytest.approx(b.p, nan_ok=True, abs=1e-9)


def test_wilcoxon_n_is_the_pairs_it_used():
    # 8 pairs, 2 zero differences: scipy drops them and ranks 6; n says 6, not 8
    d = [0.0, 0.0, 0.01, 0.02, 0.03, 0.04, -0.005, 0.06]
    t = paired_test(d, [0.0] * 8)
    assert t.test == "Wilcoxon" and t.n == 6 and t.n_pairs == 8
    assert t.p == pytest.approx(stats.wilcoxon([x for x in d if x]).pvalue)
    # 5 non-zero of 7: Wilcoxon cannot reach 0.05 on 5, so the paired t-test runs on all 7
    t = paired_test(d[:7], [0.0] * 7)
    assert t.test == "paired t" and t.n == 7
    assert t.p == pytest.approx(stats.ttest_1samp(d[:7], 0).pvalue)
    assert t.sd == pytest.approx(np.std(d[:7], ddof=1))  # s_d computed, not back-computed


def test_all_zero_differences_are_identical_and_equivalent():
    t = paired_test([0.8, 0.7, 0.9], [0.8, 0.7, 0.9])
    assert (t.test, t.p, t.n) == ("identical", 1.0, 3)
    (v,) = decide([Comparison("X vs ERM", (0.8, 0.7, 0.9), (0.8, 0.7, 0.9), trials_run=3)])
    assert v.kind == "equivalent"


def test_trials_to_decide_is_above_the_trials_run_and_uses_the_holm_level():
    # issue 24.3: "SAGM vs SGD ... about 3 trials would decide" after 3 trials
    t = paired_test([0.90, 0.88, 0.95], [0.87, 0.86, 0.88])
    for level in (0.05, 0.05 / 6):
        need = trials_to_decide(t, level=level, margin=0.01, trials_run=3)
        assert need.trials > 3 and need.target == "difference"
        assert power_difference(need.pairs, t.diff, t.sd, level) >= 0.8
        assert power_difference(need.pairs - 1, t.diff, t.sd, level) < 0.8 or need.trials == 4
    strict = trials_to_decide(t, level=0.05 / 6, margin=0.01, trials_run=3).trials
    assert strict > trials_to_decide(t, level=0.05, margin=0.01, trials_run=3).trials
    # a difference that is already clear still asks for more than the trials run
    sure = paired_test([0.9, 0.91, 0.92, 0.93], [0.8, 0.81, 0.82, 0.83001])
    assert trials_to_decide(sure, level=0.05, margin=0.01, trials_run=4).trials == 5


def test_power_is_the_exact_noncentral_t():
    # power of the paired t-test at n = 3, effect = s_d: noncentral t with nc = sqrt(3)
    crit = stats.t.ppf(0.975, 2)
    exact = stats.nct.sf(crit, 2, math.sqrt(3)) + stats.nct.cdf(-crit, 2, math.sqrt(3))
    assert power_difference(3, 0.02, 0.02, 0.05) == pytest.approx(exact, rel=1e-6)
    assert power_difference(6, 0.02, 0.001, 0.02) == 0.0  # Wilcoxon floor 1/32 > 0.02
    # statsmodels agrees where it does not underflow
    from statsmodels.stats.power import TTestPower

    assert power_difference(4, 0.01, 0.02, 0.01) == pytest.approx(
        TTestPower().power(effect_size=0.5, nobs=4, alpha=0.01), rel=1e-6
    )


def test_equivalent_needs_the_interval_inside_the_margin():
    base = [0.70, 0.72, 0.74, 0.76, 0.78, 0.80, 0.71, 0.73]
    tight = [b + 0.001 * (-1) ** i for i, b in enumerate(base)]
    (v,) = decide([Comparison("T vs ERM", tuple(tight), tuple(base), trials_run=8)])
    assert v.kind == "equivalent" and "equivalent within ±1" in v.line()
    wide = [b + 0.03 * (-1) ** i for i, b in enumerate(base)]
    (v,) = decide([Comparison("W vs ERM", tuple(wide), tuple(base), trials_run=8)])
    assert v.kind == "undecided" and abs(v.diff) < 0.01  # small Δ, wide interval: no verdict
    assert v.need.target == "equivalence" and v.need.trials > 8


def test_better_and_worse_follow_the_holm_p():
    base = [0.70 + 0.01 * i for i in range(10)]
    up = [b + 0.05 + 0.001 * (i % 3) for i, b in enumerate(base)]
    down = [b - 0.05 - 0.001 * (i % 3) for i, b in enumerate(base)]
    rows = [("U", up), ("D", down)]
    verdicts = decide([Comparison(f"{k} vs ERM", tuple(v), tuple(base)) for k, v in rows])
    assert [v.kind for v in verdicts] == ["better", "worse"]
    assert all("(Wilcoxon)" in v.line() for v in verdicts)


def test_rule_refuses_a_bad_margin():
    with pytest.raises(ValueError, match="margin"):
        DecisionRule(margin=0)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-0.2, 0.2),
    st.floats(0.001, 0.2),
    st.integers(2, 20),
    st.sampled_from([1.0, 2.0, 4.0]),
    st.sampled_from([0.05, 0.025, 0.01, 0.05 / 6]),
)
def test_trials_to_decide_laws(diff, sd, trials_run, ppt, level):
    from roga_bench.stats import MIN_WILCOXON_PAIRS, PairedTest

    n = max(2, int(trials_run * ppt))
    test = PairedTest(n, "paired t", diff, sd, 0.5, n)
    need = trials_to_decide(test, level=level, margin=0.01, trials_run=trials_run,
                            pairs_per_trial=ppt, max_trials=2000)  # fmt: skip
    if need.trials is None:
        assert need.reason
        return
    assert need.trials > trials_run  # never a count at or below the trials already run
    if need.target == "difference" and need.pairs >= MIN_WILCOXON_PAIRS:
        assert wilcoxon_min_p(need.pairs) < level  # the floor allows a decision at that size
