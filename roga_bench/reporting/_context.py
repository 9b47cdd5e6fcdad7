"""What the table builders share: the records, the chosen selection and cached selections.

Selection warnings (runs a method could not use, and why) are caught per dataset and kept, so
each table lists those of its own datasets (``selection_notes``) instead of a terminal warning.

Every run is accounted for (``_settings``): runs overriding an algorithm's own hparams (the
α × ρ grid, ``{"alpha": 0.002, "rho": 0.05}``) are *variants*, shown by Table VI only and listed as
excluded by Tables I–V; shared-key overrides (``{"lr": 0.01}``) are a *setting* with rows of their
own (``"RoGA [lr=0.01]"``), selected per setting; runs that model selection did not pick, runs of
another backbone than a table's, and runs a paired test cannot pair are listed under each table
and in ``excluded.csv`` with the reason.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from roga_bench._registry import SELECTIONS
from roga_bench.reporting._names import order_rows  # noqa: F401  (analysis/ imports it here)
from roga_bench.reporting._settings import PAIR_KEYS, overrides, own_keys, setting_label
from roga_bench.stats import DecisionRule

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
    rule: DecisionRule = field(default_factory=DecisionRule)  # α and the margin δ of verdicts
    _cache: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    _warnings: dict[str, list[str]] = field(default_factory=dict)
    # (dataset, variants) -> {run: why model selection left it out}
    _unselected: dict[tuple[str, bool], dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = SELECTIONS.get(self.selection)  # unknown name fails here, early
        self.df = _with_settings(self.df)
        first = self.df.drop_duplicates("run")
        #: {run: {pair key: value}}: what two paired runs must share (``_settings.PAIR_KEYS``)
        self.run_settings = {
            str(r["run"]): {k: r.get(k) for k in PAIR_KEYS} for r in first.to_dict("records")
        }
        #: {run: why Tables I–V leave it out}: variants of an algorithm's own hparams
        self.variants = {
            str(run): f"{alg} run overriding {keys} (not a shared setting): a variant, shown in "
            "Table VI only when an α × ρ grid point"
            for run, alg, keys in zip(first["run"], first["algorithm"], first["_own"], strict=True)
            if keys
        }
        self.plain = self.df[~self.df["run"].astype(str).isin(self.variants)]
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
        extra = ("setting", *extra)  # each setting (shared-key overrides) is selected apart
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
            chosen = set(self._cache[key]["run"].astype(str)) if len(self._cache[key]) else set()
            left = self._unselected.setdefault((str(dataset), variants), {})
            why = (
                f"not chosen by {self.selection} selection (another run of its group was, or "
                "it has no selection score: see the selection warnings)"
            )
            left.update({str(r): why for r in set(sub["run"].astype(str)) - chosen})
        out = self._cache[key]
        if not all_backbones and self.backbone is not None and len(out):
            out = out[out["backbone"].astype(str) == self.backbone]
        return out

    def excluded(
        self,
        datasets: Sequence[str | None],
        algorithms: Collection[str] | None = None,
        variants: bool = False,
        all_backbones: bool = False,
    ) -> list[tuple[str, str]]:
        """``(run, reason)`` for the runs of ``datasets`` (and ``algorithms``: display names,
        None for all) a table built that way leaves out before any test: variants (unless
        ``variants``), other backbones (unless ``all_backbones``), runs model selection did not
        choose."""
        out: list[tuple[str, str]] = []
        names = {str(d) for d in datasets if d}
        mine = self.df[self.df["dataset"].astype(str).isin(names)].drop_duplicates("run")
        if algorithms is not None:
            mine = mine[mine["algorithm"].isin(list(algorithms))]
        keep = set(mine["run"].astype(str))
        for run, backbone in zip(mine["run"].astype(str), mine["backbone"], strict=True):
            if not variants and run in self.variants:
                out.append((run, self.variants[run]))
            elif not all_backbones and self.backbone and str(backbone) != self.backbone:
                out.append((run, f"backbone {backbone}: this table shows {self.backbone} only"))
        for name in sorted(names):
            for run, why in sorted(self._unselected.get((name, variants), {}).items()):
                if run in keep:
                    out.append((run, why))
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


def _with_settings(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus ``setting`` (the shared-key overrides, '' for none) and ``_own`` (the
    variant keys, '' for none) from each run's ``args.hparams``.

    A non-shared key that every run of its dataset overrides with the same value (the paper
    suite's ``{"targets": ...}`` on every cross-dataset run) is common ground, not a variant.
    """
    df = df.copy()
    if df.empty:
        df["setting"], df["_own"] = "", ""
        return df
    raw = df.get("args.hparams", pd.Series([""] * len(df), index=df.index)).astype(str)
    parsed = {v: overrides(v) for v in set(raw)}
    first = pd.DataFrame({"dataset": df["dataset"].astype(str), "raw": raw, "run": df["run"]})
    first = first.drop_duplicates("run")
    common: dict[str, set[str]] = {}
    for dataset, group in first.groupby("dataset"):
        dicts = [parsed[v] for v in group["raw"]]
        keys = set.intersection(*(set(own_keys(d)) for d in dicts)) if dicts else set()
        common[dataset] = {
            k for k in keys if len({json.dumps(d[k], sort_keys=True) for d in dicts}) == 1
        }
    df["setting"] = raw.map(lambda v: setting_label(parsed[v]))
    df["_own"] = [
        ", ".join(k for k in own_keys(parsed[v]) if k not in common.get(d, set()))
        for v, d in zip(raw, df["dataset"].astype(str), strict=True)
    ]
    return df
