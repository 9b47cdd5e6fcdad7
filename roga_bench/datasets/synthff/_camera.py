"""The camera pipeline every SynthFF video goes through: optics, sensor, colour, compression.

Real frames are ``compress(capture(render))``; fakes are ``compress(manipulate(capture(render)))``,
the order in which FF++ fakes were made from already-recorded videos, so a swapped region lacks the
source's sensor noise unless the manipulation puts some back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

__all__ = ["Camera", "capture", "colour", "compress", "resample", "to_uint8"]


@dataclass(frozen=True)
class Camera:
    """One recording set-up; sigmas are in pixels at 64 px and scale with the image size."""

    blur: float = 0.5
    noise: float = 0.012  # sensor noise std, image in [0, 1]
    quality: tuple[int, int] = (88, 92)  # JPEG quality range, drawn once per video
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # white balance
    gamma: float = 1.0


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def colour(img: np.ndarray, cam: Camera) -> np.ndarray:
    """The camera's white balance and gamma (no-op for the neutral default camera)."""
    if cam.gains == (1.0, 1.0, 1.0) and cam.gamma == 1.0:
        return img
    return (np.clip(img * np.asarray(cam.gains, dtype=np.float32), 0, 1) ** cam.gamma).astype(
        np.float32
    )


def capture(img: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Lens blur, white balance, gamma and sensor noise of ``cam`` applied to a rendered frame."""
    sigma = cam.blur * img.shape[0] / 64
    out = gaussian_filter(img, (sigma, sigma, 0), mode="nearest") if sigma > 0 else img
    out = colour(out, cam)
    out = out + rng.normal(0, cam.noise, out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def compress(img: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG encode/decode round trip in memory (4:2:0 chroma, like video codecs); uint8 out."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="JPEG", quality=int(quality), subsampling=2)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def resample(img: np.ndarray, size: int, method: int = Image.BILINEAR) -> np.ndarray:
    """Resizes a float image to ``size`` x ``size`` (through 8 bits, like a real codec)."""
    out = Image.fromarray(to_uint8(img)).resize((size, size), method)
    return np.asarray(out, dtype=np.float32) / 255
