"""A radius ρ that follows the base optimizer's learning rate, for every wrapper.

GSAM (Zhuang et al., ICLR 2022, §5 and their ``ProportionScheduler``) schedules ρ proportionally
to the learning rate, between ``rho_max`` (at ``lr_max``) and ``rho_min`` (at ``lr_min``):

    ρ_t = ρ_min + (ρ_max − ρ_min) (lr_t − lr_min)/(lr_max − lr_min)   (ρ_max when lr_max = lr_min)

per param group. ``RhoFollowsLR`` writes ρ_t into each group's ``rho`` key (the key every wrapper
reads) right before each ``step()`` (a step pre-hook), so any LR scheduler on the wrapper or its
base optimizer drives ρ too::

    opt = GSAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=0.05, alpha=0.1, model=model)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    RhoFollowsLR(opt, rho_min=0.01)  # ρ from 0.05 at lr 0.1 down to 0.01 at lr 0
    for x, y in data:
        opt.step(closure)
        scheduler.step()
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

__all__ = ["RhoFollowsLR"]


class RhoFollowsLR:
    """Set ``group[key]`` from ``group["lr"]`` before every step (see the module docstring).

    Args:
        optimizer: a wrapper (``SAM``, ``SAGM``, ``GSAM``, ``RoGA``) or any optimizer whose groups
            carry ``key``.
        rho_max: ρ at ``lr_max``; default each group's current ``key`` value.
        rho_min: ρ at ``lr_min`` (default 0).
        lr_max: default each group's ``initial_lr`` (set by LR schedulers) or current ``lr``.
        lr_min: default 0 (a cosine schedule's end).
        attach: register a step pre-hook so every ``optimizer.step()`` calls ``self.step()``
            first; with False call ``step()`` yourself.
        key: the group key to drive (``"rho"``).

    Raises:
        KeyError: a group has no ``key`` and ``rho_max`` is not given.
        ValueError: a negative ρ, ``rho_min > rho_max``, or ``lr_max < lr_min``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        rho_max: float | None = None,
        rho_min: float = 0.0,
        lr_max: float | None = None,
        lr_min: float = 0.0,
        attach: bool = True,
        key: str = "rho",
    ) -> None:
        self.optimizer = optimizer
        self.key = key
        self.rho_min, self.lr_min = rho_min, lr_min
        groups = optimizer.param_groups
        self.rho_max = [g[key] if rho_max is None else rho_max for g in groups]
        self.lr_max = [g.get("initial_lr", g["lr"]) if lr_max is None else lr_max for g in groups]
        for r_max, l_max in zip(self.rho_max, self.lr_max, strict=True):
            if not 0 <= rho_min <= r_max:
                raise ValueError(
                    f"RhoFollowsLR: need 0 <= rho_min <= rho_max, got {rho_min}, {r_max}"
                )
            if not l_max >= lr_min:
                raise ValueError(f"RhoFollowsLR: need lr_max >= lr_min, got {l_max}, {lr_min}")
        self.handle: RemovableHandle | None = None
        if attach:
            self.handle = optimizer.register_step_pre_hook(self._hook)

    def value(self, lr: float, rho_max: float, lr_max: float) -> float:
        """ρ for learning rate ``lr`` in a group whose ends are ``rho_max``/``lr_max``."""
        if lr_max == self.lr_min:
            return rho_max
        return self.rho_min + (rho_max - self.rho_min) * (lr - self.lr_min) / (lr_max - self.lr_min)

    def step(self) -> list[float]:
        """Write ρ_t into every group; returns the values (one per group)."""
        values = []
        groups = self.optimizer.param_groups
        for group in groups[len(self.rho_max) :]:  # groups added since: their own ends
            self.rho_max.append(group[self.key])
            self.lr_max.append(group.get("initial_lr", group["lr"]))
        for group, r_max, l_max in zip(groups, self.rho_max, self.lr_max, strict=True):
            group[self.key] = self.value(float(group["lr"]), r_max, l_max)
            values.append(group[self.key])
        return values

    def _hook(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        self.step()
