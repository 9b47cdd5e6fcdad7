"""Where the detector looks: Grad-CAM / Grad-CAM++ maps (the ``grad-cam`` package) and how much
of each map falls on the manipulated pixels.

Localisation of one fake frame with a manipulation mask M (values in [0, 1]) and a CAM C ≥ 0:

- energy inside = Σ C·[M > ½] / Σ C (1: all attention on the manipulation, 0: none);
- pointing game (Zhang et al., ECCV 2016): 1 if the CAM's maximum lies inside the mask.

Frames without a mask (real frames, datasets without masks) are not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "CAM_METHODS",
    "last_conv_layer",
    "last_spatial_layer",
    "compute_cams",
    "localization_scores",
]

CAM_METHODS = ("gradcam", "gradcam++")


def last_conv_layer(network: nn.Module) -> nn.Module:
    """The last ``nn.Conv2d`` of ``network`` (the usual Grad-CAM target layer).

    Raises:
        ValueError: the network has no convolution.
    """
    convs = [m for m in network.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(network).__name__} has no Conv2d layer to take Grad-CAM from")
    return convs[-1]


@torch.no_grad()
def last_spatial_layer(network: nn.Module, example: Tensor) -> nn.Module:
    """The last module, in execution order, whose output is a spatial map ``[N, C, H, W]`` with
    H, W > 1: the feature map that global pooling reads (small_cnn's last ReLU, a ResNet's
    ``layer4``), the usual Grad-CAM target. The raw last ``Conv2d`` (before its norm and ReLU)
    gives maps that are mostly negative, so Grad-CAM's ReLU leaves them blank.

    Raises:
        ValueError: no module outputs a spatial map.
    """
    order: list[nn.Module] = []
    hooks = [
        m.register_forward_hook(
            lambda mod, _i, out: (
                order.append(mod)
                if isinstance(out, Tensor) and out.dim() == 4 and min(out.shape[-2:]) > 1
                else None
            )
        )
        for m in network.modules()
        if m is not network
    ]
    try:
        network.eval()
        network(example[:1])
    finally:
        for h in hooks:
            h.remove()
    if not order:
        raise ValueError(f"{type(network).__name__}: no layer outputs a spatial map for Grad-CAM")
    return order[-1]


def compute_cams(
    network: nn.Module,
    images: Tensor,
    method: str = "gradcam",
    target_class: int = 1,
    layer: nn.Module | None = None,
) -> np.ndarray:
    """CAMs ``float32 [N, H, W]`` in [0, 1] (each map min-max scaled by the library) for the logit
    ``target_class`` (1 = fake), at the input's resolution; ``layer`` defaults to
    :func:`last_spatial_layer`.

    Raises:
        ValueError: unknown ``method`` (expected one of ``CAM_METHODS``).
    """
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    classes = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}
    if method not in classes:
        raise ValueError(f"CAM method {method!r}: expected one of {list(classes)}")
    network.eval()
    target_layer = layer if layer is not None else last_spatial_layer(network, images)
    with classes[method](model=network, target_layers=[target_layer]) as cam:
        maps = cam(
            input_tensor=images,
            targets=[ClassifierOutputTarget(target_class) for _ in range(len(images))],
        )
    return np.asarray(maps, dtype=np.float32)


def localization_scores(cams: np.ndarray, masks: Sequence[np.ndarray | None]) -> dict[str, float]:
    """Mean energy-inside fraction and pointing-game hit rate over the frames that have a mask.

    Args:
        cams: ``[N, H, W]`` non-negative maps.
        masks: N masks ``[H, W]`` in [0, 1] or None (not scored); all-zero masks are not scored.

    Returns:
        ``energy_in_mask``, ``pointing_game`` (NaN when no frame was scored) and ``n_scored``.
    """
    energy, hits = [], []
    for cam, mask in zip(cams, masks, strict=True):
        if mask is None:
            continue
        inside = np.asarray(mask) > 0.5
        if not inside.any():
            continue
        if inside.shape != cam.shape:
            raise ValueError(f"mask shape {inside.shape} differs from CAM shape {cam.shape}")
        cam = np.clip(cam, 0.0, None)
        total = float(cam.sum())
        energy.append(float(cam[inside].sum()) / total if total > 0 else 0.0)
        hits.append(float(inside.flat[int(np.argmax(cam))]))
    n = len(energy)
    return {
        "energy_in_mask": float(np.mean(energy)) if n else float("nan"),
        "pointing_game": float(np.mean(hits)) if n else float("nan"),
        "n_scored": float(n),
    }


def to_numpy_images(images: Tensor) -> np.ndarray:
    """``[N, 3, H, W]`` normalised with mean = std = 0.5 -> ``float32 [N, H, W, 3]`` in [0, 1]."""
    return torch.clamp(images * 0.5 + 0.5, 0, 1).permute(0, 2, 3, 1).cpu().numpy()
