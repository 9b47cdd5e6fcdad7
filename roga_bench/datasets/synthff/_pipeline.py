"""From a seed to frames: the datasets (recipes), their pairs of videos, and one pair's job.

Videos come in pairs (a, b) as in FF++'s split files: the fakes ``a_b`` (frames of a, face or
expression of b) and ``b_a`` belong to the pair's split, so no person crosses splits. Every random
draw comes from a generator seeded by (seed, dataset, video or pair, purpose), never from a shared
stream, so any pair can be made alone, in any order or process, with identical output.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import gaussian_filter

from roga_bench.datasets.synthff import _faces as faces
from roga_bench.datasets.synthff._camera import Camera, capture, colour, compress
from roga_bench.datasets.synthff._manipulations import METHODS, Frame, apply, draw_params

__all__ = ["Recipe", "SYNTHFF", "TARGETS", "Job", "Video", "plan", "make_pair"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Recipe:
    """One dataset: its camera, lighting, and which fakes it holds.

    ``fakes`` maps a fake label to the (method, parameter overrides) choices one of which is drawn
    per fake video. ``held_out`` is the fraction of pairs in (val, test): cross-dataset targets
    are only evaluated, so most of their pairs go to test.
    """

    name: str
    code: int  # enters every seed, so datasets never share random streams
    real_label: str
    fakes: dict[str, tuple[tuple[str, dict], ...]]
    camera: Camera = field(default_factory=Camera)
    light_bias: float = 0.0
    held_out: tuple[float, float] = (0.15, 0.15)
    film_donor: bool = False  # swapped-in faces also get the camera's lens blur (a better swap)


SYNTHFF = Recipe(
    "SynthFF", 1, "FF-real", {f"FF-{m}": ((m, {}),) for m in METHODS}, Camera(quality=(88, 92))
)
_DFDC_POST = {"renoise": (0.4, 1.0)}  # DFDC's fakes were post-processed (noise, re-encoding)
_DFDC_NT = {"renoise": (0.4, 1.0), "amp": (0.01, 0.03)}
_CDF_SWAP = {"ae": (1.0, 1.6), "fix": (0.8, 1.0), "feather": (2.0, 3.5), "renoise": (0.6, 1.0)}
# Celeb-DF's improved synthesis works at the face's own resolution: no down/up-sampling, so none of
# the resampling trace FF++-style swaps leave (the cue an ERM detector trained on SynthFF relies
# on most: docs/synthff.md). Half of SynthCDF's swaps are made that way, half through the mild
# bottleneck above.
_CDF_NATIVE = {**_CDF_SWAP, "ae": (1.0, 1.0)}
_HELD = (0.1, 0.75)  # targets are only evaluated (their test split): most pairs go to test
TARGETS = (
    # Celeb-DF-like: a better swap (the donor face filmed by the same camera, half of the swaps at
    # the frame's resolution, the rest through a little bottleneck, good colour match, wide
    # blend), warm camera, YouTube-like compression.
    Recipe(
        "SynthCDF", 2, "SynthCDF_real",
        {"SynthCDF_fake": (("DF", _CDF_NATIVE), ("DF", _CDF_SWAP))},
        Camera(blur=0.6, noise=0.01, quality=(75, 90), gains=(1.06, 1.0, 0.9), gamma=0.9),
        held_out=_HELD, film_donor=True,
    ),
    # UADFV-like: an old low-resolution swap, strong colour mismatch, harder compression.
    Recipe(
        "SynthUADFV", 3, "SynthUADFV_real",
        {"SynthUADFV_fake": (("DF", {"ae": (3, 4), "fix": (0.3, 0.7), "feather": (0.5, 1.2)}),)},
        Camera(blur=0.8, noise=0.006, quality=(55, 70), gains=(0.95, 1.0, 1.05)),
        held_out=_HELD,
    ),
    # DFDC-like: every method, dimmer tinted light, noisier sensor, varied compression.
    Recipe(
        "SynthDFDC", 4, "SynthDFDC_real",
        {"SynthDFDC_fake": tuple((m, _DFDC_POST) for m in METHODS[:3]) + (("NT", _DFDC_NT),)},
        Camera(blur=0.6, noise=0.02, quality=(60, 85), gains=(0.9, 0.95, 1.1)),
        light_bias=0.05, held_out=_HELD,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One pair of real videos of one dataset and the fakes made from them."""

    recipe: Recipe
    seed: int
    pair: tuple[int, int]
    split: str
    frames: int
    size: int
    keep_raw: bool = False  # keep uncompressed frames in Video.raw (tests, examples)


@dataclass(frozen=True)
class Video:
    """A finished video: its label, id, split and uint8 frames; ``masks`` only for fakes.

    ``masks`` are the manipulation's blend weight per frame (float [H, W] in [0, 1]); ``raw``, kept
    only on request, the frames before compression (float [H, W, 3]).
    """

    label: str
    vid: str
    split: str
    frames: list[np.ndarray]
    masks: list[np.ndarray] | None = None
    raw: list[np.ndarray] | None = None


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


def split_pairs(
    n_videos: int, rng: np.random.Generator, held_out: tuple[float, float] = (0.15, 0.15)
) -> list[tuple[tuple[int, int], str]]:
    """Random pairs of videos into train/val/test, ``held_out`` of them in (val, test), at least
    one pair in each split (``n_videos >= 6``)."""
    order = rng.permutation(n_videos)
    pairs = [(int(order[i]), int(order[i + 1])) for i in range(0, n_videos - 1, 2)]
    n_val = max(1, round(held_out[0] * len(pairs)))
    n_test = max(1, min(round(held_out[1] * len(pairs)), len(pairs) - n_val - 1))
    names = ["val"] * n_val + ["test"] * n_test
    names = ["train"] * (len(pairs) - len(names)) + names
    return list(zip(pairs, names, strict=True))


def n_target_videos(videos: int) -> int:
    """Real videos per cross-dataset target: 40% of SynthFF's, even, at least six (120 -> 48,
    whose 24 pairs give 18 test pairs: 36 real + 36 fake test videos)."""
    return max(6, videos * 2 // 5 // 2 * 2)


def plan(seed: int, videos: int, frames: int, size: int) -> list[Job]:
    """All jobs of a SynthFF build, in a fixed order."""
    jobs = []
    for recipe in (SYNTHFF, *TARGETS):
        n = videos if recipe is SYNTHFF else n_target_videos(videos)
        for pair, split in split_pairs(n, _rng(seed, recipe.code, 0), recipe.held_out):
            jobs.append(Job(recipe, seed, pair, split, frames, size))
    return jobs


@dataclass
class _Scene:
    ident: faces.Identity
    poses: list[faces.Pose]
    renders: list[faces.Render]
    captured: list[np.ndarray]
    quality: int


def _scene(job: Job, index: int) -> _Scene:
    rng = _rng(job.seed, job.recipe.code, 1, index)
    ident = faces.sample_identity(rng, job.recipe.light_bias)
    poses = faces.sample_poses(ident, job.frames, rng)
    renders = [faces.render_face(ident, p, job.size) for p in poses]
    cam = job.recipe.camera
    captured = [capture(r.image, cam, rng) for r in renders]
    quality = int(rng.integers(cam.quality[0], cam.quality[1] + 1))
    return _Scene(ident, poses, renders, captured, quality)


class _Borrowed:
    """Renders a fake borrows from its donor, made on first use and shared by all methods."""

    def __init__(self, job: Job, src: _Scene, donor: _Scene) -> None:
        self.job, self.src, self.donor = job, src, donor
        self._donor: list[faces.Render] | None = None
        self._reenacted: list[faces.Render] | None = None

    def _filmed(self, render: faces.Render) -> faces.Render:
        # A swapped-in face was filmed too: the same colour pipeline, so colour alone gives nothing
        # (and, for a better swap, the same lens blur, so sharpness gives nothing either).
        cam = self.job.recipe.camera
        img = render.image
        if self.job.recipe.film_donor and cam.blur > 0:
            sigma = cam.blur * img.shape[0] / 64
            img = gaussian_filter(img, (sigma, sigma, 0), mode="nearest")
        return replace(render, image=colour(img, cam))

    def donor_faces(self) -> list[faces.Render]:
        if self._donor is None:
            head = faces.with_inner_face(self.src.ident, self.donor.ident)
            self._donor = [
                self._filmed(faces.render_face(head, p, self.job.size)) for p in self.src.poses
            ]
        return self._donor

    def reenacted(self) -> list[faces.Render]:
        if self._reenacted is None:
            expr = [p.mouth_open for p in self.donor.poses]
            poses = [
                faces.pose_with(p, mouth_open=m) for p, m in zip(self.src.poses, expr, strict=True)
            ]
            self._reenacted = [
                self._filmed(faces.render_face(self.src.ident, p, self.job.size)) for p in poses
            ]
        return self._reenacted


_NEEDS = {"DF": "donor", "FS": "donor", "NT": "reenacted", "F2F": ""}


def _fake(job: Job, borrowed: _Borrowed, label: str, key: tuple[int, ...]) -> Video:
    rng = _rng(job.seed, job.recipe.code, 2, *key)
    choices = job.recipe.fakes[label]
    method, overrides = choices[int(rng.integers(len(choices)))]
    params = draw_params(method, rng, job.recipe.camera.noise, **overrides)
    src = borrowed.src
    donor = borrowed.donor_faces() if _NEEDS[method] == "donor" else src.renders
    reenacted = borrowed.reenacted() if _NEEDS[method] == "reenacted" else src.renders
    frames, masks, raw = [], [], []
    for t in range(len(src.poses)):
        frame = Frame(src.captured[t], src.renders[t], donor[t], reenacted[t])
        img, alpha = apply(method, frame, params)
        frames.append(compress(img, src.quality))
        masks.append(alpha)
        raw.append(img)
    vid = f"{_name(key[0], job)}_{_name(key[1], job)}"
    return Video(label, vid, job.split, frames, masks, raw if job.keep_raw else None)


def _name(index: int, job: Job) -> str:
    return f"{index:03d}"


def make_pair(job: Job) -> list[Video]:
    """The two real videos of ``job.pair`` and, per fake label, the fakes a_b and b_a."""
    a, b = job.pair
    scenes = {a: _scene(job, a), b: _scene(job, b)}
    out = []
    for i in (a, b):
        captured = scenes[i].captured
        frames = [compress(c, scenes[i].quality) for c in captured]
        raw = captured if job.keep_raw else None
        out.append(Video(job.recipe.real_label, _name(i, job), job.split, frames, None, raw))
    borrowed = {(s, d): _Borrowed(job, scenes[s], scenes[d]) for s, d in ((a, b), (b, a))}
    for li, label in enumerate(job.recipe.fakes):
        for src, dst in ((a, b), (b, a)):
            out.append(_fake(job, borrowed[src, dst], label, (src, dst, li)))
    return out
