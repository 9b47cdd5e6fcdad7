"""The plan of one ``launch --until_decided`` and its error (shared by the loop and files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
        baseline: the baseline algorithm (with ``references``: the first reference).
        others: the compared algorithms (candidates), in the order of the comparisons.
        doc: what ``design.json`` holds (the design plus protocol, trials, code version).
        jobs_for: ``(algorithms, n_trials) -> jobs`` with trial seeds first_trial ...
        budget_hours: stop starting looks once the design's job time would pass this.
        slots: jobs that run at once (for the wall-time estimates).
        timing_note: where the job times of the estimates come from.
        references: with ``--pairs``, each comparison's own reference (same order as
            ``others``); empty: every comparison is with ``baseline``.
    """

    design: SequentialDesign
    baseline: str
    others: list[str]
    doc: dict[str, Any]
    jobs_for: Callable[[Sequence[str], int], list[Job]]
    budget_hours: float | None = None
    slots: int = 1
    timing_note: str = ""
    references: list[str] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        """The reference of each comparison."""
        return list(self.references) or [self.baseline] * len(self.others)

    @property
    def algorithms(self) -> list[str]:
        """Every algorithm of the design, references first, each once."""
        return list(dict.fromkeys([*self.refs, *self.others]))

    def running(self, open_: Sequence[str]) -> list[str]:
        """The algorithms that get trials while the comparisons of candidates ``open_`` are
        open: those candidates and their references."""
        refs = [r for a, r in zip(self.others, self.refs, strict=True) if a in open_]
        return list(dict.fromkeys([*refs, *[a for a in self.others if a in open_]]))

    @property
    def names(self) -> list[str]:
        return [f"{a} vs {r}" for a, r in zip(self.others, self.refs, strict=True)]
