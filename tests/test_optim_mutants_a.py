"""Tests for the survivors of the mutation run of ``optim/`` (``benchmarks/mutation.py optim``,
issue 28) in sam.py, sagm.py, gsam.py, _wrapper.py, _two_pass.py and schedule.py.

Each test names the mutants it kills; what it checks is the documented behaviour (DESIGN §4's
defaults and formulas, η's placement, RhoFollowsLR's ends), not the mutant.

Killed (44 of the run's 69 survivors in these files, each checked with the mutant under test):

- sam.SAM: __init__ _8/_18/_19, _unscaled _17, _perturbations _10/_14/_39/_40;
- sagm.SAGM: __init__ _1/_2, _scale _5;  gsam.GSAM: __init__ _1/_2, _combine _14;
- _wrapper.WrapperOptimizer: __init__ _1/_2/_5/_16/_21, zero_grad _1/_2, _grads _2/_3,
  _closure_loss _2/_3/_4 (and, already killed elsewhere: __init__ _9, add_param_group _1.._5,
  _grads _1);
- _two_pass.TwoPassOptimizer: step _3/_4/_5/_8/_9/_16, _scale _4, _perturbations _2,
  _record_cosine _1.._4;
- schedule.RhoFollowsLR: __init__ _22/_48, _check _4, _ends _5/_9/_10.

The others are equivalent (zip strict over lists of one length by construction, an argument
the base method never reads; listed with the reason for benchmarks/mutation_equivalent.txt)
except gsam.GSAM._combine _21/_25/_26 (zip strict over param_groups, told apart only by adding a
group between first_step and second_step).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from roga_bench.optim import ETA, GSAM, SAGM, SAM, RhoFollowsLR

# --- the authors' defaults (DESIGN §4, the registry's declared hparams) -------------------------


@pytest.mark.parametrize(
    ("cls", "rho", "alpha", "algorithm"),
    [(SAGM, 0.05, 0.001, "SAGM"), (GSAM, 0.05, 0.1, "GSAM")],
)
def test_default_rho_and_alpha_are_design_s_and_the_registry_s(cls, rho, alpha, algorithm):
    # kills sagm.SAGM.__init__ _1/_2 (rho 1.05, alpha 1.001), gsam.GSAM.__init__ _1/_2 (1.05, 1.1)
    from roga_bench.algorithms import sharpness  # here: the other tests need no registry

    algorithm = getattr(sharpness, algorithm)
    opt = cls(torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1))
    group = opt.param_groups[0]
    assert (group["rho"], group["alpha"]) == (rho, alpha)
    assert (group["rho"], group["alpha"]) == (
        algorithm.HPARAMS["rho"].default,
        algorithm.HPARAMS["alpha"].default,
    )


# --- η's placement: ‖·‖ + η, never ‖·‖ − η (a gradient of norm ~ η stays finite and right) -------


def _linear(c: torch.Tensor):
    """A parameter and a closure on L(θ) = cᵀθ: the gradient is c everywhere (g = g_p = c)."""
    p = nn.Parameter(torch.zeros_like(c))
    seen: list[torch.Tensor] = []

    def closure(opt):
        def run():
            opt.zero_grad()
            seen.append(p.detach().clone())  # θ, then θ + e
            loss = (c * p).sum()
            loss.backward()
            return loss

        return run

    return p, seen, closure


def test_sagm_perturbation_of_a_gradient_of_norm_eta():
    # e = (ρ/(‖g‖+η) − α) g: with ‖g‖ = 2η, ‖e‖ = ρ·2/3 − 2αη.  ‖g‖ − η (sagm._scale _5) gives 2ρ.
    c = torch.tensor([2 * ETA, 0.0], dtype=torch.float64)
    p, seen, closure = _linear(c)
    rho, alpha = 0.3, 0.001
    opt = SAGM(torch.optim.SGD([p], lr=1.0), rho=rho, alpha=alpha)
    opt.step(closure(opt))
    scale = rho / (2 * ETA + ETA) - alpha
    assert torch.allclose(seen[1] - seen[0], scale * c, rtol=1e-9, atol=0)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(rho * 2 / 3, rel=1e-6)
    # d = ½(g + g_p) = c
    assert torch.allclose(p.detach(), -c, rtol=1e-12, atol=0)


def test_gsam_direction_when_the_perturbed_gradient_has_norm_squared_near_eta():
    # g_⊥ = g − (⟨g, g_p⟩/(‖g_p‖²+η)) g_p.  With g = g_p = c and ‖c‖² = 2η the coefficient is
    # 2/3, so d = (1 + α·2/3) c − α c = (1 − α/3) c.  ‖g_p‖² − η (gsam._combine _14) gives a
    # coefficient of 2, d = (1 + α) c.
    c = torch.full((2,), ETA**0.5, dtype=torch.float64)  # ‖c‖² = 2η
    p, _, closure = _linear(c)
    alpha = 0.3
    opt = GSAM(torch.optim.SGD([p], lr=1.0), rho=0.05, alpha=alpha)
    opt.step(closure(opt))
    assert torch.allclose(p.detach(), -(1 - alpha / 3) * c, rtol=1e-9, atol=0)


# --- ASAM with a callable adaptive_on ---------------------------------------------------------


def test_callable_adaptive_on_receives_the_parameter():
    # The rule is called as rule(name, parameter); one that looks at the tensor (matrices get T,
    # vectors T = 1) must work and, for a Linear, equal the "weights" rule.
    # Kills sam.SAM._unscaled _17 (rule(name, None): AttributeError on None.dim()).
    torch.manual_seed(0)
    net = nn.Linear(3, 2).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    results = []
    for rule in ("weights", lambda name, p: p.dim() > 1):
        model = copy.deepcopy(net)
        opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1), adaptive=True, model=model,
                  adaptive_on=rule)  # fmt: skip

        def closure(model=model, opt=opt):
            opt.zero_grad()
            loss = (model(x) ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        results.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    # and the weight's T differs from the bias's: the rule is not "all"
    model = copy.deepcopy(net)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1), adaptive=True, model=model,
              adaptive_on="all")  # fmt: skip
    opt.step(lambda: _backward(opt, model, x))
    assert not torch.equal(list(model.parameters())[1].detach(), results[0][1])


def _backward(opt, model, x):
    opt.zero_grad()
    loss = (model(x) ** 2).sum()
    loss.backward()
    return loss


# --- RhoFollowsLR ------------------------------------------------------------------------------


def _sam(lr: float = 0.1, rho: float = 0.05) -> SAM:
    return SAM(torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=lr), rho=rho)


def test_resumed_schedule_keeps_the_saved_lr_max_not_the_current_lr():
    # A run resumed after the lr decayed, its groups without initial_lr (no LR scheduler yet):
    # lr_max must be the saved rho_lr_max (0.1), not the current lr (0.05).
    # Kills schedule.RhoFollowsLR.__init__ _22 (g.get(None, ...) ignores the saved end).
    opt = _sam()
    sched = RhoFollowsLR(opt, rho_min=0.01)
    opt.param_groups[0]["lr"] = 0.05
    assert sched.step() == [pytest.approx(0.03)]
    saved = copy.deepcopy(opt.state_dict())

    resumed = _sam(lr=0.05)
    resumed.load_state_dict(saved)
    assert "initial_lr" not in resumed.param_groups[0]
    sched2 = RhoFollowsLR(resumed, rho_min=0.01)
    assert sched2.lr_max == [0.1]
    assert sched2.rho_max == [0.05]
    assert sched2.step() == [pytest.approx(0.03)]


def test_attach_false_registers_no_hook_and_leaves_handle_none():
    # handle is None without a hook (callers test `handle is not None` before .remove()).
    # Kills schedule.RhoFollowsLR.__init__ _48 (handle = "").
    opt = _sam()
    sched = RhoFollowsLR(opt, rho_min=0.01, attach=False)
    assert sched.handle is None
    opt.param_groups[0]["lr"] = 0.0
    opt.step(lambda: _quadratic(opt))
    assert opt.param_groups[0]["rho"] == 0.05  # not driven without attach
    assert sched.step() == [pytest.approx(0.01)]


def _quadratic(opt):
    opt.zero_grad()
    p = opt.param_groups[0]["params"][0]
    loss = ((p - 1.0) ** 2).sum()
    loss.backward()
    return loss


def test_rho_min_equal_to_rho_max_is_a_constant_rho():
    # 0 <= rho_min <= rho_max: the boundary rho_min == rho_max is allowed (a constant ρ).
    # Kills schedule.RhoFollowsLR._check _4 (rho_min < rho_max refuses it).
    opt = _sam(rho=0.05)
    sched = RhoFollowsLR(opt, rho_min=0.05)
    for lr in (0.1, 0.03, 0.0):
        opt.param_groups[0]["lr"] = lr
        assert sched.step() == [pytest.approx(0.05)]
    with pytest.raises(ValueError, match=r"RhoFollowsLR: need 0 <= rho_min <= rho_max"):
        RhoFollowsLR(_sam(rho=0.05), rho_min=0.06)


def test_group_added_later_takes_its_initial_lr_as_lr_max():
    # "Groups added since: their own ends (current ρ, their initial or current lr)": a group
    # added with an initial_lr (as an LR scheduler would have set) uses it as lr_max.
    # Kills schedule.RhoFollowsLR._ends _5/_9/_10 (the "initial_lr" key lost: current lr used).
    opt = _sam()
    sched = RhoFollowsLR(opt, rho_min=0.01)
    opt.add_param_group(
        {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.02, "initial_lr": 0.04, "rho": 0.09}
    )
    assert sched.lr_max == [0.1, 0.04]
    assert sched.rho_max == [0.05, 0.09]
    assert sched.step() == [pytest.approx(0.05), pytest.approx(0.01 + 0.08 * 0.02 / 0.04)]


# --- the diagnostics in opt.stats (README: grad_norm, perturb_norm, cos_g_gp for SAGM and GSAM) --


@pytest.mark.parametrize(("cls", "alpha"), [(SAGM, 0.01), (GSAM, 0.1)])
def test_stats_hold_the_step_s_norms_and_cos_g_gp(cls, alpha):
    # On L(θ) = ½ θᵀAθ − bᵀθ: g = Aθ − b, e = s g, g_p = g + s A g, cos = ⟨g,g_p⟩/(‖g‖‖g_p‖+η),
    # all by hand.  Kills _two_pass.TwoPassOptimizer._record_cosine _1.._4 (the key missing or
    # None, cosine(None, ...)).
    mat = torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64))
    vec = torch.tensor([1.0, 0.0], dtype=torch.float64)
    theta = torch.tensor([2.0, 0.1], dtype=torch.float64)  # g = (1, 1)
    p = nn.Parameter(theta.clone())
    rho = 0.5
    opt = cls(torch.optim.SGD([p], lr=0.1), rho=rho, alpha=alpha)

    def closure():
        opt.zero_grad()
        loss = 0.5 * p @ mat @ p - vec @ p
        loss.backward()
        return loss

    opt.step(closure)
    g = mat @ theta - vec
    n = torch.linalg.vector_norm(g)
    s = rho / (n + ETA) - (alpha if cls is SAGM else 0.0)
    g_p = g + s * (mat @ g)
    cos = (g @ g_p) / (n * torch.linalg.vector_norm(g_p) + ETA)
    assert set(opt.stats) == {"grad_norm", "perturb_norm", "cos_g_gp"}
    assert float(opt.stats["grad_norm"]) == pytest.approx(float(n), rel=1e-12)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(float(abs(s) * n), rel=1e-12)
    assert float(opt.stats["cos_g_gp"]) == pytest.approx(float(cos), rel=1e-12)
    assert float(cos) < 0.95  # g and g_p differ: a wrong pairing would show


def test_sam_perturbation_of_a_gradient_of_norm_eta():
    # e = ρ g/(‖g‖+η): with ‖g‖ = 2η, ‖e‖ = ρ·2/3 (finite, below ρ).  ‖g‖ − η
    # (_two_pass.TwoPassOptimizer._scale _4) gives 2ρ.
    c = torch.tensor([0.0, 2 * ETA], dtype=torch.float64)
    p, seen, closure = _linear(c)
    rho = 0.3
    opt = SAM(torch.optim.SGD([p], lr=1.0), rho=rho)
    opt.step(closure(opt))
    assert torch.allclose(seen[1] - seen[0], rho * c / (3 * ETA), rtol=1e-9, atol=0)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(rho * 2 / 3, rel=1e-9)
    assert torch.allclose(p.detach(), -c, rtol=1e-12, atol=0)  # d = g_p = c


# --- the wrapper's protocol and messages ----------------------------------------------------------


def test_error_messages_name_the_class_and_what_was_wrong():
    # Kills _wrapper.WrapperOptimizer.__init__ _1/_2/_5/_9 (class or type name lost, message
    # None), _wrapper._closure_loss _3/_4 and _two_pass.TwoPassOptimizer.step _3/_4/_5 (text).
    p = nn.Parameter(torch.zeros(2))
    with pytest.raises(
        TypeError, match=r"^SAGM: base_optimizer must be a torch\.optim\.Optimizer, got list$"
    ):
        SAGM([p])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^GSAM: hparam 'alpha' must be >= 0, got -0\.1$"):
        GSAM(torch.optim.SGD([p], lr=0.1), alpha=-0.1)
    opt = SAM(torch.optim.SGD([p], lr=0.1))
    with pytest.raises(
        ValueError,
        match=r"^SAM\.step needs a closure that zero-grads, forwards, backwards and returns the "
        r"loss$",
    ):
        opt.step()

    def no_loss():
        opt.zero_grad()
        (p**2).sum().backward()

    with pytest.raises(
        ValueError,
        match=r"^the closure must return the loss \(zero-grad, forward, backward, return loss\)$",
    ):
        opt.step(no_loss)
    assert torch.equal(p.detach(), torch.zeros(2))


def test_stats_are_an_empty_dict_before_the_first_step():
    # opt.stats holds the last step's diagnostics: none yet, an empty dict (callers iterate it,
    # as the algorithms do).  Kills _wrapper.WrapperOptimizer.__init__ _21 (stats = None).
    opt = GSAM(torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1))
    assert opt.stats == {}


def test_zero_grad_sets_the_gradients_to_none_by_default():
    # Like torch.optim (set_to_none=True); False leaves zeros.  Kills _wrapper.zero_grad _1/_2.
    p = nn.Parameter(torch.ones(2))
    opt = SAM(torch.optim.SGD([p], lr=0.1))
    (p**2).sum().backward()
    opt.zero_grad()
    assert p.grad is None
    (p**2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and torch.equal(p.grad, torch.zeros(2))


def test_added_param_group_gets_the_wrapper_s_hparams_unless_it_sets_them():
    # add_param_group fills rho/alpha from the wrapper's (a group's own values win), and the new
    # group steps with them: e = (ρ/(‖g‖+η) − α) g with the global ‖g‖.
    # Kills _wrapper.WrapperOptimizer.add_param_group _1.._5.
    a, b = nn.Parameter(torch.tensor([1.0], dtype=torch.float64)), None
    opt = SAGM(torch.optim.SGD([a], lr=0.1), rho=0.2, alpha=0.01)
    b = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    c = nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    opt.add_param_group({"params": [b]})
    opt.add_param_group({"params": [c], "rho": 0.5})
    groups = opt.param_groups
    assert [(g["rho"], g["alpha"]) for g in groups] == [(0.2, 0.01), (0.2, 0.01), (0.5, 0.01)]
    assert opt.base_optimizer.param_groups[1]["params"] == [b]
    seen = []

    def closure():
        opt.zero_grad()
        seen.append([t.detach().clone() for t in (a, b, c)])
        loss = 0.5 * (a**2 + b**2 + c**2).sum()  # g = θ
        loss.backward()
        return loss

    opt.step(closure)
    n = (1.0 + 4.0 + 9.0) ** 0.5
    for i, (theta, rho) in enumerate([(1.0, 0.2), (2.0, 0.2), (3.0, 0.5)]):
        e = (rho / (n + ETA) - 0.01) * theta
        assert float(seen[1][i] - seen[0][i]) == pytest.approx(e, rel=1e-12)


def test_a_parameter_the_second_pass_misses_gets_a_zero_gradient():
    # "a parameter the pass did not reach gets zeros": SAGM's d = ½(g + 0) for it, and its
    # .grad holds that d afterwards.  Kills _wrapper._grads _1/_2/_3.
    a = nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64))
    b = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = SAGM(torch.optim.SGD([a, b], lr=0.1), rho=0.1, alpha=0.0)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = 0.5 * (a**2).sum() + (0.5 * (b**2).sum() if len(calls) == 1 else 0.0)
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.allclose(b.detach(), torch.tensor([2.0 - 0.1 * 0.5 * 2.0], dtype=torch.float64))
    assert b.grad is not None and torch.equal(b.grad, torch.tensor([1.0], dtype=torch.float64))


def test_after_a_failing_second_pass_second_step_needs_a_new_first_step():
    # The failed step is dropped whole: a second_step() after it refuses like one before any
    # first_step.  Kills _two_pass.TwoPassOptimizer.step _16 (the saved θ left as "").
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = SAGM(torch.optim.SGD([p], lr=0.1))
    calls = []

    def closure():
        calls.append(1)
        if len(calls) == 2:
            raise FloatingPointError("loss is NaN")
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    with pytest.raises(FloatingPointError):
        opt.step(closure)
    assert torch.equal(p.detach(), torch.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"^SAGM\.second_step called before first_step$"):
        opt.second_step()


def test_step_zero_grads_between_the_two_passes():
    # step() zero-grads after the first pass (davda54/sam's first_step(zero_grad=True)): a
    # closure that only backwards still gives SAM d = ∇L(θ+e), not g + ∇L(θ+e).
    # Kills _two_pass.TwoPassOptimizer.step _8/_9 (first_step(zero_grad=None/False)).
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
    p = nn.Parameter(theta.clone())
    rho, lr = 0.1, 0.1
    opt = SAM(torch.optim.SGD([p], lr=lr), rho=rho)

    def closure():
        loss = 0.5 * (p**2).sum()  # g = θ
        loss.backward()
        return loss

    opt.step(closure)
    g_p = theta + rho * theta / (torch.linalg.vector_norm(theta) + ETA)
    assert torch.allclose(p.detach(), theta - lr * g_p, rtol=1e-12, atol=0)


@pytest.mark.parametrize("adaptive", [False, True])
def test_a_param_group_without_gradients_is_skipped(adaptive):
    # A group none of whose parameters got a gradient (frozen, or unused this step) gets no
    # perturbation and no update; the other groups step exactly as without it.
    # Kills _two_pass._perturbations _2 and sam.SAM._perturbations _10/_14/_39/_40 (the empty
    # group sent to torch._foreach_*, which refuses an empty list, or a None/short list back).
    def run(with_unused: bool):
        a = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
        b = nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
        unused = nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
        groups = [{"params": [a]}, {"params": [b], "rho": 0.2}]
        if with_unused:
            groups.insert(0, {"params": [unused]})
            groups.insert(2, {"params": [unused.detach().clone().requires_grad_()]})
        opt = SAM(torch.optim.SGD(groups, lr=0.1), rho=0.1, adaptive=adaptive)

        def closure():
            opt.zero_grad()
            loss = (a**2).sum() + (b**3).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert torch.equal(unused.detach(), torch.tensor([3.0], dtype=torch.float64))
        return a.detach(), b.detach()

    for x, y in zip(run(True), run(False), strict=True):
        assert torch.equal(x, y)


def test_sam_argument_errors_say_what_was_wrong():
    # Kills sam.SAM.__init__ _8 (message None) and _18/_19 (text changed).
    p = nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=r"^SAM: adaptive_eta must be >= 0, got -0\.1$"):
        SAM(torch.optim.SGD([p], lr=0.1), adaptive=True, adaptive_eta=-0.1)
    with pytest.raises(
        ValueError, match=r"^SAM: a callable adaptive_on needs model= for the parameter names$"
    ):
        SAM(torch.optim.SGD([p], lr=0.1), adaptive=True, adaptive_on=lambda n, q: True)


def test_defaults_are_the_base_s_plus_the_wrapper_s_hparams():
    # torch.optim.Optimizer.defaults of a wrapper: the base optimizer's defaults (lr, momentum,
    # ...) and the wrapper's hparams, as code that reads opt.defaults["lr"] expects.
    # Kills _wrapper.WrapperOptimizer.__init__ _16 (defaults None).
    base = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
    opt = GSAM(base, rho=0.02, alpha=0.3)
    assert opt.defaults == {**base.defaults, "rho": 0.02, "alpha": 0.3}
    assert opt.defaults["lr"] == 0.1
