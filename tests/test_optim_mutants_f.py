"""RoGA (``roga_bench.optim.roga``) after the fix of issue 28's round 2: the step methods are
mutated now (no decorator) and ``_start``/``_pass_grads``/``_apply`` changed, so this file pins
the whole update against a hand computation of DESIGN §4 (module docstring of roga.py):

    domain: e_i = (ρ/(‖g_i‖+η) − α) g_i      global: e_i = ρ g_i/(‖g_i‖+η) − α g
    g_i^p = ∇L_i(θ+e_i),  d = (1/K) Σ_i ½ (g_i + g_i^p),  then the base step on d.

with two param groups of different ρ/α (the scale of each group uses its own ρ, α but the norm is
the global ‖g_i‖), several steps with SGD momentum, the statistics a step leaves in ``stats``,
the lower-level calls (first_step/second_step/final_step) and their errors, and the clean-up
after a closure fails. Of the 383 mutants (mutmut 3.8.1, ``benchmarks/mutation.py optim``) of
``roga_bench.optim.roga.xǁRoGAǁ`` _reset/_abort/first_step/second_step/final_step/_start/
_pass_grads/_apply/_step_global/_global_domain, it kills 346, among them first_step__mutmut_1
(default zero_grad), _25 (.to(None) of a group norm), _27, _33/_36 (‖e_i‖ in the default dtype),
_54 (‖g_i‖ − η), second_step__mutmut_2, _31 (cos − η), final_step__mutmut_1, _apply__mutmut_3/_8,
_step_global__mutmut_29 and _global_domain__mutmut_31, _48 (BatchNorm in global mode); 17 more
are killed by tests/test_optim_mutants_b.py and 20 are equivalent
(benchmarks/mutation_equivalent.txt says why). The hand computations use the quadratic domains of
tests/test_optim_look.py in float64: L_i(θ) = ½ θᵀA_iθ − b_iᵀθ, g_i = A_iθ − b_i.
"""

from __future__ import annotations

import re

import pytest
import torch
from test_optim_look import _loss, _params, _problem, _theta
from torch import nn

from roga_bench.optim import ETA, RoGA

LR, MOMENTUM = 0.1, 0.9
# group 0 = θ[:3], group 1 = θ[3:]: different ρ and α, so a scale computed from the wrong group
# (or the wrong norm) shows
GROUPS = ((0.3, 0.05), (0.7, 0.2))


def _full(text: str) -> str:
    return "^" + re.escape(text) + "$"


def _g(mat, vec, theta):
    return mat @ theta - vec


def _norm(x):
    return torch.linalg.vector_norm(x)


def _per_group(vec_a, vec_b):
    return torch.cat([vec_a[:3], vec_b[3:]])


def _hand(mats, vecs, theta0, align_to, steps):
    """θ after each step, and each step's stats, by the formulas above (SGD with momentum)."""
    (rho0, a0), (rho1, a1) = GROUPS
    theta, buf, out = theta0.clone(), None, []
    k = len(mats)
    for _ in range(steps):
        gs = [_g(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
        g = sum(gs) / k
        d = torch.zeros_like(theta)
        norms, perturbs, coss = [], [], []
        for m, v, gi in zip(mats, vecs, gs, strict=True):
            n = _norm(gi)
            if align_to == "domain":
                e = _per_group((rho0 / (n + ETA) - a0) * gi, (rho1 / (n + ETA) - a1) * gi)
            else:
                e = _per_group(rho0 * gi / (n + ETA) - a0 * g, rho1 * gi / (n + ETA) - a1 * g)
            gp = _g(m, v, theta + e)
            d = d + 0.5 * (gi + gp) / k
            norms.append(n)
            perturbs.append(_norm(e))
            coss.append(gi @ gp / (n * _norm(gp) + ETA))
        buf = d.clone() if buf is None else MOMENTUM * buf + d
        theta = theta - LR * buf
        out.append((theta.clone(), d, norms, perturbs, coss))
    return out


def _closures(opt, params, mats, vecs, fail_at=None):
    """One closure per domain; ``fail_at=(i, n)``: domain i's n-th call (from 1) raises."""
    calls = [0] * len(mats)

    def make(i, mat, vec):
        def closure():
            calls[i] += 1
            if fail_at == (i, calls[i]):
                raise KeyboardInterrupt("stopped by the user")
            opt.zero_grad()
            loss = _loss(params, mat, vec)
            loss.backward()
            return loss

        return closure

    return [make(i, m, v) for i, (m, v) in enumerate(zip(mats, vecs, strict=True))]


def _roga(params, align_to, num_domains=None):
    base = torch.optim.SGD(
        [
            {"params": params[:1], "rho": GROUPS[0][0], "alpha": GROUPS[0][1]},
            {"params": params[1:], "rho": GROUPS[1][0], "alpha": GROUPS[1][1]},
        ],
        lr=LR,
        momentum=MOMENTUM,
    )
    return RoGA(base, num_domains=num_domains, align_to=align_to)


def _close(a, b, tol=1e-12):
    return float((torch.as_tensor(a) - torch.as_tensor(b)).abs().max()) < tol


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_steps_with_two_param_groups_match_the_hand_computation(align_to):
    # The whole update, three steps: the scale of e_i per group (its own ρ/α, the global
    # ‖g_i‖ + η), θ restored exactly before the next domain, d = (1/K) Σ ½(g_i + g_i^p) written
    # into .grad for the base step (momentum sees d), the mean first-pass loss returned, and
    # the stats (mean ‖g_i‖, mean ‖e_i‖, mean and per-domain cos(g_i, g_i^p)). Catches a wrong
    # scale, sign or operand in first_step/_global_domain, a missing restore, a wrong 1/K or ½
    # in final_step/_step_global, an accumulator that drops or doubles a term, stats averaged
    # wrongly or taken from the wrong tensors.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, align_to, num_domains=len(mats))
    hand = _hand(mats, vecs, theta0, align_to, steps=3)
    theta = theta0
    for theta_next, d, norms, perturbs, coss in hand:
        losses = [_loss([theta], m, v) for m, v in zip(mats, vecs, strict=True)]
        loss = opt.step(_closures(opt, params, mats, vecs))
        assert float(loss) == pytest.approx(float(sum(losses) / len(losses)), rel=1e-12)
        assert loss.shape == () and not loss.requires_grad
        assert _close(_theta(params), theta_next)
        assert _close(torch.cat([p.grad.reshape(-1) for p in params]), d)
        stats = opt.stats
        assert sorted(stats) == [
            "cos_d0",
            "cos_d1",
            "cos_d2",
            "cos_g_gp",
            "grad_norm",
            "perturb_norm",
        ]
        assert float(stats["grad_norm"]) == pytest.approx(float(sum(norms) / 3), rel=1e-12)
        assert float(stats["perturb_norm"]) == pytest.approx(float(sum(perturbs) / 3), rel=1e-10)
        assert float(stats["cos_g_gp"]) == pytest.approx(float(sum(coss) / 3), rel=1e-12)
        for i, c in enumerate(coss):
            assert float(stats[f"cos_d{i}"]) == pytest.approx(float(c), rel=1e-12)
        theta = theta_next


def test_roga_lower_level_calls_match_step():
    # first_step/second_step per domain then final_step is what step does for align_to="domain"
    # (README: the lower-level API for custom loops); the closures here only forward and
    # backward, the zero_grad=True arguments clear between passes. Catches zero_grad ignored or
    # inverted in first_step/second_step, a final_step that scales by the wrong K.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, "domain")
    for _ in range(2):
        opt.zero_grad()  # .grad holds the previous step's d
        for m, v in zip(mats, vecs, strict=True):
            _loss(params, m, v).backward()
            opt.first_step(zero_grad=True)
            assert all(p.grad is None for p in params)
            _loss(params, m, v).backward()
            opt.second_step(zero_grad=True)
            assert all(p.grad is None for p in params)
        opt.final_step()
    assert _close(_theta(params), _hand(mats, vecs, theta0, "domain", steps=2)[-1][0])


def test_roga_first_step_without_zero_grad_leaves_the_gradients_detached():
    # first_step(zero_grad=False) still takes g_i out of .grad (every parameter's .grad None),
    # so the second backward starts from zero; second_step(zero_grad=False) leaves g_i^p there.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, "domain")
    m, v = mats[0], vecs[0]
    _loss(params, m, v).backward()
    opt.first_step()
    assert all(p.grad is None for p in params)
    _loss(params, m, v).backward()
    gp = torch.cat([p.grad.reshape(-1) for p in params]).clone()
    opt.second_step()
    assert torch.equal(torch.cat([p.grad.reshape(-1) for p in params]), gp)
    assert torch.equal(_theta(params), theta0)
    opt.zero_grad()
    opt.final_step()
    hand = _hand(mats[:1], vecs[:1], theta0, "domain", steps=1)[0]
    assert _close(_theta(params), hand[0])


def test_roga_lower_level_errors_name_the_misuse():
    # The messages a user of the lower-level API sees, whole (class, method, what to do).
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, "domain", num_domains=2)
    with pytest.raises(RuntimeError, match=_full("RoGA.second_step called before first_step")):
        opt.second_step()
    needs = "RoGA.final_step needs first_step/second_step for every domain"
    with pytest.raises(RuntimeError, match=_full(needs)):
        opt.final_step()
    _loss(params, mats[0], vecs[0]).backward()
    opt.first_step(zero_grad=True)
    with pytest.raises(RuntimeError, match=_full(needs)):
        opt.final_step()  # domain 0's second pass is missing
    _loss(params, mats[0], vecs[0]).backward()
    opt.second_step(zero_grad=True)
    with pytest.raises(
        ValueError,
        match=_full(
            "RoGA got 1 closure(s)/domain(s) but num_domains=2; pass one closure per "
            "training domain"
        ),
    ):
        opt.final_step()
    glob = _roga(_params(theta0), "global")
    with pytest.raises(
        RuntimeError,
        match=_full(
            "RoGA.first_step/second_step implement align_to='domain'; "
            "use step(closures) for align_to='global'"
        ),
    ):
        glob.first_step()


@pytest.mark.parametrize("align_to", ["domain", "global"])
@pytest.mark.parametrize("fail_at", [(0, 2), (1, 1), (1, 2), (2, 2)])
def test_roga_failed_step_puts_theta_back_and_forgets_it(align_to, fail_at):
    # A closure that raises (Ctrl-C, out of memory) in any pass leaves θ exactly as before the
    # step, and the next step is a whole fresh one (no half-summed d, no stale g_i or stats).
    # Catches an _abort that does not restore θ or does not reset the step's state.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, align_to)
    with pytest.raises(KeyboardInterrupt, match="stopped by the user"):
        opt.step(_closures(opt, params, mats, vecs, fail_at=fail_at))
    assert torch.equal(_theta(params), theta0)
    opt.step(_closures(opt, params, mats, vecs))
    hand = _hand(mats, vecs, theta0, align_to, steps=1)[0]
    assert _close(_theta(params), hand[0])
    assert float(opt.stats["grad_norm"]) == pytest.approx(float(sum(hand[2]) / 3), rel=1e-12)
    assert sorted(opt.stats) == [
        "cos_d0",
        "cos_d1",
        "cos_d2",
        "cos_g_gp",
        "grad_norm",
        "perturb_norm",
    ]


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_param_group_without_trainable_parameters(align_to):
    # A param group whose parameters are all frozen (fine-tuning a head only) is skipped: the
    # others get the update of the hand computation with that group's ρ/α, the frozen one
    # stays put. Catches an unguarded empty group (stack of nothing, scale of nothing).
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    frozen = nn.Parameter(torch.ones(2, dtype=torch.float64), requires_grad=False)
    base = torch.optim.SGD(
        [
            {"params": params[:1], "rho": GROUPS[0][0], "alpha": GROUPS[0][1]},
            {"params": [frozen], "rho": 5.0, "alpha": 3.0},
            {"params": params[1:], "rho": GROUPS[1][0], "alpha": GROUPS[1][1]},
        ],
        lr=LR,
        momentum=MOMENTUM,
    )
    opt = RoGA(base, align_to=align_to)
    for _ in range(2):
        opt.step(_closures(opt, params, mats, vecs))
    assert _close(_theta(params), _hand(mats, vecs, theta0, align_to, steps=2)[-1][0])
    assert torch.equal(frozen, torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_parameter_reached_only_by_a_later_domain_later_steps(align_to):
    # Over two steps (the second reuses the first's backup buffer) a parameter only domain 1
    # reaches gets its 1/K share each step, and one no domain reaches keeps .grad None.
    w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    x = nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    unused = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = RoGA(torch.optim.SGD([w, x, unused], lr=LR), rho=0.0, alpha=0.0, align_to=align_to)

    def only_w():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    def w_and_x():
        opt.zero_grad()
        loss = (w**2).sum() + 3.0 * x.sum()
        loss.backward()
        return loss

    w_value = 1.0
    for step in range(2):
        opt.step([only_w, w_and_x])
        w_value -= LR * 2.0 * w_value
        assert float(w.detach()) == pytest.approx(w_value, rel=1e-12)
        assert float(x.detach()) == pytest.approx(-LR * 1.5 * (step + 1), rel=1e-12)
        assert float(x.grad) == pytest.approx(1.5, rel=1e-12)
        assert unused.grad is None and float(unused.detach()) == 2.0


def test_roga_lower_level_misuse_in_the_middle_of_a_step():
    # A second_step repeated for the same domain, or a final_step while a domain's second pass
    # is missing, is the RuntimeError that names the misuse (not a TypeError from inside, not
    # an update with half a domain). Catches `or` turned `and` in second_step's and
    # final_step's guards.
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt = _roga(params, "domain")
    _loss(params, mats[0], vecs[0]).backward()
    opt.first_step(zero_grad=True)
    _loss(params, mats[0], vecs[0]).backward()
    opt.second_step(zero_grad=True)
    _loss(params, mats[0], vecs[0]).backward()
    with pytest.raises(RuntimeError, match=_full("RoGA.second_step called before first_step")):
        opt.second_step()
    opt.zero_grad()
    _loss(params, mats[1], vecs[1]).backward()
    opt.first_step(zero_grad=True)
    needs = "RoGA.final_step needs first_step/second_step for every domain"
    with pytest.raises(RuntimeError, match=_full(needs)):
        opt.final_step()


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_cosine_adds_eta_to_the_product_of_the_norms(align_to):
    # cos(g_i, g_i^p) = ⟨g_i, g_i^p⟩/(‖g_i‖‖g_i^p‖ + η): for a linear loss of slope 1e-6 (so
    # g_i = g_i^p and ‖g_i‖‖g_i^p‖ = η) it is ½, finite. Catches − η (a division by ~0).
    w = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = RoGA(torch.optim.SGD([w], lr=LR), rho=0.1, alpha=0.01, align_to=align_to)

    def closure():
        opt.zero_grad()
        loss = 1e-6 * w.sum()
        loss.backward()
        return loss

    opt.step([closure])
    assert float(opt.stats["cos_d0"]) == pytest.approx(0.5, rel=1e-6)


def test_roga_stats_are_in_the_parameters_dtype():
    # The statistics of a step come in the dtype of the gradients (a bfloat16 model gives
    # bfloat16 norms, like ‖g_i‖), ‖e_i‖ included. Catches the ‖e_i‖ accumulator created in
    # the default dtype (float32) instead of the norm's.
    w = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.bfloat16))
    opt = RoGA(torch.optim.SGD([w], lr=LR), rho=0.1, alpha=0.01)

    def closure():
        opt.zero_grad()
        loss = (w.float() ** 2).sum()
        loss.backward()
        return loss

    opt.step([closure, closure])
    assert opt.stats["grad_norm"].dtype == torch.bfloat16
    assert opt.stats["perturb_norm"].dtype == torch.bfloat16
    # ‖e_i‖ = |ρ/(‖g‖+η) − α| ‖g‖ with g = 2w, ‖g‖ = 2√5
    assert float(opt.stats["perturb_norm"]) == pytest.approx(
        (0.1 / (2 * 5**0.5) - 0.01) * 2 * 5**0.5, rel=1e-2
    )


def test_roga_first_step_by_default_leaves_other_gradients_alone():
    # first_step(zero_grad=False) is the default (as SAM's): it takes g_i out of the step's
    # parameters but does not zero-grad the optimizer, so the .grad a frozen parameter still
    # holds (frozen after some training) is left as it is. Catches a default of True.
    w = nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    frozen = nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    frozen.grad = torch.tensor([7.0], dtype=torch.float64)
    frozen.requires_grad_(False)
    opt = RoGA(torch.optim.SGD([w, frozen], lr=LR), rho=0.1, alpha=0.01)
    (w**2).sum().backward()
    opt.first_step()
    assert w.grad is None
    assert frozen.grad is not None and float(frozen.grad) == 7.0


class _BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 4, dtype=torch.float64)
        self.bn = nn.BatchNorm1d(4, dtype=torch.float64)

    def forward(self, x):
        return self.bn(self.lin(x)).pow(2).mean()


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_second_passes_leave_batchnorm_statistics_alone(align_to):
    # Only the K first passes (at θ) update BatchNorm's running statistics; the K second
    # passes (at θ + e_i) run with them frozen (model=). Catches the model not handed to
    # disable_running_stats in a mode (2K updates, statistics of perturbed weights).
    torch.manual_seed(0)
    net = _BNNet()
    ref = _BNNet()
    ref.load_state_dict(net.state_dict())
    opt = RoGA(torch.optim.SGD(net.parameters(), lr=LR), align_to=align_to, model=net)
    xs = [torch.randn(5, 3, dtype=torch.float64) for _ in range(2)]

    def make(x):
        def closure():
            opt.zero_grad()
            loss = net(x)
            loss.backward()
            return loss

        return closure

    opt.step([make(x) for x in xs])
    assert int(net.bn.num_batches_tracked) == 2
    with torch.no_grad():
        for x in xs:
            ref(x)  # the first passes at θ, in the same order
    assert torch.allclose(net.bn.running_mean, ref.bn.running_mean, rtol=0, atol=1e-14)
    assert torch.allclose(net.bn.running_var, ref.bn.running_var, rtol=0, atol=1e-14)


def test_roga_frozen_group_on_a_model_off_the_cpu():
    # A frozen param group has no gradients; its ‖·‖ is a zero made on the default device, and
    # first_step moves each group's norm to the gradients' device before stacking them (on a
    # GPU model the stack would fail otherwise). "meta" stands in for a second device here.
    # Catches .to(None) there (the zero stays on the CPU: stack fails).
    w = nn.Parameter(torch.ones(3, device="meta"))
    frozen = nn.Parameter(torch.ones(2, device="meta"), requires_grad=False)
    opt = RoGA(torch.optim.SGD([{"params": [frozen]}, {"params": [w]}], lr=LR))
    (w**2).sum().backward()
    opt.first_step(zero_grad=True)
    assert opt._diag["grad_norm"][0].device.type == "meta"
    assert opt._diag["perturb_norm"][0].device.type == "meta"


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_gradient_of_norm_eta_gives_a_finite_climb(align_to):
    # e_i = ρ g_i/(‖g_i‖ + η) (− α …): for ‖g_i‖ = η the climb is ρ/2 along g_i, finite.
    # Catches ‖g_i‖ − η (a division by zero: θ + e_i infinite, the step NaN).
    w = nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    opt = RoGA(torch.optim.SGD([w], lr=LR), rho=0.1, alpha=0.0, align_to=align_to)

    def closure():
        opt.zero_grad()
        loss = ETA * w.sum()
        loss.backward()
        return loss

    opt.step([closure])
    assert float(opt.stats["perturb_norm"]) == pytest.approx(0.05, rel=1e-6)
    assert float(w.detach()) == pytest.approx(-LR * ETA, rel=1e-9)
