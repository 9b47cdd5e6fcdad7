"""One real video and one fake made from it, with the manipulated region (for tests and docs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Example", "render_example"]


@dataclass(frozen=True)
class Example:
    """Real and fake frames (uint8 [T, H, W, 3]) of the same source video, and the blend weight
    of the manipulation (float [T, H, W], 0 where source pixels are kept untouched)."""

    real: np.ndarray
    fake: np.ndarray
    mask: np.ndarray


def render_example(method: str, seed: int = 0, frames: int = 2, size: int = 64) -> Example:
    """Renders a SynthFF pair and returns the real video and its ``method`` fake.

    Args:
        method: DF, F2F, FS or NT.
        seed: as in :func:`generate`.
        frames: frames per video.
        size: frame side in pixels.

    Returns:
        An :class:`Example`.

    Raises:
        ValueError: an unknown method.
    """
    from roga_bench.datasets.synthff._pipeline import SYNTHFF, Job, make_pair

    label = f"FF-{method}"
    if label not in SYNTHFF.fakes:
        raise ValueError(f"SynthFF: unknown method {method!r}; expected one of DF, F2F, FS, NT")
    videos = make_pair(Job(SYNTHFF, seed, (0, 1), "train", frames, size))
    real = next(v for v in videos if v.vid == "000" and v.label == SYNTHFF.real_label)
    fake = next(v for v in videos if v.vid == "000_001" and v.label == label)
    return Example(np.stack(real.frames), np.stack(fake.frames), np.stack(fake.masks))
