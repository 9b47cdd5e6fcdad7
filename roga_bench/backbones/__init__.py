"""Registered backbones: ``build_backbone(name, num_classes=2, pretrained="")`` -> logits network.

Each entry is a factory ``fn(num_classes: int = 2, pretrained: str = "", **kwargs) -> nn.Module``
that maps images ``[N, 3, H, W]`` to logits ``[N, num_classes]``. Nothing is ever downloaded:
``pretrained`` is a local file path or empty.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from roga_bench._registry import BACKBONES, list_backbones, register_backbone

# Importing these registers them; timm/torchvision models are only built on demand.
from roga_bench.backbones import meso, resnet, small_cnn, timm_models  # noqa: F401

__all__ = ["build_backbone", "list_backbones", "register_backbone"]


def build_backbone(
    name: str, num_classes: int = 2, pretrained: str = "", **kwargs: Any
) -> nn.Module:
    """Build the registered backbone ``name`` with a ``num_classes``-way head.

    Raises:
        UnknownNameError: unknown name (the message lists the registered backbones).
    """
    return BACKBONES.get(name)(num_classes=num_classes, pretrained=pretrained, **kwargs)
