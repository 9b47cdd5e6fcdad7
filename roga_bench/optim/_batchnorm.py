"""The BatchNorm bypass shared by every two-pass optimizer.

The second (perturbed) forward of SAM-style methods must not move BatchNorm running statistics:
they would otherwise be updated twice per step, once at a point (θ+e) the model never takes. The
second pass still normalises with its own batch statistics, exactly like the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["disable_running_stats"]


@contextmanager
def disable_running_stats(model: nn.Module | None) -> Iterator[None]:
    """Inside the block, no ``_BatchNorm`` of ``model`` updates its running statistics.

    Every BatchNorm1d/2d/3d, SyncBatchNorm and lazy variant in training mode gets
    ``track_running_stats = False`` for the duration: it then normalises with batch statistics
    (as in training) and neither ``running_mean``/``running_var`` nor ``num_batches_tracked``
    change. Modules in eval mode are left alone (they keep using their running statistics).
    The previous flags are restored on exit, also when the block raises.

    Args:
        model: the network; None makes this a no-op (plain parameter lists without a model).
    """
    if model is None:
        yield
        return
    switched = [
        m
        for m in model.modules()
        if isinstance(m, _BatchNorm) and m.training and m.track_running_stats
    ]
    for module in switched:
        module.track_running_stats = False
    try:
        yield
    finally:
        for module in switched:
            module.track_running_stats = True
