"""Registered backbones: ``build_backbone(name, num_classes=2, pretrained="")`` -> logits network.

Each entry is a factory ``fn(num_classes: int = 2, pretrained: str = "", **kwargs) -> nn.Module``
that maps images ``[N, 3, H, W]`` to logits ``[N, num_classes]``. Nothing is ever downloaded:
``pretrained`` is a local file path or empty.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import nn

from roga_bench._registry import BACKBONES, list_backbones, register_backbone

# Importing these registers them; timm/torchvision models are only built on demand.
from roga_bench.backbones import meso, resnet, small_cnn, timm_models  # noqa: F401

__all__ = [
    "LARGE_BACKBONES",
    "UntrainedBackboneWarning",
    "build_backbone",
    "list_backbones",
    "register_backbone",
    "warn_if_untrained",
]

# The paper's backbones, which it fine-tunes from ImageNet weights; from random init on FF++ they
# train far below its numbers (resnet34_slim and small_cnn are meant to start from scratch).
LARGE_BACKBONES = frozenset({"resnet34", "xception", "efficientnet_b4"})


class UntrainedBackboneWarning(UserWarning):
    """A large backbone is about to train on real data from random initialisation."""


def warn_if_untrained(backbone: str, pretrained: str, dataset: str) -> None:
    """Warn when a :data:`LARGE_BACKBONES` entry trains on ``dataset`` without ``pretrained``."""
    if backbone in LARGE_BACKBONES and not pretrained:
        warnings.warn(
            f"backbone {backbone!r} on {dataset} from random init (hparam pretrained is empty): "
            f"the paper fine-tunes ImageNet weights, so expect much lower AUC; pass e.g. "
            f'--hparams \'{{"pretrained": "/path/to/{backbone}.pth"}}\' '
            f"(docs/training.md, pretrained weights)",
            UntrainedBackboneWarning,
            stacklevel=3,
        )


def build_backbone(
    name: str, num_classes: int = 2, pretrained: str = "", **kwargs: Any
) -> nn.Module:
    """Build the registered backbone ``name`` with a ``num_classes``-way head.

    Raises:
        UnknownNameError: unknown name (the message lists the registered backbones).
    """
    return BACKBONES.get(name)(num_classes=num_classes, pretrained=pretrained, **kwargs)
