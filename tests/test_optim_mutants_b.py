"""RoGA (``roga_bench.optim.roga``) and the foreach helpers (``roga_bench.optim._foreach``): the
behaviour the mutation run of ``optim/`` (``benchmarks/mutation.py optim``, issue 28) found
unguarded.

Of that run's 48 survivors in these two files (mutmut 3.8.1, 330 mutants), this file kills 36:
``roga_bench.optim._foreach.`` x__gather__mutmut_1/_2/_4, x_backup__mutmut_3,
x_global_norm__mutmut_2, x_global_dot__mutmut_2/_16/_19/_20, x_cosine__mutmut_6,
x_global_distance__mutmut_2/_11/_14/_15, x_split__mutmut_5; ``roga_bench.optim.roga.xǁRoGAǁ``
__init____mutmut_1/_2, _check_count__mutmut_4/_5, step__mutmut_5/_6/_19,
_start__mutmut_5/_6/_7/_8/_12/_15/_20/_21, _apply__mutmut_30, _reset__mutmut_2,
_step_domain__mutmut_7/_8, _step_global__mutmut_29, _global_domain__mutmut_31. The other 12 are
equivalent (benchmarks/mutation_equivalent.txt says why). Each test says which bug it catches
and names the mutants it kills in a comment. The hand computations use the quadratic domains
of tests/test_optim_look.py in float64: L_i(θ) = ½ θᵀA_iθ − b_iᵀθ, g_i = A_iθ − b_i.
"""

from __future__ import annotations

import re

import pytest
import torch
from test_optim_look import _params, _problem, _theta
from test_optim_mutants import _closures
from torch import nn

import roga_bench.optim.roga as roga_module
from roga_bench.optim import ETA, SAGM, RoGA
from roga_bench.optim._foreach import (
    backup,
    cosine,
    flat,
    global_distance,
    global_dot,
    global_norm,
    split,
)

LR = 0.1
RHO, ALPHA = 0.3, 0.05


def _g(mat, vec, theta):
    return mat @ theta - vec


def _full_message(text: str) -> str:
    return "^" + re.escape(text) + "$"


# --- _foreach helpers ----------------------------------------------------------------------------


def test_split_is_the_inverse_of_flat_for_groups_of_any_sizes():
    # Kills _foreach.x_split__mutmut_1..6 (wrong start, slice end or running offset: with
    # groups of sizes 1, 2, 0, 3 every later group would get the wrong tensors).
    tensors = [torch.full((i + 1,), float(i)) for i in range(6)]
    groups = [tensors[:1], tensors[1:3], [], tensors[3:]]
    parts = split(tensors, groups)
    assert [len(p) for p in parts] == [1, 2, 0, 3]
    for part, group in zip(parts, groups, strict=True):
        assert all(a is b for a, b in zip(part, group, strict=True))
    assert flat(parts) == tensors


def test_backup_reuses_a_spare_of_the_same_shapes_and_allocates_otherwise():
    # The wrappers keep one backup buffer alive between steps (a fresh parameter-sized
    # allocation per step costs page faults). Kills _foreach.x_backup__mutmut_1..8 (never
    # reusing the spare, reusing one of other shapes, copying nothing or the wrong way).
    params = [torch.arange(3.0), torch.arange(4.0).reshape(2, 2)]
    fresh = backup(params, None)
    assert all(torch.equal(a, b) and a is not b for a, b in zip(fresh, params, strict=True))
    spare = [torch.zeros(3), torch.zeros(2, 2)]
    spare_ptrs = [t.data_ptr() for t in spare]
    out = backup(params, spare)
    assert out is spare and [t.data_ptr() for t in out] == spare_ptrs
    assert all(torch.equal(a, b) for a, b in zip(out, params, strict=True))
    other = [torch.zeros(4), torch.zeros(2, 2)]
    out = backup(params, other)
    assert out is not other and torch.equal(other[0], torch.zeros(4))
    assert all(torch.equal(a, b) and a is not b for a, b in zip(out, params, strict=True))


def test_global_norm_dot_distance_and_cosine_values():
    # All tensors seen as one vector. Kills the mutants of global_norm, global_dot (reshape(+1)
    # or (-2) fails on a 2x3 tensor), global_distance and cosine (a/b instead of a*b, the
    # wrong operands) that the optimizers' tests leave alive.
    a = [torch.tensor([1.0, 2.0], dtype=torch.float64), torch.arange(6.0).reshape(2, 3).double()]
    b = [torch.tensor([3.0, -1.0], dtype=torch.float64), torch.ones(2, 3, dtype=torch.float64)]
    va, vb = torch.cat([t.reshape(-1) for t in a]), torch.cat([t.reshape(-1) for t in b])
    assert float(global_norm(a)) == pytest.approx(float(torch.linalg.vector_norm(va)), rel=1e-15)
    assert float(global_dot(a, b)) == pytest.approx(float(va @ vb), rel=1e-15)
    assert float(global_distance(a, b)) == pytest.approx(
        float(torch.linalg.vector_norm(va - vb)), rel=1e-15
    )
    expected = float(va @ vb / (torch.linalg.vector_norm(va) * torch.linalg.vector_norm(vb)))
    assert float(cosine(a, b)) == pytest.approx(expected, rel=1e-14)
    assert float(cosine(b, a)) == pytest.approx(expected, rel=1e-14)


def test_cosine_adds_eta_to_the_product_of_the_norms():
    # cos(a, b) = ⟨a, b⟩/(‖a‖‖b‖ + η): for ‖a‖‖b‖ = η it is exactly ½ (finite). Kills
    # _foreach.x_cosine__mutmut_6 (‖a‖‖b‖ − η: a division by zero, inf) and _1 (× instead of ÷).
    a = [torch.tensor([1e-6], dtype=torch.float64)]
    assert float(global_dot(a, a)) == pytest.approx(ETA, rel=1e-12)
    assert float(cosine(a, a)) == pytest.approx(0.5, rel=1e-9)
    zero = [torch.zeros(3, dtype=torch.float64)]
    assert float(cosine(zero, zero)) == 0.0


def test_empty_lists_give_a_zero_scalar():
    # A param group none of whose parameters got a gradient has an empty gradient list; its norm
    # (and an empty dot or distance) is the 0-dim zero. Kills x_global_norm__mutmut_1/_2,
    # x_global_dot__mutmut_1/_2, x_global_distance__mutmut_1/_2 (inverted test, zeros(None)).
    for value in (global_norm([]), global_dot([], []), global_distance([], [])):
        assert value.shape == () and float(value) == 0.0
    one = [torch.tensor([3.0, 4.0])]
    assert float(global_norm(one)) == 5.0 and float(global_dot(one, one)) == 25.0


def test_dot_and_distance_refuse_lists_of_different_lengths():
    # A list cut short (a parameter missing from one side) must fail loudly, not be truncated
    # silently by zip. Kills x_global_dot__mutmut_16/_19/_20 and
    # x_global_distance__mutmut_11/_14/_15 (strict=None/False or dropped).
    a = [torch.ones(2), torch.ones(3)]
    with pytest.raises(ValueError):
        global_dot(a, a[:1])
    with pytest.raises(ValueError):
        global_distance(a, a[:1])


def test_helpers_gather_per_tensor_values_on_the_first_tensors_device():
    # Parameters may live on several devices; the per-tensor norms/dots/distances are moved to
    # the first one's before stacking. The only second device on a CPU is "meta" (first here).
    # Kills x__gather__mutmut_1/_2/_4 (device None or values[1]'s: stacking fails, or an
    # IndexError with one tensor).
    mixed = [torch.ones(2, device="meta"), torch.ones(3)]
    for value in (global_norm(mixed), global_dot(mixed, mixed), global_distance(mixed, mixed)):
        assert value.device.type == "meta" and value.shape == ()
    single = [torch.tensor([3.0, 4.0])]
    assert float(global_distance(single, [torch.zeros(2)])) == 5.0


# --- RoGA: construction and the messages users see -----------------------------------------------


def test_roga_defaults_are_the_papers():
    # DESIGN §4 "Defaults (paper): RoGA ρ = 0.1, α = 0.001"; align to each domain's own g_i.
    # Kills xǁRoGAǁ__init____mutmut_1/_2 (ρ 1.1, α 1.001) and _3/_4 (default align_to).
    params = [nn.Parameter(torch.zeros(2))]
    opt = RoGA(torch.optim.SGD(params, lr=LR))
    assert opt.param_groups[0]["rho"] == 0.1 and opt.param_groups[0]["alpha"] == 0.001
    assert opt.align_to == "domain" and opt.num_domains is None


def test_roga_error_messages_name_the_class_and_the_argument():
    # Users see these lines; the whole text is checked. Kills the message mutants of
    # __init__ (_6, _11), _check_count (_3.._6, _10), step (_4.._7) and _start (_5.._8).
    w = nn.Parameter(torch.ones(2))
    base = torch.optim.SGD([w], lr=LR)
    with pytest.raises(ValueError, match=_full_message(
        "RoGA: align_to must be one of ('domain', 'global'), got 'local'"
    )):  # fmt: skip
        RoGA(base, align_to="local")
    with pytest.raises(ValueError, match=_full_message("RoGA: num_domains must be >= 1, got 0")):
        RoGA(base, num_domains=0)

    def closure():
        base.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    listed = "RoGA.step takes a list of closures, one per training domain"
    with pytest.raises(ValueError, match=_full_message(listed)):
        RoGA(base).step(closure)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=_full_message(listed)):
        RoGA(base).step()
    with pytest.raises(ValueError, match=_full_message(
        "RoGA.step needs one closure per training domain, got none"
    )):  # fmt: skip
        RoGA(base).step([])
    with pytest.raises(ValueError, match=_full_message(
        "RoGA got 2 closure(s)/domain(s) but num_domains=3; pass one closure per training domain"
    )):  # fmt: skip
        RoGA(base, num_domains=3).step([closure, closure])
    base.zero_grad()
    with pytest.raises(RuntimeError, match=_full_message(
        "RoGA: no parameter has a gradient; call loss.backward() first"
    )):  # fmt: skip
        RoGA(base).first_step()
    assert torch.equal(w.detach(), torch.ones(2))  # no failed call moved θ


def test_roga_step_without_closures_is_a_value_error_not_a_type_error():
    # step(None) / step(a callable) get the one-line ValueError, never a TypeError from
    # list(None). Kills xǁRoGAǁstep__mutmut_1 (and: list(None) fails) and _3 (callable(None)).
    w = nn.Parameter(torch.ones(2))
    opt = RoGA(torch.optim.SGD([w], lr=LR))
    with pytest.raises(ValueError):
        opt.step(None)
    with pytest.raises(ValueError):
        opt.step(lambda: (w**2).sum())  # type: ignore[arg-type]


# --- RoGA: one domain is SAGM -------------------------------------------------------------------


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_with_one_domain_is_sagm(align_to):
    # DESIGN §4: "RoGA given the same data as one domain (K = 1) equals SAGM", here on a single
    # parameter tensor, three steps, with num_domains=1 declared (it must be accepted).
    # Kills __init____mutmut_9/_10 (num_domains=1 refused), _check_count__mutmut_2 (K = 1
    # taken for "none"), step__mutmut_20 (losses[1]), _step_global__mutmut_13 (g_list[1]) and
    # _29 (g[1]: one parameter tensor), _global_domain__mutmut_70 (g_list[1]).
    mats, vecs, theta0 = _problem(k=1)
    runs = []
    for make in (
        lambda b: RoGA(b, rho=RHO, alpha=ALPHA, num_domains=1, align_to=align_to),
        lambda b: SAGM(b, rho=RHO, alpha=ALPHA),
    ):
        params = [nn.Parameter(theta0.clone())]
        opt = make(torch.optim.SGD(params, lr=LR, momentum=0.9))
        losses = []
        for _ in range(3):
            closures = _closures(opt, params, mats, vecs)
            losses.append(float(opt.step(closures if isinstance(opt, RoGA) else closures[0])))
        runs.append((_theta(params), losses))
    (theta_roga, losses_roga), (theta_sagm, losses_sagm) = runs
    assert float((theta_roga - theta_sagm).abs().max()) < 1e-12
    assert losses_roga == pytest.approx(losses_sagm, abs=1e-12)
    assert not torch.equal(theta_roga, theta0)


# --- RoGA: what a step leaves behind ------------------------------------------------------------


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_stats_report_the_mean_cosine_and_nothing_else(align_to):
    # stats: grad_norm, perturb_norm, cos_g_gp = mean_i cos(g_i, g_i^p), and cos_d{i}. Kills
    # xǁRoGAǁ_apply__mutmut_12/_13/_17/_18/_22/_23 (keys renamed: a reader gets a KeyError).
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = RoGA(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA, align_to=align_to)
    opt.step(_closures(opt, params, mats, vecs))
    k = len(mats)
    assert set(opt.stats) == {"grad_norm", "perturb_norm", "cos_g_gp"} | {
        f"cos_d{i}" for i in range(k)
    }
    mean_cos = sum(float(opt.stats[f"cos_d{i}"]) for i in range(k)) / k
    assert float(opt.stats["cos_g_gp"]) == pytest.approx(mean_cos, abs=1e-12)
    assert 0.5 < mean_cos <= 1.0  # small steps on a quadratic: g_i^p stays close to g_i
    norms = [
        float(torch.linalg.vector_norm(_g(m, v, theta0))) for m, v in zip(mats, vecs, strict=True)
    ]
    assert float(opt.stats["grad_norm"]) == pytest.approx(sum(norms) / k, abs=1e-12)
    assert float(opt.stats["perturb_norm"]) > 0


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_keeps_one_backup_buffer_across_steps(align_to):
    # The saved θ lives in one buffer reused step after step (no fresh parameter-sized
    # allocation per step, roga_bench.optim._foreach.backup). Kills xǁRoGAǁ_start__mutmut_12,
    # _15, _20, _21 (the spare never looked up) and xǁRoGAǁ_apply__mutmut_30 (never kept), and
    # _foreach.x_backup__mutmut_3 (a matching spare not reused).
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = RoGA(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA, align_to=align_to)
    opt.step(_closures(opt, params, mats, vecs))
    spare = opt._spare
    ptrs = [t.data_ptr() for t in spare]
    assert torch.equal(torch.cat([t.reshape(-1) for t in spare]), theta0)  # θ of that step
    theta1 = _theta(params).clone()
    opt.step(_closures(opt, params, mats, vecs))
    assert opt._spare is spare and [t.data_ptr() for t in opt._spare] == ptrs
    assert torch.equal(torch.cat([t.reshape(-1) for t in spare]), theta1)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_perturbation_of_a_gradient_of_norm_eta_is_finite(align_to):
    # e_i = ρ g_i/(‖g_i‖ + η) (α = 0): for ‖g_i‖ = η its norm is ρ/2, and the second pass sees
    # a finite θ + e_i. Kills xǁRoGAǁ_global_domain__mutmut_31 (‖g_i‖ − η: division by zero).
    w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = RoGA(torch.optim.SGD([w], lr=LR), rho=RHO, alpha=0.0, align_to=align_to)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(float(w.detach()))
        loss = ETA * w.sum()
        loss.backward()
        return loss

    opt.step([closure])
    assert seen[1] == pytest.approx(1.0 + RHO / 2, rel=1e-12)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(RHO / 2, rel=1e-9)
    assert float(w.detach()) == pytest.approx(1.0 - LR * ETA, rel=1e-15)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_loss_is_gathered_on_the_first_domains_device(align_to):
    # The returned mean is computed on domain 0's loss's device. Kills xǁRoGAǁstep__mutmut_19
    # (loss.to(None): stacking losses from two devices fails). The only second device on a CPU
    # is "meta": domain 0 reports its loss there, the others on the CPU.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = RoGA(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA, align_to=align_to)
    cls = _closures(opt, params, mats, vecs, device_of_loss=lambda i: "meta" if i == 0 else "cpu")
    loss = opt.step(cls)
    assert loss.device.type == "meta" and loss.shape == ()


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_step_clears_gradients_between_passes_itself(align_to):
    # step() zero-grads after every pass, so closures that only forward and backward give the
    # same update as closures that zero-grad first. Kills xǁRoGAǁ_step_domain__mutmut_7/_8
    # (second_step(zero_grad=False): domain i+1's first pass adds onto domain i's g_i^p).
    mats, vecs, theta0 = _problem()
    runs = []
    for zero_grad in (True, False):
        params = _params(theta0)
        opt = RoGA(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA, align_to=align_to)
        opt.step(_closures(opt, params, mats, vecs, zero_grad=zero_grad))
        runs.append(_theta(params))
    assert float((runs[0] - runs[1]).abs().max()) < 1e-14


class _HookRecorder(RoGA):
    """RoGA that records what its ``_after_second_pass`` subclass hook receives."""

    def _reset(self) -> None:
        super()._reset()
        self.seen = getattr(self, "seen", [])

    def _after_second_pass(self, g_i, g_p, dot, g_norm) -> None:
        flat_ = lambda ts: torch.cat([t.reshape(-1) for t in ts]).clone()  # noqa: E731
        self.seen.append((flat_(g_i), flat_(g_p), dot, g_norm))


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_hook_gets_each_domains_g_i_and_g_i_p(align_to):
    # The subclass hook (RoGALook builds its u from it) gets domain i's g_i = ∇L_i(θ) and
    # g_i^p = ∇L_i(θ + e_i). Kills xǁRoGAǁ_global_domain__mutmut_62/_63 (None passed instead).
    mats, vecs, theta = _problem()
    params = _params(theta)
    opt = _HookRecorder(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA, align_to=align_to)
    opt.step(_closures(opt, params, mats, vecs))
    gs = [_g(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
    g = sum(gs) / len(gs)
    assert len(opt.seen) == len(mats)
    for (g_i, g_p, dot, g_norm), g_true, m, v in zip(opt.seen, gs, mats, vecs, strict=True):
        if align_to == "domain":
            e_i = (RHO / (torch.linalg.vector_norm(g_true) + ETA) - ALPHA) * g_true
            assert float(dot) == pytest.approx(float(g_i @ g_p), rel=1e-12)
            assert float(g_norm) == pytest.approx(float(torch.linalg.vector_norm(g_i)), rel=1e-12)
        else:
            e_i = RHO * g_true / (torch.linalg.vector_norm(g_true) + ETA) - ALPHA * g
            assert dot is None and g_norm is None
        assert float((g_i - g_true).abs().max()) < 1e-12
        assert float((g_p - _g(m, v, theta + e_i)).abs().max()) < 1e-12


def test_roga_failure_while_saving_theta_surfaces_as_itself(monkeypatch):
    # If saving θ fails (out of memory), the user sees that error, θ is untouched and the next
    # step runs normally. Kills xǁRoGAǁ_reset__mutmut_2 (_backup "" after a reset: the clean-up
    # would "restore" θ from it and raise a different error).
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = RoGA(torch.optim.SGD(params, lr=LR), rho=RHO, alpha=ALPHA)

    def no_memory(params, spare):
        raise MemoryError("no room for the backup")

    with monkeypatch.context() as patch:
        patch.setattr(roga_module, "backup", no_memory)
        with pytest.raises(MemoryError, match="no room for the backup"):
            opt.step(_closures(opt, params, mats, vecs))
    assert torch.equal(_theta(params), theta0)
    opt.step(_closures(opt, params, mats, vecs))
    assert not torch.equal(_theta(params), theta0)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_parameter_only_a_later_domain_reaches_gets_its_share(align_to):
    # The bug: RoGA took its parameters from domain 0's first pass only, so x (reached by the
    # second domain alone) never moved, and the update depended on the order of the domains.
    # With ρ = α = 0, d = (1/K) Σ g_i (module docstring), whatever the order of the domains.
    results = []
    for order in (0, 1):
        w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
        x = nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
        opt = RoGA(torch.optim.SGD([w, x], lr=LR), rho=0.0, alpha=0.0, align_to=align_to)

        def only_w(opt=opt, w=w):
            opt.zero_grad()
            loss = (w**2).sum()
            loss.backward()
            return loss

        def w_and_x(opt=opt, w=w, x=x):
            opt.zero_grad()
            loss = (w**2).sum() + 3.0 * x.sum()
            loss.backward()
            return loss

        opt.step([only_w, w_and_x] if order == 0 else [w_and_x, only_w])
        results.append((float(w.detach()), float(x.detach())))
    for w_value, x_value in results:
        assert w_value == pytest.approx(1.0 - LR * 2.0)
        assert x_value == pytest.approx(-LR * 3.0 / 2)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_leaves_a_parameter_no_domain_reaches_untouched(align_to):
    # A trainable parameter that no pass reaches keeps .grad None, so SGD's weight decay and
    # momentum skip it, as they would without RoGA (the bug: a zero gradient that decays it).
    w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    unused = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    base = torch.optim.SGD([w, unused], lr=LR, momentum=0.9, weight_decay=0.5)
    opt = RoGA(base, rho=0.05, alpha=0.001, align_to=align_to)

    def closure(opt=opt, w=w):
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step([closure, closure])
    assert float(unused.detach()) == 2.0
    assert unused not in base.state or "momentum_buffer" not in base.state[unused]
    assert float(w.detach()) != 1.0
