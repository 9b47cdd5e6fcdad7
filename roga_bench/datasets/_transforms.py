"""Frame transforms (torchvision.transforms.v2): training augmentation and normalisation.

All randomness is drawn from torch's RNG, so ``torch.manual_seed`` makes augmented batches
reproducible (with ``num_workers=0``; with workers, torch seeds each worker from the base seed).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

__all__ = ["MEAN", "STD", "build_transform", "to_tensor"]

# DeepfakeBench normalises with mean = std = 0.5 per channel, mapping [0, 1] to [-1, 1].
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
JPEG_QUALITY = (40, 100)


class _PilJPEG(torch.nn.Module):
    """JPEG round trip through PIL at a quality drawn from torch's RNG.

    Not ``v2.JPEG``: torchvision 0.29 deprecates its image codecs, and PIL is already the decoder.
    """

    def __init__(self, quality: tuple[int, int]) -> None:
        super().__init__()
        self.quality = quality

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        q = int(torch.randint(self.quality[0], self.quality[1] + 1, ()).item())
        buf = io.BytesIO()
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(buf, format="JPEG", quality=q)
        buf.seek(0)
        with Image.open(buf) as decoded:
            arr = np.asarray(decoded.convert("RGB"), dtype=np.uint8)
        return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    """``uint8 [S,S,3]`` array -> ``uint8 [3,S,S]`` tensor (no copy of the pixels)."""
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)


def build_transform(augment: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """The transform from a ``uint8 [3,S,S]`` tensor to a normalised ``float32 [3,S,S]`` one.

    Args:
        augment: add the training augmentation (flip, small rotation, blur, brightness/contrast,
            JPEG quality 40-100), as DeepfakeBench's defaults; only for training splits.
    """
    steps: list[torch.nn.Module] = []
    if augment:
        steps += [
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomApply([v2.RandomRotation(degrees=10)], p=0.5),
            v2.RandomApply([v2.GaussianBlur(kernel_size=3, sigma=(0.1, 1.5))], p=0.3),
            v2.RandomApply([v2.ColorJitter(brightness=0.1, contrast=0.1)], p=0.5),
            v2.RandomApply([_PilJPEG(JPEG_QUALITY)], p=0.5),
        ]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]
    return v2.Compose(steps)
