"""The optimizer API as a user porting code meets it: ASAM's T rule, default ρ, ρ following lr.

davda54/sam's (and pytorch-optimizer's) ASAM is reimplemented below in a few lines, as their
``first_step`` reads: e = ρ |w|² g/(‖|w| g‖ + 1e-12) on every parameter.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from roga_bench.algorithms.sharpness import ASAM as ASAMAlgorithm
from roga_bench.optim import ASAM_RHO, GSAM, SAGM, SAM, SAM_RHO, RhoFollowsLR, RoGA


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 2)
    ).double()


def _data():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(16, 4, generator=gen, dtype=torch.float64), torch.randint(0, 2, (16,))


def _davda54_asam_step(model, base, rho, x, y) -> None:
    """davda54/sam's ASAM step (adaptive=True) with its BatchNorm bypass (momentum 0)."""
    params = [p for p in model.parameters()]
    F.cross_entropy(model(x), y).backward()
    with torch.no_grad():
        norm = torch.norm(torch.stack([(p.abs() * p.grad).norm(p=2) for p in params]), p=2)
        scale = rho / (norm + 1e-12)
        e_ws = [p.pow(2) * p.grad * scale for p in params]
        for p, e_w in zip(params, e_ws, strict=True):
            p.add_(e_w)
    base.zero_grad()
    momenta = {}
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            momenta[m], m.momentum = m.momentum, 0.0
    F.cross_entropy(model(x), y).backward()
    for m, momentum in momenta.items():
        m.momentum = momentum
    with torch.no_grad():
        for p, e_w in zip(params, e_ws, strict=True):
            p.sub_(e_w)
    base.step()
    base.zero_grad()


def _ours_step(model, opt, x, y) -> None:
    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    opt.step(closure)


def test_davda54_asam_with_frozen_batchnorm_is_reproduced():
    """adaptive_on="all", adaptive_eta=0 and model= give davda54's ASAM with BatchNorm frozen."""
    x, y = _data()
    theirs = _model()
    ours = copy.deepcopy(theirs)
    base_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    opt = SAM(
        torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9),
        rho=0.5,
        adaptive=True,
        model=ours,
        adaptive_on="all",
        adaptive_eta=0.0,
    )
    for _ in range(3):
        _davda54_asam_step(theirs, base_theirs, 0.5, x, y)
        _ours_step(ours, opt, x, y)
    theirs_state, ours_state = theirs.state_dict(), ours.state_dict()
    for key, a in theirs_state.items():
        if not key.endswith("num_batches_tracked"):  # momentum 0 still counts the second pass
            assert torch.allclose(a, ours_state[key], rtol=0, atol=1e-12), key
    assert int(ours[1].num_batches_tracked) == 3  # one per step: the second pass was frozen


def test_default_rule_differs_from_davda54_on_biases():
    """The default (ASAM authors': T = 1 on biases, η_T = 0.01) is a different update."""
    x, y = _data()
    theirs = _model()
    ours = copy.deepcopy(theirs)
    _davda54_asam_step(theirs, torch.optim.SGD(theirs.parameters(), lr=0.1), 0.5, x, y)
    opt = SAM(torch.optim.SGD(ours.parameters(), lr=0.1), adaptive=True, model=ours)
    _ours_step(ours, opt, x, y)
    pairs = zip(theirs.parameters(), ours.parameters(), strict=True)
    gap = max(float((a - b).detach().abs().max()) for a, b in pairs)
    assert gap > 1e-6


def _perturbation(opt_kwargs, model):
    """e that ``SAM`` applies at the first step, per parameter name."""
    x, y = _data()
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=0.5, adaptive=True, **opt_kwargs)
    F.cross_entropy(model(x), y).backward()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    opt.first_step()
    return {n: p.detach() - before[n] for n, p in model.named_parameters()}, before, grads


@pytest.mark.parametrize(
    ("rule", "scaled"),
    [
        ("weights", lambda n: "weight" in n),
        ("all", lambda n: True),
        (lambda name, p: name.startswith("0."), lambda n: n.startswith("0.")),
    ],
)
def test_adaptive_on_says_which_parameters_get_t(rule, scaled):
    model = _model()
    e, theta, g = _perturbation({"model": model, "adaptive_on": rule}, model)
    t = {n: (theta[n].abs() + 0.01 if scaled(n) else torch.ones_like(theta[n])) for n in theta}
    norm = math.sqrt(sum(float(((t[n] * g[n]) ** 2).sum()) for n in theta))
    for n in theta:
        expected = 0.5 * t[n] ** 2 * g[n] / (norm + 1e-12)
        assert torch.allclose(e[n], expected, rtol=0, atol=1e-12), n


def test_adaptive_rule_errors():
    params = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError, match="adaptive_on must be one of"):
        SAM(torch.optim.SGD(params, lr=0.1), adaptive=True, adaptive_on="bias")
    with pytest.raises(ValueError, match="needs model="):
        SAM(torch.optim.SGD(params, lr=0.1), adaptive=True, adaptive_on=lambda n, p: True)


def test_default_rho_is_sam_s_or_asam_s_and_matches_the_algorithm():
    params = [torch.nn.Parameter(torch.ones(2))]
    assert SAM(torch.optim.SGD(params, lr=0.1)).param_groups[0]["rho"] == SAM_RHO == 0.05
    asam = SAM(torch.optim.SGD(params, lr=0.1), adaptive=True)
    assert asam.param_groups[0]["rho"] == ASAM_RHO == 0.5
    assert ASAMAlgorithm.HPARAMS["rho"].default == ASAM_RHO


def _wrappers():
    return {
        "SAM": lambda b, m: SAM(b, rho=0.2, model=m),
        "SAGM": lambda b, m: SAGM(b, rho=0.2, alpha=0.001, model=m),
        "GSAM": lambda b, m: GSAM(b, rho=0.2, alpha=0.1, model=m),
        "RoGA": lambda b, m: RoGA(b, rho=0.2, alpha=0.001, model=m),
    }


@pytest.mark.parametrize("name", list(_wrappers()))
def test_rho_follows_the_learning_rate_in_every_wrapper(name):
    """ρ_t = ρ_min + (ρ_max − ρ_min)(lr_t − lr_min)/(lr_max − lr_min), set before each step."""
    model = _model()
    x, y = _data()
    opt = _wrappers()[name](torch.optim.SGD(model.parameters(), lr=0.1), model)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    RhoFollowsLR(opt, rho_min=0.05)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    seen = []
    for _ in range(4):
        lr = opt.param_groups[0]["lr"]
        opt.step([closure] if name == "RoGA" else closure)
        rho = opt.param_groups[0]["rho"]
        assert rho == pytest.approx(0.05 + (0.2 - 0.05) * lr / 0.1, abs=1e-12)
        if name == "SAM":  # ‖e‖ = ρ_t ‖g‖/(‖g‖+η): the step really used ρ_t
            assert float(opt.stats["perturb_norm"]) == pytest.approx(rho, rel=1e-9)
        seen.append(rho)
        scheduler.step()
    assert seen[0] == pytest.approx(0.2) and seen[-1] < seen[1] < seen[0]


def test_rho_schedule_by_hand_and_errors():
    params = [torch.nn.Parameter(torch.ones(2))]
    opt = SAM(torch.optim.SGD(params, lr=0.1), rho=0.1)
    sched = RhoFollowsLR(opt, rho_max=0.3, rho_min=0.1, lr_min=0.02, attach=False)
    opt.param_groups[0]["lr"] = 0.06
    assert sched.step() == [pytest.approx(0.2)]
    # A second schedule on the same optimizer finds the first one's ends in the groups (they are
    # what a resumed run must find, issue 26); a fresh optimizer's ρ_max is the group's ρ.
    assert RhoFollowsLR(opt, lr_max=0.02, lr_min=0.02, attach=False).rho_max == [0.3]
    fresh = SAM(torch.optim.SGD(params, lr=0.06), rho=0.2)
    flat = RhoFollowsLR(fresh, lr_max=0.02, lr_min=0.02, attach=False)
    assert flat.step() == [pytest.approx(0.2)]  # lr_max == lr_min: ρ_max (the group's ρ)
    with pytest.raises(ValueError, match="rho_min <= rho_max"):
        RhoFollowsLR(opt, rho_max=0.1, rho_min=0.2)
    with pytest.raises(ValueError, match="lr_max >= lr_min"):
        RhoFollowsLR(opt, lr_max=0.01, lr_min=0.02)


def test_rho_schedule_covers_groups_added_later():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = SAM(torch.optim.SGD([a], lr=0.1), rho=0.1)
    sched = RhoFollowsLR(opt, attach=False)
    opt.add_param_group({"params": [b], "lr": 0.2, "rho": 0.4})
    assert sched.step() == [pytest.approx(0.1), pytest.approx(0.4)]  # ends: its lr and rho
    opt.param_groups[1]["lr"] = 0.1
    assert sched.step() == [pytest.approx(0.1), pytest.approx(0.2)]
