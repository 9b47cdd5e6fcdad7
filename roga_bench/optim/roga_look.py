"""RoGA_Look: RoGA's per-domain sharpness-alignment component computed every k steps, reused in
between (LookSAM's idea applied to RoGA; ours, not in either paper).

Full step (t mod k = 0): the RoGA step of ``roga_bench.optim.roga`` (2K sub-passes), and per domain
the part of its perturbed gradient g_i^p that its own gradient g_i does not explain::

    c_i = ⟨g_i^p, g_i⟩/(‖g_i‖²+η),   v_i = g_i^p − c_i g_i   (v_i ⟂ g_i),
    u   = (1/K) Σ_i v_i/(‖v_i‖+η)                             (stored; ‖u‖ <= 1)

Reuse step: one forward-backward on the concatenated batch, g = ∇L(θ), and::

    d = g + (α_L/2) ‖g‖ u

Why this form: RoGA's direction is d = (1/K) Σ_i ½(g_i + g_i^p). LookSAM approximates a perturbed
gradient between full steps by the current gradient plus its stored orthogonal component rescaled
to α_L times the current gradient norm, g_i^p ≈ g_i + α_L ‖g_i‖ v_i/‖v_i‖. Putting that into
RoGA's direction gives (1/K) Σ_i [g_i + (α_L/2)‖g_i‖ v̂_i]; one pass on the concatenated batch
gives g (= (1/K) Σ g_i for equal batch sizes without BatchNorm) but not the per-domain norms, so
‖g_i‖ is replaced by ‖g‖. Each domain's flatness direction enters with weight 1/K as a unit
vector, so u is long when the domains agree on it and short when they do not: the reuse steps
push only along what the domains share, RoGA's alignment idea. With K = 1 the reuse step is
LookSAM's rule applied to SAGM's ½(g + g_s); with k = 1 every step is a full step: RoGA exactly.

State: the step counter in every param group (``look_step``), u per parameter in
``state[p]["roga_look_u"]``, so a resume mid-cycle continues the cycle. The reuse step's
closure is the ``joint`` argument of ``step`` (one pass on all domains' data); without it the K
domain closures run once each (one pass over the same data, K calls) and g = (1/K) Σ g_i.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._foreach import ETA, flat, global_dot, global_norm
from roga_bench.optim._look import advance, check_k, component_buffers, look_step, store_buffers
from roga_bench.optim.looksam import LOOKSAM_ALPHA, LOOKSAM_K
from roga_bench.optim.roga import RoGA

__all__ = ["RoGALook"]

Closure = Callable[[], Any]
_U = "roga_look_u"


class RoGALook(RoGA):
    """RoGA with LookSAM-style reuse (see the module docstring for the maths).

    Args:
        base_optimizer: applies d.
        rho, alpha, num_domains, align_to, model: as ``RoGA``.
        k: a full RoGA step every k steps (k = 1: RoGA).
        look_alpha: α_L >= 0, weight of the reused component (param-group key ``look_alpha``).

    Raises:
        ValueError: as ``RoGA``; ``k`` not an integer >= 1; ``look_alpha`` < 0.
    """

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = 0.1,
        alpha: float = 0.001,
        k: int = LOOKSAM_K,
        look_alpha: float = LOOKSAM_ALPHA,
        num_domains: int | None = None,
        align_to: str = "domain",
        model: nn.Module | None = None,
    ) -> None:
        self.k = check_k("RoGALook", k)
        if not look_alpha >= 0:
            raise ValueError(f"RoGALook: hparam 'look_alpha' must be >= 0, got {look_alpha!r}")
        super().__init__(base_optimizer, rho, alpha, num_domains, align_to, model)
        self._wrapper_defaults["look_alpha"] = look_alpha
        self._fill_groups()

    def _reset(self) -> None:
        super()._reset()
        self._u: list[Tensor] | None = None
        self._u_params: list[Tensor] | None = None
        self._u_count = 0

    @property
    def look_step(self) -> int:
        """t: the number of steps taken so far (saved with ``state_dict``)."""
        return look_step(self.param_groups)

    def is_full_step(self) -> bool:
        """Whether the next ``step`` runs the full RoGA step (t mod k = 0)."""
        return self.look_step % self.k == 0

    def step(  # type: ignore[override]
        self, closures: Sequence[Closure] | None = None, joint: Closure | None = None
    ) -> Tensor:
        """One update from one closure per domain (and ``joint``, used on reuse steps).

        Args:
            closures: as ``RoGA.step``; on reuse steps used only when ``joint`` is None.
            joint: zero-grads, forwards the concatenation of all domains' minibatches,
                backwards, returns the loss: the reuse step's single forward-backward.

        Returns:
            The loss at θ (full steps: the mean of the domains' first-pass losses).

        Raises:
            ValueError: as ``RoGA.step``.
        """
        if self.is_full_step():
            return super().step(closures)
        if closures is None or callable(closures):
            raise ValueError("RoGALook.step takes a list of closures, one per training domain")
        closures = list(closures)
        self._check_count(len(closures))
        with torch.enable_grad():
            loss = self._closure_loss(joint()) if joint is not None else self._domain_mean(closures)
        self.reuse_step()
        return loss

    def _domain_mean(self, closures: list[Closure]) -> Tensor:
        """Run every domain's closure once; leave (1/K) Σ g_i in ``.grad``.

        A parameter that some domains do not reach counts 0 for them (it gets its 1/K share of
        the others' gradients), as the joint pass on the concatenated batch would give it.
        """
        acc: dict[Tensor, Tensor] = {}  # parameter -> sum of its domain gradients, first-seen order
        losses = []
        for closure in closures:
            losses.append(self._closure_loss(closure()))
            with torch.no_grad():
                for p in flat(self._params_with_grad()):
                    if p in acc:
                        acc[p].add_(p.grad)  # type: ignore[arg-type]
                    else:
                        acc[p] = p.grad  # type: ignore[assignment]
                    p.grad = None  # the next closure's backward starts from no gradient
        with torch.no_grad():
            for p, g in acc.items():
                p.grad = g.mul_(1.0 / len(closures))
        return torch.stack([x.to(losses[0].device) for x in losses]).mean()

    def reuse_step(self, zero_grad: bool = False) -> None:
        """With g = ∇L(θ) in ``.grad``: d = g + (α_L/2) ‖g‖ u, then the base step.

        Raises:
            RuntimeError: no parameter has a gradient.
        """
        # a no_grad block, not the decorator: mutmut does not mutate decorated functions
        with torch.no_grad():
            groups = self._params_with_grad()
            if not flat(groups):
                raise RuntimeError("RoGALook.reuse_step: no parameter has a gradient")
            g_norm = global_norm([p.grad for p in flat(groups)])  # type: ignore[misc]
            for group, ps in zip(self.param_groups, groups, strict=True):
                pairs = [(p.grad, self.state[p][_U]) for p in ps if _U in self.state.get(p, {})]
                if pairs:
                    grads, us = (list(x) for x in zip(*pairs, strict=True))
                    scale = 0.5 * group["look_alpha"] * g_norm
                    torch._foreach_addcmul_(grads, us, [scale] * len(grads))
            self.stats = {"grad_norm": g_norm, "look_full": torch.zeros(())}
            self.base_optimizer.step()
            advance(self.param_groups)
            if zero_grad:
                self.zero_grad()

    # --- the full step: RoGA's, plus u ---------------------------------------------------------
    def _start(self) -> None:
        super()._start()
        params = flat(self._groups)  # type: ignore[arg-type]
        self._u_params = params
        self._u = component_buffers(self.state, params, _U)
        self._u_count = 0

    def _after_second_pass(
        self, g_i: list[Tensor], g_p: list[Tensor], dot: Tensor | None, g_norm: Tensor | None
    ) -> None:
        """u += v_i/(‖v_i‖+η), v_i = g_i^p − c_i g_i (the 1/K comes in ``_apply``)."""
        assert self._u is not None
        if dot is None or g_norm is None:
            dot, g_norm = global_dot(g_i, g_p), global_norm(g_i)
        coef = dot / (g_norm**2 + ETA)
        # ‖v_i‖ tensor by tensor: no parameter-sized temporary for all tensors at once
        v_norm = torch.linalg.vector_norm(
            torch.stack(
                [
                    torch.linalg.vector_norm(torch.addcmul(gp, gi, -coef)).to(coef.device)
                    for gi, gp in zip(g_i, g_p, strict=True)
                ]
            )
        )
        inv = 1.0 / (v_norm + ETA)
        torch._foreach_addcmul_(self._u, g_p, [inv] * len(self._u))
        torch._foreach_addcmul_(self._u, g_i, [-coef * inv] * len(self._u))
        self._u_count += 1

    def _apply(self, direction: list[Tensor]) -> None:
        u, params, count = self._u, self._u_params, self._u_count
        assert u is not None and params is not None and count > 0
        torch._foreach_mul_(u, 1.0 / count)
        super()._apply(direction)  # base step, then _reset
        store_buffers(self.state, params, u, _U)
        advance(self.param_groups)
        self.stats["look_full"] = torch.ones(())
