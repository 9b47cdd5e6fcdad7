"""Batched RoGA (``optim.roga_batched``): what the mutation run of ``optim/`` left unguarded.

Kills surviving mutants of ``benchmarks/mutation.py optim`` in ``roga_batched.py`` (issue 28):
the error messages users see (``_stack_minibatches`` 7-9, ``batched_roga_update`` 10-12), the
cumulative BatchNorm average (``_update_running_stats`` 7-11), BatchNorm layers in eval mode
(``_tracking_bns``), the probe of untouched parameters and its cache (``_used_parameters`` 3, 7,
8, 39), one domain (``batched_roga_update`` 50, 52), frozen and untouched parameters ahead of
trained ones (174, 177), parameter groups without ``rho``/``alpha`` and parameters in no group
(``_group_hparams`` 9-11, 16-18, 22-24), dropout (95, 167), and eta's place in the perturbation and
in the cosine (131, ``_diagnostics`` 17). Every check compares with a plain per-domain loop
written here (the maths of DESIGN §4, RoGA row), not with the code under test.
"""

from __future__ import annotations

import copy
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from roga_bench.optim.roga_batched import ETA, batched_roga_update

K, BATCH, SIZE = 3, 4, 5


def _batches(seed: int = 0, k: int = K, sizes: tuple[int, ...] | None = None):
    gen = torch.Generator().manual_seed(seed)
    sizes = sizes or (BATCH,) * k
    return [
        (torch.randn(n, 3, SIZE, SIZE, generator=gen), torch.randint(0, 2, (n,), generator=gen))
        for n in sizes
    ]


class _Net(nn.Module):
    """conv -> BatchNorm -> relu -> linear; ``unused`` (registered first) no loss reaches."""

    def __init__(self, bn_momentum: float | None = 0.1, dropout: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.unused = nn.Parameter(torch.randn(3))  # ahead of every trained parameter
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4, momentum=bn_momentum)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * (SIZE - 2) ** 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(torch.relu(self.bn(self.conv(x))).flatten(1)))


def _loop(net: nn.Module, batches, rho: float, alpha: float, align_to: str = "domain", hp=None):
    """The per-domain loop: returns ({name: d or None}, diagnostics); BN as the loop path does.

    ``hp`` maps a parameter name to its (rho, alpha); the others take the arguments.
    """
    hp = hp or {}
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    params = [dict(net.named_parameters())[n] for n in names]
    grads, losses = [], []
    for x, y in batches:  # first pass: BN running statistics move, domain by domain
        loss = F.cross_entropy(net(x), y)
        gs = torch.autograd.grad(loss, params, allow_unused=True)
        grads.append(
            [torch.zeros_like(p) if g is None else g for p, g in zip(params, gs, strict=True)]
        )
        losses.append(loss.item())
    used = {n for n, g in zip(names, gs, strict=True) if g is not None}
    mean_g = [torch.stack(per_domain).mean(0) for per_domain in zip(*grads, strict=True)]
    saved = copy.deepcopy([m.state_dict() for m in net.modules() if isinstance(m, _BatchNorm)])
    d = [torch.zeros_like(p) for p in params]
    norms, e_norms, cos = [], [], []
    for (x, y), g in zip(batches, grads, strict=True):
        norm = torch.sqrt(sum((gi**2).sum() for gi in g))
        target = g if align_to == "domain" else mean_g
        es = []
        for n, gi, ti in zip(names, g, target, strict=True):
            rho_n, alpha_n = hp.get(n, (rho, alpha))
            es.append(rho_n / (norm + ETA) * gi - alpha_n * ti)
        with torch.no_grad():
            for p, e in zip(params, es, strict=True):
                p.add_(e)
        gp = torch.autograd.grad(F.cross_entropy(net(x), y), params, allow_unused=True)
        gp = [torch.zeros_like(p) if gi is None else gi for p, gi in zip(params, gp, strict=True)]
        with torch.no_grad():
            for p, e in zip(params, es, strict=True):
                p.sub_(e)
        for di, gi, gpi in zip(d, g, gp, strict=True):
            di += 0.5 * (gi + gpi) / len(batches)
        gp_norm = torch.sqrt(sum((gi**2).sum() for gi in gp))
        dot = sum((gi * gpi).sum() for gi, gpi in zip(g, gp, strict=True))
        norms.append(float(norm))
        e_norms.append(float(torch.sqrt(sum((e**2).sum() for e in es))))
        cos.append(float(dot / (norm * gp_norm + ETA)))
    for m, state in zip(
        [m for m in net.modules() if isinstance(m, _BatchNorm)], saved, strict=True
    ):
        m.load_state_dict(state)  # the second pass does not count
    diag = {
        "loss": sum(losses) / len(losses),
        "grad_norm": sum(norms) / len(norms),
        "perturb_norm": sum(e_norms) / len(e_norms),
        "cos_g_gp": sum(cos) / len(cos),
        **{f"cos_d{i}": c for i, c in enumerate(cos)},
    }
    return {n: (di if n in used else None) for n, di in zip(names, d, strict=True)}, diag


def _assert_matches(net: nn.Module, out: dict, ref_net: nn.Module, ref, abs_diag=1e-6) -> None:
    grads, diag = ref
    assert set(out) == set(diag)
    for key, value in diag.items():
        assert out[key] == pytest.approx(value, rel=1e-4, abs=abs_diag), key
    for name, p in net.named_parameters():
        if grads.get(name) is None:  # frozen (not in grads) or untouched by the loss: no .grad
            assert p.grad is None, name
        else:
            assert p.grad is not None, name
            torch.testing.assert_close(p.grad, grads[name], rtol=1e-4, atol=1e-6, msg=name)
    for (name, a), b in zip(ref_net.named_buffers(), net.buffers(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=name)


# --- error messages (the full line a user reads) -----------------------------------------------


def test_unequal_batches_message_names_the_sizes_and_the_way_out() -> None:
    """_stack_minibatches 6-9: the hint "set hparams roga_batched=False" lost or garbled."""
    msg = (
        "batched_roga_update needs equal per-domain batch sizes, got [4, 4, 3]; "
        "set hparams roga_batched=False for unequal batches"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        batched_roga_update(_Net(), _batches(sizes=(4, 4, 3)), 0.1, 0.001)


def test_no_minibatches_message() -> None:
    """batched_roga_update 9-12: an empty list gets its own clear line, not an IndexError."""
    with pytest.raises(ValueError, match="^batched_roga_update needs at least one minibatch$"):
        batched_roga_update(_Net(), [], 0.1, 0.001)


def test_unknown_align_to_message() -> None:
    """batched_roga_update 8: the message names the value and the two choices."""
    msg = "align_to = 'mean'; expected 'domain' or 'global'"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        batched_roga_update(_Net(), _batches(), 0.1, 0.001, align_to="mean")


# --- BatchNorm -------------------------------------------------------------------------------


def test_cumulative_average_batchnorm_matches_the_loop() -> None:
    """_update_running_stats 7-11: BatchNorm(momentum=None) folds domain i with weight 1/n."""
    net, ref_net = _Net(bn_momentum=None), _Net(bn_momentum=None)
    for step in range(2):  # the second step starts from num_batches_tracked = K
        batches = _batches(seed=step)
        ref = _loop(ref_net, batches, 0.1, 0.01)
        out = batched_roga_update(net, batches, 0.1, 0.01)
        _assert_matches(net, out, ref_net, ref)
        net.zero_grad(set_to_none=True)
    assert int(net.bn.num_batches_tracked) == 2 * K
    assert not torch.allclose(net.bn.running_var, torch.ones(4))  # the stats did move


def test_batchnorm_in_eval_mode_keeps_its_running_statistics() -> None:
    """_tracking_bns 1-2: a frozen (eval-mode) BN in a training network is normalised with,
    and keeps, its running statistics, as in the loop path (fine-tuning with frozen BN)."""
    net, ref_net = _Net(), _Net()
    for m in (net, ref_net):
        with torch.no_grad():  # running statistics far from any batch's
            m.bn.running_mean.fill_(0.5)
            m.bn.running_var.fill_(2.0)
        m.bn.eval()
    before = copy.deepcopy(dict(net.bn.named_buffers()))
    batches = _batches(1)
    ref = _loop(ref_net, batches, 0.1, 0.01)
    out = batched_roga_update(net, batches, 0.1, 0.01)
    _assert_matches(net, out, ref_net, ref)
    for name, buf in net.bn.named_buffers():
        assert torch.equal(buf, before[name]), name
    assert not net.bn.training and net.bn.track_running_stats


# --- parameters: untouched, frozen, groups, the probe's cache ---------------------------------


def test_frozen_and_untouched_parameters_ahead_of_trained_ones() -> None:
    """174, 177: a frozen or untouched parameter first in the network must not end the loop
    that writes .grad (``break`` for ``continue`` left every later parameter without one)."""
    net, ref_net = _Net(), _Net()
    for m in (net, ref_net):
        m.conv.weight.requires_grad_(False)  # frozen, ahead of the trained ones
    batches = _batches(2)
    ref = _loop(ref_net, batches, 0.2, 0.01, "global")
    out = batched_roga_update(net, batches, 0.2, 0.01, "global")
    assert ref[0]["head.weight"] is not None and ref[0]["unused"] is None
    _assert_matches(net, out, ref_net, ref)


def test_groups_without_rho_alpha_and_parameters_in_no_group_take_the_arguments() -> None:
    """_group_hparams 8-11, 15-18, 22-24: a group's missing rho/alpha and a parameter outside every
    group fall back to the arguments; a group's own rho/alpha win for its parameters."""
    net, ref_net = _Net(), _Net()
    groups = [
        {"params": [net.conv.weight, net.conv.bias]},  # neither key: both from the arguments
        {"params": [net.head.weight, net.head.bias], "rho": 0.4},  # alpha from the arguments
        {"params": [net.unused, net.bn.weight], "alpha": 0.3},  # rho from the arguments
    ]  # bn.bias: in no group
    hp = {"head.weight": (0.4, 0.02), "head.bias": (0.4, 0.02), "bn.weight": (0.1, 0.3)}
    batches = _batches(3)
    ref = _loop(ref_net, batches, 0.1, 0.02, hp=hp)
    out = batched_roga_update(net, batches, 0.1, 0.02, param_groups=groups)
    _assert_matches(net, out, ref_net, ref)


def _forward_counter(net: nn.Module) -> list[int]:
    calls = [0]
    net.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_untouched_parameters_are_probed_once_per_network() -> None:
    """_used_parameters 3, 7, 8, 39: the probe (one plain forward/backward) runs on the first
    update only; later updates are the two batched passes (two forward calls) alone."""
    net = _Net()
    calls = _forward_counter(net)
    batched_roga_update(net, _batches(0), 0.1, 0.001)
    assert calls[0] == 3  # probe + first pass + second pass
    for step in range(1, 3):
        net.zero_grad(set_to_none=True)
        batched_roga_update(net, _batches(step), 0.1, 0.001)
        assert calls[0] == 3 + 2 * step
        assert net.unused.grad is None and net.head.weight.grad is not None


def test_probe_reruns_when_the_trainable_set_changes() -> None:
    """_used_parameters 7-8: unfreezing a layer after the first update must give it a gradient
    (a stale cache would leave it None) and cost one new probe."""
    net, ref_net = _Net(), _Net()
    calls = _forward_counter(net)
    net.conv.weight.requires_grad_(False)
    batched_roga_update(net, _batches(0), 0.1, 0.001)
    assert net.conv.weight.grad is None
    net.conv.weight.requires_grad_(True)
    net.zero_grad(set_to_none=True)
    ref_net.load_state_dict(net.state_dict())
    batches = _batches(5)
    ref = _loop(ref_net, batches, 0.1, 0.001)
    out = batched_roga_update(net, batches, 0.1, 0.001)
    assert calls[0] == 3 + 3
    _assert_matches(net, out, ref_net, ref)


# --- one domain, dropout ---------------------------------------------------------------------


def test_one_domain() -> None:
    """50, 52: K = 1 (the probe reads the first, and only, minibatch) equals the loop."""
    net, ref_net = _Net(), _Net()
    batches = _batches(6, k=1)
    ref = _loop(ref_net, batches, 0.1, 0.01)
    out = batched_roga_update(net, batches, 0.1, 0.01)
    _assert_matches(net, out, ref_net, ref)
    assert int(net.bn.num_batches_tracked) == 1


def test_dropout_draws_a_mask_per_domain() -> None:
    """95, 167: vmap's default randomness ("error") rejects dropout; each domain draws its own
    mask, as its own forward in the loop path would (identical batches, different cosines)."""
    net = _Net(dropout=0.5)
    x, y = _batches(7, k=1)[0]
    torch.manual_seed(1)
    out = batched_roga_update(net, [(x, y)] * K, 0.1, 0.001)
    cosines = [out[f"cos_d{i}"] for i in range(K)]
    assert all(-1.0 <= c <= 1.0 for c in cosines)
    assert len(set(cosines)) == K  # one mask for all domains would give K equal values
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


# --- eta (DESIGN §4: keeps e_i finite when a domain's gradient vanishes) ----------------------


class _Faint(nn.Module):
    """Logits scaled by ``scale``: per-domain gradient norms of the order of ETA = 1e-12."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(3 * SIZE * SIZE, 2, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.lin(x.flatten(1))


def test_gradient_of_norm_eta_gives_perturbation_rho_n_over_n_plus_eta() -> None:
    """131, _diagnostics 17: with ||g_i|| = n ~ eta, ||e_i|| = rho n/(n + eta) (not n/(n - eta),
    which blows up), and cos = <g, g^p>/(||g|| ||g^p|| + eta) keeps the dot product's sign."""
    rho, batches = 0.1, _batches(8)
    net, ref_net = _Faint(4e-13), _Faint(4e-13)
    ref = _loop(ref_net, batches, rho, 0.0)
    norms = [  # each domain's gradient norm, of the order of eta
        float(torch.autograd.grad(F.cross_entropy(ref_net(x), y), ref_net.lin.weight)[0].norm())
        for x, y in batches
    ]
    assert all(0.3 * ETA < n < 5 * ETA for n in norms), norms
    expected = sum(rho * n / (n + ETA) for n in norms) / K
    out = batched_roga_update(net, batches, rho, 0.0)
    assert out["perturb_norm"] == pytest.approx(expected, rel=1e-4)
    assert out["perturb_norm"] < rho
    assert out["grad_norm"] == pytest.approx(sum(norms) / K, rel=1e-4, abs=0)
    for i in range(K):  # tiny but positive: g_i^p is g_i here
        assert 0 < out[f"cos_d{i}"] < 1
        assert out[f"cos_d{i}"] == pytest.approx(ref[1][f"cos_d{i}"], rel=1e-3, abs=0)
    _assert_matches(net, out, ref_net, ref, abs_diag=0)
