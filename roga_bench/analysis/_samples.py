"""The evaluation samples of the analysis: balanced real/fake, spread over many videos.

A split lists its frames video by video and its real videos before its fakes, so a uniform draw
sorted by index (or any prefix of the split) is one class. Every analysis batch here is drawn by
:func:`draw_batches`:

- balanced: each batch holds ``batch_size // 2`` real and the rest fake frames (when a class runs
  short the other fills the batch, and the batch's description says so);
- stratified by video: the videos of each class are shuffled and visited round-robin, one frame
  per video per pass, so a batch holds frames of as many videos as possible (few frames each);
- disjoint: no frame is in two batches, so batches are independent measurements;
- interleaved real, fake, real, ...: any prefix of a batch is balanced too.

The draw depends only on the split's labels, video ids and the seed: every run that reads the
same split (every algorithm of one test env) is measured on the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["spread_over_videos", "draw_batches", "describe"]


def spread_over_videos(
    indices: Sequence[int], videos: Sequence[str], n: int, rng: np.random.Generator
) -> list[int]:
    """Up to ``n`` of ``indices``, one frame per video per pass over the shuffled videos.

    Args:
        indices: candidate frame indices.
        videos: the video id of every frame of the split (indexed by frame index).
        n: how many to take.
        rng: the random source (videos and the frames inside a video are shuffled).
    """
    by_video: dict[str, list[int]] = {}
    for i in indices:
        by_video.setdefault(str(videos[i]), []).append(int(i))
    keys = sorted(by_video)
    order = [keys[k] for k in rng.permutation(len(keys))]
    queues = [list(rng.permutation(by_video[v])) for v in order]
    out: list[int] = []
    depth = 0
    while len(out) < n and any(depth < len(q) for q in queues):
        out += [int(q[depth]) for q in queues if depth < len(q)][: n - len(out)]
        depth += 1
    return out


def _quotas(n_real: int, n_fake: int, n: int) -> tuple[int, int]:
    """Real and fake frames to take for ``n`` in all: half each, the other class fills a gap."""
    real = min(n_real, max(n // 2, n - n_fake))
    return real, min(n_fake, n - real)


def _interleave(a: list[int], b: list[int]) -> list[int]:
    out = [x for pair in zip(a, b, strict=False) for x in pair]
    return out + a[len(b) :] + b[len(a) :]


def draw_batches(
    labels: Sequence[int], videos: Sequence[str], n_batches: int, batch_size: int, seed: int
) -> list[list[int]]:
    """``n_batches`` disjoint batches of frame indices, balanced and stratified by video.

    Args:
        labels: 0 real / 1 fake per frame of the split.
        videos: video id per frame (frames of one video share it).
        n_batches: how many batches.
        batch_size: frames per batch (fewer when the split is too small; never empty batches
            unless the split has fewer frames than batches).
        seed: the draw is a function of (labels, videos, seed) only.
    """
    rng = np.random.default_rng(seed)
    real = [i for i, y in enumerate(labels) if int(y) == 0]
    fake = [i for i, y in enumerate(labels) if int(y) == 1]
    q_real, q_fake = _quotas(len(real), len(fake), n_batches * batch_size)
    reals = np.array_split(np.asarray(spread_over_videos(real, videos, q_real, rng)), n_batches)
    fakes = np.array_split(np.asarray(spread_over_videos(fake, videos, q_fake, rng)), n_batches)
    batches = [_interleave(r.tolist(), f.tolist()) for r, f in zip(reals, fakes, strict=True)]
    return [b for b in batches if b]


def describe(labels: Sequence[int], videos: Sequence[str]) -> str:
    """``"32 frames: 16 real, 16 fake, 32 videos"`` for one batch's labels and video ids."""
    y = [int(v) for v in labels]
    n_fake = sum(y)
    return f"{len(y)} frames: {len(y) - n_fake} real, {n_fake} fake, {len(set(videos))} videos"
