"""The sequential design's error rates, by simulation (seeded, vectorised: a few seconds).

The calibration uses its own seed (``CALIBRATION_SEED``); these simulations use other seeds, so
they check the boundaries on fresh sequences. Each rate is compared with its level plus three
Monte-Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from roga_bench.stats.sequential import (
    BETTER,
    EQUIVALENT,
    INFERIOR,
    NON_INFERIOR,
    WORSE,
    LookStats,
    SequentialDesign,
    default_looks,
    fixed_design_trials,
    look_stats,
    run_design,
    simulate_design,
    spent,
    t_boundaries,
)

ALPHA = 0.05
N_SIM = 20_000
LOOKS = (3, 6, 12, 24, 48)
TOL = 3 * math.sqrt(ALPHA * (1 - ALPHA) / N_SIM)  # three MC standard errors


def _wrong_sign(verdict: np.ndarray) -> float:
    """Familywise rate of any better/worse verdict (all true effects are 0)."""
    return float(np.isin(verdict, (BETTER, WORSE)).any(axis=1).mean())


@pytest.mark.parametrize("m", [1, 4])
def test_false_better_worse_rate_with_peeking_is_at_most_alpha(m: int):
    # a tiny margin: equivalence almost never stops a sequence early, so every look is used
    design = SequentialDesign(LOOKS, m, ALPHA, margin=1e-3)
    sim = simulate_design(design, [0.0] * m, sd=1.0, n_sim=N_SIM, seed=11, shared_baseline=True)
    rate = _wrong_sign(sim.verdict)
    assert rate <= ALPHA + TOL
    if m == 1:  # the level is used, not wasted: boundaries of inf everywhere would give 0
        assert rate >= ALPHA - TOL
    # the same looks tested each at an unadjusted 5% t-test: the inflation this design removes
    naive = np.abs(sim.t[:, 0, 1:]) >= stats.t.ppf(0.975, np.asarray(LOOKS[1:]) - 1)
    assert naive.any(axis=1).mean() > 0.09


@pytest.mark.parametrize("m", [1, 4])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_false_equivalence_rate_at_the_margin_is_at_most_alpha(m: int, sign: float):
    # true Δ = ±δ: "equivalent within ±δ" is wrong; s.d. 2δ makes it reachable by 48 pairs
    design = SequentialDesign(LOOKS, m, ALPHA, margin=1.0)
    sim = simulate_design(design, [sign] * m, sd=2.0, n_sim=N_SIM, seed=12)
    rate = float((sim.verdict == EQUIVALENT).any(axis=1).mean())
    assert rate <= ALPHA + TOL
    if m == 1:
        assert rate >= ALPHA / 2  # the test has power to see a broken TOST


def test_equivalence_is_reached_when_there_is_no_effect():
    design = SequentialDesign(LOOKS, 1, ALPHA, margin=1.0)
    sim = simulate_design(design, [0.0], sd=1.0, n_sim=4000, seed=13)
    assert (sim.verdict == EQUIVALENT).mean() > 0.9
    assert sim.trials.mean() < 48


def test_a_single_look_is_the_fixed_t_test():
    (c,) = t_boundaries((10,), 0.05)
    assert c == pytest.approx(stats.t.ppf(0.975, 9), abs=0.03)
    (e,) = t_boundaries((10,), 0.05, two_sided=False)
    assert e == pytest.approx(stats.t.ppf(0.95, 9), abs=0.03)


def test_boundaries_fall_with_the_level_at_every_look():
    # the Holm shortcut of the closed procedure needs c_k(γ) non-increasing in γ
    bounds = [t_boundaries(default_looks(100), 0.05 / j) for j in (1, 2, 3, 4)]
    for small, large in zip(bounds[1:], bounds[:-1], strict=True):
        assert all(b >= a for a, b in zip(large, small, strict=True))
    assert math.isinf(bounds[0][0]) and bounds[0][-1] < 2.1  # O'Brien-Fleming shape


def test_spending_functions_end_at_the_level():
    assert float(spent("obf", 1.0, 0.05)) == pytest.approx(0.05)
    assert float(spent("pocock", 1.0, 0.05)) == pytest.approx(0.05)
    assert float(spent("obf", 0.25, 0.05)) < 1e-3 < float(spent("pocock", 0.25, 0.05))


def _summary(t_values: list[list[float]], looks: tuple[int, ...]) -> LookStats:
    """Summaries whose t statistics are ``t_values`` (m x K): s.d. √n, so se = 1, mean = t."""
    t = np.asarray(t_values, dtype=float)[None]
    n = np.asarray(looks, dtype=float)
    return LookStats(np.asarray(looks), t, np.broadcast_to(np.sqrt(n), t.shape).copy())


def test_holm_recycles_alpha_to_the_open_comparisons_and_earlier_looks():
    looks = (10, 20)
    design = SequentialDesign(looks, 2, ALPHA, margin=1e-3)
    c_half, c_full = design.efficacy(2), design.efficacy(1)
    between = (c_half[0] + c_full[0]) / 2  # above the α boundary, below the α/2 one at look 1
    assert c_full[0] < between < c_half[0]
    # B crosses the α/2 boundary at look 2; A sat between the boundaries at look 1 only
    res = run_design(design, _summary([[between, 0.1], [0.1, c_half[1] + 0.5]], looks))
    assert list(res.verdict[0]) == [BETTER, BETTER]
    assert list(res.stop[0]) == [1, 1]
    # without B's rejection A stays open: Bonferroni alone would not reject it
    res = run_design(design, _summary([[between, 0.1], [0.1, 0.1]], looks))
    assert list(res.verdict[0]) == [0, 0]
    # a negative mean at the crossing look is worse, not better
    res = run_design(design, _summary([[-(c_half[0] + 1), 0.0], [0.1, 0.1]], looks))
    assert list(res.verdict[0]) == [WORSE, 0]


def test_a_rejected_row_reports_the_boundary_it_crossed_not_the_recycled_one():
    # the confirmatory sweep's look 3: RoGA crossed the α/3 boundary; the others are then
    # tested at α/2, but RoGA's own row (and its interval) must keep the α/3 boundary
    looks = (10, 20, 30)
    design = SequentialDesign(looks, 3, ALPHA, margin=1e-3)
    third, half = design.efficacy(3), design.efficacy(2)
    res = run_design(design, _summary([[0.1, 0.1, third[2] + 0.01], [0.1] * 3, [0.1] * 3], looks))
    assert list(res.verdict[0]) == [BETTER, 0, 0]
    assert res.boundary[0, 0, 2] == pytest.approx(third[2])
    assert res.level[0, 0, 2] == pytest.approx(ALPHA / 3)
    assert list(res.boundary[0, 1:, 2]) == pytest.approx([half[2], half[2]])
    assert list(res.level[0, 1:, 2]) == pytest.approx([ALPHA / 2, ALPHA / 2])
    # before the rejection every row is at α/3
    assert list(res.boundary[0, :, 1]) == pytest.approx([third[1]] * 3)


def test_the_fixed_design_matches_the_noncentral_t():
    n = fixed_design_trials(1.0, 5.0, 0.05, 0.8)
    power = 1 - stats.nct.cdf(stats.t.ppf(0.975, n - 1), n - 1, math.sqrt(n) / 5)
    before = 1 - stats.nct.cdf(stats.t.ppf(0.975, n - 2), n - 2, math.sqrt(n - 1) / 5)
    assert power >= 0.8 > before


def test_default_looks_double_up_to_the_maximum():
    assert default_looks(100) == (3, 6, 12, 24, 48, 100)
    assert default_looks(48) == (3, 6, 12, 24, 48)
    assert default_looks(30) == (3, 6, 12, 30)
    assert default_looks(150) == (3, 6, 12, 24, 48, 96, 150)
    assert default_looks(3) == (3,) and default_looks(4) == (3, 4)
    with pytest.raises(ValueError):
        default_looks(1)


def test_a_design_from_a_decision_rule_keeps_its_alpha_margin_and_verdict_kinds():
    from types import SimpleNamespace

    from roga_bench.stats.sequential import VERDICTS

    design = SequentialDesign.from_rule(SimpleNamespace(alpha=0.1, margin=2.0), (3, 6), 2)
    assert (design.alpha, design.margin, design.n_comparisons) == (0.1, 2.0, 2)
    # the rule's kinds, plus the non-inferiority mode's two
    assert set(VERDICTS.values()) == {
        "better",
        "worse",
        "equivalent",
        "undecided",
        "non-inferior",
        "inferior",
    }


# --- non-inferiority (H0: Δ <= -δ; one-sided at α/2 each side) ----------------------------------
HALF = ALPHA / 2
HALF_TOL = 3 * math.sqrt(HALF * (1 - HALF) / N_SIM)


@pytest.mark.parametrize("m", [1, 2])
def test_false_non_inferiority_rate_at_the_margin_is_at_most_alpha_over_2(m: int):
    # true Δ = -δ for every comparison: "non-inferior" is wrong; runs drawn with the baseline
    # shared (as in a sweep)
    design = SequentialDesign(LOOKS, m, ALPHA, margin=1.0, non_inferiority=True)
    sim = simulate_design(design, [-1.0] * m, sd=2.0, n_sim=N_SIM, seed=21, shared_baseline=True)
    rate = float((sim.verdict == NON_INFERIOR).any(axis=1).mean())
    assert rate <= HALF + HALF_TOL
    if m == 1:  # the level is used: a boundary of inf everywhere would give 0
        assert rate >= HALF - HALF_TOL
    # the same sequences, each look's one-sided 2.5 % t-test unadjusted: well above the level
    naive = sim.t[:, 0, 1:] >= stats.t.ppf(1 - HALF, np.asarray(LOOKS[1:]) - 1)
    assert naive.any(axis=1).mean() > 2 * HALF


@pytest.mark.parametrize("m", [1, 2])
def test_false_inferiority_rate_just_inside_the_margin_is_at_most_alpha_over_2(m: int):
    design = SequentialDesign(LOOKS, m, ALPHA, margin=1.0, non_inferiority=True)
    sim = simulate_design(design, [-1.0] * m, sd=2.0, n_sim=N_SIM, seed=22)
    assert float((sim.verdict == INFERIOR).any(axis=1).mean()) <= HALF + HALF_TOL


@pytest.mark.parametrize("m", [1, 2])
def test_non_inferiority_at_no_difference_reaches_the_designs_power(m: int):
    # N sized as the fixed one-sided α/2 test with 80 % power at Δ = 0 (margin δ), times the
    # O'Brien-Fleming inflation (about 1.03 for 5 looks): the sequential design keeps the power
    sd, power = 2.0, 0.8
    n_fixed = fixed_design_trials(1.0, sd, ALPHA, power)  # two-sided α = one-sided α/2
    looks = tuple(round(n_fixed * 1.05 * f) for f in (0.2, 0.4, 0.6, 0.8, 1.0))
    design = SequentialDesign(looks, m, ALPHA, margin=1.0, non_inferiority=True)
    sim = simulate_design(design, [0.0] * m, sd=sd, n_sim=N_SIM, seed=23)
    p_ni = (sim.verdict == NON_INFERIOR).mean(axis=0)
    tol = 3 * math.sqrt(power * (1 - power) / N_SIM)
    assert (p_ni >= power - tol).all()
    assert (sim.verdict == INFERIOR).mean() < 0.001
    assert sim.trials.mean() < looks[-1]  # it stops early on average
    # and a clearly inferior candidate is found inferior
    bad = simulate_design(design, [-3.0] * m, sd=sd, n_sim=2000, seed=24)
    assert (bad.verdict == INFERIOR).mean() > 0.95


def test_non_inferiority_verdict_against_a_hand_computation():
    # one comparison, 10 pairs: non-inferior iff the lower bound d̄ - u·se > -δ
    design = SequentialDesign((10,), 1, ALPHA, margin=1.0, non_inferiority=True)
    (u,) = design.non_inferiority_bounds(1)
    assert u == pytest.approx(stats.t.ppf(1 - HALF, 9), abs=0.02)
    rng = np.random.default_rng(0)
    d = rng.standard_normal(10)
    for shift, want in ((0.5, NON_INFERIOR), (-3.0, INFERIOR)):
        x = d + shift
        lower = x.mean() - u * x.std(ddof=1) / math.sqrt(10)
        upper = x.mean() + design.equivalence()[0] * x.std(ddof=1) / math.sqrt(10)
        assert (lower > -1.0) == (want == NON_INFERIOR)
        assert (upper < -1.0) == (want == INFERIOR)
        result = run_design(design, look_stats(x[None, None, :], (10,)))
        assert result.verdict[0, 0] == want


def test_design_dict_of_the_two_modes():
    old = SequentialDesign(LOOKS, 2).to_dict()
    assert "non_inferiority" not in old  # designs written before the mode still compare equal
    new = SequentialDesign(LOOKS, 2, non_inferiority=True).to_dict()
    assert new["non_inferiority"] is True and new["one_sided_alpha"] == HALF
    assert set(new["non_inferiority_boundaries"]) == {"alpha/2/1", "alpha/2/2"}
