"""Row orders and the environment names each dataset family gives the paper's columns."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ALGORITHM_ORDER", "CROSS_ORDER", "UADFV", "CELEBDF", "GID", "order_rows"]

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
CROSS_ORDER = {
    "FFpp": ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"],
    "SynthFF": ["SynthCDF", "SynthUADFV", "SynthDFDC"],
}
UADFV = {"FFpp": "UADFV", "SynthFF": "SynthUADFV"}
CELEBDF = {"FFpp": "CDF-v2", "SynthFF": "SynthCDF"}
GID = ["DF", "F2F", "FS", "NT"]


def order_rows(labels: Sequence[str]) -> list[str]:
    """Known algorithms in the paper's order, then the rest alphabetically."""
    known = [a for a in ALGORITHM_ORDER if a in labels]
    return known + sorted(set(labels) - set(known))
