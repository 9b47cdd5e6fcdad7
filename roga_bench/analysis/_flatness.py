"""Flatness of a minimum: worst-case sharpness, Hessian spectrum and loss-landscape slices.

Everything here works on a functional loss ``loss_fn(params) -> scalar`` over a dict of parameter
tensors (``torch.func.functional_call`` of a network in eval mode, or any closed form), so the
same code measures a CNN and the quadratics of the tests.

- Worst-case sharpness (Keskar et al. 2017; Foret et al. 2021, Eq. 1): max over ‖ε‖ ≤ ρ of
  L(θ+ε) − L(θ), by projected normalised-gradient ascent started at SAM's first-order solution
  ε = ρ g/‖g‖; the adaptive version (Kwon et al. 2021, Eq. 9) constrains ‖T⁻¹ε‖ ≤ ρ with
  T = |w| + 0.01 on weights and 1 on biases, as ``roga_bench.optim.SAM(adaptive=True)`` does.
- Top Hessian eigenvalue by power iteration on Hessian-vector products (HVP = forward-mode
  derivative of the gradient, ``torch.func.jvp(grad(f))``), trace by Hutchinson's estimator
  E[vᵀHv] with Rademacher v (as PyHessian, Yao et al. 2020).
- Filter-normalised random directions (Li et al., NeurIPS 2018, §4): each filter of the direction
  is rescaled to the norm of the matching filter of θ; 1-D parameters (biases, norm layers) get
  a zero direction, as the authors' default ``ignore='biasbn'``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor
from torch.func import grad, jvp

__all__ = [
    "Params",
    "LossFn",
    "worst_case_sharpness",
    "hessian_top_eigenvalue",
    "hutchinson_trace",
    "hutchinson_probes",
    "filter_normalized_direction",
    "landscape_1d",
    "landscape_2d",
    "asam_scale",
]

Params = dict[str, Tensor]
LossFn = Callable[[Params], Tensor]
_ETA = 1e-12


def _dot(a: Mapping[str, Tensor], b: Mapping[str, Tensor]) -> Tensor:
    return sum((a[k] * b[k]).sum() for k in a)  # type: ignore[return-value]


def _norm(a: Mapping[str, Tensor]) -> Tensor:
    return torch.sqrt(_dot(a, a))


def _axpy(x: Params, alpha: float | Tensor, d: Mapping[str, Tensor]) -> Params:
    return {k: x[k] + alpha * d[k] for k in x}


def asam_scale(params: Mapping[str, Tensor], eta: float = 0.01) -> Params:
    """ASAM's T: |w| + ``eta`` on parameters named ``weight``, 1 elsewhere (biases)."""
    return {
        k: p.abs() + eta if k.rsplit(".", 1)[-1] == "weight" else torch.ones_like(p)
        for k, p in params.items()
    }


def worst_case_sharpness(
    loss_fn: LossFn, params: Params, rho: float, steps: int = 3, adaptive: bool = False
) -> float:
    """max_{‖T⁻¹ε‖ ≤ ρ} L(θ+ε) − L(θ) by ``steps`` projected ascent steps (T = 1 unless adaptive).

    The ascent runs on u = T⁻¹ε: u₀ = ρ Tg/‖Tg‖, then u ← Π_ρ(u + ρ Tg(θ+Tu)/‖Tg(θ+Tu)‖); the
    best loss seen is kept, so more steps never lower the estimate. For a loss linear in θ the
    first point is the exact maximiser and the result is ρ‖Tg‖.
    """
    theta = {k: p.detach() for k, p in params.items()}
    scale = asam_scale(theta) if adaptive else {k: torch.ones_like(p) for k, p in theta.items()}
    g_fn = grad(loss_fn)
    with torch.no_grad():
        base = float(loss_fn(theta))
    u = {k: torch.zeros_like(p) for k, p in theta.items()}
    best = base
    for _ in range(max(1, steps)):
        eps = {k: scale[k] * u[k] for k in u}
        g = g_fn(_axpy(theta, 1.0, eps))
        tg = {k: scale[k] * g[k] for k in g}
        u = _axpy(u, rho / (float(_norm(tg)) + _ETA), tg)
        n = float(_norm(u))
        if n > rho:  # projection onto the ρ-ball
            u = {k: v * (rho / n) for k, v in u.items()}
        with torch.no_grad():
            best = max(best, float(loss_fn(_axpy(theta, 1.0, {k: scale[k] * u[k] for k in u}))))
    return best - base


def _hvp(loss_fn: LossFn, theta: Params) -> Callable[[Params], Params]:
    g_fn = grad(loss_fn)
    return lambda v: jvp(g_fn, (theta,), (v,))[1]


def hessian_top_eigenvalue(
    loss_fn: LossFn, params: Params, iters: int = 20, tol: float = 1e-4, seed: int = 0
) -> float:
    """The eigenvalue of largest magnitude of ∇²L(θ) by power iteration on HVPs.

    Stops when the Rayleigh quotient changes by less than ``tol`` (relative) or after ``iters``.
    The start vector is drawn from ``torch.Generator().manual_seed(seed)``: deterministic.
    """
    theta = {k: p.detach() for k, p in params.items()}
    gen = torch.Generator().manual_seed(seed)
    v = {k: torch.randn(p.shape, generator=gen).to(p) for k, p in theta.items()}
    hvp = _hvp(loss_fn, theta)
    eig = 0.0
    for i in range(max(1, iters)):
        n = _norm(v)
        v = {k: x / (n + _ETA) for k, x in v.items()}
        hv = hvp(v)
        new = float(_dot(v, hv))
        if i > 0 and abs(new - eig) <= tol * (abs(eig) + _ETA):
            return new
        eig, v = new, hv
    return eig


def hutchinson_probes(
    loss_fn: LossFn, params: Params, samples: int = 20, seed: int = 0
) -> list[float]:
    """vᵀ∇²L(θ)v for ``samples`` Rademacher vectors v (seeded): each an unbiased trace estimate.

    Their mean is :func:`hutchinson_trace`; their standard deviation over √samples is that
    estimate's standard error.
    """
    theta = {k: p.detach() for k, p in params.items()}
    gen = torch.Generator().manual_seed(seed)
    hvp = _hvp(loss_fn, theta)
    out = []
    for _ in range(max(1, samples)):
        v = {
            k: (torch.randint(0, 2, p.shape, generator=gen) * 2 - 1).to(p) for k, p in theta.items()
        }
        out.append(float(_dot(v, hvp(v))))
    return out


def hutchinson_trace(loss_fn: LossFn, params: Params, samples: int = 20, seed: int = 0) -> float:
    """tr ∇²L(θ) ≈ mean over ``samples`` Rademacher vectors v of vᵀHv (unbiased)."""
    probes = hutchinson_probes(loss_fn, params, samples, seed)
    return sum(probes) / len(probes)


def filter_normalized_direction(params: Params, seed: int = 0) -> Params:
    """A random direction with each filter scaled to the norm of θ's filter (Li et al. 2018).

    A filter is one slice along the first (output) dimension of a parameter with two or more
    dimensions; 1-D parameters (biases, BatchNorm) get zeros.
    """
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for k, p in params.items():
        p = p.detach()
        d = torch.randn(p.shape, generator=gen).to(p)
        if p.dim() <= 1:
            out[k] = torch.zeros_like(p)
            continue
        flat_d, flat_p = d.reshape(len(d), -1), p.reshape(len(p), -1)
        ratio = flat_p.norm(dim=1, keepdim=True) / (flat_d.norm(dim=1, keepdim=True) + 1e-10)
        out[k] = (flat_d * ratio).reshape(p.shape)
    return out


def landscape_1d(
    loss_fn: LossFn, params: Params, direction: Params, alphas: Sequence[float]
) -> list[float]:
    """L(θ + a·d) for each a of ``alphas``."""
    theta = {k: p.detach() for k, p in params.items()}
    with torch.no_grad():
        return [float(loss_fn(_axpy(theta, float(a), direction))) for a in alphas]


def landscape_2d(
    loss_fn: LossFn, params: Params, d1: Params, d2: Params, alphas: Sequence[float]
) -> list[list[float]]:
    """L(θ + a·d1 + b·d2) on the grid ``alphas`` × ``alphas`` (rows: b, columns: a)."""
    theta = {k: p.detach() for k, p in params.items()}
    rows = []
    with torch.no_grad():
        for b in alphas:
            shifted = _axpy(theta, float(b), d2)
            rows.append([float(loss_fn(_axpy(shifted, float(a), d1))) for a in alphas])
    return rows
