"""Xception and EfficientNet-B4 from timm, built offline (``pretrained=False``) with a new head.

- ``xception`` = timm ``legacy_xception``: the original Chollet Xception as ported by Cadene
  (``pretrainedmodels``), the network FaceForensics++ and DeepfakeBench use. Its state-dict
  layout equals Cadene's, so DeepfakeBench's ``xception-b5690688.pth`` loads after the 2-D
  pointwise weights are reshaped (done by the loader).
- ``efficientnet_b4`` = timm ``tf_efficientnet_b4``: the TF-ported EfficientNet-B4 (TF "same"
  padding, BatchNorm eps 1e-3), which is what lukemelas' ``efficientnet_pytorch`` implements and
  DeepfakeBench uses; ``efficientnet-b4-6ed6700e.pth`` loads after renaming. Pass
  ``variant="efficientnet_b4"`` for timm's PyTorch-native variant (for timm's own weights).
"""

from __future__ import annotations

from torch import nn

from roga_bench._registry import register_backbone
from roga_bench.backbones._loading import load_if_given

__all__ = ["efficientnet_b4", "xception"]


def _timm(name: str, num_classes: int, **kwargs: object) -> nn.Module:
    import timm  # lazy: importing timm takes about a second

    return timm.create_model(name, pretrained=False, num_classes=num_classes, **kwargs)


@register_backbone("xception")
def xception(num_classes: int = 2, pretrained: str = "", **_: object) -> nn.Module:
    """Xception (timm ``legacy_xception``); ``[N, 3, H, W]`` (H, W >= 32) -> logits."""
    return load_if_given(_timm("legacy_xception", num_classes), pretrained)


@register_backbone("efficientnet_b4")
def efficientnet_b4(
    num_classes: int = 2, pretrained: str = "", variant: str = "tf_efficientnet_b4", **_: object
) -> nn.Module:
    """EfficientNet-B4 (timm ``variant``, default the TF-ported one) -> logits.

    Raises:
        ValueError: ``variant`` is not an EfficientNet-B4.
    """
    if variant not in ("tf_efficientnet_b4", "efficientnet_b4"):
        raise ValueError(
            f"efficientnet_b4: variant must be 'tf_efficientnet_b4' or 'efficientnet_b4', "
            f"got {variant!r}"
        )
    return load_if_given(_timm(variant, num_classes), pretrained)
