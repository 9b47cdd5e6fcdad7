"""RoGA: robust gradient alignment over training domains, as a wrapper over any base optimizer.

RoGA ("Towards Generalizable Deepfake Detection through Robust Gradient Alignment", ICME 2025).
The paper's equations did not survive in the copy this project works from; the update below is the
reconstruction of DESIGN §4 from the paper's text:

* per domain i, the SAM problem min_θ max_{‖e_i‖≤ρ} L_i(θ+e_i), first-order solution
  e_i = ρ g_i/‖g_i‖ with g_i = ∇L_i(θ)  (paper Eq. 3-4);
* the objective averages the robust losses over the K domains  (Eq. 5);
* domain-aware alignment: keep the perturbed gradient of each domain aligned with its own ERM
  gradient, i.e. maximise α⟨∇L_i(θ+e_i), g_i⟩  (Eq. 6).
Using L_i(θ+e_i−αg_i) ≈ L_i(θ+e_i) − α⟨∇L_i(θ+e_i), g_i⟩ and treating e_i as a constant (the paper
"decouples ε from θ"), the objective (1/K) Σ_i [L_i(θ) + L_i(θ+e_i) − α⟨∇L_i(θ+e_i), g_i⟩] gives

    e_i = (ρ/(‖g_i‖+η) − α) g_i,   g_i^p = ∇L_i(θ+e_i),   d = (1/K) Σ_i ½ (g_i + g_i^p).

``align_to="global"`` aligns to the global gradient g = (1/K) Σ_i g_i instead:
e_i = ρ g_i/(‖g_i‖+η) − α g. With ρ = α = 0, d = (1/K) Σ g_i (ERM with per-domain batches); with
K = 1 it is SAGM.

Memory: ``domain`` interleaves the passes (first pass, climb, second pass, restore) domain by
domain and holds θ, Σ(g_i + g_i^p) and g_i: ~3x the parameters. ``global`` must see every g_i
before the first climb and holds the K g_i, g and θ: (K+2)x.

Usage::

    opt = RoGA(torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9), rho=0.1, alpha=0.001,
               num_domains=len(batches), model=model)
    def make_closure(x, y):
        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        return closure
    loss = opt.step([make_closure(x, y) for x, y in batches])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from roga_bench.optim._batchnorm import disable_running_stats
from roga_bench.optim._foreach import (
    ETA,
    backup,
    cosine,
    flat,
    global_distance,
    global_dot,
    global_norm,
    split,
)
from roga_bench.optim._wrapper import WrapperOptimizer

__all__ = ["RoGA", "ALIGN_TARGETS"]

ALIGN_TARGETS = ("domain", "global")
Closure = Callable[[], Any]


class RoGA(WrapperOptimizer):
    """Robust gradient alignment (see the module docstring for the maths).

    Args:
        base_optimizer: applies d (lr, momentum, weight decay).
        rho: ρ >= 0, radius of each domain's ascent step.
        alpha: α >= 0, weight of the alignment term.
        num_domains: if given, every step must get exactly this many closures.
        align_to: ``"domain"`` (align to g_i) or ``"global"`` (align to g = mean of the g_i).
        model: network whose BatchNorm statistics the second passes must not update.

    Raises:
        ValueError: negative ``rho``/``alpha``, ``num_domains`` < 1, unknown ``align_to``.
    """

    def __init__(
        self,
        base_optimizer: Optimizer,
        rho: float = 0.1,
        alpha: float = 0.001,
        num_domains: int | None = None,
        align_to: str = "domain",
        model: nn.Module | None = None,
    ) -> None:
        if align_to not in ALIGN_TARGETS:
            raise ValueError(f"RoGA: align_to must be one of {ALIGN_TARGETS}, got {align_to!r}")
        if num_domains is not None and num_domains < 1:
            raise ValueError(f"RoGA: num_domains must be >= 1, got {num_domains}")
        super().__init__(base_optimizer, model, rho=rho, alpha=alpha)
        self.num_domains = num_domains
        self.align_to = align_to
        self._reset()

    def _reset(self) -> None:
        self._groups: list[list[Tensor]] | None = None
        self._backup: list[Tensor] | None = None
        self._acc: list[Tensor] | None = None  # Σ_i (g_i + g_i^p)
        self._g_i: list[Tensor] | None = None
        self._reached: list[bool] | None = None  # per parameter: did any pass reach it
        self._k = 0
        self._diag: dict[str, list[Tensor]] = {"grad_norm": [], "perturb_norm": [], "cos": []}

    def _check_count(self, k: int) -> None:
        if k == 0:
            raise ValueError("RoGA.step needs one closure per training domain, got none")
        if self.num_domains is not None and k != self.num_domains:
            raise ValueError(
                f"RoGA got {k} closure(s)/domain(s) but num_domains="
                f"{self.num_domains}; pass one closure per training domain"
            )

    def step(self, closures: Sequence[Closure] | None = None) -> Tensor:  # type: ignore[override]
        """One RoGA update from one closure per domain.

        Args:
            closures: closure i zero-grads, forwards domain i's minibatch, backwards and returns
                its loss. It is called twice (at θ and at θ + e_i).

        Returns:
            The mean over domains of the first-pass losses (detached).

        Raises:
            ValueError: no closures, or their number differs from ``num_domains``.
        """
        if closures is None or callable(closures):
            raise ValueError("RoGA.step takes a list of closures, one per training domain")
        closures = list(closures)
        self._check_count(len(closures))
        try:
            losses = (self._step_global if self.align_to == "global" else self._step_domain)(
                closures
            )
        except BaseException:
            self._abort()  # never leave the parameters at some θ + e_i
            raise
        return torch.stack([loss.to(losses[0].device) for loss in losses]).mean()

    def _step_domain(self, closures: list[Closure]) -> list[Tensor]:
        losses = []
        for closure in closures:
            with torch.enable_grad():
                losses.append(self._closure_loss(closure()))
            self.first_step(zero_grad=True)
            with torch.enable_grad(), disable_running_stats(self.model):
                closure()
            self.second_step(zero_grad=True)
        self.final_step()
        return losses

    def _abort(self) -> None:
        """Put θ back and forget a half-done step."""
        # a no_grad block, not the decorator: mutmut does not mutate decorated functions
        with torch.no_grad():
            if self._backup is not None and self._groups is not None:
                torch._foreach_copy_(flat(self._groups), self._backup)
            self._reset()

    # --- align_to="domain": the lower-level calls, one domain at a time -----------------------
    def first_step(self, zero_grad: bool = False) -> None:
        """With g_i = ∇L_i(θ) in ``.grad``: save θ (first domain only) and g_i, climb to θ + e_i.

        Raises:
            RuntimeError: ``align_to="global"`` (use ``step``), or no parameter has a gradient.
        """
        with torch.no_grad():
            if self.align_to != "domain":
                raise RuntimeError(
                    "RoGA.first_step/second_step implement align_to='domain'; "
                    "use step(closures) for align_to='global'"
                )
            if self._groups is None:
                self._start()
            groups = self._groups
            assert groups is not None
            params = flat(groups)
            # Keep the .grad tensors themselves rather than a clone: a fresh |θ|-sized allocation
            # per domain costs about five in-place passes on the CPU (page faults). Detaching them
            # from the parameters makes the next backward allocate new ones, so g_i stays intact.
            g_i = self._pass_grads(params)
            for p in params:
                p.grad = None
            per_group = split(g_i, groups)
            group_norms = [global_norm(gs).to(g_i[0].device) for gs in per_group]
            norm = torch.linalg.vector_norm(torch.stack(group_norms))
            perturb_sq = torch.zeros((), dtype=norm.dtype, device=norm.device)
            for group, ps, gs, group_norm in zip(
                self.param_groups, groups, per_group, group_norms, strict=True
            ):
                if ps:
                    scale = group["rho"] / (norm + ETA) - group["alpha"]
                    # θ ← θ + s g_i in place: no temporary e_i the size of the parameters
                    torch._foreach_addcmul_(ps, gs, [scale] * len(ps))
                    perturb_sq = perturb_sq + (scale * group_norm) ** 2
            self._diag["perturb_norm"].append(perturb_sq.sqrt())
            self._g_i = g_i
            self._diag["grad_norm"].append(norm)
            if zero_grad:
                self.zero_grad()

    def second_step(self, zero_grad: bool = False) -> None:
        """With g_i^p = ∇L_i(θ+e_i) in ``.grad``: restore θ exactly, accumulate g_i + g_i^p."""
        with torch.no_grad():
            if self._g_i is None or self._backup is None:
                raise RuntimeError("RoGA.second_step called before first_step")
            params = flat(self._groups)  # type: ignore[arg-type]
            torch._foreach_copy_(params, self._backup)  # θ ← saved θ, bit-exact
            g_p = self._pass_grads(params)
            g_norm = self._diag["grad_norm"][-1]  # ‖g_i‖, already known from first_step
            dot = global_dot(self._g_i, g_p)
            self._diag["cos"].append(dot / (g_norm * global_norm(g_p) + ETA))
            self._after_second_pass(self._g_i, g_p, dot, g_norm)
            if self._acc is None:
                self._acc = self._g_i  # our own buffer since first_step detached it
            else:
                torch._foreach_add_(self._acc, self._g_i)
            torch._foreach_add_(self._acc, g_p)
            self._g_i = None
            self._k += 1
            if zero_grad:
                self.zero_grad()

    def final_step(self) -> None:
        """Write d = (1/K) Σ ½(g_i + g_i^p) into ``.grad`` and apply ``base_optimizer.step()``.

        Raises:
            RuntimeError: no domain was completed; ValueError: K differs from ``num_domains``.
        """
        with torch.no_grad():
            if self._k == 0 or self._acc is None or self._g_i is not None:
                raise RuntimeError("RoGA.final_step needs first_step/second_step for every domain")
            self._check_count(self._k)
            torch._foreach_mul_(self._acc, 0.5 / self._k)
            self._apply(self._acc)

    def _after_second_pass(
        self, g_i: list[Tensor], g_p: list[Tensor], dot: Tensor | None, g_norm: Tensor | None
    ) -> None:
        """Subclass hook: domain i's g_i and g_i^p (flat, read-only), before they are summed.

        ``dot`` = ⟨g_i, g_i^p⟩ and ``g_norm`` = ‖g_i‖ when already known (None otherwise).
        """

    def _start(self) -> None:
        if not flat(self._params_with_grad()):
            raise RuntimeError("RoGA: no parameter has a gradient; call loss.backward() first")
        # every trainable parameter, not only those domain 0 reaches: a later domain may reach
        # others, and d gives them their 1/K share (zeros for the domains that do not)
        groups = [[p for p in g["params"] if p.requires_grad] for g in self.param_groups]
        params = flat(groups)
        self._groups = groups
        self._reached = [False] * len(params)
        self._backup = backup(params, getattr(self, "_spare", None))
        self._acc = None  # becomes domain 0's g_0 buffer in second_step: no zeros, one add less

    def _pass_grads(self, params: list[Tensor]) -> list[Tensor]:
        """``.grad`` of each parameter, zeros where this pass did not reach it (noted first)."""
        self._reached = [
            r or p.grad is not None
            for r, p in zip(self._reached, params, strict=True)  # type: ignore[arg-type]
        ]
        return self._grads(params)

    def _apply(self, direction: list[Tensor]) -> None:
        """``.grad`` ← d (the buffers themselves, no copy; None for a parameter no pass reached,
        which the base step then leaves alone), base step, diagnostics."""
        params, reached = flat(self._groups), self._reached  # type: ignore[arg-type]
        for p, d, r in zip(params, direction, reached, strict=True):  # type: ignore[arg-type]
            p.grad = d if r else None
        diag = self._diag
        self.stats = {
            "grad_norm": torch.stack(diag["grad_norm"]).mean(),
            "perturb_norm": torch.stack(diag["perturb_norm"]).mean(),
            "cos_g_gp": torch.stack(diag["cos"]).mean(),
            **{f"cos_d{i}": c for i, c in enumerate(diag["cos"])},
        }
        self._spare = self._backup
        self._reset()
        self.base_optimizer.step()

    # --- align_to="global" --------------------------------------------------------------------
    def _step_global(self, closures: list[Closure]) -> list[Tensor]:
        losses, g_list = [], []
        for closure in closures:  # every g_i at θ first: e_i needs the global g
            with torch.enable_grad():
                losses.append(self._closure_loss(closure()))
            with torch.no_grad():
                if self._groups is None:
                    self._start()
                    self._acc = None  # reuses g_0's buffer below: (K+2)x parameters at most
                g_list.append(torch._foreach_clone(self._pass_grads(flat(self._groups))))
            self.zero_grad()
        k = len(closures)
        with torch.no_grad():
            g = torch._foreach_clone(g_list[0])
            for g_i in g_list[1:]:
                torch._foreach_add_(g, g_i)
            torch._foreach_mul_(g, 1.0 / k)
            # One host sync for all K scales, so the climb needs no temporary e_i buffer.
            norms = torch.stack([global_norm(g_i).to(g[0].device) for g_i in g_list])
            self._diag["grad_norm"] = list(norms)
            norm_values = norms.tolist()
        for i, closure in enumerate(closures):
            self._global_domain(i, closure, g_list, g, norm_values[i])
        with torch.no_grad():
            assert self._acc is not None
            torch._foreach_mul_(self._acc, 0.5 / k)  # (1/2K) Σ g_i^p
            torch._foreach_add_(self._acc, g, alpha=0.5)  # + ½ g
            self._apply(self._acc)
        return losses

    def _global_domain(
        self, i: int, closure: Closure, g_list: list[Any], g: list[Tensor], norm: float
    ) -> None:
        groups, params = self._groups, flat(self._groups)  # type: ignore[arg-type]
        with torch.no_grad():  # θ ← θ + ρ g_i/(‖g_i‖+η) − α g
            for group, ps, gi, gg in zip(
                self.param_groups, groups, split(g_list[i], groups), split(g, groups), strict=True
            ):
                if ps:
                    torch._foreach_add_(ps, gi, alpha=group["rho"] / (norm + ETA))
                    torch._foreach_add_(ps, gg, alpha=-group["alpha"])
            self._diag["perturb_norm"].append(global_distance(params, self._backup))  # type: ignore[arg-type]
        with torch.enable_grad(), disable_running_stats(self.model):
            closure()
        with torch.no_grad():
            torch._foreach_copy_(params, self._backup)  # type: ignore[arg-type]
            g_p = self._pass_grads(params)
            self._diag["cos"].append(cosine(g_list[i], g_p))
            self._after_second_pass(g_list[i], g_p, None, None)
            if self._acc is None:
                self._acc = g_list[0]
                torch._foreach_copy_(self._acc, g_p)
            else:
                torch._foreach_add_(self._acc, g_p)
            g_list[i] = None  # free g_i
        self.zero_grad()
