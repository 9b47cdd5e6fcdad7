"""Model selection methods, as DomainBed defines them (``domainbed/model_selection.py``).

Registered in ``SELECTIONS`` (``roga_bench._registry.list_selections()``):

- ``iid`` (training-domain validation): per checkpoint, the mean of ``env{i}_out_<metric>`` over
  the training envs; the best checkpoint of each run, then the best run (hparams) of each group.
  Multi-test-env runs (cross-dataset: several test envs at once) are selected the same way, on
  the training envs only, and give one row per test env.
- ``lodo`` (leave-one-domain-out): needs, for a main run with test envs T, one extra run per
  training env v with test envs T + {v} and the same hparams; the validation score of a step is
  the mean over v of ``env{v}_in_<metric>`` of those extra runs at that step. Steps where an extra
  run is missing are dropped, so missing runs give a missing cell, never an error.
- ``oracle`` (test-domain validation): the last checkpoint of each run (no early stopping), runs
  ranked by the test env's ``env{t}_out_<metric>``
  (the mean over the test envs for multi-test-env runs). It warns when a test env's ``out`` is
  its ``in`` (a cross-dataset target's val mirrors its test split): that picks on reported numbers.

A group is (dataset, algorithm, backbone, test envs, trial seed) plus any ``extra_keys`` (e.g.
``hparams.alpha``/``hparams.rho`` for the sensitivity table). Each method returns one row per
(group, test env) with the chosen run and step, ``val`` (its selection score), the test env's
``env{t}_in_*`` metrics as ``acc``, ``auc``, ``ap``, ``eer``, ``loss``, ``video_auc``, the
training envs' mean validation metrics as ``indomain_<metric>`` (the split that selected the
checkpoint, so optimistic), and the mean of their official test splits (``env{i}_test_*``) as
``indomain_test_<metric>`` (NaN for records written before those keys existed). Ties go to the
earliest step and the first run in sorted order; NaN scores rank last.

A run's environments are those of its own record (``dataset_environments``), never the union of
the columns of a frame that mixes datasets. The checkpoint ``iid`` on AUC picks is the run's
``model_best.pkl`` (its step is ``best_step``); ``oracle`` picks ``model.pkl``; other choices need
``--save_model_every_checkpoint`` (``model_step{step}.pkl``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from roga_bench._registry import register_selection
from roga_bench.reporting._envs import env_name
from roga_bench.reporting._records import ReportInputError, record_env_indices

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
            raise ReportInputError(
                f"selection metric {metric!r}: expected one of {SELECTION_METRICS}"
            )
        missing = [k for k in extra_keys if k not in df.columns]
        if missing:
            raise ReportInputError(f"records have no column(s) {missing} to group on")
        if extra_keys:  # rows without the grouping hparam (e.g. ERM has no alpha) do not belong
            df = df.dropna(subset=list(extra_keys))
        return _finish(self.fn(df, metric, list(extra_keys)), list(extra_keys))


def _mean(record: dict[str, Any], envs: Sequence[int], split: str, metric: str) -> float:
    """Mean of ``env{i}_{split}_{metric}`` over ``envs``, skipping NaN/absent; NaN if none."""
    vals = [record.get(f"env{i}_{split}_{metric}") for i in envs]
    vals = [float(v) for v in vals if v is not None and not math.isnan(float(v))]
    return sum(vals) / len(vals) if vals else math.nan


def _argmax(values: Sequence[float]) -> int:
    """Index of the first maximum; NaN ranks last; all-NaN -> the first index."""
    best, best_i = -math.inf, 0
    for i, v in enumerate(values):
        if not math.isnan(v) and v > best:
            best, best_i = v, i
    return best_i


class _Runs:
    """The records as plain dicts grouped by run (sorted by step): pandas per-row access is
    far too slow for thousands of checkpoints."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.by_run: dict[str, list[dict[str, Any]]] = {}
        for rec in df.to_dict("records"):
            self.by_run.setdefault(str(rec["run"]), []).append(rec)
        for recs in self.by_run.values():
            recs.sort(key=lambda r: r.get("step", 0))
        # each run's own envs (its dataset_environments), never the union of the frame's columns:
        # a LOMO run beside a cross-dataset run must not count envs 4.. as training envs
        self.envs = {run: record_env_indices(recs[0]) for run, recs in self.by_run.items()}
        least: dict[str, int] = {}
        for recs in self.by_run.values():
            d = recs[0]["dataset"]
            least[d] = min(least.get(d, 10**9), len(recs[0]["test_envs"]))
        # DomainBed's get_test_records: per dataset, the runs with the fewest test envs; LODO's
        # extra runs hold one test env more and are not results on their own
        self.primary = sorted(
            r
            for r, recs in self.by_run.items()
            if len(recs[0]["test_envs"]) == least[recs[0]["dataset"]]
        )

    def train_envs(self, record: dict[str, Any]) -> list[int]:
        """The training envs of the run that wrote ``record``."""
        return [i for i in self.envs[str(record["run"])] if i not in record["test_envs"]]


def _result_rows(
    runs: _Runs, record: dict[str, Any], val: float, keys: list[str]
) -> list[dict[str, Any]]:
    test_envs = record["test_envs"]
    train = runs.train_envs(record)
    rows = []
    for t in test_envs:
        row = {k: record[k] for k in keys}
        row.update(
            test_env=t,
            env_name=env_name(record["dataset"], t, record.get("dataset_environments")),
            run=record["run"],
            hparams_seed=record.get("hparams_seed"),
            step=record.get("step"),
            val=val,
        )
        for m in METRICS:
            row[m] = float(record.get(f"env{t}_in_{m}", math.nan))
            row[f"indomain_{m}"] = _mean(record, train, "out", m)
            row[f"indomain_test_{m}"] = _mean(record, train, "test", m)
        rows.append(row)
    return rows


def _best_per_group(candidates: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Keep, per group, the candidate run with the highest ``val`` (first in run order on ties)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cand in sorted(candidates, key=lambda c: str(c["run"])):
        groups.setdefault(tuple(cand["record"][k] for k in keys), []).append(cand)
    out = []
    for members in groups.values():
        best = members[_argmax([m["val"] for m in members])]
        out.extend(best["rows"])
    return out


def _candidate(runs: _Runs, record: dict[str, Any], val: float, keys: list[str]) -> dict:
    return {
        "run": record["run"],
        "val": val,
        "record": record,
        "rows": _result_rows(runs, record, val, keys),
    }


def _run_candidates(df: pd.DataFrame, metric: str, keys: list[str], oracle: bool) -> list[dict]:
    runs = _Runs(df)
    candidates = []
    mirrored: set[str] = set()
    for run in runs.primary:
        recs = runs.by_run[run]
        test_envs = recs[0]["test_envs"]
        if oracle:  # the last checkpoint (no early stopping), scored on the test envs' val
            pos = len(recs) - 1
            val = _mean(recs[pos], test_envs, "out", metric)
            mirrored.update(_val_is_test(recs[pos], test_envs))
        else:
            train = runs.train_envs(recs[0])
            vals = [_mean(r, train, "out", metric) for r in recs]
            pos = _argmax(vals)
            val = vals[pos]
        candidates.append(_candidate(runs, recs[pos], val, keys))
    if mirrored:
        warnings.warn(
            f"oracle selection on test envs whose validation split is their test split "
            f"({', '.join(sorted(mirrored))}: cross-dataset targets, whose DeepfakeBench val is "
            f"their test list): hparams are picked on the reported numbers",
            UserWarning,
            stacklevel=4,
        )
    return candidates


def _val_is_test(record: dict[str, Any], test_envs: Sequence[int]) -> list[str]:
    """Names of the test envs whose ``env{t}_out`` is ``env{t}_in`` (the same split)."""
    same = []
    for t in test_envs:
        out, inn = record.get(f"env{t}_out_loss"), record.get(f"env{t}_in_loss")
        if (
            out is not None
            and out == inn
            and record.get(f"env{t}_out_auc") == record.get(f"env{t}_in_auc")
        ):
            same.append(env_name(record["dataset"], t, record.get("dataset_environments")))
    return same


def _iid(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, oracle=False), keys)


def _oracle(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, oracle=True), keys)


def _hparams_id(record: dict[str, Any], extra: Sequence[str]) -> tuple:
    """Runs with the same hparams: same seed-drawn hparams and the same --hparams overrides."""
    return (
        record["dataset"],
        record["algorithm"],
        record["backbone"],
        record["trial_seed"],
        record.get("hparams_seed"),
        str(record.get("args.hparams", "")),
        *(record[k] for k in extra),
    )


def _lodo(df: pd.DataFrame, metric: str, extra: Sequence[str]) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    runs = _Runs(df)
    by_id: dict[tuple, dict[tuple, list[dict[str, Any]]]] = {}
    for recs in runs.by_run.values():
        by_id.setdefault(_hparams_id(recs[0], extra), {})[recs[0]["test_envs"]] = recs
    candidates = []
    for run in runs.primary:
        recs = runs.by_run[run]
        test_envs = recs[0]["test_envs"]
        peers = by_id[_hparams_id(recs[0], extra)]
        val_envs = runs.train_envs(recs[0])
        per_env: dict[int, dict[Any, float]] = {}
        for v in val_envs:
            extra_run = peers.get(tuple(sorted((*test_envs, v))), [])
            per_env[v] = {
                r.get("step"): float(r.get(f"env{v}_in_{metric}", math.nan)) for r in extra_run
            }
        scored = [
            (r, sum(per_env[v][r.get("step")] for v in val_envs) / len(val_envs))
            for r in recs
            if val_envs and all(r.get("step") in per_env[v] for v in val_envs)
        ]
        if not scored:  # an extra run is missing: no LODO score, the cell stays missing
            continue
        best = _argmax([v for _, v in scored])
        candidates.append(_candidate(runs, scored[best][0], scored[best][1], keys))
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
    *(f"indomain_test_{m}" for m in METRICS),
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
