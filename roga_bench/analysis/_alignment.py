"""Per-domain gradients of a network and how they align (the quantity RoGA optimises).

``network_loss`` turns a network and one fixed batch into the functional loss the flatness
measures take. The network is put in eval mode, so BatchNorm uses its running statistics: the
loss is then a function of θ alone (batch statistics would make every HVP depend on the batch
composition) and no measurement ever changes the saved buffers.

Alignment at the final point θ, per batch b and averaged over batches:

- pairwise cosine cos(g_i, g_j) of the training domains' gradients g_i = ∇L_i(θ);
- cos(g_i, g_i^p) with g_i^p = ∇L_i(θ + e_i), e_i = ρ g_i/‖g_i‖ (DESIGN §4: RoGA asks the
  perturbed gradient of each domain to stay aligned with its own gradient).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad

from roga_bench.analysis._flatness import LossFn, Params, _axpy, _dot, _norm

__all__ = ["network_loss", "network_params", "gradient_alignment", "cosine"]


def network_params(network: nn.Module) -> Params:
    """The trainable parameters of ``network`` by name, detached."""
    return {k: p.detach() for k, p in network.named_parameters() if p.requires_grad}


def network_loss(network: nn.Module, x: Tensor, y: Tensor) -> LossFn:
    """``params -> mean cross-entropy of network(x) against y`` with the network in eval mode."""
    network.eval()
    buffers = {k: b.detach() for k, b in network.named_buffers()}

    def loss_fn(params: Params) -> Tensor:
        return F.cross_entropy(functional_call(network, (params, buffers), (x,)), y)

    return loss_fn


def cosine(a: Params, b: Params) -> float:
    """Cosine of two parameter-shaped vectors (0 when either is zero)."""
    denom = float(_norm(a) * _norm(b))
    return float(_dot(a, b)) / denom if denom > 0 else 0.0


def gradient_alignment(
    network: nn.Module,
    batches: Sequence[Sequence[tuple[Tensor, Tensor]]],
    rho: float,
) -> dict[str, float]:
    """Alignment of the training domains' gradients, averaged over batches.

    Args:
        network: the model at its final point.
        batches: ``batches[b][i]`` is batch b of training domain i, as ``(x, y)``.
        rho: the perturbation radius of g_i^p.

    Returns:
        ``pairwise_cos`` (mean over domain pairs), ``perturbed_cos`` (mean over domains),
        ``pair_{i}_{j}`` and ``perturbed_{i}`` per pair / domain (i, j index ``batches[b]``).
    """
    params = network_params(network)
    sums: dict[str, float] = {}
    for batch in batches:
        grads = []
        for i, (x, y) in enumerate(batch):
            g_fn = grad(network_loss(network, x, y))
            g = g_fn(params)
            e = _axpy(
                {k: torch.zeros_like(v) for k, v in g.items()}, rho / (float(_norm(g)) + 1e-12), g
            )
            gp = g_fn(_axpy(params, 1.0, e))
            grads.append(g)
            key = f"perturbed_{i}"
            sums[key] = sums.get(key, 0.0) + cosine(g, gp)
        for i, j in itertools.combinations(range(len(grads)), 2):
            key = f"pair_{i}_{j}"
            sums[key] = sums.get(key, 0.0) + cosine(grads[i], grads[j])
    out = {k: v / len(batches) for k, v in sums.items()}
    pairs = [v for k, v in out.items() if k.startswith("pair_")]
    perturbed = [v for k, v in out.items() if k.startswith("perturbed_")]
    out["pairwise_cos"] = sum(pairs) / len(pairs) if pairs else float("nan")
    out["perturbed_cos"] = sum(perturbed) / len(perturbed) if perturbed else float("nan")
    return out
