"""LookSAM and RoGALook (issue 26): k = 1 is SAM / RoGA, the reuse step against a hand
computation, resume mid-cycle, one forward-backward per reuse step; RhoFollowsLR after a resume.

The hand computations use the quadratic domains of tests/test_optim.py in float64:
L_i(θ) = ½ θᵀA_iθ − b_iᵀθ, g_i = A_iθ − b_i.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from roga_bench.optim import ETA, GSAM, SAM, LookSAM, RhoFollowsLR, RoGA, RoGALook

K, DIM = 3, 5
LR = 0.1


def _problem(seed: int = 0, k: int = K):
    gen = torch.Generator().manual_seed(seed)
    mats, vecs = [], []
    for _ in range(k):
        m = torch.randn(DIM, DIM, generator=gen, dtype=torch.float64)
        mats.append(m @ m.T / DIM + 0.5 * torch.eye(DIM, dtype=torch.float64))
        vecs.append(torch.randn(DIM, generator=gen, dtype=torch.float64))
    return mats, vecs, torch.randn(DIM, generator=gen, dtype=torch.float64)


def _params(theta0):
    # two tensors: the norms and dots must run over the whole vector, not tensor by tensor
    return [nn.Parameter(theta0[:3].clone()), nn.Parameter(theta0[3:].clone())]


def _theta(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def _loss(params, mat, vec):
    theta = torch.cat([p.reshape(-1) for p in params])
    return 0.5 * theta @ mat @ theta - vec @ theta


class Counted:
    """A closure on the mean loss of some domains that counts its forward-backward passes."""

    def __init__(self, opt, params, mats, vecs):
        self.opt, self.params, self.mats, self.vecs, self.calls = opt, params, mats, vecs, 0

    def __call__(self):
        self.calls += 1
        self.opt.zero_grad()
        loss = sum(_loss(self.params, m, v) for m, v in zip(self.mats, self.vecs, strict=True))
        loss = loss / len(self.mats)
        loss.backward()
        return loss


def _g(mat, vec, theta):
    return mat @ theta - vec


def _norm(x):
    return torch.linalg.vector_norm(x)


# --- LookSAM -----------------------------------------------------------------------------------
def test_looksam_against_a_hand_computation_over_two_cycles():
    mats, vecs, theta0 = _problem()
    a, b = sum(mats) / K, sum(vecs) / K  # the joint loss is the mean: one quadratic
    rho, alpha, k, steps = 0.3, 0.7, 3, 7
    params = _params(theta0)
    opt = LookSAM(torch.optim.SGD(params, lr=LR), rho=rho, k=k, alpha=alpha)
    closure = Counted(opt, params, mats, vecs)
    theta, gv, passes = theta0.clone(), None, []
    for t in range(steps):
        before = closure.calls
        opt.step(closure)
        passes.append(closure.calls - before)
        g = _g(a, b, theta)
        if t % k == 0:
            gs = _g(a, b, theta + rho * g / (_norm(g) + ETA))
            gv = gs - (gs @ g) / (_norm(g) ** 2 + ETA) * g
            d = gs
        else:
            d = g + alpha * _norm(g) / (_norm(gv) + ETA) * gv
        theta = theta - LR * d
        err = float((_theta(params) - theta).abs().max())
        assert err < 1e-12, f"step {t}: {err}"
    assert passes == [2, 1, 1, 2, 1, 1, 2]  # one forward-backward on every reuse step
    assert opt.look_step == steps
    # the reuse step really adds the stored component (alpha 0 would give plain SGD steps)
    assert float(_norm(gv)) > 1e-3


def test_looksam_with_k_1_is_sam_bit_for_bit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    other = copy.deepcopy(model)
    x, y = torch.randn(12, 6), torch.randint(0, 2, (12,))
    opts = [
        LookSAM(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 0.05, 1, 0.7, model),
        SAM(torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9), 0.05, model=other),
    ]
    for _ in range(4):
        for opt, net in zip(opts, (model, other), strict=True):

            def closure(opt=opt, net=net):
                opt.zero_grad()
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                return loss

            opt.step(closure)
    for (name, p), q in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_looksam_resume_mid_cycle_equals_an_uninterrupted_run(base):
    mats, vecs, theta0 = _problem(1)

    def make():
        params = _params(theta0)
        inner = (
            torch.optim.SGD(params, lr=LR, momentum=0.9)
            if base == "sgd"
            else torch.optim.Adam(params, lr=0.01)
        )
        opt = LookSAM(inner, rho=0.2, k=4, alpha=0.5)
        return opt, params, Counted(opt, params, mats, vecs)

    opt, params, closure = make()
    for _ in range(6):  # full at 0 and 4; stop at t = 6, mid-cycle
        opt.step(closure)
    saved = copy.deepcopy(opt.state_dict())
    saved_theta = [p.detach().clone() for p in params]
    for _ in range(5):  # reuse 6, 7, full 8, reuse 9, 10
        opt.step(closure)

    opt2, params2, closure2 = make()
    with torch.no_grad():
        for p, s in zip(params2, saved_theta, strict=True):
            p.copy_(s)
    opt2.load_state_dict(saved)
    assert opt2.look_step == 6 and not opt2.is_full_step()
    for _ in range(5):
        opt2.step(closure2)
    assert torch.equal(_theta(params), _theta(params2))
    # a resume that lost the cycle (fresh state) takes a full step at once: a different path
    opt3, params3, closure3 = make()
    with torch.no_grad():
        for p, s in zip(params3, saved_theta, strict=True):
            p.copy_(s)
    for _ in range(5):
        opt3.step(closure3)
    assert not torch.equal(_theta(params), _theta(params3))


def test_looksam_bad_k():
    p = [nn.Parameter(torch.zeros(2))]
    for k in (0, 2.5, True, "5"):
        with pytest.raises(ValueError, match="k must be an integer"):
            LookSAM(torch.optim.SGD(p, lr=0.1), k=k)  # type: ignore[arg-type]


# --- RoGALook ----------------------------------------------------------------------------------
def _roga_look_hand(mats, vecs, theta0, rho, alpha, look_alpha, k, steps):
    theta, u, out = theta0.clone(), None, []
    for t in range(steps):
        gs = [_g(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
        if t % k == 0:
            d, vhat = 0, 0
            for m, v, g in zip(mats, vecs, gs, strict=True):
                e = (rho / (_norm(g) + ETA) - alpha) * g
                gp = _g(m, v, theta + e)
                d = d + 0.5 * (g + gp) / K
                vi = gp - (gp @ g) / (_norm(g) ** 2 + ETA) * g
                vhat = vhat + vi / (_norm(vi) + ETA) / K
            u = vhat
        else:
            g = sum(gs) / K  # the joint closure: the mean loss
            d = g + 0.5 * look_alpha * _norm(g) * u
        theta = theta - LR * d
        out.append(theta)
    return out, u


def _domain_closures(opt, params, mats, vecs):
    return [Counted(opt, params, [m], [v]) for m, v in zip(mats, vecs, strict=True)]


@pytest.mark.parametrize("use_joint", [True, False])
def test_roga_look_against_a_hand_computation_over_two_cycles(use_joint):
    mats, vecs, theta0 = _problem()
    rho, alpha, look_alpha, k, steps = 0.3, 0.05, 0.7, 3, 7
    params = _params(theta0)
    opt = RoGALook(torch.optim.SGD(params, lr=LR), rho, alpha, k, look_alpha, num_domains=K)
    closures = _domain_closures(opt, params, mats, vecs)
    joint = Counted(opt, params, mats, vecs)
    expected, u = _roga_look_hand(mats, vecs, theta0, rho, alpha, look_alpha, k, steps)
    for t in range(steps):
        domain_calls = [c.calls for c in closures]
        joint_calls = joint.calls
        opt.step(closures, joint=joint if use_joint else None)
        err = float((_theta(params) - expected[t]).abs().max())
        assert err < 1e-12, f"step {t}: {err}"
        passes = [c.calls - n for c, n in zip(closures, domain_calls, strict=True)]
        if t % k == 0:
            assert passes == [2] * K and joint.calls == joint_calls
        elif use_joint:  # exactly one forward-backward on a reuse step
            assert passes == [0] * K and joint.calls == joint_calls + 1
        else:  # each domain's data once: the same samples as one joint pass
            assert passes == [1] * K and joint.calls == joint_calls
    assert 0.1 < float(_norm(u)) <= 1.0  # mean of unit vectors; nonzero, so the test has teeth


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_look_with_k_1_is_roga_bit_for_bit(align_to):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    other = copy.deepcopy(model)
    data = [(torch.randn(6, 6), torch.randint(0, 2, (6,))) for _ in range(K)]
    look = RoGALook(
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 0.1, 0.01, 1, 0.7, K,
        align_to, model,
    )  # fmt: skip
    roga = RoGA(torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9), 0.1, 0.01, K, align_to,
                other)  # fmt: skip

    def closures(opt, net):
        def make(x, y):
            def closure():
                opt.zero_grad()
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                return loss

            return closure

        return [make(x, y) for x, y in data]

    for _ in range(4):
        look.step(closures(look, model))
        roga.step(closures(roga, other))
    for (name, p), q in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert look.look_step == 4 and float(look.stats["look_full"]) == 1.0


def test_roga_look_resume_mid_cycle_equals_an_uninterrupted_run():
    mats, vecs, theta0 = _problem(2)

    def make():
        params = _params(theta0)
        base = torch.optim.SGD(params, lr=LR, momentum=0.9)
        opt = RoGALook(base, 0.2, 0.01, k=3, look_alpha=0.5, num_domains=K)
        return (
            opt,
            params,
            _domain_closures(opt, params, mats, vecs),
            Counted(opt, params, mats, vecs),
        )

    opt, params, closures, joint = make()
    for _ in range(4):  # full 0, reuse 1 2, full 3; stop at t = 4 (mid-cycle)
        opt.step(closures, joint)
    saved = copy.deepcopy(opt.state_dict())
    saved_theta = [p.detach().clone() for p in params]
    for _ in range(4):
        opt.step(closures, joint)
    opt2, params2, closures2, joint2 = make()
    with torch.no_grad():
        for p, s in zip(params2, saved_theta, strict=True):
            p.copy_(s)
    opt2.load_state_dict(saved)
    for _ in range(4):
        opt2.step(closures2, joint2)
    assert torch.equal(_theta(params), _theta(params2))


def test_roga_look_bad_arguments():
    p = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="k must be an integer"):
        RoGALook(torch.optim.SGD(p, lr=0.1), k=0)
    with pytest.raises(ValueError, match="look_alpha"):
        RoGALook(torch.optim.SGD(p, lr=0.1), look_alpha=-1.0)


# --- RhoFollowsLR after a resume ---------------------------------------------------------------
def _gsam_cosine(params):
    opt = GSAM(torch.optim.SGD(params, lr=0.1), rho=0.05, alpha=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    return opt, sched


def test_rho_follows_lr_resumed_after_decay_keeps_the_original_rho_max():
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    opt, sched = _gsam_cosine(params)
    rhos = RhoFollowsLR(opt, rho_min=0.01)
    closure = Counted(opt, params, mats, vecs)
    for _ in range(4):
        opt.step(closure)
        sched.step()
    saved = copy.deepcopy((opt.state_dict(), sched.state_dict(), rhos.state_dict()))
    opt.step(closure)
    uninterrupted = opt.param_groups[0]["rho"]
    assert uninterrupted == pytest.approx(0.03618, abs=1e-5)  # the number

    # resumed: a fresh optimizer loads the state (its rho is the decayed one), then the schedule
    params2 = _params(theta0)
    opt2, sched2 = _gsam_cosine(params2)
    opt2.load_state_dict(saved[0])
    sched2.load_state_dict(saved[1])
    assert opt2.param_groups[0]["rho"] < 0.045  # decayed: what the old code took as rho_max
    rhos2 = RhoFollowsLR(opt2, rho_min=0.01)
    opt2.step(Counted(opt2, params2, mats, vecs))
    assert opt2.param_groups[0]["rho"] == pytest.approx(uninterrupted, abs=1e-12)
    assert rhos2.rho_max == [0.05]

    # the schedule's own state_dict round-trips too (built before the optimizer's state loads)
    params3 = _params(theta0)
    opt3, _ = _gsam_cosine(params3)
    rhos3 = RhoFollowsLR(opt3, rho_min=0.3 * 0.01, attach=False)
    rhos3.load_state_dict(saved[2])
    assert (rhos3.rho_max, rhos3.rho_min, rhos3.lr_max, rhos3.lr_min) == ([0.05], 0.01, [0.1], 0)
