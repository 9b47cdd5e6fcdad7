"""The order of algorithm rows (the paper's families and columns: ``roga_bench.paper``)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ALGORITHM_ORDER", "order_rows"]

ALGORITHM_ORDER = [
    "ERM (Adam)",
    "ERM",
    "SAM",
    "ASAM",
    "SAGM",
    "GSAM",
    "RoGA_Robust",
    "RoGA_Align",
    "RoGA",
]


def order_rows(labels: Sequence[str]) -> list[str]:
    """Known algorithms in the paper's order, then the rest alphabetically."""
    known = [a for a in ALGORITHM_ORDER if a in labels]
    return known + sorted(set(labels) - set(known))
