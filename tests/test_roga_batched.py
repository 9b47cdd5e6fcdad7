"""Batched RoGA (torch.func) equals the per-domain loop path to 1e-5 (DESIGN §4, RoGA row)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from roga_bench.backbones import build_backbone
from roga_bench.optim.roga_batched import ETA, batched_roga_update

K, BATCH, SIZE = 3, 4, 16


def _minibatches(seed: int = 0, sizes=(BATCH,) * K) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(n, 3, SIZE, SIZE, generator=gen), torch.randint(0, 2, (n,), generator=gen))
        for n in sizes
    ]


def _network(name: str) -> nn.Module:
    torch.manual_seed(0)
    net = build_backbone(name)
    net.train()
    return net


def _reference_roga(net: nn.Module, minibatches, rho: float, alpha: float, align_to: str) -> float:
    """The plain loop path: K forward/backward passes, then K perturbed ones (BN frozen)."""
    params = [p for p in net.parameters() if p.requires_grad]
    grads, losses = [], []
    for x, y in minibatches:  # first pass updates BN running stats, domain by domain
        loss = F.cross_entropy(net(x), y)
        grads.append(torch.autograd.grad(loss, params))
        losses.append(loss.item())
    mean_g = [torch.stack(gs).mean(0) for gs in zip(*grads, strict=True)]
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    saved = [copy.deepcopy(m.state_dict()) for m in bns]
    originals = [p.detach().clone() for p in params]
    direction = [torch.zeros_like(p) for p in params]
    for (x, y), g in zip(minibatches, grads, strict=True):
        norm = torch.sqrt(sum((gi**2).sum() for gi in g))
        target = g if align_to == "domain" else mean_g
        with torch.no_grad():
            for p, gi, ti in zip(params, g, target, strict=True):
                p.add_(rho / (norm + ETA) * gi - alpha * ti)
        gp = torch.autograd.grad(F.cross_entropy(net(x), y), params)
        with torch.no_grad():
            for p, p0 in zip(params, originals, strict=True):
                p.copy_(p0)
        for d, gi, gpi in zip(direction, g, gp, strict=True):
            d += 0.5 * (gi + gpi) / len(minibatches)
    for m, state in zip(
        bns, saved, strict=True
    ):  # the second pass must not count: restore BN buffers
        m.load_state_dict(state)
    for p, d in zip(params, direction, strict=True):
        p.grad = d
    return sum(losses) / len(losses)


@pytest.mark.parametrize("backbone", ["small_cnn", "small_cnn_nobn"])
@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_batched_equals_loop(backbone: str, align_to: str) -> None:
    net_loop, net_vmap = _network(backbone), _network(backbone)
    batches = _minibatches()
    loss_loop = _reference_roga(net_loop, batches, rho=0.1, alpha=0.01, align_to=align_to)
    out = batched_roga_update(net_vmap, batches, rho=0.1, alpha=0.01, align_to=align_to)
    assert out["loss"] == pytest.approx(loss_loop, abs=1e-5)
    for (name, a), b in zip(net_loop.named_parameters(), net_vmap.parameters(), strict=True):
        assert b.grad is not None, name
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-5, msg=name)
        torch.testing.assert_close(b, a, atol=0, rtol=0, msg=f"{name} not restored")
    for (name, a), b in zip(net_loop.named_buffers(), net_vmap.buffers(), strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5, msg=name)


def test_running_stats_follow_first_pass_sequentially() -> None:
    """Buffers move (so the check above is not vacuous) and count K batches, not 2K."""
    net = _network("small_cnn")
    before = copy.deepcopy(dict(net.named_buffers()))
    batched_roga_update(net, _minibatches(), rho=0.1, alpha=0.001)
    bn = next(m for m in net.modules() if isinstance(m, _BatchNorm))
    assert int(bn.num_batches_tracked) == K
    moved = [n for n, b in net.named_buffers() if not torch.equal(b, before[n])]
    assert any(n.endswith("running_mean") for n in moved)


def test_direction_differs_from_erm() -> None:
    """With rho > 0 the direction is not the plain mean gradient (guards a no-op second pass)."""
    net_a, net_b = _network("small_cnn_nobn"), _network("small_cnn_nobn")
    batches = _minibatches(1)
    batched_roga_update(net_a, batches, rho=0.0, alpha=0.0)
    batched_roga_update(net_b, batches, rho=0.5, alpha=0.0)
    diff = max(
        (a.grad - b.grad).abs().max().item()
        for a, b in zip(net_a.parameters(), net_b.parameters(), strict=True)
    )
    assert diff > 1e-4


def test_unequal_batches_rejected() -> None:
    with pytest.raises(ValueError, match="equal per-domain batch sizes"):
        batched_roga_update(_network("small_cnn"), _minibatches(sizes=(4, 4, 3)), 0.1, 0.001)


def test_unknown_align_to_rejected() -> None:
    with pytest.raises(ValueError, match="align_to"):
        batched_roga_update(_network("small_cnn"), _minibatches(), 0.1, 0.001, align_to="x")


def _roga_algorithm(backbone: str, batched: bool, align_to: str):
    from roga_bench.algorithms import get_algorithm_class
    from roga_bench.hparams import SHARED_HPARAMS, algorithm_space

    hparams = {n: hp.default for n, hp in SHARED_HPARAMS.items()}
    hparams.update({n: hp.default for n, hp in algorithm_space("RoGA").items()})
    hparams.update(
        backbone=backbone,
        image_size=SIZE,
        roga_batched=batched,
        roga_align_to=align_to,
        rho=0.1,
        alpha=0.01,
        pretrained="",
    )
    torch.manual_seed(0)
    alg = get_algorithm_class("RoGA")((3, SIZE, SIZE), 2, K, hparams)
    alg.train()
    return alg


@pytest.mark.parametrize("backbone", ["small_cnn", "small_cnn_nobn"])
@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_algorithm_batched_equals_loop(backbone: str, align_to: str) -> None:
    """The registered RoGA with roga_batched False vs True: same steps, buffers and diagnostics."""
    loop, batched = (_roga_algorithm(backbone, b, align_to) for b in (False, True))
    for step in range(2):  # the second step also checks momentum buffers and moved BN stats
        batches = _minibatches(seed=step)
        out_loop, out_batched = loop.update(batches), batched.update(batches)
        assert set(out_batched) == set(out_loop)
        for key, value in out_loop.items():
            assert out_batched[key] == pytest.approx(value, abs=1e-5, rel=1e-4), key
    for (name, a), b in zip(loop.state_dict().items(), batched.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5, msg=name)
    initial = _roga_algorithm(backbone, False, align_to).network.state_dict()
    assert not torch.equal(
        initial["classifier.weight"], loop.network.state_dict()["classifier.weight"]
    )


class _TwoGroups(nn.Module):
    """Two linear layers (one parameter group each) and a parameter no loss touches."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.body = nn.Linear(3 * SIZE * SIZE, 8)
        self.head = nn.Linear(8, 2)
        self.unused = nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x.flatten(1))))


def _two_group_sgd(net: _TwoGroups) -> torch.optim.SGD:
    groups = [
        {"params": list(net.body.parameters()), "rho": 0.05, "alpha": 0.002},
        {"params": [*net.head.parameters(), net.unused], "rho": 0.5, "alpha": 0.02},
    ]
    # weight decay and momentum would move `unused` if it got a zero gradient instead of None
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9, weight_decay=0.1)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_per_group_rho_alpha_and_untouched_parameters_match_the_loop_path(align_to: str) -> None:
    """Issue 11.7: batched RoGA used group 0's rho/alpha everywhere and gave unused params 0."""
    from roga_bench.optim import RoGA

    minibatches = _minibatches(4)
    loop_net, batched_net = _TwoGroups(), _TwoGroups()
    loop_opt, batched_opt = _two_group_sgd(loop_net), _two_group_sgd(batched_net)
    roga = RoGA(loop_opt, rho=9.0, alpha=9.0, align_to=align_to, model=loop_net)

    def closure(x: torch.Tensor, y: torch.Tensor):
        def run() -> torch.Tensor:
            roga.zero_grad()
            loss = F.cross_entropy(loop_net(x), y)
            loss.backward()
            return loss

        return run

    roga.step([closure(x, y) for x, y in minibatches])  # writes d into .grad, then steps
    batched_opt.zero_grad()
    # the arguments (9.0) only cover parameters in no group: every one here has a group
    batched_roga_update(
        batched_net, minibatches, 9.0, 9.0, align_to, param_groups=batched_opt.param_groups
    )
    for (name, a), b in zip(loop_net.named_parameters(), batched_net.parameters(), strict=True):
        if name == "unused":
            assert a.grad is None and b.grad is None
        else:
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-6, msg=name)
    batched_opt.step()
    for a, b in zip(loop_net.parameters(), batched_net.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert torch.equal(batched_net.unused, _TwoGroups().unused)  # never stepped
