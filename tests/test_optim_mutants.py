"""Tests for what the mutation run of ``optim/`` found unguarded (issue 28, benchmarks/mutation.py).

Each test names the mutants it kills; the behaviour checked is the contract, not the mutant.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

# the quadratic domains of test_optim_look.py (L_i(θ) = ½ θᵀA_iθ − b_iᵀθ, float64, two tensors)
from test_optim_look import LR, _loss, _params, _problem, _theta
from torch import nn

from roga_bench.optim import SAM, RhoFollowsLR, RoGALook


def _closures(opt, params, mats, vecs, device_of_loss=None, zero_grad=True):
    """One closure per domain; ``zero_grad=False``: closures that only forward and backward."""

    def make(i, mat, vec):
        def closure():
            if zero_grad:
                opt.zero_grad()
            loss = _loss(params, mat, vec)
            loss.backward()
            if device_of_loss is not None:
                return loss.detach().to(device_of_loss(i))
            return loss

        return closure

    return [make(i, m, v) for i, (m, v) in enumerate(zip(mats, vecs, strict=True))]


# --- RoGALook's reuse step without a joint closure (_domain_mean) ------------------------------


def _after_full_step(k_domains: int, look_alpha: float, extra: nn.Parameter | None = None):
    """A RoGALook (k=2) after its full step; the next step is a reuse step."""
    mats, vecs, theta0 = _problem(k=k_domains)
    params = _params(theta0)
    groups = params + ([extra] if extra is not None else [])
    opt = RoGALook(torch.optim.SGD(groups, lr=LR), 0.2, 0.01, k=2, look_alpha=look_alpha,
                   num_domains=k_domains)  # fmt: skip
    opt.step(_closures(opt, params, mats, vecs))
    assert not opt.is_full_step()
    return opt, params, mats, vecs


@pytest.mark.parametrize("k_domains", [1, 3])
def test_reuse_step_without_joint_uses_the_mean_of_the_domain_gradients(k_domains):
    # look_alpha = 0: d = g, so θ' = θ - lr (1/K) Σ g_i and the loss is (1/K) Σ L_i, by hand.
    # K = 1 kills _domain_mean__mutmut_34 (losses[1].device: IndexError with one domain).
    opt, params, mats, vecs = _after_full_step(k_domains, look_alpha=0.0)
    theta = _theta(params).clone()
    grads = [m @ theta - v for m, v in zip(mats, vecs, strict=True)]
    losses = [0.5 * theta @ m @ theta - v @ theta for m, v in zip(mats, vecs, strict=True)]
    loss = opt.step(_closures(opt, params, mats, vecs))
    expected = theta - LR * sum(grads) / k_domains
    assert float((_theta(params) - expected).abs().max()) < 1e-12
    assert float(loss) == pytest.approx(float(sum(losses) / k_domains), abs=1e-12)
    assert float(opt.stats["grad_norm"]) == pytest.approx(
        float(torch.linalg.vector_norm(sum(grads) / k_domains)), abs=1e-12
    )


def test_reuse_step_without_joint_equals_the_joint_pass_on_the_mean_loss():
    # with look_alpha > 0 the stored u enters too: same update as one pass on the mean loss
    runs = []
    for use_joint in (True, False):
        opt, params, mats, vecs = _after_full_step(3, look_alpha=0.7)

        def joint(opt=opt, params=params, mats=mats, vecs=vecs):
            opt.zero_grad()
            loss = sum(_loss(params, m, v) for m, v in zip(mats, vecs, strict=True)) / len(mats)
            loss.backward()
            return loss

        loss = opt.step(_closures(opt, params, mats, vecs), joint=joint if use_joint else None)
        runs.append((_theta(params), float(loss)))
    (theta_joint, loss_joint), (theta_mean, loss_mean) = runs
    assert float((theta_joint - theta_mean).abs().max()) < 1e-12
    assert loss_mean == pytest.approx(loss_joint, abs=1e-12)


def test_reuse_step_without_joint_leaves_a_parameter_no_domain_reaches():
    extra = nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt, params, mats, vecs = _after_full_step(3, look_alpha=0.7, extra=extra)
    before = _theta(params).clone()
    opt.step(_closures(opt, params, mats, vecs))
    assert torch.equal(extra.detach(), torch.ones(2, dtype=torch.float64)) and extra.grad is None
    assert not torch.equal(_theta(params), before)  # the others did move
    assert opt.look_step == 2


def test_reuse_step_without_joint_gives_a_later_domains_parameter_its_share():
    """A parameter only domain 2 of 2 reaches gets (1/K) of its gradient, as the joint pass on
    the mean loss gives it; it used to keep domain 2's whole gradient (the parameters were taken
    from the first domain only)."""
    extra = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt, params, mats, vecs = _after_full_step(2, look_alpha=0.0, extra=extra)
    plain = _closures(opt, params, mats, vecs)

    def second_with_extra():
        loss = plain[1]() + 3.0 * extra.sum()  # d/d extra = 3, from domain 2 only
        (3.0 * extra.sum()).backward()
        return loss

    opt.step([plain[0], second_with_extra])
    assert float(extra.detach()) == pytest.approx(-LR * 3.0 / 2)


def test_reuse_step_without_joint_gathers_the_losses_on_the_first_ones_device():
    # Kills _domain_mean__mutmut_33 (x.to(None) leaves each loss where it is: stacking losses
    # from two devices fails). The only second device on a CPU is "meta": domain 0's loss is
    # reported there, the others on the CPU; the mean lands on domain 0's device.
    opt, params, mats, vecs = _after_full_step(3, look_alpha=0.7)
    cls = _closures(opt, params, mats, vecs, device_of_loss=lambda i: "meta" if i == 0 else "cpu")
    loss = opt.step(cls)
    assert loss.device.type == "meta" and loss.shape == ()


# --- RhoFollowsLR.state_dict / load_state_dict --------------------------------------------------


def _sam_cosine(rho: float = 0.05):
    params = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2))]
    opt = SAM(torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.2}], lr=0.1),
              rho=rho)  # fmt: skip
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    return opt, sched


# the schedules are stepped without an optimizer step (only ρ is followed here)
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")


def _run(opt, sched, rhos, steps):
    out = []
    for _ in range(steps):
        out.append(rhos.step())  # what the pre-hook writes before each optimizer step
        sched.step()
    return out


def test_rho_schedule_state_round_trip_resumes_the_same_rho_sequence():
    opt, sched = _sam_cosine()
    rhos = RhoFollowsLR(opt, rho_min=0.02, lr_min=0.005, attach=False)
    whole = _run(opt, sched, rhos, 8)

    opt1, sched1 = _sam_cosine()
    rhos1 = RhoFollowsLR(opt1, rho_min=0.02, lr_min=0.005, attach=False)
    first = _run(opt1, sched1, rhos1, 4)
    saved = copy.deepcopy((sched1.state_dict(), rhos1.state_dict(), opt1.state_dict()))
    for g in saved[2]["param_groups"]:  # a checkpoint of the optimizer without the ends
        del g["rho_max"], g["rho_lr_max"]
    assert saved[1] == {
        "key": "rho",
        "rho_max": [0.05, 0.05],
        "rho_min": 0.02,
        "lr_max": [0.1, 0.2],
        "lr_min": 0.005,
    }  # kills state_dict__mutmut_1/_2 (the "key" entry renamed)

    # resumed in a fresh process: the wrapper's groups come back with the decayed ρ and lr,
    # the schedule is built with other ends; its state puts the saved ends back (into the
    # groups, too)
    opt2, sched2 = _sam_cosine(rho=0.3)
    opt2.load_state_dict(saved[2])
    sched2.load_state_dict(saved[0])
    assert opt2.param_groups[0]["rho"] < 0.05 and opt2.param_groups[0]["lr"] < 0.1
    rhos2 = RhoFollowsLR(opt2, rho_min=0.0, lr_min=0.0, attach=False)
    rhos2.load_state_dict(saved[1])
    assert [g["rho_max"] for g in opt2.param_groups] == [0.05, 0.05]
    assert [g["rho_lr_max"] for g in opt2.param_groups] == [0.1, 0.2]
    rest = _run(opt2, sched2, rhos2, 4)
    flat = [r for step in first + rest for r in step]
    assert flat == pytest.approx([r for step in whole for r in step], abs=1e-15)
    assert whole[0] == pytest.approx([0.05, 0.05]) and whole[-1][0] < 0.03  # it does decay


def test_rho_schedule_state_dict_names_the_key_it_drives():
    opt, _ = _sam_cosine()
    for g in opt.param_groups:
        g["gamma"] = 0.5
    state = RhoFollowsLR(opt, key="gamma", attach=False).state_dict()
    assert state["key"] == "gamma" and state["rho_max"] == [0.5, 0.5]
    assert set(state) == {"key", "rho_max", "rho_min", "lr_max", "lr_min"}


def test_rho_schedule_loads_a_state_without_the_key_entry():
    # a state written before "key" was saved: load_state_dict reads only the four ends
    opt, sched = _sam_cosine()
    rhos = RhoFollowsLR(opt, rho_min=0.0, attach=False)
    rhos.load_state_dict({"rho_max": [0.08, 0.06], "rho_min": 0.01, "lr_max": [0.1, 0.2],
                          "lr_min": 0.0})  # fmt: skip
    assert rhos.step() == pytest.approx([0.08, 0.06])  # lr = lr_max in both groups
    sched.step()
    assert rhos.state_dict()["rho_max"] == [0.08, 0.06]


def test_rho_schedule_builds_from_groups_without_saved_ends():
    # an optimizer state from before the ends were kept in the groups: current ρ, initial_lr
    opt, sched = _sam_cosine()
    sched.step()
    state = opt.state_dict()
    for g in state["param_groups"]:
        assert "rho_max" not in g
    opt2, _ = _sam_cosine(rho=0.04)
    opt2.load_state_dict(state)
    rhos = RhoFollowsLR(opt2, attach=False)
    assert rhos.rho_max == [0.05, 0.05] and rhos.lr_max == [0.1, 0.2]


@pytest.mark.parametrize("bad", ["rho_max", "lr_max"])
def test_rho_schedule_refuses_a_state_for_another_group_count_and_changes_nothing(bad):
    # kills load_state_dict__mutmut_2 (or -> and: a short lr_max alone passed the check and
    # half-loaded the state before zip raised) and _5 (the message dropped)
    opt, _ = _sam_cosine()
    rhos = RhoFollowsLR(opt, rho_min=0.01, lr_min=0.001, attach=False)
    before = copy.deepcopy((rhos.state_dict(), opt.param_groups[0]["rho_max"]))
    state = {"key": "rho", "rho_max": [0.2, 0.3], "rho_min": 0.05, "lr_max": [0.4, 0.5],
             "lr_min": 0.0}  # fmt: skip
    state[bad] = state[bad][:1]
    with pytest.raises(ValueError, match=r"load_state_dict: the state has \d group\(s\)"):
        rhos.load_state_dict(state)
    assert (rhos.state_dict(), opt.param_groups[0]["rho_max"]) == before


# --- WrapperOptimizer pickling -----------------------------------------------------------------


def test_wrapper_optimizer_pickles_and_keeps_working():
    # kills WrapperOptimizer.__setstate____mutmut_1 (update(None): unpickling raised)
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), rho=0.07)
    x, y = torch.randn(8, 4), torch.randn(8, 1)

    def closure(opt, net):
        def run():
            opt.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            return loss

        return run

    opt.step(closure(opt, model))
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    assert opt2.param_groups[0]["rho"] == 0.07
    assert opt2.base_optimizer.param_groups is opt2.param_groups
    restored = opt2.param_groups[0]["params"]
    assert all(a is b for a, b in zip(restored, model2.parameters(), strict=True))
    opt.step(closure(opt, model))
    opt2.step(closure(opt2, model2))
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)
