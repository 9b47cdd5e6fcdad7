"""What every two-pass optimizer shares: a base optimizer it wraps, and the two-pass protocol.

Like timm's ``Lookahead``, a wrapper owns no parameters of its own: ``param_groups`` and ``state``
are the base optimizer's, and the wrapper's hyperparameters (``rho``, ``alpha``) live as extra keys
in those groups. So an LR (or rho) scheduler built on either object drives the same numbers, and
``state_dict()`` of the wrapper is the base's and holds everything (momentum buffers, rho, alpha).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

__all__ = ["WrapperOptimizer"]


class WrapperOptimizer(Optimizer):
    """Base class: share ``base_optimizer``'s groups and state, add per-group hparams.

    Args:
        base_optimizer: any ``torch.optim.Optimizer``; it applies the final direction (lr,
            momentum, weight decay stay there).
        model: the network, if any; the second pass runs with its BatchNorm running statistics
            frozen (see ``disable_running_stats``).
        **hparams: non-negative per-group hyperparameters (``rho=0.05``, ...), added to every group
            that does not set them already.

    Raises:
        TypeError: ``base_optimizer`` is not a torch optimizer.
        ValueError: a hyperparameter is negative (the message names it).
    """

    def __init__(
        self, base_optimizer: Optimizer, model: nn.Module | None = None, **hparams: float
    ) -> None:
        name = type(self).__name__
        if not isinstance(base_optimizer, Optimizer):
            raise TypeError(
                f"{name}: base_optimizer must be a torch.optim.Optimizer, "
                f"got {type(base_optimizer).__name__}"
            )
        for key, value in hparams.items():
            if not value >= 0:  # also catches NaN
                raise ValueError(f"{name}: hparam {key!r} must be >= 0, got {value!r}")
        self.base_optimizer = base_optimizer
        self.model = model
        self._wrapper_defaults = dict(hparams)
        # Optimizer.__init__ sets up the hook dicts and patches ``step`` so that step pre/post
        # hooks (register_step_pre_hook, ...) fire. Through the delegating properties below it
        # re-adds the base's own groups (same dicts, wrapper keys filled in) and resets its state,
        # so the state is put back afterwards (momentum buffers of a resumed base survive).
        state = base_optimizer.state
        super().__init__(list(base_optimizer.param_groups), {**base_optimizer.defaults, **hparams})
        base_optimizer.state = state
        # Diagnostics of the last step as 0-dim tensors (no host sync until someone reads them).
        self.stats: dict[str, Tensor] = {}

    def _fill_groups(self) -> None:
        for group in self.base_optimizer.param_groups:
            for key, value in self._wrapper_defaults.items():
                group.setdefault(key, value)

    # Optimizer.__getstate__ keeps only defaults/state/param_groups; a wrapper is its attributes
    # (base optimizer, model, ...), so copy.deepcopy and pickle must see all of them.
    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # --- everything below delegates to the base optimizer -------------------------------------
    @property  # type: ignore[override]
    def param_groups(self) -> list[dict[str, Any]]:
        return self.base_optimizer.param_groups

    @param_groups.setter
    def param_groups(self, groups: list[dict[str, Any]]) -> None:
        self.base_optimizer.param_groups = groups

    @property  # type: ignore[override]
    def state(self) -> Any:
        return self.base_optimizer.state

    @state.setter
    def state(self, value: Any) -> None:
        self.base_optimizer.state = value

    def state_dict(self) -> dict[str, Any]:
        """The base optimizer's state dict; rho/alpha are in its ``param_groups``."""
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load into the base optimizer; groups saved without rho/alpha get the defaults."""
        self.base_optimizer.load_state_dict(state_dict)
        self._fill_groups()

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        for key, value in self._wrapper_defaults.items():
            param_group.setdefault(key, value)
        self.base_optimizer.add_param_group(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    # --- helpers for subclasses ---------------------------------------------------------------
    def _params_with_grad(self) -> list[list[Tensor]]:
        """Per group, the parameters that received a gradient in the first pass."""
        return [[p for p in g["params"] if p.grad is not None] for g in self.param_groups]

    @staticmethod
    def _grads(params: list[Tensor]) -> list[Tensor]:
        """``.grad`` of each parameter; a parameter the pass did not reach gets zeros."""
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        return [p.grad for p in params]  # type: ignore[misc]

    @staticmethod
    def _closure_loss(value: Any) -> Tensor:
        if value is None:
            raise ValueError(
                "the closure must return the loss (zero-grad, forward, backward, return loss)"
            )
        return torch.as_tensor(value).detach()
