"""SAM and ASAM as wrappers over any base optimizer.

SAM (Foret et al., ICLR 2021, Eq. 2): e = ρ g/(‖g‖+η), d = ∇L(θ+e).
ASAM (Kwon et al., ICML 2021, normalisation operator T_θ = |θ| elementwise):
    e = ρ T²g/(‖T g‖+η), d = ∇L(θ+e).

Usage (a plain loop)::

    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), rho=0.05, model=model)
    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss
    loss = opt.step(closure)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA, global_norm
from roga_bench.optim._two_pass import TwoPassOptimizer

__all__ = ["SAM"]


class SAM(TwoPassOptimizer):
    """Sharpness-aware minimisation; ``adaptive=True`` gives ASAM.

    Args:
        base_optimizer: applies d (lr, momentum, weight decay).
        rho: neighbourhood radius ρ >= 0 (per group key ``rho``; ρ = 0 gives the base optimizer).
        adaptive: ASAM's scale-invariant neighbourhood, T = |θ| elementwise.
        model: network whose BatchNorm statistics the second pass must not update.

    Raises:
        ValueError: ``rho`` < 0.
    """

    keeps_first_grad = False  # d = g_p needs nothing from the first pass

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = 0.05,
        adaptive: bool = False,
        model: nn.Module | None = None,
    ) -> None:
        super().__init__(base_optimizer, model, rho=rho)
        self.adaptive = adaptive

    def _perturbations(
        self, groups: list[list[Tensor]], grads: list[list[Tensor]], grad_norm: Tensor
    ) -> list[list[Tensor]]:
        if not self.adaptive:
            return super()._perturbations(groups, grads, grad_norm)
        # ‖T g‖ over all groups, then e = ρ T² g/(‖T g‖+η) per group.
        t_g = [
            torch._foreach_mul(gs, torch._foreach_abs(ps)) if gs else []
            for ps, gs in zip(groups, grads, strict=True)
        ]
        t_norm = global_norm([t for group in t_g for t in group])
        perturbations = []
        for group, ps, gs in zip(self.param_groups, groups, grads, strict=True):
            if not gs:
                perturbations.append([])
                continue
            e = torch._foreach_mul(gs, torch._foreach_mul(ps, ps))
            torch._foreach_mul_(e, group["rho"] / (t_norm + ETA))
            perturbations.append(e)
        return perturbations
