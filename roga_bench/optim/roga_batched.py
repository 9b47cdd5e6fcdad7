"""RoGA with the K per-domain passes batched by ``torch.func`` (hparam ``roga_batched=True``).

The loop path runs 2K small forward/backward passes (one per domain, twice); on an accelerator
that leaves the device mostly idle. Here the K domains become one ``vmap`` axis, so each of the
two passes is a single batched call, with the same maths (DESIGN §4, RoGA row)::

    g_i   = grad L_i(theta)                                  # first pass, per domain
    e_i   = (rho / (||g_i|| + eta) - alpha) * t_i            # t_i = g_i ("domain") or g ("global")
    g_i^p = grad L_i(theta + e_i)                            # second pass, per domain
    d     = (1/K) sum_i 1/2 (g_i + g_i^p)                    # written into p.grad

with ``g = (1/K) sum_i g_i`` for ``align_to="global"`` (the loss-weighted mean of the per-domain
gradients: with equal batch sizes it is the gradient of the mean per-domain loss).

BatchNorm: each domain is normalised with its own batch statistics in both passes (``vmap`` keeps
the domains apart). Running statistics are updated once per domain, in domain order, from the
first pass only, exactly as the loop path's K sequential forwards would; they are never updated
in the second pass. ``vmap`` cannot update a shared buffer in place, so during the batched passes
BatchNorm layers run on batch statistics only and the per-domain means and variances are returned
as auxiliary outputs and folded into the running statistics afterwards.

Parameter groups: given ``param_groups`` (the optimizer's), each parameter takes its group's
``rho``/``alpha``, as the loop path's optimizer does (the norm ||g_i|| stays global). Parameters
the loss never touches keep ``.grad = None`` (the loop path leaves them so, and the base
optimizer then skips them: no weight decay, no momentum): ``torch.func`` returns zeros for them,
so they are found once per network by one ordinary backward of the first domain (cached).

Usage (the RoGA algorithm does this when ``hparams["roga_batched"]`` is true)::

    stats = batched_roga_update(network, minibatches, rho=0.1, alpha=0.001, align_to="domain",
                                param_groups=optimizer.param_groups)
    optimizer.step()
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad_and_value, vmap
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["batched_roga_update", "ETA"]

ETA = 1e-12  # DESIGN §4: keeps e_i finite when a domain's gradient vanishes
# network -> (trainable parameter names, the names its loss reaches): one probe per network
_USED: weakref.WeakKeyDictionary[nn.Module, tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _tracking_bns(network: nn.Module) -> dict[str, _BatchNorm]:
    """BatchNorm layers whose running statistics the loop path would update."""
    return {
        name: m
        for name, m in network.named_modules()
        if isinstance(m, _BatchNorm) and m.training and m.track_running_stats
    }


@contextmanager
def _batch_stats_only(bns: dict[str, _BatchNorm], sink: dict[str, tuple[Tensor, Tensor]] | None):
    """Make ``bns`` use batch statistics without touching buffers; optionally record them.

    ``track_running_stats=False`` in training mode is PyTorch's own switch for "normalise with
    the batch, update nothing". When ``sink`` is given, a pre-hook stores each layer's batch mean
    and unbiased variance (what F.batch_norm would fold into the running statistics).
    """
    handles = []

    def make_hook(name: str):
        def hook(module: nn.Module, args: tuple[Tensor, ...]) -> None:
            x = args[0].detach()
            dims = [0, *range(2, x.dim())]
            sink[name] = (x.mean(dim=dims), x.var(dim=dims, unbiased=True))  # type: ignore[index]

        return hook

    for name, m in bns.items():
        m.track_running_stats = False
        if sink is not None:
            handles.append(m.register_forward_pre_hook(make_hook(name)))
    try:
        yield
    finally:
        for m in bns.values():
            m.track_running_stats = True
        for h in handles:
            h.remove()


def _update_running_stats(
    bns: dict[str, _BatchNorm], stats: dict[str, tuple[Tensor, Tensor]], num_domains: int
) -> None:
    """Fold per-domain batch statistics [K, C] into the running ones, domain by domain."""
    with torch.no_grad():
        for name, m in bns.items():
            mean, var = stats[name]
            for i in range(num_domains):
                assert m.num_batches_tracked is not None  # track_running_stats is True
                m.num_batches_tracked.add_(1)
                momentum = m.momentum
                if momentum is None:  # cumulative moving average, as in _BatchNorm.forward
                    momentum = 1.0 / float(m.num_batches_tracked)
                m.running_mean.mul_(1 - momentum).add_(mean[i].to(m.running_mean), alpha=momentum)
                m.running_var.mul_(1 - momentum).add_(var[i].to(m.running_var), alpha=momentum)


def _stack_minibatches(minibatches: Sequence[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    sizes = [int(x.shape[0]) for x, _ in minibatches]
    if len(set(sizes)) != 1:
        raise ValueError(
            f"batched_roga_update needs equal per-domain batch sizes, got {sizes}; "
            "set hparams roga_batched=False for unequal batches"
        )
    xs = torch.stack([x for x, _ in minibatches])
    ys = torch.stack([y for _, y in minibatches])
    return xs, ys


def _used_parameters(
    network: nn.Module, named: dict[str, Tensor], x: Tensor, y: Tensor, bns: dict
) -> frozenset[str]:
    """Names of the trainable parameters the loss depends on (cached per network)."""
    names = frozenset(named)
    cached = _USED.get(network)
    if cached is not None and cached[0] == names:
        return cached[1]
    order = sorted(names)
    with torch.enable_grad(), _batch_stats_only(bns, None):  # never touches running statistics
        loss = F.cross_entropy(network(x), y)
        grads = torch.autograd.grad(loss, [named[n] for n in order], allow_unused=True)
    used = frozenset(n for n, g in zip(order, grads, strict=True) if g is not None)
    _USED[network] = (names, used)
    return used


def _group_hparams(
    named: dict[str, Tensor],
    param_groups: Sequence[Mapping[str, Any]] | None,
    rho: float,
    alpha: float,
) -> dict[str, tuple[float, float]]:
    """``(rho, alpha)`` of every parameter: its group's, else the arguments."""
    by_id: dict[int, tuple[float, float]] = {}
    for group in param_groups or ():
        for p in group["params"]:
            by_id[id(p)] = (float(group.get("rho", rho)), float(group.get("alpha", alpha)))
    return {n: by_id.get(id(p), (rho, alpha)) for n, p in named.items()}


def _global_norm(grads: dict[str, Tensor]) -> Tensor:
    """Per-domain global L2 norm over all parameters: [K]."""
    sq = [g.flatten(1).pow(2).sum(1) for g in grads.values()]
    return torch.stack(sq).sum(0).sqrt()


def _bcast(v: Tensor, like: Tensor) -> Tensor:
    """Shape a per-domain scalar [K] to broadcast against a stacked tensor [K, ...]."""
    return v.view(-1, *([1] * (like.dim() - 1)))


def batched_roga_update(
    network: nn.Module,
    minibatches: Sequence[tuple[Tensor, Tensor]],
    rho: float,
    alpha: float,
    align_to: str = "domain",
    param_groups: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, float]:
    """Write the RoGA direction into ``network``'s parameter ``.grad`` (DESIGN §4, RoGA row).

    Args:
        network: maps images to logits; trainable parameters receive ``.grad = d``.
        minibatches: K pairs ``(x_i, y_i)``, all with the same batch size.
        rho: perturbation radius (Eq. 3-4).
        alpha: alignment weight (Eq. 6).
        align_to: ``"domain"`` aligns with each domain's own gradient g_i, ``"global"`` with
            the mean gradient g.
        param_groups: the optimizer's groups; a group's ``rho``/``alpha`` override the
            arguments for its parameters (the arguments cover parameters in no group).

    Returns:
        The loop path's diagnostics: ``loss`` (mean first-pass loss), ``grad_norm`` (mean
        ||g_i||), ``perturb_norm`` (mean ||e_i||), ``cos_g_gp`` (mean cos(g_i, g_i^p)) and
        ``cos_d{i}`` per domain.

    Raises:
        ValueError: unequal per-domain batch sizes, no minibatches, or an unknown ``align_to``.
    """
    if align_to not in ("domain", "global"):
        raise ValueError(f"align_to = {align_to!r}; expected 'domain' or 'global'")
    if not minibatches:
        raise ValueError("batched_roga_update needs at least one minibatch")
    xs, ys = _stack_minibatches(minibatches)
    k = xs.shape[0]
    named = dict(network.named_parameters())
    params = {n: p.detach() for n, p in named.items() if p.requires_grad}
    consts = {n: p.detach() for n, p in named.items() if not p.requires_grad}
    consts.update(dict(network.named_buffers()))

    def loss_fn(p: dict[str, Tensor], x: Tensor, y: Tensor, sink: dict) -> tuple[Tensor, dict]:
        sink.clear()
        logits = functional_call(network, {**p, **consts}, (x,))
        return F.cross_entropy(logits, y), dict(sink)

    bns = _tracking_bns(network)
    trainable = {n: p for n, p in named.items() if p.requires_grad}
    used = _used_parameters(network, trainable, minibatches[0][0], minibatches[0][1], bns)
    hp = _group_hparams(trainable, param_groups, rho, alpha)
    sink: dict[str, tuple[Tensor, Tensor]] = {}
    first = grad_and_value(lambda p, x, y: loss_fn(p, x, y, sink), has_aux=True)
    with _batch_stats_only(bns, sink):  # first pass: record per-domain BN statistics
        grads, (losses, bn_stats) = vmap(first, in_dims=(None, 0, 0), randomness="different")(
            params, xs, ys
        )
    _update_running_stats(bns, bn_stats, k)

    norms = _global_norm(grads)  # ||g_i||, [K]
    perturbed = {}
    for n, g in grads.items():
        rho_n, alpha_n = hp[n]  # this parameter's group's rho and alpha
        target = g if align_to == "domain" else g.mean(0, keepdim=True).expand_as(g)
        # e_i = rho g_i/(||g_i||+eta) - alpha t_i, i.e. (rho/(||g_i||+eta) - alpha) g_i if t_i = g_i
        e = _bcast(rho_n / (norms + ETA), g) * g - alpha_n * target
        perturbed[n] = params[n].unsqueeze(0) + e

    second = grad_and_value(lambda p, x, y: loss_fn(p, x, y, {}), has_aux=True)
    with _batch_stats_only(bns, None):  # second pass: never touches running statistics
        grads_p, _ = vmap(second, in_dims=(0, 0, 0), randomness="different")(perturbed, xs, ys)

    for n, p in named.items():
        if n not in params:
            continue
        if n not in used:  # untouched by the loss: no gradient, as after loss.backward()
            p.grad = None
            continue
        d = 0.5 * (grads[n] + grads_p[n]).mean(0)  # (1/K) sum_i 1/2 (g_i + g_i^p)
        p.grad = d.to(p.dtype)
    return _diagnostics(losses, norms, grads, grads_p, perturbed, params)


def _diagnostics(
    losses: Tensor,
    norms: Tensor,
    grads: dict[str, Tensor],
    grads_p: dict[str, Tensor],
    perturbed: dict[str, Tensor],
    params: dict[str, Tensor],
) -> dict[str, float]:
    """The loop path's keys: loss, grad_norm, perturb_norm, cos_g_gp and cos_d{i}."""
    e_norm = _global_norm({n: perturbed[n] - params[n].unsqueeze(0) for n in params})
    dot = torch.stack([(grads[n] * grads_p[n]).flatten(1).sum(1) for n in grads]).sum(0)
    cos = dot / (norms * _global_norm(grads_p) + ETA)
    return {
        "loss": float(losses.mean()),
        "grad_norm": float(norms.mean()),
        "perturb_norm": float(e_norm.mean()),
        "cos_g_gp": float(cos.mean()),
        **{f"cos_d{i}": float(c) for i, c in enumerate(cos)},
    }
