"""GSAM (Zhuang et al., "Surrogate Gap Guided Sharpness-Aware Minimization", ICLR 2022, Alg. 1).

    e = ρ g/(‖g‖+η),  g_p = ∇L(θ+e),
    g_⊥ = g − (⟨g, g_p⟩/(‖g_p‖²+η)) g_p   (the part of g orthogonal to g_p),
    d = g_p − α g_⊥.
Ascending along −g_⊥ lowers the surrogate gap without changing the perturbed loss to first order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA, global_dot, global_norm
from roga_bench.optim._two_pass import TwoPassOptimizer

__all__ = ["GSAM"]


class GSAM(TwoPassOptimizer):
    """Surrogate-gap guided SAM.

    Args:
        base_optimizer: applies d.
        rho: ρ >= 0, radius of the ascent step.
        alpha: α >= 0, weight of the orthogonal (gap-reducing) component.
        model: network whose BatchNorm statistics the second pass must not update.

    Raises:
        ValueError: ``rho`` or ``alpha`` < 0.
    """

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = 0.05,
        alpha: float = 0.1,
        model: nn.Module | None = None,
    ) -> None:
        super().__init__(base_optimizer, model, rho=rho, alpha=alpha)

    def _combine(self, g_p: list[list[Tensor]], g: list[list[Tensor]] | None) -> None:
        assert g is not None
        self._record_cosine(g_p, g)
        flat_g = [t for group in g for t in group]
        flat_gp = [t for group in g_p for t in group]
        coef = global_dot(flat_g, flat_gp) / (global_norm(flat_gp) ** 2 + ETA)
        for group, gp_group, g_group in zip(self.param_groups, g_p, g, strict=True):
            if gp_group:
                # d = g_p − α(g − c g_p) = (1 + α c) g_p − α g
                torch._foreach_mul_(gp_group, 1.0 + group["alpha"] * coef)
                torch._foreach_add_(gp_group, g_group, alpha=-group["alpha"])
