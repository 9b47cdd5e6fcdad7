"""The k-cycle both look-ahead-reuse wrappers share (``LookSAM``, ``RoGALook``).

Step t of the cycle is a *full* step (both passes, store the reusable component) when
t mod k = 0, a *reuse* step (one forward-backward plus the stored component) otherwise. The
counter t lives in every param group as ``look_step`` (beside ``rho``/``alpha``), so
``Optimizer.state_dict``/``load_state_dict`` carry it and a checkpoint taken mid-cycle resumes the
cycle where it stopped; the stored component is per-parameter state and travels the same way.
``state`` itself keeps only per-parameter dicts (code that iterates ``state.values()`` expecting
them, e.g. reading momentum buffers, keeps working).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["STEP_KEY", "check_k", "look_step", "advance", "component_buffers", "store_buffers"]

STEP_KEY = "look_step"


def check_k(name: str, k: Any) -> int:
    """``k`` as an int >= 1, else ValueError naming ``name``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name}: k must be an integer >= 1, got {k!r}")
    return k


def look_step(groups: list[dict[str, Any]]) -> int:
    """t, the steps taken so far (0 before the first, or for groups saved without it)."""
    return int(groups[0].get(STEP_KEY, 0)) if groups else 0


def advance(groups: list[dict[str, Any]], **values: Any) -> None:
    """t <- t + 1 in every group, plus any other per-cycle ``values`` (same in every group)."""
    t = look_step(groups) + 1
    for group in groups:
        group[STEP_KEY] = t
        group.update(values)


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
