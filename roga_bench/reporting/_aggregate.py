"""Aggregate selected results over trials: mean ± standard error (DESIGN §7)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Cell", "cell_of"]


@dataclass(frozen=True)
class Cell:
    """One table cell: mean over trials, its standard error (NaN for one trial), trial count.

    ``reported`` cells hold a number copied from the paper (no standard error, ``n`` = 0).
    """

    mean: float
    se: float
    n: int
    reported: bool = False

    @property
    def finite(self) -> bool:
        return not math.isnan(self.mean)


def cell_of(values: Sequence[float]) -> Cell:
    """Mean and standard error (sample std / sqrt(n)) of ``values``; a NaN value stays NaN."""
    arr = np.asarray(list(values), dtype=float)
    n = len(arr)
    if n == 0:
        return Cell(math.nan, math.nan, 0)
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return Cell(mean, se, n)
