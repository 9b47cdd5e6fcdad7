"""Every registered algorithm against the DomainBed contract and the invariances of DESIGN §4.

Tiny networks (``small_cnn`` with BatchNorm, ``small_cnn_nobn`` with GroupNorm) at 16 px. The exact
invariances run in float64 so that "equal to 1e-6" tests the maths, not float32 summation order.
"""

from __future__ import annotations

import copy
import math
import sys
import types

import pytest
import torch
from torch import nn

from roga_bench.algorithms import Algorithm, get_algorithm_class, list_algorithms

# The registered algorithms users see; test stand-ins ("_Test...", registered by other test
# modules) are left out whatever order pytest collects the modules in.
BUILT_IN = [n for n in list_algorithms() if not n.startswith("_")]

K, BATCH, SIZE = 3, 4, 16
SHAPE = (3, SIZE, SIZE)


def _hparams(backbone: str = "small_cnn", **extra) -> dict:
    return {"backbone": backbone, "pretrained": "", "lr": 0.05, "image_size": SIZE, **extra}


def _minibatches(seed: int = 0, k: int = K, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(BATCH, *SHAPE, generator=gen).to(dtype),
            torch.randint(0, 2, (BATCH,), generator=gen),
        )
        for _ in range(k)
    ]


def _build(name: str, num_domains: int = K, seed: int = 0, dtype=torch.float32, **hparams):
    torch.manual_seed(seed)
    return get_algorithm_class(name)(SHAPE, 2, num_domains, _hparams(**hparams)).to(dtype)


def _max_diff(a: nn.Module, b: nn.Module) -> float:
    return max(
        float((p - q).abs().max())
        for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
        if p.is_floating_point()
    )


@pytest.mark.parametrize("name", BUILT_IN)
def test_registered_algorithm_follows_the_domainbed_contract(name):
    alg = _build(name)
    assert isinstance(alg, Algorithm) and isinstance(alg.network, nn.Module)
    # self.optimizer is the *base* optimizer that applies the final update (DESIGN §3)
    assert type(alg.optimizer) in (torch.optim.SGD, torch.optim.Adam)
    before = copy.deepcopy(alg.network.state_dict())
    for step in range(3):
        out = alg.update(_minibatches(seed=step))
        assert isinstance(out, dict) and "loss" in out
        assert all(type(v) is float for v in out.values()), out
        assert math.isfinite(out["loss"]) and 0.0 < out["loss"] < 10.0
    changed = [not torch.equal(before[k], v) for k, v in alg.network.state_dict().items()]
    assert any(changed)
    x = _minibatches(seed=9)[0][0]
    logits = alg.predict(x)
    assert logits.shape == (BATCH, 2) and torch.isfinite(logits).all()
    assert torch.equal(logits, alg.network(x))


@pytest.mark.parametrize("name", BUILT_IN)
def test_deepcopy_keeps_network_optimizer_and_wrapper_wired_together(name):
    alg = _train(_build(name), steps=1)
    twin = copy.deepcopy(alg)
    assert twin.optimizer is not alg.optimizer
    wrapper = getattr(twin, "wrapper", None)
    if wrapper is not None:
        assert wrapper.base_optimizer is twin.optimizer and wrapper.model is twin.network
        assert wrapper.param_groups[0]["params"][0] is next(twin.network.parameters())
    _train(alg, steps=1)
    _train(twin, steps=1)
    assert _max_diff(alg, twin) == 0.0


def _train(alg, steps: int = 3, k: int = K, dtype=torch.float32, join: bool = False):
    for step in range(steps):
        mbs = _minibatches(seed=10 + step, k=k, dtype=dtype)
        if join:  # the same data, as one domain
            mbs = [(torch.cat([x for x, _ in mbs]), torch.cat([y for _, y in mbs]))]
        alg.update(mbs)
    return alg


def test_roga_without_rho_and_alpha_is_erm():
    """d = (1/K) Σ g_i = g on a BatchNorm-free net with equal per-domain batch sizes."""
    kw = dict(backbone="small_cnn_nobn", dtype=torch.float64)
    erm = _train(_build("ERM", **kw), dtype=torch.float64)
    roga = _train(_build("RoGA", rho=0.0, alpha=0.0, **kw), dtype=torch.float64)
    assert _max_diff(erm.network, roga.network) < 1e-6
    assert _max_diff(erm.network, _build("ERM", **kw).network) > 1e-3  # training did something


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_on_one_domain_is_sagm(align_to):
    kw = dict(dtype=torch.float64, rho=0.05, alpha=0.002)  # small_cnn: BatchNorm included
    sagm = _train(_build("SAGM", **kw), dtype=torch.float64)
    roga = _build("RoGA", num_domains=1, roga_align_to=align_to, **kw)
    roga = _train(roga, dtype=torch.float64, join=True)
    assert _max_diff(sagm, roga) < 1e-6  # parameters and BatchNorm buffers


# ASAM is not in this list: with rho = 0 its perturbation rho T^2 g/|T g| is zero whatever T is,
# so the case could not fail on ASAM's own maths. test_asam_step_matches_its_closed_form pins it.
@pytest.mark.parametrize("name", ["SAM", "SAGM", "GSAM"])
def test_two_pass_methods_without_rho_and_alpha_are_erm(name):
    kw = dict(dtype=torch.float64, rho=0.0)
    if name in ("SAGM", "GSAM"):
        kw["alpha"] = 0.0
    erm = _train(_build("ERM", dtype=torch.float64), dtype=torch.float64)
    other = _train(_build(name, **kw), dtype=torch.float64)
    assert _max_diff(erm, other) < 1e-6  # parameters and BatchNorm buffers


def _sam_step_by_hand(net: nn.Module, x, y, rho: float, lr: float, adaptive: bool) -> nn.Module:
    """One SGD step (no momentum, no decay) along d = grad L(theta + e), written out in full.

    SAM: e = rho g/|g|. ASAM (Kwon et al. 2021, Eq. 9-10 and the authors' code):
    e = rho T^2 g/|T g| with T = |w| + 0.01 on parameters named weight and T = 1 on biases.
    """
    net = copy.deepcopy(net)
    names, params = zip(*net.named_parameters(), strict=True)
    grads = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), params)
    if adaptive:
        weights = ["weight" in n for n in names]
        ts = [
            p.abs() + 0.01 if w else torch.ones_like(p)
            for w, p in zip(weights, params, strict=True)
        ]
    else:
        ts = [torch.ones_like(p) for p in params]
    norm = torch.sqrt(sum(((t * g) ** 2).sum() for t, g in zip(ts, grads, strict=True)))
    with torch.no_grad():
        es = [rho * t * t * g / (norm + 1e-12) for t, g in zip(ts, grads, strict=True)]
        for p, e in zip(params, es, strict=True):
            p.add_(e)
    perturbed = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), params)
    with torch.no_grad():
        for p, e, d in zip(params, es, perturbed, strict=True):
            p.sub_(e).sub_(lr * d)
    return net


def test_asam_step_matches_its_closed_form():
    """ASAM's update equals the hand-written one, and differs from SAM's at the same radius."""
    kw = dict(backbone="small_cnn_nobn", dtype=torch.float64, momentum=0.0, weight_decay=0.0)
    asam = _build("ASAM", rho=0.5, **kw)
    start = copy.deepcopy(asam.network)
    mbs = _minibatches(seed=3, dtype=torch.float64)
    x, y = torch.cat([x for x, _ in mbs]), torch.cat([y for _, y in mbs])
    asam.update(mbs)
    lr = _hparams()["lr"]
    assert _max_diff(asam.network, _sam_step_by_hand(start, x, y, 0.5, lr, adaptive=True)) < 1e-10
    as_sam = _sam_step_by_hand(start, x, y, 0.5, lr, adaptive=False)
    assert _max_diff(asam.network, as_sam) > 1e-4  # T matters: not SAM in disguise
    assert _max_diff(asam.network, start) > 1e-3  # and the step moved the weights


def test_ablations_fix_their_hparam():
    assert _build("RoGA_Robust").wrapper.param_groups[0]["alpha"] == 0.0
    assert _build("RoGA_Align").wrapper.param_groups[0]["rho"] == 0.0
    with pytest.raises(ValueError, match="alpha"):
        _build("RoGA_Robust", alpha=0.001)
    with pytest.raises(ValueError, match="rho"):
        _build("RoGA_Align", rho=0.1)


@pytest.mark.parametrize("name", ["ERM", "SAM", "GSAM", "RoGA"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_checkpoint_mid_training_continues_identically(name, optimizer):
    hp: dict = {"optimizer": optimizer, "weight_decay": 1e-3}
    if name != "ERM":
        hp["rho"] = 0.07
    alg = _train(_build(name, **hp), steps=2)
    saved = copy.deepcopy((alg.state_dict(), alg.optimizer.state_dict()))
    if name != "ERM":
        assert saved[1]["param_groups"][0]["rho"] == 0.07  # rho travels with the optimizer
    _train(alg, steps=2)
    resumed = _build(name, seed=123, **hp)
    resumed.load_state_dict(saved[0])
    resumed.optimizer.load_state_dict(saved[1])
    _train(resumed, steps=2)
    for (k, a), b in zip(alg.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_roga_batched_hparam_dispatches_to_the_batched_update(monkeypatch):
    calls = []

    def fake_update(network, minibatches, rho, alpha, align_to, param_groups=None):
        calls.append((len(minibatches), rho, alpha, align_to))
        assert param_groups is alg.optimizer.param_groups  # per-group rho/alpha reach it
        for p in network.parameters():
            p.grad = torch.ones_like(p)
        return {"loss": 0.5, "grad_norm": torch.tensor(2.0)}

    fake = types.ModuleType("roga_bench.optim.roga_batched")
    fake.batched_roga_update = fake_update  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "roga_bench.optim.roga_batched", fake)
    alg = _build("RoGA", roga_batched=True, momentum=0.0, weight_decay=0.0, roga_align_to="global")
    before = [p.detach().clone() for p in alg.network.parameters()]
    out = alg.update(_minibatches())
    assert calls == [(K, 0.1, 0.001, "global")]
    assert out == {"loss": 0.5, "grad_norm": 2.0}
    for p, q in zip(alg.network.parameters(), before, strict=True):
        assert torch.allclose(p.detach(), q - 0.05)  # the base SGD step applied .grad = 1
    with pytest.raises(ValueError, match="num_domains"):
        alg.update(_minibatches(k=K - 1))


def test_roga_batched_matches_the_loop_path():
    """The real batched update (performance helper's) gives the loop path's parameters."""
    kw = dict(backbone="small_cnn_nobn", dtype=torch.float64, weight_decay=0.0)
    loop = _train(_build("RoGA", **kw), dtype=torch.float64)
    batched = _train(_build("RoGA", roga_batched=True, **kw), dtype=torch.float64)
    assert _max_diff(loop, batched) < 1e-6


@pytest.mark.parametrize(("hparam", "value"), [("lr", -0.1), ("rho", -0.05), ("alpha", -1e-3)])
def test_negative_hparams_raise_naming_them(hparam, value):
    with pytest.raises(ValueError, match=hparam):
        _build("SAGM", **{hparam: value})


def test_bad_input_messages():
    with pytest.raises(ValueError, match="optimizer"):
        _build("ERM", optimizer="rmsprop")
    with pytest.raises(ValueError, match="roga_align_to"):
        _build("RoGA", roga_align_to="local")
    roga = _build("RoGA")
    with pytest.raises(ValueError, match="num_domains=3"):
        roga.update(_minibatches(k=2))
    with pytest.raises(KeyError, match="ERM"):
        get_algorithm_class("NoSuchAlgorithm")


@pytest.mark.parametrize(("look", "full"), [("LookSAM", "SAM"), ("RoGA_Look", "RoGA")])
def test_look_algorithms_with_k_1_are_their_full_method(look, full):
    """k = 1: every step is a full step, bit for bit (BatchNorm net, SGD with momentum)."""
    a = _train(_build(look, k=1, rho=0.07), steps=3)
    b = _train(_build(full, rho=0.07), steps=3)
    assert _max_diff(a, b) == 0.0
    c = _train(_build(look, k=2, rho=0.07), steps=3)  # a reuse step at t = 1: not the same
    assert _max_diff(a, c) > 0.0


@pytest.mark.parametrize("name", ["LookSAM", "RoGA_Look"])
def test_look_algorithms_resume_mid_cycle(name):
    """Checkpoint after 2 steps of a k = 3 cycle; 4 more steps run reuse, reuse... identically."""
    hp = {"k": 3, "optimizer": "adam", "weight_decay": 1e-3}
    alg = _train(_build(name, **hp), steps=2)
    saved = copy.deepcopy((alg.state_dict(), alg.optimizer.state_dict()))
    assert saved[1]["param_groups"][0]["look_step"] == 2  # the cycle's position travels
    stats = [alg.update(_minibatches(seed=10 + s)) for s in range(4)]
    assert [s["look_full"] for s in stats] == [0.0, 1.0, 0.0, 0.0]
    resumed = _build(name, seed=123, **hp)
    resumed.load_state_dict(saved[0])
    resumed.optimizer.load_state_dict(saved[1])
    for s in range(4):
        resumed.update(_minibatches(seed=10 + s))
    assert _max_diff(alg, resumed) == 0.0
