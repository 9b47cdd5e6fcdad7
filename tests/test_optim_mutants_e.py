"""Tests for what the second mutation run of ``optim/`` (``benchmarks/mutation.py optim``, issue
28) left alive in the step methods that the first run could not mutate (they were decorated):
``_two_pass.TwoPassOptimizer.first_step/second_step``, ``looksam.LookSAM.second_step/reuse_step``
and ``roga_look.RoGALook.reuse_step``.

Mutants killed here (mutmut 3 names, ``roga_bench.optim.<module>.<name>``):

* ``looksam.xǁLookSAMǁreuse_step__mutmut_1``, ``roga_look.xǁRoGALookǁreuse_step__mutmut_1``,
  ``looksam.xǁLookSAMǁsecond_step__mutmut_1/_2``, ``_two_pass.xǁTwoPassOptimizerǁfirst_step
  __mutmut_1`` and ``second_step__mutmut_1`` (the ``zero_grad`` argument: default False, True
  clears);
* ``looksam.xǁLookSAMǁreuse_step__mutmut_5``-``_8``, ``roga_look.xǁRoGALookǁreuse_step__mutmut_5``
  -``_8``, ``_two_pass.xǁTwoPassOptimizerǁfirst_step__mutmut_6``-``_9`` and ``second_step
  __mutmut_6`` (the messages of a step called without gradients or out of order);
* ``looksam.xǁLookSAMǁreuse_step__mutmut_31/_33``, ``roga_look.xǁRoGALookǁreuse_step__mutmut_22
  /_24`` (a parameter with no optimizer state yet on a reuse step);
* ``looksam.xǁLookSAMǁreuse_step__mutmut_50``-``_54``, ``roga_look.xǁRoGALookǁreuse_step
  __mutmut_44``-``_48``, ``looksam.xǁLookSAMǁsecond_step__mutmut_21``-``_23``,
  ``_two_pass.xǁTwoPassOptimizerǁfirst_step__mutmut_51``-``_57`` (the step's ``stats``);
* ``_two_pass.xǁTwoPassOptimizerǁfirst_step__mutmut_14/_16/_17/_20``-``_23`` and
  ``second_step__mutmut_18`` (the saved θ's buffer reused step after step);
* ``_two_pass.xǁTwoPassOptimizerǁfirst_step__mutmut_27`` (SAM keeps g alive through the second
  pass) and ``_34`` (ASAM's perturbation without the groups);
* ``_two_pass.xǁTwoPassOptimizerǁsecond_step__mutmut_2/_19`` (second_step after a first_step
  that failed, or twice).

Each test names the bug it catches; what it checks is the documented behaviour (DESIGN §4,
the docstrings), not the mutant. The equivalent mutants of these methods are listed with their
reason in benchmarks/mutation_equivalent.txt.
"""

from __future__ import annotations

import gc
import re
import weakref

import pytest
import torch
from torch import nn

import roga_bench.optim._two_pass as two_pass_module
from roga_bench.optim import ETA, SAGM, SAM, LookSAM, RoGALook

LR, RHO = 0.1, 0.2


def _quad(params):
    """L(θ) = ½‖θ‖² + Σθ (g = θ + 1): a gradient known by hand."""
    theta = torch.cat([p.reshape(-1) for p in params])
    return 0.5 * (theta**2).sum() + theta.sum()


def _closure(opt, params):
    def closure():
        opt.zero_grad()
        loss = _quad(params)
        loss.backward()
        return loss

    return closure


def _two_params():
    return [
        nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64)),
        nn.Parameter(torch.tensor([0.5], dtype=torch.float64)),
    ]


def _flat(ts):
    return torch.cat([t.detach().reshape(-1) for t in ts])


def _backward(params):
    for p in params:
        p.grad = None
    _quad(params).backward()


def _looksam(params, k: int = 2, alpha: float = 0.5) -> LookSAM:
    return LookSAM(torch.optim.SGD(params, lr=LR), rho=RHO, k=k, alpha=alpha)


def _roga_look(params, k: int = 2, look_alpha: float = 0.5) -> RoGALook:
    return RoGALook(torch.optim.SGD(params, lr=LR), rho=RHO, k=k, look_alpha=look_alpha)


def _after_full_step(cls):
    """A wrapper (k = 2) after its full step, so the next step is a reuse step."""
    params = _two_params()
    if cls is LookSAM:
        opt = _looksam(params)
        opt.step(_closure(opt, params))
    else:
        opt = _roga_look(params)
        opt.step([_closure(opt, params), _closure(opt, params)])
    assert not opt.is_full_step()
    return opt, params


def _reuse_direction(opt, params):
    """d of the reuse step by hand: LookSAM g + α‖g‖/(‖g_v‖+η) g_v, RoGALook g + (α_L/2)‖g‖u."""
    g = _flat([p.grad for p in params])
    g_norm = torch.linalg.vector_norm(g)
    if isinstance(opt, LookSAM):
        gv = _flat([opt.state[p]["looksam_gv"] for p in params])
        coef = opt.param_groups[0]["alpha"] * g_norm / (opt.param_groups[0]["look_gv_norm"] + ETA)
        return g + coef * gv, g_norm
    u = _flat([opt.state[p]["roga_look_u"] for p in params])
    return g + 0.5 * opt.param_groups[0]["look_alpha"] * g_norm * u, g_norm


# --- the reuse step, called by hand ------------------------------------------------------------


@pytest.mark.parametrize("cls", [LookSAM, RoGALook])
def test_reuse_step_leaves_d_in_grad_unless_asked_to_clear(cls):
    # reuse_step(zero_grad=False) by default: after it, .grad holds d (as second_step leaves it,
    # davda54/sam's protocol); zero_grad=True clears. Kills LookSAM/RoGALook reuse_step
    # __mutmut_1 (default True: a caller reading .grad after the step finds None).
    opt, params = _after_full_step(cls)
    theta = _flat(params)
    _backward(params)
    d, g_norm = _reuse_direction(opt, params)
    assert torch.linalg.vector_norm(d - _flat([p.grad for p in params])) > 1e-3  # u/g_v counts
    opt.reuse_step()
    assert all(p.grad is not None for p in params)
    assert torch.allclose(_flat([p.grad for p in params]), d, rtol=1e-12, atol=1e-15)
    assert torch.allclose(_flat(params), theta - LR * d, rtol=1e-12, atol=1e-15)
    # the step's diagnostics: exactly ‖g‖ and look_full = 0 (kills reuse_step stats mutants:
    # LookSAM _50.._54, RoGALook _44.._48, a key renamed or the dict dropped)
    assert set(opt.stats) == {"grad_norm", "look_full"}
    assert float(opt.stats["grad_norm"]) == pytest.approx(float(g_norm), rel=1e-12)
    assert opt.stats["look_full"].shape == () and float(opt.stats["look_full"]) == 0.0
    # next cycle: a full step; its own reuse step with zero_grad=True clears the gradients
    opt.step(_closure(opt, params) if cls is LookSAM else [_closure(opt, params)] * 2)
    _backward(params)
    opt.reuse_step(zero_grad=True)
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("cls", [LookSAM, RoGALook])
def test_reuse_step_without_gradients_says_so(cls):
    # Kills LookSAM/RoGALook reuse_step __mutmut_5.._8 (message dropped, garbled or re-cased).
    opt, params = _after_full_step(cls)
    opt.zero_grad()
    expected = f"{cls.__name__}.reuse_step: no parameter has a gradient"
    with pytest.raises(RuntimeError, match=f"^{re.escape(expected)}$"):
        opt.reuse_step()


@pytest.mark.parametrize("cls", [LookSAM, RoGALook])
def test_reuse_step_with_a_parameter_added_after_the_full_step(cls):
    # A param group added mid-cycle has no stored component (and, with plain SGD, no state at
    # all): on the reuse step its d is its gradient. Kills LookSAM reuse_step __mutmut_31/_33 and
    # RoGALook reuse_step __mutmut_22/_24 (state.get(p, None): "key in None" is a TypeError).
    opt, params = _after_full_step(cls)
    q = nn.Parameter(torch.tensor([3.0, -1.0], dtype=torch.float64))
    opt.add_param_group({"params": [q]})
    assert q not in opt.state
    for p in params:
        p.grad = None
    q.grad = None
    (_quad(params) + 0.5 * (q**2).sum()).backward()  # g_q = q
    g_all = _flat([p.grad for p in params] + [q.grad])
    d, _ = _reuse_direction(opt, params)
    # the old parameters' d: ‖g‖ runs over every parameter with a gradient, q included
    g_old = _flat([p.grad for p in params])
    d_old = g_old + (d - g_old) * torch.linalg.vector_norm(g_all) / torch.linalg.vector_norm(g_old)
    theta, q0 = _flat(params), q.detach().clone()
    opt.reuse_step()
    assert torch.allclose(q.detach(), q0 - LR * q0, rtol=1e-12, atol=0)
    assert torch.allclose(_flat(params), theta - LR * d_old, rtol=1e-12, atol=1e-15)


# --- LookSAM's full step, called by hand -------------------------------------------------------


def test_looksam_second_step_leaves_d_in_grad_unless_asked_to_clear():
    # second_step(zero_grad=False) by default, zero_grad=True clears, as SAM's. Kills
    # LookSAM.second_step __mutmut_1 (default True) and _2 (zero_grad not passed on). Also the
    # full step's look_full = 1 (kills second_step __mutmut_21.._23).
    params = _two_params()
    opt = _looksam(params, k=1)
    for zero_grad in (False, True):
        _backward(params)
        opt.first_step(zero_grad=True)
        _backward(params)  # at θ + e
        g_p = _flat([p.grad for p in params])
        if zero_grad:
            opt.second_step(zero_grad=True)
            assert all(p.grad is None for p in params)
        else:
            opt.second_step()
            assert torch.equal(_flat([p.grad for p in params]), g_p)  # LookSAM's d = g_s
        assert set(opt.stats) >= {"grad_norm", "perturb_norm", "cos_g_gp", "look_full"}
        assert opt.stats["look_full"].shape == () and float(opt.stats["look_full"]) == 1.0


# --- TwoPassOptimizer.first_step / second_step -------------------------------------------------


def test_sam_first_step_keeps_g_in_grad_by_default():
    # first_step(zero_grad=False) by default: SAM (keeps_first_grad False) leaves g in .grad.
    # Kills _two_pass first_step __mutmut_1 (default True). Also the stats, exactly ‖g‖ and ‖e‖
    # (kills first_step __mutmut_51.._57).
    params = _two_params()
    opt = SAM(torch.optim.SGD(params, lr=LR), rho=RHO)
    _backward(params)
    g = _flat([p.grad for p in params])
    theta = _flat(params)
    opt.first_step()
    assert all(p.grad is not None for p in params)
    assert torch.equal(_flat([p.grad for p in params]), g)
    g_norm = torch.linalg.vector_norm(g)
    e = RHO * g / (g_norm + ETA)
    assert torch.allclose(_flat(params), theta + e, rtol=1e-12, atol=0)
    assert set(opt.stats) == {"grad_norm", "perturb_norm"}
    assert float(opt.stats["grad_norm"]) == pytest.approx(float(g_norm), rel=1e-12)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(RHO * float(g_norm / (g_norm + ETA)))
    _backward(params)
    opt.second_step()  # default: d left in .grad
    assert all(p.grad is not None for p in params)
    assert torch.allclose(_flat(params), theta - LR * (theta + e + 1), rtol=1e-12, atol=0)


@pytest.mark.parametrize("cls", [SAM, SAGM, LookSAM])
def test_first_step_without_gradients_says_so(cls):
    # Kills _two_pass first_step __mutmut_6.._9 (message dropped, class name None, the hint
    # garbled or re-cased).
    params = _two_params()
    opt = cls(torch.optim.SGD(params, lr=LR))
    expected = f"{cls.__name__}.first_step: no parameter has a gradient; call loss.backward() first"
    with pytest.raises(RuntimeError, match=f"^{re.escape(expected)}$"):
        opt.first_step()


@pytest.mark.parametrize("cls", [SAM, SAGM])
def test_second_step_twice_refuses_the_second(cls):
    # After a completed step the saved θ is gone: another second_step refuses like one before
    # any first_step, and changes nothing. Kills second_step __mutmut_6 (the class name None in
    # the message) and _19 (the saved θ left as "": the second call fails on something else).
    params = _two_params()
    opt = cls(torch.optim.SGD(params, lr=LR))
    expected = f"{cls.__name__}.second_step called before first_step"
    with pytest.raises(RuntimeError, match=f"^{re.escape(expected)}$"):
        opt.second_step()
    opt.step(_closure(opt, params))
    theta = _flat(params)
    _backward(params)
    with pytest.raises(RuntimeError, match=f"^{re.escape(expected)}$"):
        opt.second_step()
    assert torch.equal(_flat(params), theta)


def test_second_step_after_a_first_step_that_failed_to_save_theta(monkeypatch):
    # first_step failed while saving θ (the parameters never moved): a second_step then refuses
    # as if no first_step had run. Kills second_step __mutmut_2 ("and": the half-set state passes
    # the check and the restore fails on the missing backup with a TypeError).
    params = _two_params()
    opt = SAGM(torch.optim.SGD(params, lr=LR))

    def no_memory(*args, **kwargs):
        raise MemoryError("no room for the saved θ")

    monkeypatch.setattr(two_pass_module, "backup", no_memory)
    _backward(params)
    theta = _flat(params)
    with pytest.raises(MemoryError):
        opt.first_step()
    monkeypatch.undo()
    assert torch.equal(_flat(params), theta)
    with pytest.raises(RuntimeError, match=r"^SAGM\.second_step called before first_step$"):
        opt.second_step()


@pytest.mark.parametrize("cls", [SAM, SAGM, LookSAM])
def test_saved_theta_lives_in_one_buffer_across_steps(cls):
    # The saved θ is written into last step's buffer (no parameter-sized allocation per step,
    # _foreach.backup). Kills first_step __mutmut_14/_16/_17/_20.._23 (the spare never looked
    # up) and second_step __mutmut_18 (never kept).
    params = _two_params()
    opt = cls(torch.optim.SGD(params, lr=LR)) if cls is not LookSAM else _looksam(params, k=1)
    theta0 = _flat(params)
    opt.step(_closure(opt, params))
    spare = opt._spare
    ptrs = [t.data_ptr() for t in spare]
    assert torch.equal(_flat(spare), theta0)
    theta1 = _flat(params)
    opt.step(_closure(opt, params))
    assert opt._spare is spare and [t.data_ptr() for t in spare] == ptrs
    assert torch.equal(_flat(spare), theta1)


def test_sam_does_not_keep_g_alive_through_the_second_pass():
    # SAM's d = g_p needs nothing from the first pass (keeps_first_grad False): once
    # first_step(zero_grad=True) has dropped .grad, g is freed before the second backward, so
    # the second pass does not hold two gradient-sized sets. Kills first_step __mutmut_27 (g kept
    # in _g whatever keeps_first_grad says).
    params = _two_params()
    opt = SAM(torch.optim.SGD(params, lr=LR), rho=RHO)
    _backward(params)
    refs = [weakref.ref(p.grad) for p in params]
    opt.first_step(zero_grad=True)
    gc.collect()
    assert all(r() is None for r in refs)
    # SAGM needs g (d = ½(g + g_p) − α g... ): it keeps it
    params = _two_params()
    opt = SAGM(torch.optim.SGD(params, lr=LR))
    _backward(params)
    refs = [weakref.ref(p.grad) for p in params]
    opt.first_step(zero_grad=True)
    gc.collect()
    assert all(r() is not None for r in refs)


def test_asam_first_step_moves_by_rho_t_squared_g_over_the_norm_of_t_g():
    # ASAM (adaptive=True, no model: every parameter gets T = |w| + η_T) climbs to
    # θ + ρ T²g/(‖Tg‖+η) (DESIGN §4). Kills _two_pass first_step __mutmut_34 (the groups not
    # passed to _perturbations: ASAM builds T from them).
    params = _two_params()
    opt = SAM(torch.optim.SGD(params, lr=LR), rho=RHO, adaptive=True)
    _backward(params)
    theta = _flat(params)
    g = theta + 1
    t = theta.abs() + 0.01
    opt.first_step()
    e = RHO * t**2 * g / (torch.linalg.vector_norm(t * g) + ETA)
    assert torch.allclose(_flat(params), theta + e, rtol=1e-12, atol=0)
