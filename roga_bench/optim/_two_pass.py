"""The two-pass protocol of SAM, ASAM, SAGM and GSAM (davda54/sam's ``first_step``/``second_step``).

1. first pass: g = ∇L(θ) is in ``.grad``; ``first_step`` saves θ (and g), climbs to θ + e;
2. second pass at θ + e (BatchNorm running statistics frozen): g_p = ∇L(θ+e) is in ``.grad``;
   ``second_step`` copies θ back (bit-exact, never θ + e − e), writes the direction d into ``.grad``
   and calls ``base_optimizer.step()``.
Subclasses only say how e is scaled (``_scale``) and how d is formed (``_combine``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from roga_bench.optim._batchnorm import disable_running_stats
from roga_bench.optim._foreach import ETA, backup, cosine, flat, global_norm
from roga_bench.optim._wrapper import WrapperOptimizer

__all__ = ["TwoPassOptimizer"]


class TwoPassOptimizer(WrapperOptimizer):
    """Base of the single-objective two-pass optimizers (see the module docstring)."""

    # Subclasses whose direction needs g = ∇L(θ) after the second pass keep a copy of it.
    keeps_first_grad = True

    _backup: list[Tensor] | None = None
    _groups: list[list[Tensor]] | None = None
    _g: list[list[Tensor]] | None = None

    def step(self, closure: Callable[[], Any] | None = None) -> Tensor:  # type: ignore[override]
        """One update: two forward/backward passes through ``closure``, then the base step.

        Args:
            closure: zero-grads, forwards, backwards and returns the loss.

        Returns:
            The loss of the first pass (detached).

        Raises:
            ValueError: no closure, or the closure returned None.
        """
        if closure is None:
            raise ValueError(
                f"{type(self).__name__}.step needs a closure that zero-grads, "
                "forwards, backwards and returns the loss"
            )
        with torch.enable_grad():
            loss = self._closure_loss(closure())
        self.first_step(zero_grad=True)
        try:
            with torch.enable_grad(), disable_running_stats(self.model):
                closure()
        except BaseException:  # never leave the parameters at θ + e
            with torch.no_grad():
                torch._foreach_copy_(flat(self._groups), self._backup)  # type: ignore[arg-type]
            self._backup = self._groups = self._g = None
            raise
        self.second_step()
        return loss

    def first_step(self, zero_grad: bool = False) -> None:
        """Save θ (and g), then move to θ + e. Call after ``loss.backward()`` at θ.

        Raises:
            RuntimeError: no parameter has a gradient.
        """
        # a no_grad block, not the decorator: mutmut does not mutate decorated functions
        with torch.no_grad():
            groups = self._params_with_grad()
            params = flat(groups)
            if not params:
                raise RuntimeError(
                    f"{type(self).__name__}.first_step: no parameter has a gradient; "
                    "call loss.backward() first"
                )
            grads = [[p.grad for p in ps] for ps in groups]
            self._groups = groups
            self._backup = backup(params, getattr(self, "_spare", None))
            # Keep g as the .grad tensors themselves (no clone): detached from the parameters, the
            # second backward allocates new ones and g stays intact.
            keep = self.keeps_first_grad
            self._g = [list(gs) for gs in grads] if keep else None  # type: ignore[misc]
            if keep:
                for p in params:
                    p.grad = None
            grad_norm = global_norm(flat(grads))  # type: ignore[arg-type]
            perturbations = self._perturbations(groups, grads, grad_norm)  # type: ignore[arg-type]
            for ps, e in zip(groups, perturbations, strict=True):
                if ps:
                    torch._foreach_add_(ps, e)  # θ ← θ + e
            self.stats = {"grad_norm": grad_norm, "perturb_norm": global_norm(flat(perturbations))}
            if zero_grad:
                self.zero_grad()

    def second_step(self, zero_grad: bool = False) -> None:
        """Restore θ exactly, write d into ``.grad``, apply ``base_optimizer.step()``.

        Call after ``loss.backward()`` at θ + e.

        Raises:
            RuntimeError: ``first_step`` was not called before.
        """
        with torch.no_grad():
            if self._backup is None or self._groups is None:
                raise RuntimeError(f"{type(self).__name__}.second_step called before first_step")
            torch._foreach_copy_(flat(self._groups), self._backup)  # θ ← saved θ, bit-exact
            g_p = [self._grads(ps) for ps in self._groups]
            self._combine(g_p, self._g)  # .grad ← d, in place
            self._spare = self._backup
            self._backup = self._groups = self._g = None
            self.base_optimizer.step()
            if zero_grad:
                self.zero_grad()

    # --- what subclasses define ---------------------------------------------------------------
    def _scale(self, group: dict[str, Any], grad_norm: Tensor) -> Tensor:
        """The factor s of e = s·g in ``group`` (SAM: ρ/(‖g‖+η))."""
        return group["rho"] / (grad_norm + ETA)

    def _perturbations(
        self, groups: list[list[Tensor]], grads: list[list[Tensor]], grad_norm: Tensor
    ) -> list[list[Tensor]]:
        """e for every parameter, group by group."""
        return [
            torch._foreach_mul(gs, self._scale(group, grad_norm)) if gs else []
            for group, gs in zip(self.param_groups, grads, strict=True)
        ]

    def _combine(self, g_p: list[list[Tensor]], g: list[list[Tensor]] | None) -> None:
        """Turn ``g_p`` (the ``.grad`` tensors) into d in place; SAM: d = g_p."""

    def _record_cosine(self, g_p: list[list[Tensor]], g: list[list[Tensor]]) -> None:
        self.stats["cos_g_gp"] = cosine(flat(g), flat(g_p))
