"""The plan of one ``launch --until_decided`` and its error (shared by the loop and files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from roga_bench.stats.sequential import SequentialDesign
from roga_bench.sweep._jobs import Job

__all__ = ["DesignError", "Plan"]


class DesignError(ValueError):
    """design.json disagrees with this launch, or the records cannot be paired (exit 2)."""


@dataclass
class Plan:
    """One sequential launch.

    Attributes:
        design: the statistics (looks, m, α, δ, spending).
        baseline: the baseline algorithm.
        others: the compared algorithms, in the order of the comparisons.
        doc: what ``design.json`` holds (the design plus protocol, trials, code version).
        jobs_for: ``(algorithms, n_trials) -> jobs`` with trial seeds first_trial ...
        budget_hours: stop starting looks once the design's job time would pass this.
        slots: jobs that run at once (for the wall-time estimates).
        timing_note: where the job times of the estimates come from.
    """

    design: SequentialDesign
    baseline: str
    others: list[str]
    doc: dict[str, Any]
    jobs_for: Callable[[Sequence[str], int], list[Job]]
    budget_hours: float | None = None
    slots: int = 1
    timing_note: str = ""

    @property
    def names(self) -> list[str]:
        return [f"{a} vs {self.baseline}" for a in self.others]
