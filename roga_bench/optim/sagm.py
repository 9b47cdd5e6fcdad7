"""SAGM (Wang et al., "Sharpness-Aware Gradient Matching for Domain Generalization", CVPR 2023).

The update in the form of DESIGN §4 (α is an absolute step along g, not scaled by the lr):
    e = (ρ/(‖g‖+η) − α) g,    d = ½ (g + ∇L(θ+e)).
With ρ = α = 0 this is ½(g + g) = g, plain ERM.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA
from roga_bench.optim._two_pass import TwoPassOptimizer

__all__ = ["SAGM"]


class SAGM(TwoPassOptimizer):
    """Sharpness-aware gradient matching.

    Args:
        base_optimizer: applies d.
        rho: ρ >= 0, radius of the ascent step.
        alpha: α >= 0, the step back along g that aligns the perturbed gradient with g.
        model: network whose BatchNorm statistics the second pass must not update.

    Raises:
        ValueError: ``rho`` or ``alpha`` < 0.
    """

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = 0.05,
        alpha: float = 0.001,
        model: nn.Module | None = None,
    ) -> None:
        super().__init__(base_optimizer, model, rho=rho, alpha=alpha)

    def _scale(self, group: dict[str, Any], grad_norm: Tensor) -> Tensor:
        return group["rho"] / (grad_norm + ETA) - group["alpha"]

    def _combine(self, g_p: list[list[Tensor]], g: list[list[Tensor]] | None) -> None:
        assert g is not None
        self._record_cosine(g_p, g)
        for gp_group, g_group in zip(g_p, g, strict=True):
            if gp_group:
                torch._foreach_add_(gp_group, g_group)  # g_p + g
                torch._foreach_mul_(gp_group, 0.5)  # d = ½ (g + g_p)
