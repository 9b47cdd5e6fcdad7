"""SAM and ASAM as wrappers over any base optimizer.

SAM (Foret et al., ICLR 2021, Eq. 2): e = ρ g/(‖g‖+η), d = ∇L(θ+e).
ASAM (Kwon et al., ICML 2021, Eq. 9-10, normalisation operator T_θ):
    e = ρ T²g/(‖T g‖+η), d = ∇L(θ+e),
with T = |w| + η_T (η_T = 0.01) on weights and T = 1 on biases, as in the authors' code
(SamsungLabs/ASAM applies T to parameters named ``weight``, BatchNorm's included). Without a
``model`` the names are unknown and every parameter counts as a weight.

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
        adaptive: ASAM's scale-invariant neighbourhood, T = |w| + ``adaptive_eta`` on weights.
        model: network whose BatchNorm statistics the second pass must not update; with ASAM its
            parameter names also say which parameters are weights (``weight`` in the name).
        adaptive_eta: ASAM's η_T, which keeps T > 0 for zero weights (the authors' 0.01).

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
        adaptive_eta: float = 0.01,
    ) -> None:
        if not adaptive_eta >= 0:
            raise ValueError(f"SAM: adaptive_eta must be >= 0, got {adaptive_eta!r}")
        super().__init__(base_optimizer, model, rho=rho)
        self.adaptive = adaptive
        self.adaptive_eta = adaptive_eta

    def _operator(self, ps: list[Tensor]) -> list[Tensor]:
        """T per parameter: |w| + η_T for weights, ones for biases."""
        t = torch._foreach_add(torch._foreach_abs(ps), self.adaptive_eta)
        if self.model is None:
            return t
        # Looked up each step (not cached by id): deepcopy and pickling give new tensors.
        biases = {id(p) for n, p in self.model.named_parameters() if "weight" not in n}
        return [torch.ones_like(p) if id(p) in biases else x for p, x in zip(ps, t, strict=True)]

    def _perturbations(
        self, groups: list[list[Tensor]], grads: list[list[Tensor]], grad_norm: Tensor
    ) -> list[list[Tensor]]:
        if not self.adaptive:
            return super()._perturbations(groups, grads, grad_norm)
        # ‖T g‖ over all groups, then e = ρ T² g/(‖T g‖+η) per group.
        ts = [self._operator(ps) if ps else [] for ps in groups]
        t_g = [torch._foreach_mul(gs, t) if gs else [] for t, gs in zip(ts, grads, strict=True)]
        t_norm = global_norm([t for group in t_g for t in group])
        perturbations = []
        for group, t, gs in zip(self.param_groups, ts, t_g, strict=True):
            if not gs:
                perturbations.append([])
                continue
            e = torch._foreach_mul(gs, t)  # T (T g) = T² g
            torch._foreach_mul_(e, group["rho"] / (t_norm + ETA))
            perturbations.append(e)
        return perturbations
