"""Laws the statistics, the job hash, ranking, frame sampling and the optimizers obey, checked on
many inputs (hypothesis). Each law names the plausible bug it catches.

Kept fast: small ``max_examples``, tiny tensors; each test takes a few seconds at most.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from roga_bench._ranking import best_index, is_better, mean_over_envs
from roga_bench.datasets._index import sample_evenly, sample_frames, sort_frames
from roga_bench.optim import GSAM, SAM
from roga_bench.stats import (
    MIN_WILCOXON_PAIRS,
    holm,
    holm_levels,
    paired_test,
    tost_paired,
    wilcoxon_min_p,
)
from roga_bench.sweep import job_hash, make_jobs, train_argv

FAST = settings(max_examples=15, deadline=None, derandomize=True)  # the same examples each run
p_values = st.floats(0, 1, allow_nan=False)
diffs = st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=2, max_size=12)


# ------------------------------------------------------------------ Holm


@FAST
@given(st.lists(st.one_of(p_values, st.just(math.nan)), min_size=1, max_size=10))
def test_holm_is_monotone_at_least_raw_and_at_most_one(ps):
    """Bugs: no cap at 1, no running max (step-down not monotone), NaN counted in m."""
    adj = holm(ps)
    finite = [(p, a) for p, a in zip(ps, adj, strict=True) if not math.isnan(p)]
    assert all(math.isnan(a) for p, a in zip(ps, adj, strict=True) if math.isnan(p))
    m = len(finite)
    for p, a in finite:
        assert p - 1e-12 <= a <= 1.0
        assert a <= min(1.0, m * p) + 1e-12  # Bonferroni bounds Holm
    for p, a in finite:
        for q, b in finite:
            if p <= q:
                assert a <= b + 1e-12
    # NaN entries do not count in m: dropping them changes nothing
    assert [a for a in adj if not math.isnan(a)] == pytest.approx(holm([p for p, _ in finite]))


@FAST
@given(st.lists(p_values, min_size=1, max_size=10), st.permutations(range(10)))
def test_holm_commutes_with_reordering(ps, perm):
    """Bug: adjusting in input order instead of sorted order."""
    order = [i for i in perm if i < len(ps)]
    adj = holm(ps)
    assert holm([ps[i] for i in order]) == pytest.approx([adj[i] for i in order])


@FAST
@given(st.lists(p_values, min_size=1, max_size=10), st.floats(0.001, 0.2))
def test_holm_levels_agree_with_the_adjusted_p(ps, alpha):
    """The k-th smallest p is compared with alpha/(m-k+1); p < its level ⇔ ... for the first
    rejection, and the levels never exceed alpha nor fall below alpha/m."""
    levels = holm_levels(ps, alpha)
    m = len(ps)
    for lv in levels:
        assert alpha / m - 1e-15 <= lv <= alpha + 1e-15
    smallest = min(range(m), key=lambda i: ps[i])
    assert levels[smallest] == pytest.approx(alpha / m)
    assert (holm(ps)[smallest] < alpha) == (ps[smallest] * m < alpha)


# ------------------------------------------------------------------ paired tests and TOST


@FAST
@given(diffs, st.floats(0.001, 0.2))
def test_tost_is_symmetric_in_the_sign_of_the_differences(d, delta):
    """Bug: one margin used for both one-sided tests, or the bounds swapped."""
    a, b = tost_paired(d, delta), tost_paired([-x for x in d], delta)
    assert a.p == pytest.approx(b.p, nan_ok=True, abs=1e-9)
    assert a.p_lower == pytest.approx(b.p_upper, nan_ok=True, abs=1e-9)
    assert a.p_upper == pytest.approx(b.p_lower, nan_ok=True, abs=1e-9)


@FAST
@given(diffs, st.floats(0.001, 0.1), st.floats(1.01, 3.0))
def test_tost_p_falls_as_the_margin_widens(d, delta, factor):
    """A wider equivalence margin can only make equivalence easier."""
    assume(np.std(d) > 1e-6)
    assert tost_paired(d, delta * factor).p <= tost_paired(d, delta).p + 1e-12


@FAST
@given(
    st.lists(
        st.tuples(st.floats(0.3, 1.0), st.floats(0.3, 1.0)).map(lambda t: (round(t[0], 3), t[1])),
        min_size=2,
        max_size=12,
    )
)
def test_paired_test_is_antisymmetric(pairs):
    """Swapping a and b keeps the test, n and p and negates the mean difference."""
    a = [x for x, _ in pairs]
    b = [round(y, 3) for _, y in pairs]
    ab, ba = paired_test(a, b), paired_test(b, a)
    assert (ab.test, ab.n, ab.n_pairs) == (ba.test, ba.n, ba.n_pairs)
    assert ab.p == pytest.approx(ba.p, nan_ok=True, abs=1e-9)
    assert ab.diff == pytest.approx(-ba.diff, abs=1e-12)
    assert ab.sd == pytest.approx(ba.sd, nan_ok=True, abs=1e-12)
    lo, hi = ab.ci()
    lo2, hi2 = ba.ci()
    assert lo == pytest.approx(-hi2, nan_ok=True, abs=1e-9)
    assert hi == pytest.approx(-lo2, nan_ok=True, abs=1e-9)


@FAST
@given(st.lists(st.integers(-20, 20), min_size=2, max_size=12), st.permutations(range(12)))
def test_paired_test_uses_wilcoxon_exactly_from_six_nonzero_pairs(ints, perm):
    """Bug: the switch at another count (5, 7), or counting zeros (scipy drops them)."""
    d = [i / 100 for i in ints]
    t = paired_test(d, [0.0] * len(d))
    nonzero = sum(1 for x in d if x != 0)
    if nonzero == 0:
        assert t.test == "identical" and t.p == 1.0
    elif nonzero >= MIN_WILCOXON_PAIRS:
        assert t.test == "Wilcoxon" and t.n == nonzero
        assert t.p >= wilcoxon_min_p(nonzero) - 1e-12  # never below the exact floor
    else:
        assert t.test == "paired t" and t.n == len(d)
    order = [i for i in perm if i < len(d)]  # the order of pairs does not matter
    again = paired_test([d[i] for i in order], [0.0] * len(d))
    assert again.p == pytest.approx(t.p, nan_ok=True) and again.test == t.test


@FAST
@given(
    st.lists(st.integers(-12, 12), min_size=2, max_size=12),
    st.integers(-16, 16),
)
def test_paired_test_sees_only_differences(ints, k):
    """Adding the same value to both sides of every pair changes nothing.

    Every value is on a 1/64 grid, so each sum and difference is exact in floating point: with
    decimal values a zero difference could come back as 1e-17 after the shift and change the
    Wilcoxon test's number of non-zero pairs (a hypothesis run found one), which is rounding,
    not the law."""
    d = [i / 16 for i in ints]
    b = [0.5 + i / 64 for i in range(len(d))]
    a = [x + y for x, y in zip(d, b, strict=True)]
    shift = k / 32
    t1 = paired_test(a, b)
    t2 = paired_test([x + shift for x in a], [y + shift for y in b])
    assert t1.test == t2.test and t1.n == t2.n
    assert t1.p == pytest.approx(t2.p, nan_ok=True, rel=1e-6, abs=1e-9)


@given(st.integers(0, 60))
def test_wilcoxon_floor_halves_with_each_pair(n):
    p = wilcoxon_min_p(n)
    assert p == (1.0 if n <= 1 else 2.0 ** (1 - n))
    assert wilcoxon_min_p(n + 1) <= p
    assert (p < 0.05) == (n >= MIN_WILCOXON_PAIRS)


# ------------------------------------------------------------------ job identity

_KEYS = ["dataset", "algorithm", "test_envs", "hparams_seed", "trial_seed", "seed", "steps"]
_values = st.one_of(st.integers(0, 5), st.text("abc", min_size=1, max_size=3), st.booleans())


@st.composite
def train_args(draw):
    args = {k: draw(_values) for k in _KEYS}
    args["test_envs"] = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    if draw(st.booleans()):
        args["hparams"] = draw(st.sampled_from(['{"lr": 0.01}', '{"rho": 0.1}', "{}"]))
    return args


@FAST
@given(train_args(), st.one_of(st.none(), _values), _values)
def test_job_hash_is_invariant_to_keep(args, keep_a, keep_b):
    """Bug: ``keep`` in the hash (a relaunch with another --keep reruns every finished job)."""
    with_a = {**args, "keep": keep_a} if keep_a is not None else dict(args)
    with_b = {**args, "keep": keep_b}
    assert job_hash(with_a) == job_hash(with_b) == job_hash(args)
    assert len(make_jobs([with_a, with_b], "/sweep")) == 1


@FAST
@given(train_args(), st.sampled_from([*_KEYS, "hparams"]), _values)
def test_job_hash_changes_with_every_result_field(args, key, new):
    """Bug: a result-affecting field left out of the hash (two different jobs share a folder)."""
    changed = {**args, key: new if key != "hparams" else '{"lr": 0.5}'}
    assume(changed[key] != args.get(key))
    assert job_hash(changed) != job_hash(args)


@FAST
@given(train_args())
def test_job_hash_ignores_key_order(args):
    assert job_hash(dict(reversed(list(args.items())))) == job_hash(args)


@FAST
@given(train_args())
def test_train_argv_lists_every_true_or_valued_key_in_sorted_order(args):
    argv = train_argv(args)
    flags = [a[2:] for a in argv if a.startswith("--")]
    assert flags == sorted(flags)
    assert set(flags) == {k for k, v in args.items() if v is not False}


# ------------------------------------------------------------------ ranking and sampling

scores = st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), min_size=0, max_size=10)


@FAST
@given(scores)
def test_best_index_is_the_first_maximum_nan_last(vals):
    """Bugs: ties to the later checkpoint, NaN ranked first (NaN > x is False, NaN >= ...)."""
    i = best_index(vals)
    finite = [v for v in vals if not math.isnan(v)]
    if not finite:
        assert i == 0
        return
    assert vals[i] == max(finite)
    assert i == vals.index(max(finite))
    assert best_index([*vals, math.nan]) == i and best_index([*vals, max(finite)]) == i


@FAST
@given(st.floats(0, 1), st.one_of(st.floats(0, 1), st.just(math.nan)))
def test_is_better_is_strict_and_nan_loses(score, best):
    assert is_better(score, best) == (math.isnan(best) or score > best)
    assert not is_better(math.nan, best)
    assert not is_better(score, score)


@FAST
@given(st.dictionaries(st.integers(0, 5), st.one_of(st.floats(0, 1), st.just(math.nan))))
def test_mean_over_envs_skips_nan_and_absent(values):
    record = {f"env{i}_out_auc": v for i, v in values.items()}
    envs = list(range(6))
    got = mean_over_envs(record, envs, "out", "auc")
    kept = [v for v in values.values() if not math.isnan(v)]
    if kept:
        assert got == pytest.approx(sum(kept) / len(kept))
    else:
        assert math.isnan(got)


@FAST
@given(st.integers(0, 40), st.integers(-2, 45))
def test_even_sampling_keeps_order_ends_and_count(n, k):
    items = list(range(n))
    got = sample_evenly(items, k)
    if k <= 0 or k >= n:
        assert got == items
        return
    assert len(got) == k and got == sorted(set(got))  # k distinct items, in order
    assert got[0] == 0 and (k == 1 or got[-1] == n - 1)
    assert sample_frames(items, k, "first") == items[:k]


@FAST
@given(st.lists(st.integers(0, 999), unique=True, max_size=12))
def test_frames_sort_by_their_number(nums):
    frames = [f"/d/v/{n}.png" for n in nums]
    assert sort_frames(frames) == [f"/d/v/{n}.png" for n in sorted(nums)]


# ------------------------------------------------------------------ optimizers


def _model_and_data(seed: int):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.randn(8, 3, generator=g)
    y = torch.randint(0, 2, (8,), generator=g)
    return model, x, y


def _step(model, opt, x, y):
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    if isinstance(opt, torch.optim.SGD):
        closure()
        opt.step()
    else:
        opt.step(closure)
    return [p.detach().clone() for p in model.parameters()]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    st.integers(0, 10_000),
    st.floats(0.01, 0.5),
    st.floats(0.0, 0.9),
    st.sampled_from(["sam", "asam", "gsam"]),
)
def test_two_pass_optimizers_at_rho_zero_are_their_base_optimizer(seed, lr, momentum, which):
    """ρ = 0: no perturbation, so d = g and the step is the base optimizer's (two steps, so the
    momentum buffer is checked too). Bugs: ρ added to a norm, the perturbation not undone."""
    ref, x, y = _model_and_data(seed)
    base = torch.optim.SGD(ref.parameters(), lr=lr, momentum=momentum)
    model, _, _ = _model_and_data(seed)
    inner = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    opt = {
        "sam": lambda: SAM(inner, rho=0.0),
        "asam": lambda: SAM(inner, rho=0.0, adaptive=True, model=model),
        "gsam": lambda: GSAM(inner, rho=0.0, alpha=0.3),
    }[which]()
    for _ in range(2):
        want, got = _step(ref, base, x, y), _step(model, opt, x, y)
        for w, g in zip(want, got, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
