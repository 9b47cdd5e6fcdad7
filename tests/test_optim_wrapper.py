"""Plumbing shared by every wrapper: BatchNorm bypass, shared param_groups/state, bad input."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from roga_bench.backbones import build_backbone
from roga_bench.optim import GSAM, SAGM, SAM, RoGA, disable_running_stats

WRAPPERS = {
    "SAM": lambda base, m: SAM(base, rho=0.05, model=m),
    "ASAM": lambda base, m: SAM(base, rho=0.5, adaptive=True, model=m),
    "SAGM": lambda base, m: SAGM(base, rho=0.05, alpha=0.001, model=m),
    "GSAM": lambda base, m: GSAM(base, rho=0.05, alpha=0.1, model=m),
    "RoGA": lambda base, m: RoGA(base, rho=0.1, alpha=0.001, num_domains=2, model=m),
    "RoGA_global": lambda base, m: RoGA(base, num_domains=2, align_to="global", model=m),
}


def _data(seed=0, n=8, size=16):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=gen), torch.randint(0, 2, (n,), generator=gen)


def _bn_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.named_buffers()}


def _step(opt, model, x, y):
    def closure_for(xb, yb):
        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        return closure

    if isinstance(opt, RoGA):
        half = len(x) // 2
        return opt.step([closure_for(x[:half], y[:half]), closure_for(x[half:], y[half:])])
    return opt.step(closure_for(x, y))


@pytest.mark.parametrize("name", WRAPPERS)
def test_second_pass_leaves_batchnorm_statistics_alone(name):
    """Running stats after a step = after the first pass(es) alone (one forward per batch)."""
    torch.manual_seed(0)
    model = build_backbone("small_cnn").train()
    reference = copy.deepcopy(model)
    x, y = _data()
    opt = WRAPPERS[name](torch.optim.SGD(model.parameters(), lr=0.01), model)
    _step(opt, model, x, y)
    with torch.no_grad():
        if isinstance(opt, RoGA):  # one first-pass forward per domain, in domain order
            reference(x[:4]), reference(x[4:])
        else:
            reference(x)
    expected, got = _bn_buffers(reference), _bn_buffers(model)
    assert any("num_batches_tracked" in k for k in got)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_disable_running_stats_context():
    torch.manual_seed(0)
    model = build_backbone("small_cnn").train()
    x, _ = _data()
    before = _bn_buffers(model)
    with torch.no_grad():
        with disable_running_stats(model):
            inside = model(x)
        assert all(torch.equal(v, before[k]) for k, v in _bn_buffers(model).items())
        outside = model(x)  # a normal training forward: same batch statistics, buffers move
    assert torch.equal(inside, outside)
    after = _bn_buffers(model)
    assert all(int(v) == 1 for k, v in after.items() if k.endswith("num_batches_tracked"))
    assert not torch.equal(after["features.1.running_mean"], before["features.1.running_mean"])

    head_bn = nn.BatchNorm1d(2).eval()  # an eval-mode BN keeps normalising with running stats
    head_bn.running_mean.fill_(3.0)
    with disable_running_stats(head_bn):
        assert head_bn.track_running_stats
        assert float(head_bn(torch.zeros(1, 2))[0, 0].detach()) == pytest.approx(-3.0, abs=1e-4)
    with pytest.raises(RuntimeError), disable_running_stats(model):
        raise RuntimeError("boom")
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_wrapper_shares_param_groups_state_and_schedulers():
    torch.manual_seed(0)
    model = build_backbone("small_cnn_nobn")
    base = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt = SAGM(base, rho=0.05, alpha=0.002, model=model)
    assert opt.param_groups is base.param_groups and opt.state is base.state
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    x, y = _data()
    _step(opt, model, x, y)
    sched.step()
    assert base.param_groups[0]["lr"] == pytest.approx(0.05)
    opt.param_groups[0]["rho"] = 0.2  # a rho schedule is just a group key
    sd = opt.state_dict()
    assert sd["param_groups"][0]["rho"] == 0.2 and sd["param_groups"][0]["alpha"] == 0.002
    assert len(sd["state"]) == len(list(model.parameters()))  # momentum buffers are there
    fresh_base = torch.optim.SGD(model.parameters(), lr=1.0)
    fresh = SAGM(fresh_base, model=model)
    fresh.load_state_dict(copy.deepcopy(sd))
    assert fresh.param_groups[0]["rho"] == 0.2 and fresh.param_groups[0]["lr"] == 0.05
    assert fresh.param_groups is fresh_base.param_groups  # still shared after loading
    # a plain base-optimizer state dict (no rho/alpha) gets the wrapper defaults
    plain = SAGM(torch.optim.SGD(model.parameters(), lr=1.0), rho=0.07, alpha=0.0)
    plain.load_state_dict(torch.optim.SGD(model.parameters(), lr=0.3).state_dict())
    assert plain.param_groups[0]["rho"] == 0.07 and plain.param_groups[0]["lr"] == 0.3


@pytest.mark.parametrize(
    ("make", "hparam"),
    [
        (lambda b: SAM(b, rho=-0.1), "rho"),
        (lambda b: SAGM(b, rho=0.1, alpha=-1e-3), "alpha"),
        (lambda b: GSAM(b, rho=-1.0), "rho"),
        (lambda b: RoGA(b, alpha=-0.5), "alpha"),
        (lambda b: RoGA(b, rho=float("nan")), "rho"),
    ],
)
def test_negative_hparam_is_rejected_by_name(make, hparam):
    base = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match=hparam):
        make(base)


def test_bad_arguments():
    param = nn.Parameter(torch.zeros(2))
    base = torch.optim.SGD([param], lr=0.1)
    with pytest.raises(TypeError, match="base_optimizer"):
        SAM([param])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="align_to"):
        RoGA(base, align_to="local")
    with pytest.raises(ValueError, match="num_domains"):
        RoGA(base, num_domains=0)
    with pytest.raises(ValueError, match="closure"):
        SAM(base).step()
    with pytest.raises(RuntimeError, match="first_step"):
        SAM(base).second_step()

    def closure():
        base.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    roga = RoGA(base, num_domains=3)
    with pytest.raises(ValueError, match="num_domains=3"):
        roga.step([closure, closure])
    with pytest.raises(ValueError, match="none"):
        RoGA(base).step([])
    with pytest.raises(ValueError, match="list of closures"):
        RoGA(base).step(closure)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", WRAPPERS)
def test_a_failing_second_pass_leaves_the_parameters_untouched(name):
    torch.manual_seed(0)
    model = build_backbone("small_cnn_nobn")
    opt = WRAPPERS[name](torch.optim.SGD(model.parameters(), lr=0.1), model)
    before = [p.detach().clone() for p in model.parameters()]
    calls = []

    def closure():
        calls.append(1)
        if len(calls) == 2:
            raise FloatingPointError("loss is NaN")
        opt.zero_grad()
        loss = F.cross_entropy(model(_data()[0]), _data()[1])
        loss.backward()
        return loss

    with pytest.raises(FloatingPointError):
        opt.step([closure, closure] if isinstance(opt, RoGA) else closure)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    calls.append(1)  # a later step works normally
    _step(opt, model, *_data())
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_step_hooks_fire_and_base_state_survives_wrapping(name):
    """Optimizer.__init__ runs in the wrappers: step pre/post hooks fire; base state is kept."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    base = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    torch.nn.functional.cross_entropy(model(x), y).backward()
    base.step()  # a momentum buffer exists before wrapping
    buffers = {id(p): base.state[p]["momentum_buffer"].clone() for p in model.parameters()}
    opt = WRAPPERS[name](base, model)
    assert all(
        torch.equal(opt.state[p]["momentum_buffer"], buffers[id(p)]) for p in model.parameters()
    )
    calls = []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    opt.step([closure, closure] if name.startswith("RoGA") else closure)
    assert calls == ["pre", "post"]
