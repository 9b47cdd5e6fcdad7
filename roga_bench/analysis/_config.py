"""The analysis settings and what one analysis of one run produces."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from roga_bench._flags import flag

__all__ = ["AnalysisConfig", "Result"]


@dataclass(frozen=True)
class AnalysisConfig:
    """How much each analysis computes (every field but ``device`` is part of the cache key)."""

    # Each field is also a flag of ``python -m roga_bench.analyze`` (roga_bench._flags).
    # the sweep's ρ values: sharpness radius, alignment ρ = max
    rhos: tuple[float, ...] = flag(
        (0.05,),
        flags=["--rho"],
        type=float,
        nargs="*",
        flag_default=None,
        help="default: the sweep's ρ",
    )
    # frames per evaluation batch (half real, half fake)
    batch_size: int = flag(32, help="frames per evaluation batch, half real", at_least=1)
    # independent evaluation batches per env (each analysis: per batch)
    n_batches: int = flag(2, help="independent evaluation batches per env", at_least=1)
    # of those, how many sharpness/Hessian use (one at a time): cost
    flatness_batches: int = flag(
        2,
        help="of those, batches sharpness/Hessian measure (each alone; 2+ gives a spread)",
        at_least=1,
    )
    ascent_steps: int = flag(2, at_least=1)  # projected ascent steps of worst-case sharpness
    power_iters: int = flag(8, at_least=1)  # power iterations (Hessian top eigenvalue)
    hutchinson_samples: int = flag(16, help="probes per batch", at_least=1)  # Rademacher probes
    # 1-D slice points in [-radius, radius] (0 always included)
    landscape_points: int = flag(11, help="1-D slice points", at_least=1)
    # 2-D slice: grid x grid points (0 always included)
    landscape_grid: int = flag(7, help="2-D slice: grid x grid points", at_least=1)
    landscape_radius: float = flag(1.0, help="slices on [-r, r]", above=0)
    # frames per figure grid (half real, half fake)
    cam_frames: int = flag(6, help="frames per CAM figure grid")
    # fake frames scored for localisation (masks: fakes only)
    cam_score_frames: int = flag(64, help="frames scored per env")
    # at most this many test frames, half real (the paper: 5,000)
    tsne_samples: int = flag(1000, help="the paper used 5000", at_least=1)
    seed: int = flag(0)
    device: str = flag("cpu", choices=["cpu", "cuda", "auto"])

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
