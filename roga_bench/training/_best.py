"""The best checkpoint by training-domain validation, as the ``iid`` selection method picks it.

Score of a checkpoint: the mean over the training environments of ``env{i}_out_auc`` (NaN values
skipped; NaN if all are NaN). The best checkpoint has the highest score; ties go to the earlier
step and NaN ranks last (all NaN: the first checkpoint): the rule of ``roga_bench._ranking``,
which ``roga_bench.reporting.selection`` ranks with too, so ``model_best.pkl`` holds the weights
that ``iid`` selection on AUC picks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roga_bench._ranking import is_better, mean_over_envs

__all__ = ["BEST_MODEL_NAME", "SELECTION_METRIC", "BestCheckpoint", "validation_score"]

BEST_MODEL_NAME = "model_best.pkl"
SELECTION_METRIC = "auc"  # the selection methods' default metric


def validation_score(record: Mapping[str, Any], train_envs: Sequence[int]) -> float:
    """Mean of ``env{i}_out_auc`` over ``train_envs``, skipping NaN/absent values; NaN if none."""
    return mean_over_envs(record, train_envs, "out", SELECTION_METRIC)


class BestCheckpoint:
    """The best step seen so far and its score (``step`` is None before the first checkpoint)."""

    def __init__(self, train_envs: Sequence[int]) -> None:
        self.train_envs = list(train_envs)
        self.step: int | None = None
        self.score = math.nan

    def offer(self, record: Mapping[str, Any]) -> bool:
        """Consider the checkpoint ``record`` (in step order); True if it is the new best."""
        score = validation_score(record, self.train_envs)
        if self.step is None or is_better(score, self.score):
            self.step, self.score = int(record["step"]), score
            return True
        return False

    def replay(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Offer the records a resumed run already wrote (results.jsonl, in order)."""
        for record in records:
            self.offer(record)
