"""The four FF++ manipulation families, and the swaps of the cross-dataset targets.

Every method leaves two cues: a shared one, a blending boundary around the face whose strength
varies from video to video, and its own (DF: a slightly smoothed face whose sensor noise is only
partly re-added; F2F: resampling blur in warped eyes and mouth; FS: a hard polygon edge with a
colour step; NT: a period-2 upsampling texture in the mouth). A detector trained on three methods
sees the shared cue only in part, so the fourth is a real domain shift.

Parameters are drawn once per fake video (``draw_params``) and applied per frame (``apply``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from roga_bench.datasets.synthff._camera import resample
from roga_bench.datasets.synthff._faces import Render, pixel_grid

__all__ = ["METHODS", "Frame", "draw_params", "apply"]

METHODS = ("DF", "F2F", "FS", "NT")


@dataclass(frozen=True)
class Frame:
    """One frame of the source video and what a manipulation may borrow from the donor."""

    captured: np.ndarray  # the source frame after the camera, before compression
    source: Render  # the source person as rendered (landmarks, face mask)
    donor: Render  # the donor person rendered in the source's pose and light
    reenacted: Render  # the source person with the donor's expression


# Ranges per method; cross-dataset targets override some of them (see _pipeline.TARGETS).
DEFAULTS: dict[str, dict[str, tuple[float, float]]] = {
    "DF": {
        "ae": (1.0, 1.35),
        "fix": (0.7, 0.97),
        "feather": (1.2, 2.8),
        "inner": (0.78, 0.9),
        "renoise": (0.5, 1.1),
    },
    "FS": {"fix": (0.2, 0.7), "gain": (0.0, 0.05), "soften": (0.5, 1.0)},
    "F2F": {
        "mouth": (0.25, 0.55),
        "eyes": (0.15, 0.35),
        "face": (0.01, 0.045),
        "feather": (0.8, 2.2),
    },
    "NT": {
        "amp": (0.02, 0.06),
        "face": (0.015, 0.045),
        "feather": (0.8, 2.0),
        "rerender": (0.3, 0.8),
    },
}


def draw_params(
    method: str, rng: np.random.Generator, noise: float = 0.0, **ranges: tuple[float, float]
) -> dict:
    """Draws one fake video's parameters; ``ranges`` override :data:`DEFAULTS` entries.

    ``noise`` is the camera's sensor noise, which ``renoise`` re-adds a fraction of; ``apply``
    draws that noise from ``params["rng"]``, frame after frame.
    """
    spec = {"renoise": (0.0, 0.0), **DEFAULTS[method], **ranges}
    params: dict[str, Any] = {k: float(rng.uniform(*r)) for k, r in sorted(spec.items())}
    params["sign"] = rng.choice([-1.0, 1.0], size=3)  # direction of colour offsets
    params["tint"] = rng.uniform(0.5, 1.0, size=3)
    params["noise"], params["rng"] = noise, np.random.default_rng(rng.integers(2**63))
    return params


def _ellipse_mask(render: Render, shape: tuple[int, int], sx: float, sy: float, dy: float = 0.0):
    cx, cy, rx, ry, angle = render.landmarks["face"]
    ys, xs = (g + 0.5 for g in pixel_grid(shape[0]))
    c, s = np.cos(angle), np.sin(angle)
    x, y = xs - cx, ys - cy
    u, v = c * x + s * y, -s * x + c * y - dy * ry
    return (((u / (sx * rx)) ** 2 + (v / (sy * ry)) ** 2) <= 1).astype(np.float32)


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    sigma = sigma * mask.shape[0] / 64
    return gaussian_filter(mask, sigma, mode="constant") if sigma > 0 else mask


def _mean_in(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    w = mask[..., None]
    return (img * w).sum((0, 1)) / max(float(w.sum()), 1.0)


def _blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base + alpha[..., None] * (top - base)


def _face_boundary(f: Frame, p: dict, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """The shared cue: a re-rendered face region whose colour is off by ``strength`` (and which
    the renderer smoothed by ``p["rerender"]`` px, where the method has that parameter)."""
    alpha = _feather(_ellipse_mask(f.source, f.captured.shape[:2], 0.92, 0.92), p["feather"])
    face = f.captured + strength * p["sign"] * p["tint"]
    sigma = p.get("rerender", 0.0) * f.captured.shape[0] / 64
    if sigma > 0:
        face = gaussian_filter(face, (sigma, sigma, 0), mode="nearest")
    return _blend(f.captured, np.clip(face, 0, 1), alpha), alpha


def _deepfakes(f: Frame, p: dict) -> tuple[np.ndarray, np.ndarray]:
    size = f.captured.shape[0]
    inner = _ellipse_mask(f.source, (size, size), p["inner"], 0.85 * p["inner"], dy=0.12)
    low = max(4, int(round(size / p["ae"])))  # the autoencoder's bottleneck resolution
    face = resample(resample(f.donor.image, low), size)
    face = face + p["fix"] * (_mean_in(f.captured, inner) - _mean_in(face, inner))
    alpha = _feather(inner, p["feather"])
    return np.clip(_blend(f.captured, face, alpha), 0, 1), alpha


def _polygon_mask(pts: np.ndarray, size: int) -> np.ndarray:
    """Even-odd rule: pixel centres inside the closed polygon ``pts`` (x, y in pixels)."""
    ys, xs = (g + 0.5 for g in pixel_grid(size))
    inside = np.zeros((size, size), bool)
    for (x0, y0), (x1, y1) in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        crosses = (y0 > ys) != (y1 > ys)
        x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0 + 1e-12)
        inside ^= crosses & (xs < x_at)
    return inside.astype(np.float32)


def _faceswap(f: Frame, p: dict) -> tuple[np.ndarray, np.ndarray]:
    size = f.captured.shape[0]
    lm = f.source.landmarks
    mask = _polygon_mask(np.concatenate([lm["jaw"], lm["brows"]]), size)
    face = gaussian_filter(f.donor.image, (p["soften"] * size / 64,) * 2 + (0,))
    # Colour correction that only partly matches the target: a visible step at the polygon edge.
    face = face + p["fix"] * (_mean_in(f.captured, mask) - _mean_in(face, mask))
    face = face * (1 + p["gain"] * p["sign"])
    return np.clip(_blend(f.captured, face, mask), 0, 1), mask


def _local_scale(xs, ys, centre, radius, factor):
    w = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * radius**2))
    w = np.where(w > 0.02, w, 0.0)  # a compact warp: pixels beyond ~2.8 radii stay untouched
    return w, w * (1 - factor) * (ys - centre[1]), w * 0.3 * (1 - factor) * (xs - centre[0])


def _face2face(f: Frame, p: dict) -> tuple[np.ndarray, np.ndarray]:
    size = f.captured.shape[0]
    ys, xs = pixel_grid(size)
    lm, r = f.source.landmarks, f.source.landmarks["face"][2]
    # Mouth opened or closed, eyes widened or narrowed: the donor's expression, by warping.
    wm, dym, dxm = _local_scale(xs, ys, lm["mouth"][0], 0.45 * r, 1 + p["mouth"] * p["sign"][0])
    weights, dy, dx = [wm], dym, dxm
    for eye in lm["eyes"]:
        w, dye, dxe = _local_scale(xs, ys, eye, 0.3 * r, 1 + p["eyes"] * p["sign"][1])
        weights, dy, dx = weights + [w], dy + dye, dx + dxe
    coords = [ys + dy, xs + dx]
    warped = np.stack(
        [map_coordinates(f.captured[..., c], coords, order=1, mode="nearest") for c in range(3)],
        axis=-1,
    )
    # Where the displacement vanishes, bilinear sampling at integer positions is the identity.
    region = np.clip(sum(weights), 0, 1)
    out, alpha = _face_boundary(Frame(warped, f.source, f.donor, f.reenacted), p, p["face"])
    return np.clip(out, 0, 1), np.maximum(alpha, region)


def _neural_textures(f: Frame, p: dict) -> tuple[np.ndarray, np.ndarray]:
    size = f.captured.shape[0]
    lm, r = f.source.landmarks, f.source.landmarks["face"][2]
    ys, xs = (g + 0.5 for g in pixel_grid(size))
    mx, my = lm["mouth"][0]
    mouth = (((xs - mx) / (0.55 * r)) ** 2 + ((ys - my) / (0.3 * r)) ** 2 <= 1).astype(np.float32)
    # The re-rendered mouth comes out of a decoder that upsamples by two: period-2 texture.
    half = resample(f.reenacted.image, max(4, size // 2))
    tex = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)[:size, :size]
    checker = ((np.indices((size, size)).sum(0) % 2) * 2 - 1).astype(np.float32)
    tex = tex + p["amp"] * checker[..., None] * p["tint"]
    # The face is re-rendered first (shared cue), the decoded mouth pasted on top of it.
    face, face_alpha = _face_boundary(f, p, p["face"])
    alpha = _feather(mouth, p["feather"] * 0.6)
    out = _blend(face, np.clip(tex, 0, 1), alpha)
    return np.clip(out, 0, 1), np.maximum(alpha, face_alpha)


_APPLY = {"DF": _deepfakes, "F2F": _face2face, "FS": _faceswap, "NT": _neural_textures}


def apply(method: str, frame: Frame, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Manipulates one frame.

    Args:
        method: one of :data:`METHODS`.
        frame: the source frame and the donor renders.
        params: from :func:`draw_params` for the same method.

    Returns:
        The fake frame (float [H, W, 3], before compression) and the blending weight [H, W] of the
        manipulated region (0 where the source pixels are kept as they are).
    """
    out, alpha = _APPLY[method](frame, params)
    if params["renoise"] > 0:  # post-processing that hides the missing sensor noise, in part
        noise = params["rng"].normal(0, params["renoise"] * params["noise"], out.shape)
        out = np.clip(out + alpha[..., None] * noise, 0, 1)
    return out.astype(np.float32), alpha
