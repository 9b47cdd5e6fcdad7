"""Procedural faces drawn with numpy: identities, per-frame poses, and a renderer.

A face lives in its own normalised coordinates (u, v) (unit = image width at scale 1, v down);
a :class:`Pose` maps them to the image. Every shape is drawn with a one-pixel soft edge, so the
images are anti-aliased and a later resampling step (a manipulation) is what adds blur, not the
renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

__all__ = [
    "Identity",
    "Pose",
    "Render",
    "sample_identity",
    "sample_poses",
    "render_face",
    "pose_with",
    "with_inner_face",
]

_HAIR_PALETTE = np.array(
    [[0.08, 0.06, 0.05], [0.30, 0.18, 0.10], [0.75, 0.60, 0.35], [0.55, 0.22, 0.10], [0.6] * 3]
)
_IRIS_PALETTE = np.array([[0.25, 0.15, 0.08], [0.2, 0.4, 0.7], [0.25, 0.45, 0.25], [0.1] * 3])


@dataclass(frozen=True)
class Identity:
    """Everything that stays fixed for one person (and their recording set-up)."""

    skin: np.ndarray  # RGB in [0, 1]
    face_r: tuple[float, float]  # ellipse radii (rx, ry)
    eye_dx: float
    eye_y: float
    eye_r: tuple[float, float]
    iris: np.ndarray
    brow_dy: float
    brow_w: float
    brow_tilt: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip: np.ndarray
    hair: np.ndarray
    hair_line: float  # v where the fringe starts (negative = higher on the forehead)
    hair_volume: float
    bg: tuple[np.ndarray, np.ndarray]
    bg_freq: float
    bg_angle: float
    light_angle: float
    ambient: float
    diffuse: float
    center: tuple[float, float]
    scale: float


@dataclass(frozen=True)
class Pose:
    """What changes from frame to frame: head placement, expression and light."""

    center: tuple[float, float]
    angle: float
    scale: float
    mouth_open: float  # 0 closed .. 1 wide open
    eye_open: float  # 0 blink .. 1 open
    light_angle: float
    light_gain: float


@dataclass(frozen=True)
class Render:
    """A rendered frame (float32 [H, W, 3] in [0, 1]), its face coverage and landmarks (x, y px)."""

    image: np.ndarray
    face_mask: np.ndarray
    landmarks: dict[str, np.ndarray]


def sample_identity(rng: np.random.Generator, light_bias: float = 0.0) -> Identity:
    """Draws one person; ``light_bias`` darkens the ambient light (a lighting domain shift)."""
    tone = rng.uniform()
    skin = (1 - tone) * np.array([0.36, 0.22, 0.15]) + tone * np.array([0.95, 0.78, 0.66])
    skin = np.clip(skin + rng.normal(0, 0.03, 3), 0.05, 1.0)
    hair = np.clip(_HAIR_PALETTE[rng.integers(len(_HAIR_PALETTE))] + rng.normal(0, 0.04, 3), 0, 1)
    eye_rx = rng.uniform(0.032, 0.05)
    return Identity(
        skin=skin,
        face_r=(rng.uniform(0.25, 0.32), rng.uniform(0.33, 0.40)),
        eye_dx=rng.uniform(0.085, 0.12),
        eye_y=rng.uniform(-0.08, -0.03),
        eye_r=(eye_rx, eye_rx * rng.uniform(0.45, 0.7)),
        iris=_IRIS_PALETTE[rng.integers(len(_IRIS_PALETTE))],
        brow_dy=rng.uniform(0.045, 0.07),
        brow_w=rng.uniform(0.010, 0.022),
        brow_tilt=rng.uniform(-0.35, 0.35),
        nose_len=rng.uniform(0.07, 0.12),
        nose_w=rng.uniform(0.025, 0.045),
        mouth_y=rng.uniform(0.14, 0.2),
        mouth_w=rng.uniform(0.06, 0.1),
        lip=np.clip(skin * np.array([0.85, 0.5, 0.5]) + rng.normal(0, 0.03, 3), 0, 1),
        hair=hair,
        hair_line=rng.uniform(-0.30, -0.16),
        hair_volume=rng.uniform(1.04, 1.22),
        bg=(rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)),
        bg_freq=rng.uniform(3.0, 14.0),
        bg_angle=rng.uniform(0, np.pi),
        light_angle=rng.uniform(-1.2, 1.2),
        ambient=rng.uniform(0.55, 0.72) - light_bias,
        diffuse=rng.uniform(0.3, 0.45),
        center=(0.5 + rng.uniform(-0.04, 0.04), 0.5 + rng.uniform(0.0, 0.05)),
        scale=rng.uniform(0.9, 1.08),
    )


def sample_poses(ident: Identity, n: int, rng: np.random.Generator) -> list[Pose]:
    """A short clip: a slow random walk of the head, talking mouth, an occasional blink."""
    steps = rng.normal(0, 1, (n, 4)).cumsum(axis=0) / np.sqrt(max(n, 1))
    phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.6)
    poses = []
    for t in range(n):
        blink = rng.uniform() < 0.12
        poses.append(
            Pose(
                center=(
                    ident.center[0] + 0.02 * steps[t, 0],
                    ident.center[1] + 0.015 * steps[t, 1],
                ),
                angle=0.07 * steps[t, 2],
                scale=ident.scale * (1 + 0.03 * steps[t, 3]),
                mouth_open=0.5 + 0.5 * np.sin(phase + speed * t),
                eye_open=0.15 if blink else 1.0,
                light_angle=ident.light_angle + rng.normal(0, 0.1),
                light_gain=1 + rng.normal(0, 0.03),
            )
        )
    return poses


@lru_cache(maxsize=8)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (float32, read-only) of a size x size image, cached per size."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    ys.flags.writeable = xs.flags.writeable = False
    return ys, xs


def _cover(sd: np.ndarray, px: float) -> np.ndarray:
    """Soft coverage of a shape from a signed distance (negative inside), one pixel wide."""
    return np.clip(0.5 - sd / px, 0.0, 1.0)


def _ellipse_sd(u, v, cu, cv, rx, ry) -> np.ndarray:
    return (np.sqrt(((u - cu) / rx) ** 2 + ((v - cv) / ry) ** 2) - 1) * min(rx, ry)


def _segment_sd(u, v, a, b, width) -> np.ndarray:
    pa_u, pa_v, ba = u - a[0], v - a[1], np.subtract(b, a)
    h = np.clip((pa_u * ba[0] + pa_v * ba[1]) / (ba @ ba), 0, 1)
    return np.hypot(pa_u - h * ba[0], pa_v - h * ba[1]) - width


def _paint(img: np.ndarray, cover: np.ndarray, color) -> None:
    img += cover[..., None] * (np.asarray(color, dtype=np.float32) - img)


def _face_coords(pose: Pose, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    ys, xs = pixel_grid(size)
    x, y = (xs + 0.5) / size - pose.center[0], (ys + 0.5) / size - pose.center[1]
    c, s = np.cos(pose.angle), np.sin(pose.angle)
    return (c * x + s * y) / pose.scale, (-s * x + c * y) / pose.scale, 1.0 / (size * pose.scale)


def _to_image(pose: Pose, size: int, pts: np.ndarray) -> np.ndarray:
    c, s = np.cos(pose.angle), np.sin(pose.angle)
    u, v = pts[:, 0] * pose.scale, pts[:, 1] * pose.scale
    x, y = c * u - s * v + pose.center[0], s * u + c * v + pose.center[1]
    return np.stack([x, y], axis=1) * size


def _background(ident: Identity, size: int) -> np.ndarray:
    ys, xs = (g / size for g in pixel_grid(size))
    d = np.cos(ident.bg_angle) * xs + np.sin(ident.bg_angle) * ys
    t = 0.5 + 0.35 * np.sin(2 * np.pi * ident.bg_freq * d) * np.cos(5 * xs - 3 * ys)
    c0, c1 = ident.bg
    return (c0 * (1 - t[..., None]) + c1 * t[..., None]).astype(np.float32)


def _landmarks(ident: Identity, pose: Pose, size: int) -> dict[str, np.ndarray]:
    rx, ry = ident.face_r
    jaw = np.linspace(-0.15 * np.pi, 1.15 * np.pi, 9)  # from the right temple round the chin
    pts = {
        "eyes": np.array([[-ident.eye_dx, ident.eye_y], [ident.eye_dx, ident.eye_y]]),
        "mouth": np.array([[0.0, ident.mouth_y]]),
        "nose": np.array([[0.0, ident.eye_y + ident.nose_len]]),
        "brows": np.array([[-1.5, 0.0], [1.5, 0.0]]) * ident.eye_dx
        + [0.0, ident.eye_y - ident.brow_dy],
        "jaw": np.stack([0.86 * rx * np.cos(jaw), 0.2 * ry + 0.7 * ry * np.sin(jaw)], axis=1),
        "face": np.array([[0.0, 0.0], [rx, ry]]),
    }
    out = {k: _to_image(pose, size, p) for k, p in pts.items() if k != "face"}
    centre = _to_image(pose, size, pts["face"][:1])[0]
    out["face"] = np.array([*centre, rx * pose.scale * size, ry * pose.scale * size, pose.angle])
    return out


def _box(pose: Pose, size: int, cu: float, cv: float, r: float) -> tuple[slice, slice]:
    """Pixel rows/cols that can hold a feature of radius ``r`` at (cu, cv): paint only there."""
    (x, y), rp = _to_image(pose, size, np.array([[cu, cv]]))[0], r * pose.scale * size + 2
    rows = slice(int(np.clip(y - rp, 0, size)), int(np.clip(np.ceil(y + rp), 0, size)))
    return rows, slice(int(np.clip(x - rp, 0, size)), int(np.clip(np.ceil(x + rp), 0, size)))


def _paint_features(img, u, v, px, ident: Identity, pose: Pose, skin: np.ndarray) -> None:
    size = img.shape[0]
    for side in (-1, 1):
        eu, ev = side * ident.eye_dx, ident.eye_y
        b = _box(pose, size, eu, ev, ident.eye_r[0])
        uu, vv, ery = u[b], v[b], ident.eye_r[1] * pose.eye_open
        white = _cover(_ellipse_sd(uu, vv, eu, ev, ident.eye_r[0], max(ery, 1e-3)), px)
        _paint(img[b], white, [0.95] * 3)
        iris = _cover(_ellipse_sd(uu, vv, eu, ev, ident.eye_r[1] * 0.8, ident.eye_r[1] * 0.8), px)
        _paint(img[b], iris * _cover(np.abs(vv - ev) - ery, px), ident.iris)
        lift = ident.brow_tilt * 0.03 * side
        p0 = (eu - side * 0.045, ev - ident.brow_dy + lift)
        p1 = (eu + side * 0.045, ev - ident.brow_dy - lift)
        b = _box(pose, size, eu, ev - ident.brow_dy, 0.05 + ident.brow_w)
        _paint(img[b], _cover(_segment_sd(u[b], v[b], p0, p1, ident.brow_w), px), ident.hair * 0.8)
    top, tip = ident.eye_y + 0.02, ident.eye_y + ident.nose_len
    b = _box(pose, size, 0, (top + tip) / 2, ident.nose_len / 2 + ident.nose_w)
    nose = _cover(_segment_sd(u[b], v[b], (0, top), (0, tip), ident.nose_w), px)
    _paint(img[b], 0.35 * nose * (u[b] > 0), skin * 0.7)
    mh = 0.012 + 0.03 * pose.mouth_open
    b = _box(pose, size, 0, ident.mouth_y, max(ident.mouth_w, mh + 0.012))
    uu, vv = u[b], v[b]
    lips = _cover(_ellipse_sd(uu, vv, 0, ident.mouth_y, ident.mouth_w, mh + 0.012), px)
    _paint(img[b], lips, ident.lip)
    inside = _cover(_ellipse_sd(uu, vv, 0, ident.mouth_y, ident.mouth_w * 0.8, mh), px)
    _paint(img[b], inside, [0.2, 0.05, 0.05])


def render_face(ident: Identity, pose: Pose, size: int, skin: np.ndarray | None = None) -> Render:
    """Draws ``ident`` in ``pose`` at ``size`` x ``size`` pixels.

    Args:
        ident: the person.
        pose: head placement, expression and light of this frame.
        size: output side in pixels.
        skin: overrides the skin colour (used by swaps that re-render a face on another head).

    Returns:
        The float image, the face coverage mask and the landmarks in pixel coordinates.
    """
    u, v, px = _face_coords(pose, size)
    rx, ry = ident.face_r
    skin = ident.skin if skin is None else skin
    img = _background(ident, size)
    hair_cover = _cover(_ellipse_sd(u, v, 0, -0.02, rx * ident.hair_volume, ry * 1.08), px)
    _paint(img, hair_cover, ident.hair)
    _paint(img, _cover(np.maximum(np.abs(u) - 0.45 * rx, -v + 0.6 * ry), px), skin * 0.8)  # neck
    face = _cover(_ellipse_sd(u, v, 0, 0, rx, ry), px)
    _paint(img, face, skin)
    fringe = face * _cover(v - ident.hair_line - 0.04 * np.cos(u * 25), px)
    _paint(img, fringe, ident.hair)
    _paint_features(img, u, v, px, ident, pose, skin)
    # Lambertian shading on an ellipsoid head; the light moves a little from frame to frame.
    nz = np.sqrt(np.clip(1 - (u / rx) ** 2 - (v / ry) ** 2, 0, 1))
    lu, lv = np.sin(pose.light_angle), -0.3
    lz = np.sqrt(max(1 - lu**2 - lv**2, 0.05))
    shade = ident.ambient + ident.diffuse * np.clip(lu * u / rx + lv * v / ry + lz * nz, 0, 1)
    head = np.maximum(face, hair_cover)
    gain = pose.light_gain * (head * shade + (1 - head) * (ident.ambient + 0.5 * ident.diffuse))
    img = np.clip(img * gain[..., None], 0, 1).astype(np.float32)
    return Render(img, face.astype(np.float32), _landmarks(ident, pose, size))


def pose_with(pose: Pose, **changes: float) -> Pose:
    """A copy of ``pose`` with some fields changed (expression transfer)."""
    return replace(pose, **changes)


def with_inner_face(head: Identity, donor: Identity) -> Identity:
    """``donor``'s inner face (eyes, brows, nose, mouth, skin) on ``head``'s head and scene.

    Face swaps replace the inner face only; keeping the outline, hair and background of ``head``
    means the swapped region never shows the donor's background.
    """
    inner = ("skin", "eye_dx", "eye_y", "eye_r", "iris", "brow_dy", "brow_w", "brow_tilt")
    inner += ("nose_len", "nose_w", "mouth_y", "mouth_w", "lip", "ambient", "diffuse")
    return replace(head, **{name: getattr(donor, name) for name in inner})
