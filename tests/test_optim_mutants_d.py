"""Tests for what the mutation run of ``optim/`` (``benchmarks/mutation.py optim``, issue 28) left
alive in ``looksam.py``, ``roga_look.py`` and ``_look.py``.

Mutants killed here (mutmut 3 names, ``roga_bench.optim.<module>.<name>``):

* ``looksam.xǁLookSAMǁ__init____mutmut_2/_6/_7/_8`` and ``roga_look.xǁRoGALookǁ__init____mutmut_6``,
  ``_10``-``_12`` (the class name in the bad-``k`` message);
* ``looksam.xǁLookSAMǁstep__mutmut_2``-``_7`` (the no-closure message);
* ``roga_look.xǁRoGALookǁstep__mutmut_2``, ``_4``-``_8`` (a reuse step without a list of closures);
* ``looksam.xǁLookSAMǁ_combine__mutmut_28``, ``roga_look.xǁRoGALookǁ_start__mutmut_7`` and
  ``_look.x_component_buffers__mutmut_2/_3/_5/_6/_10/_11`` (the stored component gets a new
  parameter-sized buffer every cycle instead of last cycle's);
* ``_look.x_component_buffers__mutmut_4/_7``, ``_look.x_look_step__mutmut_2/_10``,
  ``_look.x_store_buffers__mutmut_3/_6/_7`` (the helpers' documented contract);
* ``roga_look.xǁRoGALookǁ__init____mutmut_1/_2`` (RoGA's defaults ρ = 0.1, α = 0.001) and ``_20``
  (``num_domains`` not passed on);
* ``roga_look.xǁRoGALookǁ_after_second_pass__mutmut_6``/``_10`` (align_to="global": ⟨·,·⟩ or
  ‖g_i‖ of nothing), ``_13`` (η subtracted in c_i's denominator), ``_38`` (η subtracted in
  1/(‖v_i‖+η)) and ``_3``/``_4`` (⟨g_i, g_i^p⟩ and ‖g_i‖ recomputed in domain mode);
* ``_look.x_check_k__mutmut_3``-``_6`` (k's check: the message and the bound k >= 1).

Each test names the bug it catches; what it checks is the documented behaviour, not the mutant.
The equivalent ones of these modules are listed, each with its reason, in
benchmarks/mutation_equivalent.txt.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
import torch

# the quadratic domains of test_optim_look.py (L_i(θ) = ½ θᵀA_iθ − b_iᵀθ, float64, two tensors)
from test_optim_look import ETA, LR, Counted, _g, _norm, _params, _problem, _theta
from test_optim_mutants import _closures
from torch import nn

import roga_bench.optim.roga_look as roga_look_module
from roga_bench.optim import LOOKSAM_ALPHA, LOOKSAM_K, LookSAM, RoGA, RoGALook
from roga_bench.optim._look import STEP_KEY, component_buffers, look_step, store_buffers


def _p(n: int = 2) -> list[nn.Parameter]:
    return [nn.Parameter(torch.zeros(n))]


# --- messages users see ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [LookSAM, RoGALook])
@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_bad_k_message_names_the_optimizer_and_the_value(cls, k):
    # kills LookSAM/RoGALook __init__ mutants that pass another name (None, "XX..XX", lower or
    # upper case) to check_k: the user would not see which wrapper refused k
    name = cls.__name__
    expected = f"{name}: k must be an integer >= 1, got {k!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        cls(torch.optim.SGD(_p(), lr=0.1), k=k)


def _quadratic_looksam(k: int = 2):
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = LookSAM(torch.optim.SGD(params, lr=LR), rho=0.2, k=k, alpha=0.5)
    return opt, params, Counted(opt, params, mats, vecs)


def test_looksam_step_without_closure_says_what_the_closure_must_do():
    # kills LookSAM.step__mutmut_2..7 (the message dropped or garbled), on a full step and on a
    # reuse step; the refused call changes nothing
    opt, params, closure = _quadratic_looksam(k=2)
    expected = (
        "LookSAM.step needs a closure that zero-grads, forwards, backwards and returns the loss"
    )
    for full in (True, False):
        assert opt.is_full_step() is full
        before, t = _theta(params).clone(), opt.look_step
        with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
            opt.step()
        assert torch.equal(_theta(params), before) and opt.look_step == t
        opt.step(closure)


def _roga_look_quadratic(k: int = 2, k_domains: int = 3, **kwargs):
    mats, vecs, theta0 = _problem(k=k_domains)
    params = _params(theta0)
    opt = RoGALook(torch.optim.SGD(params, lr=LR), 0.3, 0.05, k=k, look_alpha=0.7, **kwargs)
    return opt, params, mats, vecs


def test_roga_look_reuse_step_refuses_anything_but_a_list_of_closures():
    # kills RoGALook.step__mutmut_2 (None got past the check: TypeError from list(None)),
    # _4 (a single callable got past it: TypeError) and _5.._8 (the message garbled)
    opt, params, mats, vecs = _roga_look_quadratic(k=2)
    opt.step(_closures(opt, params, mats, vecs))
    assert not opt.is_full_step()
    joint = Counted(opt, params, mats, vecs)
    expected = "RoGALook.step takes a list of closures, one per training domain"
    before = _theta(params).clone()
    for bad in (None, joint):
        with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
            opt.step(bad, joint=joint)  # type: ignore[arg-type]
    assert joint.calls == 0 and torch.equal(_theta(params), before) and opt.look_step == 1


def test_roga_look_checks_the_domain_count_on_full_and_reuse_steps():
    # kills RoGALook.__init____mutmut_20 (num_domains not passed on to RoGA: any count accepted)
    opt, params, mats, vecs = _roga_look_quadratic(k=2, num_domains=3)
    assert opt.num_domains == 3
    message = r"RoGA got 2 closure\(s\)/domain\(s\) but num_domains=3"
    with pytest.raises(ValueError, match=message):
        opt.step(_closures(opt, params, mats[:2], vecs[:2]))
    opt.step(_closures(opt, params, mats, vecs))  # the full step with all three
    assert not opt.is_full_step()
    with pytest.raises(ValueError, match=message):
        opt.step(_closures(opt, params, mats[:2], vecs[:2]), joint=Counted(opt, params, mats, vecs))
    assert opt.look_step == 1


def test_roga_look_defaults_are_roga_s_and_looksam_s():
    # kills RoGALook.__init____mutmut_1/_2 (ρ 1.1 / α 1.001 by default): RoGALook's ρ, α and
    # align_to default to RoGA's (DESIGN §4: ρ = 0.1, α = 0.001), k and look_alpha to LookSAM's
    look = RoGALook(torch.optim.SGD(_p(), lr=0.1))
    roga = RoGA(torch.optim.SGD(_p(), lr=0.1))
    for key in ("rho", "alpha"):
        assert look.param_groups[0][key] == roga.param_groups[0][key]
    assert (look.param_groups[0]["rho"], look.param_groups[0]["alpha"]) == (0.1, 0.001)
    assert look.param_groups[0]["look_alpha"] == LOOKSAM_ALPHA == 0.7
    assert look.k == LOOKSAM_K == 5
    assert (look.align_to, look.num_domains, look.model) == ("domain", None, None)


# --- the stored component lives in one buffer per parameter ------------------------------------


def test_looksam_rewrites_g_v_in_last_cycle_s_buffer():
    # kills LookSAM._combine__mutmut_28 and _look.component_buffers__mutmut_2/_3/_5/_6/_10/_11:
    # g_v got a fresh parameter-sized buffer every full step (an allocation per cycle; the
    # docstring of component_buffers promises the old one is reused); its value must still be
    # this cycle's g_v only (the buffer is zeroed before it is filled)
    opt, params, closure = _quadratic_looksam(k=2)
    mats, vecs = closure.mats, closure.vecs
    a, b = sum(mats) / len(mats), sum(vecs) / len(vecs)
    for _ in range(2):
        opt.step(closure)
    buffers = [opt.state[p]["looksam_gv"] for p in params]
    theta = _theta(params).clone()
    opt.step(closure)  # full step (t = 2)
    assert all(opt.state[p]["looksam_gv"] is buf for p, buf in zip(params, buffers, strict=True))
    g = _g(a, b, theta)
    gs = _g(a, b, theta + 0.2 * g / (_norm(g) + ETA))
    gv = gs - (gs @ g) / (_norm(g) ** 2 + ETA) * g
    stored = torch.cat([opt.state[p]["looksam_gv"].reshape(-1) for p in params])
    assert float((stored - gv).abs().max()) < 1e-12
    assert opt.param_groups[0]["look_gv_norm"] == pytest.approx(float(_norm(gv)), rel=1e-12)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_look_rewrites_u_in_last_cycle_s_buffer(align_to):
    # kills RoGALook._start__mutmut_7 (u looked up under None: a new buffer every full step)
    opt, params, mats, vecs = _roga_look_quadratic(k=1, align_to=align_to)
    opt.step(_closures(opt, params, mats, vecs))
    buffers = [opt.state[p]["roga_look_u"] for p in params]
    theta = _theta(params).clone()
    opt.step(_closures(opt, params, mats, vecs))
    assert all(opt.state[p]["roga_look_u"] is buf for p, buf in zip(params, buffers, strict=True))
    expected = _u_by_hand(mats, vecs, theta, 0.3, 0.05, align_to)
    assert float((_stored_u(opt, params) - expected).abs().max()) < 1e-12


# --- u against a hand computation ------------------------------------------------------------


def _u_by_hand(mats, vecs, theta, rho, alpha, align_to):
    """u = (1/K) Σ_i v_i/(‖v_i‖+η), v_i = g_i^p − ⟨g_i^p, g_i⟩/(‖g_i‖²+η) g_i (module docstring)."""
    k = len(mats)
    grads = [_g(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
    mean = sum(grads) / k
    u = torch.zeros_like(theta)
    for m, v, g in zip(mats, vecs, grads, strict=True):
        if align_to == "domain":
            e = (rho / (_norm(g) + ETA) - alpha) * g
        else:
            e = rho * g / (_norm(g) + ETA) - alpha * mean
        gp = _g(m, v, theta + e)
        vi = gp - (gp @ g) / (_norm(g) ** 2 + ETA) * g
        u = u + vi / (_norm(vi) + ETA) / k
    return u


def _stored_u(opt, params):
    return torch.cat([opt.state[p]["roga_look_u"].reshape(-1) for p in params])


@pytest.mark.parametrize("align_to", ["domain", "global"])
@pytest.mark.parametrize("k_domains", [1, 3])
def test_roga_look_u_against_a_hand_computation(align_to, k_domains):
    # kills RoGALook._after_second_pass__mutmut_10 (align_to="global": ‖g_i‖ taken of an empty
    # list, 0, so c_i = ⟨g_i^p, g_i⟩/η) and _38 (1/(‖v_i‖ − η): with K = 1, ‖u‖ = ‖v‖/(‖v‖ − η)
    # exceeds the documented bound ‖u‖ <= 1)
    opt, params, mats, vecs = _roga_look_quadratic(k=2, k_domains=k_domains, align_to=align_to)
    theta = _theta(params).clone()
    opt.step(_closures(opt, params, mats, vecs))
    u = _stored_u(opt, params)
    assert float((u - _u_by_hand(mats, vecs, theta, 0.3, 0.05, align_to)).abs().max()) < 1e-12
    assert 0.05 < float(_norm(u)) <= 1.0


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_look_u_for_gradients_of_norm_near_sqrt_eta(align_to):
    # η's placement in c_i = ⟨g_i^p, g_i⟩/(‖g_i‖²+η): with ‖g_i‖ = 1e-6, ‖g_i‖² ≈ η, so c_i is
    # finite and half of what it would be without η. Kills _after_second_pass__mutmut_13
    # (‖g_i‖² − η ≈ 0: c_i blows up and v_i turns into −g_i's direction).
    mats, vecs, theta0 = _problem()
    gen = torch.Generator().manual_seed(5)
    small = []
    for m in mats:  # b_i = A_i θ0 − δ_i, so g_i(θ0) = δ_i with ‖δ_i‖ = 1e-6
        delta = torch.randn(theta0.shape, generator=gen, dtype=torch.float64)
        delta = 1e-6 * delta / _norm(delta)
        small.append(m @ theta0 - delta)
    params = _params(theta0)
    opt = RoGALook(torch.optim.SGD(params, lr=LR), 0.3, 0.05, k=2, align_to=align_to)
    opt.step(_closures(opt, params, mats, small))
    u = _stored_u(opt, params)
    expected = _u_by_hand(mats, small, theta0, 0.3, 0.05, align_to)
    assert torch.isfinite(u).all()
    assert float((u - expected).abs().max()) < 1e-9
    assert 0.05 < float(_norm(u)) <= 1.0


# --- the k-cycle helpers (roga_bench.optim._look) -----------------------------------------------


def test_look_step_reads_the_counter_of_the_first_group_or_zero():
    # kills _look.look_step__mutmut_2 (groups[0] of an empty list: IndexError) and _10 (1 for no
    # groups): t = 0 before the first step, also for no groups or groups saved without it
    assert look_step([]) == 0
    assert look_step([{}, {}]) == 0
    assert look_step([{STEP_KEY: 4}, {STEP_KEY: 4}]) == 4


def test_component_buffers_reuses_zeroes_or_replaces_and_never_adds_state():
    # kills _look.component_buffers__mutmut_4/_6 (state[p] looked up for a parameter without
    # state: the defaultdict gains an empty entry, which the docstring rules out) and _7 (a
    # stale buffer of another shape on the right device was reused instead of replaced)
    fresh, reused = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2, 2))
    stale = nn.Parameter(torch.ones(4))
    state: defaultdict = defaultdict(dict)
    old = torch.full((2, 2), 7.0)
    state[reused]["key"] = old
    state[stale]["key"] = torch.full((2,), 7.0)
    out = component_buffers(state, [fresh, reused, stale], "key")
    assert fresh not in state  # new buffers join the state only through store_buffers
    assert torch.equal(out[0], torch.zeros(3))
    assert out[1] is old and torch.equal(old, torch.zeros(2, 2))  # reused, zeroed
    assert out[2].shape == (4,) and torch.equal(out[2], torch.zeros(4))  # replaced
    store_buffers(state, [fresh, stale], [out[0], out[2]], "key")
    assert state[fresh]["key"] is out[0] and state[stale]["key"] is out[2]


def test_store_buffers_refuses_lists_of_different_lengths():
    # kills _look.store_buffers__mutmut_3/_6/_7 (zip without strict: a buffer list one short
    # would leave the last parameter's component silently unstored)
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError):
        store_buffers(defaultdict(dict), [a, b], [torch.zeros(1)], "key")


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_look_full_step_reuses_roga_s_dot_and_norm_in_domain_mode(align_to, monkeypatch):
    # RoGA's second_step hands ⟨g_i, g_i^p⟩ and ‖g_i‖ to _after_second_pass (its docstring: "when
    # already known"); recomputing them is one more read of g_i and g_i^p per domain. Kills
    # _after_second_pass__mutmut_3/_4 (the "already known" test inverted: recomputed in domain
    # mode). In global mode they are not known and are computed once per domain.
    calls = {"dot": 0, "norm": 0}
    dot, norm = roga_look_module.global_dot, roga_look_module.global_norm

    def counted(key, fn):
        def wrapper(*args):
            calls[key] += 1
            return fn(*args)

        return wrapper

    monkeypatch.setattr(roga_look_module, "global_dot", counted("dot", dot))
    monkeypatch.setattr(roga_look_module, "global_norm", counted("norm", norm))
    opt, params, mats, vecs = _roga_look_quadratic(k=2, align_to=align_to)
    theta = _theta(params).clone()
    opt.step(_closures(opt, params, mats, vecs))
    per_domain = 0 if align_to == "domain" else len(mats)
    assert calls == {"dot": per_domain, "norm": per_domain}
    expected = _u_by_hand(mats, vecs, theta, 0.3, 0.05, align_to)
    assert float((_stored_u(opt, params) - expected).abs().max()) < 1e-12
