"""A rebuilt run with its fixed evaluation batches, and how per-batch numbers are summarised.

Each env's batches are drawn once (``_samples.draw_batches``: balanced real/fake, stratified by
video, disjoint) from the train split of a training env or the test split of a held-out env,
with the seed ``cfg.seed + env``, and stacked once for all the analyses of the run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from roga_bench.analysis._config import AnalysisConfig
from roga_bench.analysis._runs import RunSpec
from roga_bench.analysis._samples import describe, draw_batches

__all__ = ["Batch", "PreparedRun", "concat", "stack", "split_videos", "BATCH_SE", "PROBE_SE"]

BATCH_SE = "_batch_se"  # key suffix: s.e. of a mean over independent batches
PROBE_SE = "_probe_se"  # key suffix: s.e. of a Hutchinson estimate over its probes


@dataclass(frozen=True)
class Batch:
    """One evaluation batch: images, labels, the frames' video ids."""

    x: torch.Tensor
    y: torch.Tensor
    videos: tuple[str, ...]

    @property
    def note(self) -> str:
        """Its composition, e.g. ``"32 frames: 16 real, 16 fake, 32 videos"``."""
        return describe(self.y.tolist(), self.videos)


def concat(batches: Sequence[Batch]) -> Batch:
    """Several batches as one (a video in two of them counts once in its note)."""
    return Batch(
        torch.cat([b.x for b in batches]),
        torch.cat([b.y for b in batches]),
        tuple(v for b in batches for v in b.videos),
    )


def split_videos(split: Any) -> list[str]:
    """The video id of every frame of a split (without ids: each frame its own video)."""
    ids = getattr(split, "video_ids", None)
    if ids is None:
        ids = getattr(split, "paths", None) or [f"frame{i}" for i in range(len(split))]
    return [str(v) for v in ids]


def stack(split: Any, idx: Sequence[int], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames ``idx`` of a split as ``(images [N, 3, S, S], labels [N])`` on ``device``."""
    items = [split[i] for i in idx]
    x = torch.stack([t for t, _ in items]).to(device)
    y = torch.tensor([int(lab) for _, lab in items], device=device)
    return x, y


def _batch(split: Any, idx: list[int], videos: list[str], device: str) -> Batch:
    x, y = stack(split, idx, device)
    return Batch(x, y, tuple(videos[i] for i in idx))


class PreparedRun:
    """A rebuilt run with its fixed evaluation data (built once, shared by the analyses)."""

    def __init__(self, spec: RunSpec, algorithm: Any, ds: Any, cfg: AnalysisConfig) -> None:
        self.spec, self.ds, self.cfg = spec, ds, cfg
        self.network = algorithm.network.to(cfg.device).eval()
        self.envs = list(range(len(spec.environments)))
        self.train_envs = [i for i in self.envs if i not in spec.test_envs]
        self._batches: dict[int, list[Batch]] = {}

    def split_name(self, i: int) -> str:
        return "test" if i in self.spec.test_envs else "train"

    def env(self, i: int) -> str:
        return self.spec.environments[i]

    def batches(self, i: int) -> list[Batch]:
        """The fixed evaluation batches of env i: ``n_batches`` disjoint batches of up to
        ``batch_size`` frames, balanced real/fake and spread over videos, drawn with the seed."""
        if i not in self._batches:
            split = self.ds.split(i, self.split_name(i))
            videos = split_videos(split)
            drawn = draw_batches(
                split.labels, videos, self.cfg.n_batches, self.cfg.batch_size, self.cfg.seed + i
            )
            self._batches[i] = [_batch(split, idx, videos, self.cfg.device) for idx in drawn]
        return self._batches[i]

    def groups(self) -> list[tuple[str, list[int]]]:
        """(tag, env indices): each env alone, then ``train`` and ``test`` (held-out) envs."""
        out = [(f"env={self.env(i)}", [i]) for i in self.envs]
        out.append(("train", self.train_envs))
        out.append(("test", list(self.spec.test_envs)))
        return out

    def summarise(self, per_env: dict[int, list[dict[str, float]]]) -> dict[str, float]:
        """Per-batch numbers of each env -> ``key[tag]`` means over batches (and, for a group,
        over its envs) with ``key_batch_se[tag]``, the s.e. of that mean over the batches
        (NaN from one batch); ``*_probe_se`` keys are combined in quadrature."""
        out: dict[str, float] = {}
        for tag, members in self.groups():
            have = [per_env[i] for i in members if per_env.get(i)]
            if have:
                out.update(_summary(have, tag))
        return out


def _summary(have: list[list[dict[str, float]]], tag: str) -> dict[str, float]:
    nb = min(len(h) for h in have)
    out: dict[str, float] = {}
    for key in have[0][0]:
        if key.endswith(PROBE_SE):
            total = sum(b[key] ** 2 for h in have for b in h[:nb])
            out[f"{key}[{tag}]"] = math.sqrt(total) / (len(have) * nb)
            continue
        per_batch = [float(np.mean([h[b][key] for h in have])) for b in range(nb)]
        out[f"{key}[{tag}]"] = float(np.mean(per_batch))
        se = float(np.std(per_batch, ddof=1) / math.sqrt(nb)) if nb > 1 else math.nan
        out[f"{key}{BATCH_SE}[{tag}]"] = se
    return out
