"""What the table builders share: the records, the chosen selection and cached selections.

Selection warnings (runs a method could not use, and why) are caught per dataset and kept, so
each table lists those of its own datasets (``selection_notes``) instead of a terminal warning.

Runs whose ``--hparams`` override more keys than the plain runs of their group (the α × ρ grid of
Table VI, e.g. ``{"alpha": 0.002, "rho": 0.05}`` beside a plain RoGA run) are *variants*: they
count in Table VI only, so that no algorithm in Tables I–V gets more hparam choices than the
others. A group is (dataset, algorithm, backbone, test envs, trial seed).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from roga_bench._registry import SELECTIONS
from roga_bench.reporting._names import order_rows  # noqa: F401  (analysis/ imports it here)

__all__ = ["Context"]


@dataclass
class Context:
    """Records plus the selection settings; selections are computed once and cached."""

    df: pd.DataFrame
    selection: str = "iid"
    metric: str = "auc"
    with_reported: bool = False  # the paper's rows on a non-FF++ family too (not comparable)
    # oracle may rank on targets whose validation split is their test split (title says so)
    oracle_on_test: bool = False
    _cache: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    _warnings: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = SELECTIONS.get(self.selection)  # unknown name fails here, early
        self.plain = self.df[self.df["run"].isin(_plain_runs(self.df))]
        self._by_checkpoint: dict[tuple[str, Any], dict[str, Any]] | None = None
        datasets = set(self.df["dataset"].dropna())
        self.family = "FFpp" if any(str(d).startswith("FFpp") for d in datasets) else "SynthFF"
        self.lomo = f"{self.family}LOMO" if f"{self.family}LOMO" in datasets else None
        cross = f"{self.family}CrossDataset"
        self.cross = cross if cross in datasets else None
        mine = self.df[self.df["dataset"].isin([self.lomo, self.cross])]
        counts = mine["backbone"].astype(str).value_counts() if len(mine) else pd.Series()
        # the default backbone: the one most runs use (ties: alphabetical)
        self.backbone = (
            sorted(counts.index, key=lambda b: (-counts[b], b))[0] if len(counts) else None
        )

    @property
    def show_reported(self) -> bool:
        """Whether tables carry the paper's rows: always on FF++, on request elsewhere."""
        return self.family == "FFpp" or self.with_reported

    def selected(
        self,
        dataset: str | None,
        extra: Sequence[str] = (),
        all_backbones: bool = False,
        variants: bool = False,
    ) -> pd.DataFrame:
        """Selected rows of ``dataset`` (default backbone unless ``all_backbones``; plain runs
        only unless ``variants``)."""
        key = (str(dataset), str(variants), *extra)
        if key not in self._cache:
            frame = self.df if variants else self.plain
            sub = frame[frame["dataset"] == dataset]
            if not len(sub):
                sub, extra = self.df.iloc[:0], ()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._cache[key] = self.method(
                    sub, self.metric, extra, allow_test_frames=self.oracle_on_test
                )
            seen = self._warnings.setdefault(str(dataset), [])
            seen += [str(w.message) for w in caught if str(w.message) not in seen]
        out = self._cache[key]
        if not all_backbones and self.backbone is not None and len(out):
            out = out[out["backbone"].astype(str) == self.backbone]
        return out

    def checkpoint(self, run: str, step: Any) -> dict[str, Any]:
        """The full record of ``run`` at ``step`` (every ``env{i}_*`` key)."""
        if self._by_checkpoint is None:
            self._by_checkpoint = {
                (str(r["run"]), r.get("step")): r for r in self.df.to_dict("records")
            }
        return self._by_checkpoint[(str(run), step)]

    def header_note(self, datasets: Sequence[str | None]) -> str:
        names = ", ".join(d for d in datasets if d) or "none"
        return (
            f"Selection: {self.method.title} ({self.selection}) on {self.metric.upper()}; "
            f"datasets: {names}; backbone: {self.backbone or '-'}."
        )

    def selection_notes(self, datasets: Sequence[str | None]) -> list[str]:
        """The selection's warnings for ``datasets`` (runs it could not use, and why)."""
        return [f"Selection warning: {m}" for d in datasets for m in self._warnings.get(str(d), [])]


def _override_count(value: Any) -> int:
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return 0
        return len(parsed) if isinstance(parsed, dict) else 0
    return 0


def _plain_runs(df: pd.DataFrame) -> set[str]:
    """Runs with the fewest ``--hparams`` override keys within their group (see module doc)."""
    if df.empty:
        return set()
    keys = ["dataset", "algorithm", "backbone", "test_envs", "trial_seed"]
    first = df.drop_duplicates("run")
    overrides = first.get("args.hparams", pd.Series([""] * len(first), index=first.index))
    counts = overrides.map(_override_count)
    least = counts.groupby([first[k].astype(str) for k in keys]).transform("min")
    return set(first.loc[counts == least, "run"].astype(str))
