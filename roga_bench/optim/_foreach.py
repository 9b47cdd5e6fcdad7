"""Vectorised helpers over parameter lists (``torch._foreach_*``), shared by the optimizers."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "ETA",
    "flat",
    "split",
    "backup",
    "global_norm",
    "global_dot",
    "global_distance",
    "cosine",
]

ETA = 1e-12  # η of DESIGN §4: keeps every division finite when a gradient vanishes


def flat(groups: list[list[Tensor]]) -> list[Tensor]:
    """Per-group tensor lists as one list."""
    return [t for group in groups for t in group]


def split(tensors: list[Tensor], groups: list[list[Tensor]]) -> list[list[Tensor]]:
    """``tensors`` cut into the shape of ``groups`` (the inverse of ``flat``)."""
    out, start = [], 0
    for group in groups:
        out.append(tensors[start : start + len(group)])
        start += len(group)
    return out


def backup(params: list[Tensor], spare: list[Tensor] | None) -> list[Tensor]:
    """A copy of ``params``, written into ``spare`` (last step's backup) when the shapes match.

    A fresh parameter-sized allocation costs about five in-place passes on the CPU (page
    faults), so the wrappers keep one backup buffer alive between steps.
    """
    if spare is not None and [t.shape for t in spare] == [p.shape for p in params]:
        torch._foreach_copy_(spare, params)
        return spare
    return torch._foreach_clone(params)


def _gather(values: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    """Stack per-tensor scalars on one device (parameters may live on several)."""
    device = values[0].device
    return torch.stack([v.to(device) for v in values])


def global_norm(tensors: list[Tensor]) -> Tensor:
    """‖·‖: the L2 norm of all tensors seen as one vector (a 0-dim tensor, no host sync)."""
    if not tensors:
        return torch.zeros(())
    return torch.linalg.vector_norm(_gather(torch._foreach_norm(tensors)))


def global_dot(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """⟨a, b⟩ over all tensors seen as one vector."""
    if not a:
        return torch.zeros(())
    # One dot per tensor: no temporary the size of the parameters (a _foreach_mul would need
    # one), and no cancellation when a ⟂ b (the polarisation identity would have it).
    return _gather(
        [torch.dot(x.reshape(-1), y.reshape(-1)) for x, y in zip(a, b, strict=True)]
    ).sum()


def cosine(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """cos(a, b) = ⟨a, b⟩ / (‖a‖‖b‖ + η)."""
    return global_dot(a, b) / (global_norm(a) * global_norm(b) + ETA)


def global_distance(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """‖a − b‖ without materialising a − b for all tensors at once."""
    if not a:
        return torch.zeros(())
    return torch.linalg.vector_norm(_gather([torch.dist(x, y) for x, y in zip(a, b, strict=True)]))
