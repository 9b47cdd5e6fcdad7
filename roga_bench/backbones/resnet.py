"""ResNet-34 (torchvision) with a ``num_classes`` head, as DeepfakeBench's resnet34 detector, and
``resnet34_slim``: the same network at a quarter of the width, for Table V on a CPU budget.

Pretrained: torchvision's ``resnet34-b627a593.pth`` (the file DeepfakeBench ships) or any
torchvision-named state dict, from a local path; its 1000-way ``fc`` is dropped.
"""

from __future__ import annotations

from torch import nn

from roga_bench._registry import register_backbone
from roga_bench.backbones._loading import load_if_given

__all__ = ["resnet34", "resnet34_slim", "SLIM_WIDTH"]

# Stem width 16: stages of 16/32/64/128 channels (ResNet-34: 64/128/256/512), ~1/16 of its FLOPs
# and parameters; measured on SynthFF (64 px, batch 16 x 3 domains) to cost <= ~2x small_cnn.
SLIM_WIDTH = 16


@register_backbone("resnet34")
def resnet34(num_classes: int = 2, pretrained: str = "", **_: object) -> nn.Module:
    """torchvision ResNet-34, ``[N, 3, H, W]`` (H, W >= 32) -> ``[N, num_classes]`` logits."""
    from torchvision.models import resnet34 as tv_resnet34  # lazy: keeps registry import fast

    return load_if_given(tv_resnet34(weights=None, num_classes=num_classes), pretrained)


@register_backbone("resnet34_slim")
def resnet34_slim(
    num_classes: int = 2, pretrained: str = "", width: int = SLIM_WIDTH, **_: object
) -> nn.Module:
    """ResNet-34's layout (BasicBlock 3-4-6-3, 7x7 stem, max-pool, strides, head) with ``width``
    stem channels and ``width * (1, 2, 4, 8)`` per stage (64 = ResNet-34 itself).

    torchvision's ``ResNet`` class with the same initialisation and parameter names, so
    ``pretrained`` loads a state dict of the same width; random init otherwise.
    """
    from torchvision.models.resnet import BasicBlock, ResNet  # lazy, as above

    class SlimResNet(ResNet):
        # ResNet builds its stem at 64 channels and each stage at planes 64..512; scale both.
        def __init__(self) -> None:
            super().__init__(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
            self.bn1 = nn.BatchNorm2d(width)
            self.fc = nn.Linear(8 * width, num_classes)

        def _make_layer(self, block, planes, blocks, stride=1, dilate=False):  # type: ignore[no-untyped-def]
            if planes == 64:  # the first stage: its input is the (narrow) stem
                self.inplanes = width
            return super()._make_layer(block, planes * width // 64, blocks, stride, dilate)

    return load_if_given(SlimResNet(), pretrained)
