"""The k-cycle both look-ahead-reuse wrappers share (``LookSAM``, ``RoGALook``).

Step t of the cycle is a *full* step (both passes, store the reusable component) when
t mod k = 0, a *reuse* step (one forward-backward plus the stored component) otherwise. The
counter t lives in the optimizer's ``state`` under the key ``"look"`` (a non-tensor key, which
``Optimizer.state_dict``/``load_state_dict`` carry as is), so a checkpoint taken mid-cycle resumes
the cycle where it stopped; the stored component is per-parameter state and travels the same way.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["LOOK_KEY", "check_k", "look_state", "component_buffers", "store_buffers"]

LOOK_KEY = "look"


def check_k(name: str, k: Any) -> int:
    """``k`` as an int >= 1, else ValueError naming ``name``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name}: k must be an integer >= 1, got {k!r}")
    return k


def look_state(state: Any) -> dict[str, Any]:
    """The cycle's own entry of ``state`` (created on first use): ``{"step": t, ...}``."""
    entry = state.get(LOOK_KEY)
    if entry is None:
        entry = state[LOOK_KEY] = {"step": 0}
    return entry


def component_buffers(state: Any, params: list[Tensor], key: str) -> list[Tensor]:
    """Per-parameter buffers for ``params``, zeroed: ``state[p][key]`` where it exists, else new.

    New buffers are *not* put into ``state`` here: Adam initialises a parameter's state only
    while it is empty, so ``store_buffers`` adds them after the base optimizer's step.
    """
    out = []
    for p in params:
        buf = state[p].get(key) if p in state else None
        if buf is None or buf.shape != p.shape or buf.device != p.device:
            buf = torch.zeros_like(p, memory_format=torch.preserve_format)
        else:
            buf.zero_()
        out.append(buf)
    return out


def store_buffers(state: Any, params: list[Tensor], buffers: list[Tensor], key: str) -> None:
    """``state[p][key] = buffer`` for each pair (call after the base optimizer's step)."""
    for p, buf in zip(params, buffers, strict=True):
        state[p][key] = buf
