"""The analysis settings and what one analysis of one run produces."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["AnalysisConfig", "Result"]


@dataclass(frozen=True)
class AnalysisConfig:
    """How much each analysis computes (every field but ``device`` is part of the cache key)."""

    rhos: tuple[float, ...] = (0.05,)  # the sweep's ρ values: sharpness radius, alignment ρ = max
    batch_size: int = 32  # frames per evaluation batch (half real, half fake)
    n_batches: int = 2  # independent evaluation batches per env (each analysis: per batch)
    flatness_batches: int = 2  # of those, how many sharpness/Hessian use (one at a time): cost
    ascent_steps: int = 2  # projected ascent steps of worst-case sharpness
    power_iters: int = 8  # power iterations (Hessian top eigenvalue)
    hutchinson_samples: int = 16  # Rademacher probes per batch (Hessian trace)
    landscape_points: int = 11  # 1-D slice points in [-radius, radius] (0 always included)
    landscape_grid: int = 7  # 2-D slice: grid x grid points (0 always included)
    landscape_radius: float = 1.0
    cam_frames: int = 6  # frames per figure grid (half real, half fake)
    cam_score_frames: int = 64  # fake frames scored for localisation (masks: fakes only)
    tsne_samples: int = 1000  # at most this many test frames, half real (the paper: 5,000)
    seed: int = 0
    device: str = "cpu"

    def key(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "device"}


@dataclass
class Result:
    """What one analysis of one run produced.

    ``batches`` describes every batch the analysis used as ``"<use>|<composition>"`` (e.g.
    ``"train split|32 frames: 16 real, 16 fake, 32 videos"``), for the table's notes.
    """

    scalars: dict[str, float]
    arrays: dict[str, np.ndarray]
    notes: list[str]
    seconds: float
    batches: list[str] = field(default_factory=list)
