"""Mixed precision on the CPU: bf16 autocast for every algorithm, the fp16 loss scaler with an
injected inf (the two-pass GradScaler trap), and amp "auto" resolving to fp32 on the CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from roga_bench.algorithms import get_algorithm_class, list_algorithms
from roga_bench.algorithms._amp import LossScaler, resolve_amp

BUILT_IN = [n for n in list_algorithms() if not n.startswith("_")]
K, BATCH, SIZE = 3, 8, 16
SHAPE = (3, SIZE, SIZE)


def _build(name: str, **hp):
    torch.manual_seed(0)
    hparams = {"backbone": "small_cnn", "lr": 0.05, "momentum": 0.0, "weight_decay": 0.0, **hp}
    return get_algorithm_class(name)(SHAPE, 2, K, hparams)


def _batches(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(BATCH, *SHAPE, generator=gen), torch.randint(0, 2, (BATCH,), generator=gen))
        for _ in range(K)
    ]


def _flat(alg) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).clone() for p in alg.network.parameters()])


def _direction(name: str, **hp) -> torch.Tensor:
    alg = _build(name, **hp)
    before = _flat(alg)
    alg.update(_batches())
    return _flat(alg) - before


def test_auto_is_fp32_on_cpu():
    assert resolve_amp("auto", torch.device("cpu")) == "none"
    with pytest.raises(ValueError, match="hparam 'amp'"):
        resolve_amp("fp8", torch.device("cpu"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_auto_is_bit_identical_to_none_on_cpu(name):
    assert torch.equal(_direction(name), _direction(name, amp="none"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_bf16_direction_matches_fp32(name):
    fp32, bf16 = _direction(name), _direction(name, amp="bf16")
    assert not torch.equal(fp32, bf16)  # autocast really ran in bf16
    cos = F.cosine_similarity(fp32, bf16, dim=0)
    assert cos > 0.98, f"{name}: cos(fp32, bf16) = {cos:.4f}"
    assert (bf16.norm() / fp32.norm() - 1).abs() < 0.1


@pytest.mark.parametrize("name", BUILT_IN)
def test_fp16_scaler_unscales_every_pass(name):
    """Scaled in fp16 with a huge scale, the step equals the unscaled fp16 step: each pass is
    unscaled once (a second-pass gradient left scaled would blow the step up by 2**12)."""
    plain = _build(name, amp="fp16")
    plain.scaler.scale.fill_(1.0)
    scaled = _build(name, amp="fp16")
    scaled.scaler.scale.fill_(2.0**12)
    before = _flat(plain)
    a, b = plain.update(_batches()), scaled.update(_batches())
    da, db = _flat(plain) - before, _flat(scaled) - before
    assert a["amp_skipped"] == b["amp_skipped"] == 0.0
    assert F.cosine_similarity(da, db, dim=0) > 0.99
    assert (db.norm() / da.norm() - 1).abs() < 0.05


def _poison(alg, which_call: int) -> None:
    """Make the ``which_call``-th backward of the next step produce an inf gradient."""
    calls = {"n": 0}
    original = alg.scaler.backward

    def backward(loss, params):
        params = list(params)
        original(loss, params)
        calls["n"] += 1
        if calls["n"] == which_call:
            p = next(q for q in params if q.grad is not None)
            p.grad.view(-1)[0] = float("inf")
            alg.scaler.found_inf = True  # as the check inside ``original`` would have found

    alg.scaler.backward = backward


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("which", ["first", "last"])
def test_fp16_inf_in_any_pass_skips_the_step(name, which):
    """An inf in the first or the last backward (second pass of RoGA's last domain): params and
    optimizer state unchanged, the scale halved, the step reported as skipped."""
    alg = _build(name, amp="fp16", momentum=0.9, weight_decay=5e-4)
    alg.update(_batches(1))  # momentum buffers exist, so a skipped step must leave them too
    # LookSAM and RoGA_Look: the step under test (t = 1, k = 5) is a reuse step, one backward
    n_backward = {"ERM": 1, "LookSAM": 1, "RoGA_Look": 1}.get(
        name, 2 * K if name.startswith("RoGA") else 2
    )
    _poison(alg, 1 if which == "first" else n_backward)
    before = _flat(alg)
    momentum = [s["momentum_buffer"].clone() for s in alg.optimizer.state.values()]
    scale = float(alg.scaler.scale)
    values = alg.update(_batches(2))
    assert torch.equal(_flat(alg), before)
    after = [s["momentum_buffer"] for s in alg.optimizer.state.values()]
    assert all(torch.equal(a, b) for a, b in zip(momentum, after, strict=True))
    assert values["amp_skipped"] == 1.0 and float(alg.scaler.scale) == scale / 2
    assert all(torch.isfinite(torch.tensor(v)) for v in values.values())
    alg.scaler.backward = LossScaler.backward.__get__(alg.scaler)
    assert alg.update(_batches(3))["amp_skipped"] == 0.0  # the next step runs
    assert not torch.equal(_flat(alg), before)


def test_scaler_finds_a_real_overflow_and_grows_after_clean_steps():
    scaler = LossScaler(init_scale=2.0**40, growth_interval=2)
    w = torch.nn.Parameter(torch.ones(3))
    scaler.backward((w * 1e30).sum(), [w])  # 1e30 * 2**40 overflows float32
    assert scaler.found_inf and scaler.update() and float(scaler.scale) == 2.0**39
    for _ in range(2):
        w.grad = None
        scaler.backward(w.sum(), [w])
        assert torch.equal(w.grad, torch.ones(3)) and not scaler.update()
    assert float(scaler.scale) == 2.0**40


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_with_batched_roga_is_refused(amp):
    with pytest.raises(ValueError, match="needs roga_batched false"):
        _build("RoGA", amp=amp, roga_batched=True)
    assert torch.equal(  # "auto" on the CPU: the batched path, fp32
        _direction("RoGA", roga_batched=True), _direction("RoGA", roga_batched=True, amp="none")
    )
