"""Model selection methods, as DomainBed defines them (``domainbed/model_selection.py``).

Registered in ``SELECTIONS`` (``roga_bench.list_selections()``):

- ``iid`` (training-domain validation): per checkpoint, the mean of ``env{i}_out_<metric>`` over
  the training envs; the best checkpoint of each run, then the best run (hparams) of each group.
  Multi-test-env runs (cross-dataset: several test envs at once) are selected the same way, on
  the training envs only, and give one row per test env.
- ``lodo`` (leave-one-domain-out): needs, for a main run with test envs T, one extra run per
  training env v with test envs T + {v} and the same hparams; the validation score of a step is
  the mean over v of ``env{v}_in_<metric>`` of those extra runs at that step. Steps where an extra
  run is missing are dropped, so missing runs give a missing cell, never an error.
- ``oracle`` (test-domain validation): the last checkpoint of each run (no early stopping), runs
  ranked by the test env's ``env{t}_out_<metric>``.

A group is (dataset, algorithm, backbone, test envs, trial seed) plus any ``extra_keys`` (e.g.
``hparams.alpha``/``hparams.rho`` for the sensitivity table). Each method returns one row per
(group, test env) with the chosen run and step, ``val`` (its selection score), the test env's
``env{t}_in_*`` metrics as ``acc``, ``auc``, ``ap``, ``eer``, ``loss``, ``video_auc``, and the
training envs' mean validation metrics as ``indomain_<metric>``. Ties go to the earliest step and
the first run in sorted order; NaN scores rank last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from roga_bench._registry import register_selection
from roga_bench.reporting._envs import env_name
from roga_bench.reporting._records import env_indices

__all__ = ["METRICS", "GROUP_KEYS", "SelectionMethod", "select", "iid", "lodo", "oracle"]

METRICS = ("acc", "auc", "ap", "eer", "loss", "video_auc")
GROUP_KEYS = ["dataset", "algorithm", "backbone", "test_envs", "trial_seed"]
SELECTION_METRICS = ("auc", "acc")


@dataclass(frozen=True)
class SelectionMethod:
    """A registered selection method: ``method(df, metric="auc", extra_keys=()) -> DataFrame``."""

    name: str
    title: str
    fn: Callable[[pd.DataFrame, str, Sequence[str]], pd.DataFrame]

    def __call__(
        self, df: pd.DataFrame, metric: str = "auc", extra_keys: Sequence[str] = ()
    ) -> pd.DataFrame:
        if metric not in SELECTION_METRICS:
            raise ValueError(f"selection metric {metric!r}: expected one of {SELECTION_METRICS}")
        missing = [k for k in extra_keys if k not in df.columns]
        if missing:
            raise KeyError(f"records have no column(s) {missing} to group on")
        if extra_keys:  # rows without the grouping hparam (e.g. ERM has no alpha) do not belong
            df = df.dropna(subset=list(extra_keys))
        return _finish(self.fn(df, metric, list(extra_keys)), list(extra_keys))


def _col_mean(df: pd.DataFrame, envs: Sequence[int], split: str, metric: str) -> pd.Series:
    cols = [f"env{i}_{split}_{metric}" for i in envs if f"env{i}_{split}_{metric}" in df]
    if not cols:
        return pd.Series(np.nan, index=df.index)
    return df[cols].astype(float).mean(axis=1, skipna=True)


def _train_envs(df: pd.DataFrame, test_envs: tuple[int, ...]) -> list[int]:
    return [i for i in env_indices(df) if i not in test_envs]


def _argmax(values: Sequence[float]) -> int:
    """Index of the first maximum; NaN ranks last; all-NaN -> the first index."""
    best, best_i = -math.inf, 0
    for i, v in enumerate(values):
        if not math.isnan(v) and v > best:
            best, best_i = v, i
    return best_i


def _primary(df: pd.DataFrame) -> pd.DataFrame:
    """The runs of each dataset with the fewest test envs (DomainBed's ``get_test_records``).

    LODO's extra runs hold one test env more and are not results on their own.
    """
    n = df["test_envs"].map(len)
    least = n.groupby(df["dataset"]).transform("min")
    return df[n == least]


def _result_rows(record: pd.Series, df: pd.DataFrame, val: float) -> list[dict[str, Any]]:
    test_envs = record["test_envs"]
    train = _train_envs(df, test_envs)
    rows = []
    for t in test_envs:
        row = {
            "test_env": t,
            "env_name": env_name(record["dataset"], t),
            "run": record["run"],
            "step": record.get("step"),
            "val": val,
        }
        for m in METRICS:
            row[m] = float(record.get(f"env{t}_in_{m}", np.nan))
            cols = [f"env{i}_out_{m}" for i in train]
            vals = [float(record[c]) for c in cols if c in record.index]
            row[f"indomain_{m}"] = (
                float(np.nanmean(vals)) if vals and not all(math.isnan(v) for v in vals) else np.nan
            )
        rows.append(row)
    return rows


def _best_per_group(candidates: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Keep, per group, the candidate run with the highest ``val`` (first in run order on ties)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cand in sorted(candidates, key=lambda c: str(c["run"])):
        groups.setdefault(tuple(cand["key"][k] for k in keys), []).append(cand)
    out = []
    for members in groups.values():
        best = members[_argmax([m["val"] for m in members])]
        out.extend(best["rows"])
    return out


def _run_candidates(df: pd.DataFrame, metric: str, keys: list[str], oracle: bool) -> list[dict]:
    candidates = []
    for _, run_df in _primary(df).groupby("run", sort=True):
        run_df = run_df.sort_values("step", kind="stable") if "step" in run_df else run_df
        first = run_df.iloc[0]
        if oracle:
            val_series = _col_mean(run_df, first["test_envs"], "out", metric)
            pos = len(run_df) - 1  # the last checkpoint: no early stopping
        else:
            val_series = _col_mean(run_df, _train_envs(df, first["test_envs"]), "out", metric)
            pos = _argmax(list(val_series))
        record, val = run_df.iloc[pos], float(val_series.iloc[pos])
        candidates.append(
            {
                "run": first["run"],
                "val": val,
                "key": first[keys].to_dict(),
                "rows": _tag(_result_rows(record, df, val), first, keys),
            }
        )
    return candidates


def _tag(rows: list[dict[str, Any]], first: pd.Series, keys: list[str]) -> list[dict[str, Any]]:
    for row in rows:
        row.update({k: first[k] for k in keys})
        row["hparams_seed"] = first.get("hparams_seed")
    return rows


def _iid(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, oracle=False), keys)


def _oracle(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, oracle=True), keys)


def _hparams_id(df: pd.DataFrame) -> pd.Series:
    overrides = df["args.hparams"].astype(str) if "args.hparams" in df else ""
    return df["hparams_seed"].astype(str) + "|" + overrides


def _lodo(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    match = ["dataset", "algorithm", "backbone", "trial_seed", "_hp", *extra]
    df = df.assign(_hp=_hparams_id(df))
    by_match = {k: g for k, g in df.groupby(match, sort=False, dropna=False)}
    candidates = []
    for _, run_df in _primary(df).groupby("run", sort=True):
        first = run_df.iloc[0]
        peers = by_match[tuple(first[match])]
        test_envs = first["test_envs"]
        val_envs = _train_envs(df, test_envs)
        per_env = {}
        for v in val_envs:
            target = tuple(sorted((*test_envs, v)))
            extra_run = peers[peers["test_envs"].map(lambda te, t=target: te == t)]
            col = f"env{v}_in_{metric}"
            if col in extra_run:
                per_env[v] = extra_run.groupby("step")[col].first()
        steps, vals = [], []
        for step in sorted(run_df["step"]):
            if val_envs and all(v in per_env and step in per_env[v].index for v in val_envs):
                steps.append(step)
                vals.append(float(np.mean([per_env[v][step] for v in val_envs])))
        if not steps:  # an extra run is missing: no LODO score, the cell stays missing
            continue
        best = _argmax(vals)
        record = run_df[run_df["step"] == steps[best]].iloc[0]
        candidates.append(
            {
                "run": first["run"],
                "val": vals[best],
                "key": first[keys].to_dict(),
                "rows": _tag(_result_rows(record, df, vals[best]), first, keys),
            }
        )
    return _best_per_group(candidates, keys)


_COLUMNS = [
    *GROUP_KEYS,
    "test_env",
    "env_name",
    "run",
    "hparams_seed",
    "step",
    "val",
    *METRICS,
    *(f"indomain_{m}" for m in METRICS),
]


def _finish(rows: list[dict[str, Any]], extra: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=[*_COLUMNS, *extra])
    order = ["dataset", "algorithm", "backbone", *extra, "test_env", "trial_seed"]
    return out.sort_values(order, kind="stable").reset_index(drop=True)


iid = register_selection("iid")(SelectionMethod("iid", "training-domain validation", _iid))
lodo = register_selection("lodo")(
    SelectionMethod("lodo", "leave-one-domain-out cross-validation", _lodo)
)
oracle = register_selection("oracle")(
    SelectionMethod("oracle", "test-domain validation (oracle, last checkpoint)", _oracle)
)


def select(
    df: pd.DataFrame, method: str = "iid", metric: str = "auc", extra_keys: Sequence[str] = ()
) -> pd.DataFrame:
    """Run the registered selection method ``method`` on the records ``df``.

    Raises:
        UnknownNameError: unknown method (the message lists the registered ones).
        ValueError: ``metric`` is not ``auc`` or ``acc``.
    """
    from roga_bench._registry import SELECTIONS

    return SELECTIONS.get(method)(df, metric, extra_keys)
