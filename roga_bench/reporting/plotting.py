"""Matplotlib helpers shared by the report's and the analysis' figures (public).

``pyplot()`` imports matplotlib on first use with the headless Agg backend; ``save_figure`` writes a
figure as PNG and PDF (a PDF without creation date, so the same results give identical files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend (never needs a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out_dir: Path, name: str, dpi: int = 150) -> list[Path]:
    """Write ``fig`` as ``name``.png and .pdf under ``out_dir``, close it, return the paths."""
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for p in paths:
        # no creation date in PDFs, so the same results give byte-identical files
        meta = {"CreationDate": None} if p.suffix == ".pdf" else None
        fig.savefig(p, dpi=dpi, bbox_inches="tight", metadata=meta)
    pyplot().close(fig)
    return paths
