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

    The ends of the schedule are kept in each param group as ``{key}_max`` and ``{key}_lr_max``,
    so they travel with the optimizer's ``state_dict``: a run resumed after ρ has decayed (its
    groups hold the decayed ρ) finds the original ρ_max there instead of taking the decayed ρ
    for it. ``state_dict``/``load_state_dict`` of this object carry all four ends as well.

    Args:
        optimizer: a wrapper (``SAM``, ``SAGM``, ``GSAM``, ``RoGA``, ...) or any optimizer whose
            groups carry ``key``.
        rho_max: ρ at ``lr_max``; default each group's saved ``{key}_max`` (a resumed run), else
            its current ``key`` value.
        rho_min: ρ at ``lr_min`` (default 0).
        lr_max: default each group's saved ``{key}_lr_max``, else its ``initial_lr`` (set by LR
            schedulers) or current ``lr``.
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
        self._max_key, self._lr_key = f"{key}_max", f"{key}_lr_max"
        self.rho_min, self.lr_min = rho_min, lr_min
        ends = []
        for g in optimizer.param_groups:
            r_max = g.get(self._max_key, g[key]) if rho_max is None else rho_max
            l_max = g.get(self._lr_key, g.get("initial_lr", g["lr"])) if lr_max is None else lr_max
            self._check(r_max, l_max)
            ends.append((r_max, l_max))
        for g, (r_max, l_max) in zip(optimizer.param_groups, ends, strict=True):
            g[self._max_key], g[self._lr_key] = r_max, l_max  # checked first: all or nothing
        self.handle: RemovableHandle | None = None
        if attach:
            self.handle = optimizer.register_step_pre_hook(self._hook)

    def _check(self, r_max: float, l_max: float) -> None:
        if not 0 <= self.rho_min <= r_max:
            raise ValueError(
                f"RhoFollowsLR: need 0 <= rho_min <= rho_max, got {self.rho_min}, {r_max}"
            )
        if not l_max >= self.lr_min:
            raise ValueError(f"RhoFollowsLR: need lr_max >= lr_min, got {l_max}, {self.lr_min}")

    def _ends(self) -> None:
        """Groups added since: their own ends (current ρ, their initial or current lr)."""
        for g in self.optimizer.param_groups:
            if self._max_key not in g:
                g[self._max_key] = g[self.key]
            if self._lr_key not in g:
                g[self._lr_key] = g.get("initial_lr", g["lr"])

    @property
    def rho_max(self) -> list[float]:
        """ρ_max of every group (read from the groups, where it is saved)."""
        self._ends()
        return [g[self._max_key] for g in self.optimizer.param_groups]

    @property
    def lr_max(self) -> list[float]:
        self._ends()
        return [g[self._lr_key] for g in self.optimizer.param_groups]

    def value(self, lr: float, rho_max: float, lr_max: float) -> float:
        """ρ for learning rate ``lr`` in a group whose ends are ``rho_max``/``lr_max``."""
        if lr_max == self.lr_min:
            return rho_max
        return self.rho_min + (rho_max - self.rho_min) * (lr - self.lr_min) / (lr_max - self.lr_min)

    def step(self) -> list[float]:
        """Write ρ_t into every group; returns the values (one per group)."""
        self._ends()
        values = []
        for group in self.optimizer.param_groups:
            rho = self.value(float(group["lr"]), group[self._max_key], group[self._lr_key])
            group[self.key] = rho
            values.append(rho)
        return values

    def state_dict(self) -> dict[str, Any]:
        """The schedule's ends (like an LR scheduler's ``state_dict``)."""
        return {
            "key": self.key,
            "rho_max": self.rho_max,
            "rho_min": self.rho_min,
            "lr_max": self.lr_max,
            "lr_min": self.lr_min,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the ends saved by ``state_dict`` (into the groups, too).

        Raises:
            ValueError: the state holds another number of groups than the optimizer has.
        """
        groups = self.optimizer.param_groups
        if len(state["rho_max"]) != len(groups) or len(state["lr_max"]) != len(groups):
            raise ValueError(
                f"RhoFollowsLR.load_state_dict: the state has {len(state['rho_max'])} group(s), "
                f"the optimizer {len(groups)}"
            )
        self.rho_min, self.lr_min = state["rho_min"], state["lr_min"]
        for g, r_max, l_max in zip(groups, state["rho_max"], state["lr_max"], strict=True):
            g[self._max_key], g[self._lr_key] = r_max, l_max

    def _hook(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        self.step()
