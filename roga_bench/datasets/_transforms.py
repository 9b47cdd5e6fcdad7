"""Frame transforms: training augmentation (torchvision.transforms.v2 kernels on PIL images) and the
DeepfakeBench normalisation (mean = std = 0.5).

Augmentation runs on PIL images because torchvision's PIL kernels (rotate, enhance) and PIL's own
blur and JPEG codec are faster than the uint8-tensor kernels on small frames, and the loader, not
the model, bounds SynthFF's CPU runs. All randomness is drawn from torch's RNG, so
``torch.manual_seed`` makes augmented batches reproducible (with ``num_workers=0``; with workers,
torch seeds each worker from the base seed).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageFilter

__all__ = ["MEAN", "STD", "JPEG_QUALITY", "Augment", "build_transform", "normalize"]

# DeepfakeBench normalises with mean = std = 0.5 per channel, mapping [0, 255] to [-1, 1].
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
JPEG_QUALITY = (40, 100)
BLUR_SIGMA = (0.1, 1.5)


def _uniform(low: float, high: float) -> float:
    return float(torch.empty(()).uniform_(low, high))


class Augment(torch.nn.Module):
    """PIL -> PIL training augmentation, DeepfakeBench's defaults: horizontal flip (p 0.5),
    rotation within 10 degrees (p 0.5), Gaussian blur sigma 0.1-1.5 (p 0.3), brightness and
    contrast within 10% (p 0.5), JPEG quality 40-100 (p 0.5).

    One module calling ``torchvision.transforms.v2.functional`` kernels rather than a ``Compose``
    of ``RandomApply`` wrappers: per-transform dispatch cost more than the kernels at 64 px.
    """

    def forward(self, img: Image.Image) -> Image.Image:
        # torchvision.transforms.v2 pulls in torchvision.models and torch._dynamo (~3 s of CPU):
        # imported on the first augmented frame, not by every process that imports the datasets.
        from torchvision.transforms.v2 import functional as F

        gate = torch.rand(5).tolist()  # one draw per frame keeps the RNG stream easy to follow
        if gate[0] < 0.5:
            img = F.horizontal_flip(img)
        if gate[1] < 0.5:
            img = F.rotate(img, _uniform(-10.0, 10.0), F.InterpolationMode.BILINEAR)
        if gate[2] < 0.3:
            img = img.filter(ImageFilter.GaussianBlur(radius=_uniform(*BLUR_SIGMA)))
        if gate[3] < 0.5:
            img = F.adjust_brightness(img, _uniform(0.9, 1.1))
            img = F.adjust_contrast(img, _uniform(0.9, 1.1))
        if gate[4] < 0.5:
            img = _jpeg(img, int(torch.randint(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, ())))
        return img


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    """JPEG round trip through PIL (not ``v2.JPEG``: torchvision 0.29 deprecates its codecs)."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as decoded:
        return decoded.convert("RGB")


_SCALE = np.float32(2.0 / 255.0)


def normalize(frame: np.ndarray) -> torch.Tensor:
    """``uint8 [S,S,3]`` -> ``float32 [3,S,S]`` in [-1, 1]: ``v2.ToDtype(scale=True)`` then
    ``v2.Normalize(MEAN, STD)``, fused into two NumPy ops (torch's per-op overhead dominated at
    64 px)."""
    out = np.empty((3, *frame.shape[:2]), dtype=np.float32)
    np.multiply(frame.transpose(2, 0, 1), _SCALE, out=out)
    out -= 1.0
    return torch.from_numpy(out)


def build_transform(augment: bool) -> Callable[[np.ndarray], torch.Tensor]:
    """The transform from a decoded ``uint8 [S,S,3]`` frame to a ``float32 [3,S,S]`` tensor.

    Args:
        augment: apply :class:`Augment` first; only for training splits.
    """
    if not augment:
        return normalize
    augmentation = Augment()

    def transform(frame: np.ndarray) -> torch.Tensor:
        return normalize(np.asarray(augmentation(Image.fromarray(frame))))

    return transform
