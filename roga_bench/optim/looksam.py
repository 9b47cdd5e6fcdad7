"""LookSAM (Liu et al., "Towards Efficient and Scalable Sharpness-Aware Minimization", CVPR 2022,
Algorithm 1) as a wrapper over any base optimizer, in whole-vector form.

At steps t with t mod k = 0 (full step, two forward-backward passes)::

    g = ∇L(θ),  g_s = ∇L(θ + ρ g/(‖g‖+η)),
    g_v = g_s − (⟨g_s, g⟩/(‖g‖²+η)) g        (the part of g_s orthogonal to g; stored)
    d = g_s                                   (SAM's direction)

at the other steps (reuse step, one forward-backward pass)::

    g = ∇L(θ),  d = g + α ‖g‖/(‖g_v‖+η) g_v   (g_v from the last full step)

‖·‖ and ⟨·,·⟩ run over all parameters as one vector (pytorch-optimizer's LookSAM projects tensor
by tensor, and its ``step(closure)`` calls the closure every step). ρ and α are param-group keys
(``rho``, ``alpha``), as are the step counter t (``look_step``) and ‖g_v‖ (``look_gv_norm``); g_v
lives per parameter in ``state[p]["looksam_gv"]``: all travel with ``state_dict()``, so a resume
mid-cycle continues the cycle.
With k = 1 every step is a full step: SAM exactly.

Usage (the closure is called twice on full steps, once on reuse steps)::

    opt = LookSAM(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), rho=0.05, k=5,
                  alpha=0.7, model=model)
    loss = opt.step(closure)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA, flat, global_dot, global_norm
from roga_bench.optim._look import advance, check_k, component_buffers, look_step, store_buffers
from roga_bench.optim._two_pass import TwoPassOptimizer
from roga_bench.optim.sam import SAM_RHO

__all__ = ["LookSAM", "LOOKSAM_K", "LOOKSAM_ALPHA"]

LOOKSAM_K = 5  # the paper's LookSAM-5
LOOKSAM_ALPHA = 0.7  # the public implementations' α (rollovd/looksam, pytorch-optimizer)
_GV = "looksam_gv"


class LookSAM(TwoPassOptimizer):
    """SAM's sharpness component computed every k steps and reused in between.

    Args:
        base_optimizer: applies d (lr, momentum, weight decay).
        rho: ρ >= 0, SAM's radius on full steps.
        k: a full step every k steps (k = 1: SAM).
        alpha: α >= 0, weight of the reused orthogonal component (relative to ‖g‖).
        model: network whose BatchNorm statistics the second pass must not update.

    Raises:
        ValueError: ``rho``/``alpha`` < 0, or ``k`` not an integer >= 1.
    """

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = SAM_RHO,
        k: int = LOOKSAM_K,
        alpha: float = LOOKSAM_ALPHA,
        model: nn.Module | None = None,
    ) -> None:
        self.k = check_k("LookSAM", k)
        super().__init__(base_optimizer, model, rho=rho, alpha=alpha)
        self._pending: tuple[list[Tensor], list[Tensor]] | None = None

    @property
    def look_step(self) -> int:
        """t: the number of steps taken so far (saved with ``state_dict``)."""
        return look_step(self.param_groups)

    def is_full_step(self) -> bool:
        """Whether the next ``step`` runs both passes (t mod k = 0)."""
        return self.look_step % self.k == 0

    def step(self, closure: Callable[[], Any] | None = None) -> Tensor:  # type: ignore[override]
        """One update; the closure runs twice on full steps and once on reuse steps.

        Returns:
            The loss at θ (detached).

        Raises:
            ValueError: no closure, or the closure returned None.
        """
        if closure is None:
            raise ValueError(
                "LookSAM.step needs a closure that zero-grads, forwards, backwards and returns "
                "the loss"
            )
        if self.is_full_step():
            return super().step(closure)
        with torch.enable_grad():
            loss = self._closure_loss(closure())
        self.reuse_step()
        return loss

    def second_step(self, zero_grad: bool = False) -> None:
        # a no_grad block, not the decorator: mutmut does not mutate decorated functions
        with torch.no_grad():
            super().second_step(zero_grad)
            if self._pending is not None:  # new g_v buffers join the state after the base step
                params, gv = self._pending
                store_buffers(self.state, params, gv, _GV)
                self._pending = None
                # one sync per cycle
                advance(self.param_groups, look_gv_norm=float(global_norm(gv)))
            else:
                advance(self.param_groups)
            self.stats["look_full"] = torch.ones(())

    def _combine(self, g_p: list[list[Tensor]], g: list[list[Tensor]] | None) -> None:
        """d = g_s (left in ``.grad``); store g_v = g_s − (⟨g_s,g⟩/(‖g‖²+η)) g and ‖g_v‖."""
        assert g is not None and self._groups is not None
        self._record_cosine(g_p, g)
        flat_g, flat_gp, params = flat(g), flat(g_p), flat(self._groups)
        if not params:
            return
        g_norm = self.stats["grad_norm"]  # ‖g‖, from first_step
        coef = global_dot(flat_gp, flat_g) / (g_norm**2 + ETA)
        gv = component_buffers(self.state, params, _GV)
        torch._foreach_copy_(gv, flat_gp)
        torch._foreach_addcmul_(gv, flat_g, [-coef] * len(gv))  # g_v = g_s − coef g
        self._pending = (params, gv)

    def reuse_step(self, zero_grad: bool = False) -> None:
        """With g = ∇L(θ) in ``.grad``: d = g + α ‖g‖/(‖g_v‖+η) g_v, then the base step.

        Call after ``loss.backward()`` at θ on steps where ``is_full_step()`` is False.

        Raises:
            RuntimeError: no parameter has a gradient.
        """
        with torch.no_grad():
            groups = self._params_with_grad()
            if not flat(groups):
                raise RuntimeError("LookSAM.reuse_step: no parameter has a gradient")
            g_norm = global_norm([p.grad for p in flat(groups)])  # type: ignore[misc]
            gv_norm = self.param_groups[0].get("look_gv_norm")
            if gv_norm is not None:
                ratio = g_norm / (gv_norm + ETA)
                for group, ps in zip(self.param_groups, groups, strict=True):
                    pairs = [
                        (p.grad, self.state[p][_GV]) for p in ps if _GV in self.state.get(p, {})
                    ]
                    if pairs:
                        grads, gvs = (list(x) for x in zip(*pairs, strict=True))
                        torch._foreach_addcmul_(grads, gvs, [group["alpha"] * ratio] * len(grads))
            self.stats = {"grad_norm": g_norm, "look_full": torch.zeros(())}
            self.base_optimizer.step()
            advance(self.param_groups)
            if zero_grad:
                self.zero_grad()
