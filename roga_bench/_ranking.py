"""The one rule that ranks checkpoints on validation scores, shared by training and reporting.

Training writes ``model_best.pkl`` at the checkpoint that ``iid`` selection on AUC picks, and
both must rank the same way: a checkpoint's score is the mean of ``env{i}_{split}_{metric}`` over
some envs (NaN and absent values skipped; NaN if none), the best is the first maximum (ties go to
the earlier checkpoint), NaN ranks last (all NaN: the first). Lives below both packages, since
training may not import reporting (DESIGN §1: data flows down).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from roga_bench.records import metric_key

__all__ = ["mean_over_envs", "best_index", "is_better"]


def mean_over_envs(
    record: Mapping[str, Any], envs: Sequence[int], split: str, metric: str
) -> float:
    """Mean of ``env{i}_{split}_{metric}`` over ``envs``, skipping NaN/absent; NaN if none."""
    vals = [record.get(metric_key(i, split, metric)) for i in envs]
    vals = [float(v) for v in vals if v is not None and not math.isnan(float(v))]
    return sum(vals) / len(vals) if vals else math.nan


def is_better(score: float, best: float) -> bool:
    """Whether ``score`` beats ``best`` (NaN never beats anything; anything beats NaN)."""
    return not math.isnan(score) and (math.isnan(best) or score > best)


def best_index(values: Sequence[float]) -> int:
    """Index of the first maximum; NaN ranks last; all-NaN (or empty) -> 0."""
    best, best_i = math.nan, 0
    for i, v in enumerate(values):
        if is_better(v, best):
            best, best_i = v, i
    return best_i
