"""ResNet-34 (torchvision) with a ``num_classes`` head, as DeepfakeBench's resnet34 detector.

Pretrained: torchvision's ``resnet34-b627a593.pth`` (the file DeepfakeBench ships) or any
torchvision-named state dict, from a local path; its 1000-way ``fc`` is dropped.
"""

from __future__ import annotations

from torch import nn

from roga_bench._registry import register_backbone
from roga_bench.backbones._loading import load_if_given

__all__ = ["resnet34"]


@register_backbone("resnet34")
def resnet34(num_classes: int = 2, pretrained: str = "", **_: object) -> nn.Module:
    """torchvision ResNet-34, ``[N, 3, H, W]`` (H, W >= 32) -> ``[N, num_classes]`` logits."""
    from torchvision.models import resnet34 as tv_resnet34  # lazy: keeps registry import fast

    return load_if_given(tv_resnet34(weights=None, num_classes=num_classes), pretrained)
