"""SAM and ASAM as wrappers over any base optimizer.

SAM (Foret et al., ICLR 2021, Eq. 2): e = ρ g/(‖g‖+η), d = ∇L(θ+e).
ASAM (Kwon et al., ICML 2021, Eq. 9-10, normalisation operator T_θ):
    e = ρ T²g/(‖T g‖+η), d = ∇L(θ+e),
where T is elementwise and ``adaptive_on`` says which parameters get it:

- ``"weights"`` (default, the ASAM authors' code, SamsungLabs/ASAM): T = |w| + η_T (η_T =
  ``adaptive_eta`` = 0.01) on parameters whose name contains ``weight`` (BatchNorm's included),
  T = 1 on the others (biases). The names come from ``model``; without one every parameter counts
  as a weight.
- ``"all"``: T = |w| + η_T on every parameter. With ``adaptive_eta=0`` this is exactly davda54/sam's
  and pytorch-optimizer's ``SAM(..., adaptive=True)`` (T = |w|, no η_T).
- a callable ``(name, parameter) -> bool``: T = |w| + η_T where it returns True, 1 elsewhere
  (needs ``model`` for the names).

``model`` itself only freezes BatchNorm running statistics in the second pass; the rule above is
independent of it.

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

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA, global_norm
from roga_bench.optim._two_pass import TwoPassOptimizer

__all__ = ["SAM", "SAM_RHO", "ASAM_RHO", "ADAPTIVE_RULES"]

SAM_RHO = 0.05  # SAM's default radius (Foret et al.)
ASAM_RHO = 0.5  # ASAM's default radius: |w|-normalised, a different scale (Kwon et al.)
ADAPTIVE_RULES = ("weights", "all")

AdaptiveRule = str | Callable[[str, Tensor], bool]


class SAM(TwoPassOptimizer):
    """Sharpness-aware minimisation; ``adaptive=True`` gives ASAM.

    Args:
        base_optimizer: applies d (lr, momentum, weight decay).
        rho: neighbourhood radius ρ >= 0 (per group key ``rho``; ρ = 0 gives the base optimizer).
            Default: 0.05 for SAM, 0.5 for ASAM (``SAM_RHO``, ``ASAM_RHO``).
        adaptive: ASAM's scale-invariant neighbourhood (T as in the module docstring).
        model: network whose BatchNorm statistics the second pass must not update; also the
            source of parameter names for ``adaptive_on``.
        adaptive_eta: ASAM's η_T, which keeps T > 0 for zero weights (the authors' 0.01).
        adaptive_on: which parameters get T = |w| + η_T (the others T = 1): ``"weights"``,
            ``"all"`` or a callable ``(name, parameter) -> bool``.

    Raises:
        ValueError: ``rho`` or ``adaptive_eta`` < 0, an unknown ``adaptive_on`` rule, or a
            callable rule without ``model``.
    """

    keeps_first_grad = False  # d = g_p needs nothing from the first pass

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float | None = None,
        adaptive: bool = False,
        model: nn.Module | None = None,
        adaptive_eta: float = 0.01,
        adaptive_on: AdaptiveRule = "weights",
    ) -> None:
        if not adaptive_eta >= 0:
            raise ValueError(f"SAM: adaptive_eta must be >= 0, got {adaptive_eta!r}")
        if not callable(adaptive_on) and adaptive_on not in ADAPTIVE_RULES:
            raise ValueError(
                f"SAM: adaptive_on must be one of {ADAPTIVE_RULES} or a callable "
                f"(name, parameter) -> bool, got {adaptive_on!r}"
            )
        if callable(adaptive_on) and model is None:
            raise ValueError("SAM: a callable adaptive_on needs model= for the parameter names")
        if rho is None:
            rho = ASAM_RHO if adaptive else SAM_RHO
        super().__init__(base_optimizer, model, rho=rho)
        self.adaptive = adaptive
        self.adaptive_eta = adaptive_eta
        self.adaptive_on = adaptive_on

    def _unscaled(self) -> set[int]:
        """ids of the parameters that get T = 1 under ``adaptive_on``."""
        if self.model is None or self.adaptive_on == "all":
            return set()
        rule = self.adaptive_on
        if rule == "weights":
            return {id(p) for n, p in self.model.named_parameters() if "weight" not in n}
        return {id(p) for n, p in self.model.named_parameters() if not rule(n, p)}  # type: ignore[operator]

    def _operator(self, ps: list[Tensor]) -> list[Tensor]:
        """T per parameter: |w| + η_T where ``adaptive_on`` says so, ones elsewhere."""
        t = torch._foreach_add(torch._foreach_abs(ps), self.adaptive_eta)
        # Looked up each step (not cached by id): deepcopy and pickling give new tensors.
        ones = self._unscaled()
        if not ones:
            return t
        return [torch.ones_like(p) if id(p) in ones else x for p, x in zip(ps, t, strict=True)]

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
