"""Model selection methods, as DomainBed defines them (``domainbed/model_selection.py``).

Registered in ``SELECTIONS`` (``roga_bench._registry.list_selections()``):

- ``iid`` (training-domain validation): per checkpoint, the mean of ``env{i}_out_<metric>`` over
  the training envs; the best checkpoint of each run, then the best run (hparams) of each group.
  Multi-test-env runs (cross-dataset: several test envs at once) are selected the same way, on
  the training envs only, and give one row per test env.
- ``lodo`` (leave-one-domain-out): needs, for a main run with test envs T, one extra run per
  training env v with test envs T + {v} and the same hparams; the validation score of a step is
  the mean over v of the extra runs' ``env{v}_out_<metric>``: env v's *validation* split, never
  its test split ``env{v}_in`` (which Tables III, V and VI report). A run whose extra runs are
  missing, or share no step with it, is not selected, and a warning names it and why (the
  missing test-env sets, or no common step). Extra runs
  trained with ``--eval_targets selectable`` score env v only at some steps (their own
  validation bests and the last), so LODO would rank on a few steps and NaN elsewhere: refused
  with an error naming the runs (train the extra runs with ``--eval_targets all``).
- ``oracle`` (test-domain validation): the last checkpoint of each run (no early stopping), runs
  ranked by the test env's ``env{t}_out_<metric>`` (the mean over the test envs for
  multi-test-env runs). A test env whose ``out`` is its ``in`` (a cross-dataset target's val
  mirrors its test split) would rank on the reported frames: refused with an error naming the
  envs, unless ``allow_test_frames`` (``--oracle_on_test``) is given.

A group is (dataset, algorithm, backbone, test envs, trial seed) plus any ``extra_keys`` (e.g.
``hparams.alpha``/``hparams.rho`` for the sensitivity table): runs are grouped by their own
test-env sets, so a 5-target and a 1-target run are different groups and both are kept (DomainBed
kept only the runs with the fewest test envs per dataset; here no run is dropped silently). Each
method returns one row per (group, test env) with the chosen run and step, ``val`` (its selection
score), the test env's ``env{t}_in_*`` metrics as ``acc``, ``auc``, ``ap``, ``eer``, ``loss``,
``video_auc`` and DeLong's s.e. of its AUC as ``auc_se`` (NaN in older records), the training
envs' mean validation metrics as ``indomain_<metric>`` (the split that selected the checkpoint,
so optimistic), and the mean of their official test splits (``env{i}_test_*``) as
``indomain_test_<metric>`` (NaN for records written before those keys existed). Checkpoints rank
by ``roga_bench._ranking`` (ties: the earliest step; NaN last), runs of a group likewise (ties:
the first run in sorted order).

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
from pathlib import Path
from typing import Any

import pandas as pd

from roga_bench._ranking import best_index, mean_over_envs
from roga_bench._registry import register_selection
from roga_bench.records import METRICS, env_indices, metric_key
from roga_bench.reporting._envs import env_name
from roga_bench.reporting._records import ReportInputError

__all__ = [
    "METRICS",
    "GROUP_KEYS",
    "SelectionError",
    "SelectionMethod",
    "select",
    "iid",
    "lodo",
    "oracle",
]

GROUP_KEYS = ["dataset", "algorithm", "backbone", "test_envs", "trial_seed"]
SELECTION_METRICS = ("auc", "acc")


class SelectionError(ReportInputError):
    """A selection that would rank on the frames a table reports (the message names the envs)."""


@dataclass(frozen=True)
class SelectionMethod:
    """A registered selection method: ``method(df, metric="auc", extra_keys=(),
    allow_test_frames=False) -> DataFrame``."""

    name: str
    title: str
    fn: Callable[[pd.DataFrame, str, Sequence[str], bool], list[dict[str, Any]]]

    def __call__(
        self,
        df: pd.DataFrame,
        metric: str = "auc",
        extra_keys: Sequence[str] = (),
        allow_test_frames: bool = False,
    ) -> pd.DataFrame:
        """Select; ``allow_test_frames`` lets ``oracle`` rank on targets whose val is their test.

        Raises:
            ValueError: unknown metric. KeyError: a missing ``extra_keys`` column.
            SelectionError: oracle on a target whose validation split is its test split.
        """
        if metric not in SELECTION_METRICS:
            raise ReportInputError(
                f"selection metric {metric!r}: expected one of {SELECTION_METRICS}"
            )
        missing = [k for k in extra_keys if k not in df.columns]
        if missing:
            raise ReportInputError(f"records have no column(s) {missing} to group on")
        if extra_keys:  # rows without the grouping hparam (e.g. ERM has no alpha) do not belong
            df = df.dropna(subset=list(extra_keys))
        rows = self.fn(df, metric, list(extra_keys), allow_test_frames)
        return _finish(rows, list(extra_keys))


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
        self.envs = {run: env_indices(recs[0]) for run, recs in self.by_run.items()}
        # every run, grouped later by its own test-env set (never only the fewest per dataset)
        self.primary = sorted(self.by_run)

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
            auc_se=float(record.get(metric_key(t, "in", "auc_se"), math.nan)),
            env_name=env_name(record["dataset"], t, record.get("dataset_environments")),
            run=record["run"],
            hparams_seed=record.get("hparams_seed"),
            step=record.get("step"),
            val=val,
        )
        for m in METRICS:
            row[m] = float(record.get(metric_key(t, "in", m), math.nan))
            row[f"indomain_{m}"] = mean_over_envs(record, train, "out", m)
            row[f"indomain_test_{m}"] = mean_over_envs(record, train, "test", m)
        rows.append(row)
    return rows


def _best_per_group(candidates: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Keep, per group, the candidate run with the highest ``val`` (first in run order on ties)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cand in sorted(candidates, key=lambda c: str(c["run"])):
        groups.setdefault(tuple(cand["record"][k] for k in keys), []).append(cand)
    out = []
    for members in groups.values():
        best = members[best_index([m["val"] for m in members])]
        out.extend(best["rows"])
    return out


def _candidate(runs: _Runs, record: dict[str, Any], val: float, keys: list[str]) -> dict:
    return {
        "run": record["run"],
        "val": val,
        "record": record,
        "rows": _result_rows(runs, record, val, keys),
    }


def _run_candidates(
    df: pd.DataFrame, metric: str, keys: list[str], oracle: bool, allow_test_frames: bool
) -> list[dict]:
    runs = _Runs(df)
    candidates = []
    mirrored: set[str] = set()
    for run in runs.primary:
        recs = runs.by_run[run]
        test_envs = recs[0]["test_envs"]
        if oracle:  # the last checkpoint (no early stopping), scored on the test envs' val
            pos = len(recs) - 1
            val = mean_over_envs(recs[pos], test_envs, "out", metric)
            mirrored.update(_val_is_test(recs[pos], test_envs))
        else:
            train = runs.train_envs(recs[0])
            vals = [mean_over_envs(r, train, "out", metric) for r in recs]
            pos = best_index(vals)
            val = vals[pos]
        candidates.append(_candidate(runs, recs[pos], val, keys))
    if mirrored and not allow_test_frames:
        raise SelectionError(
            f"oracle selection refused: the validation split of {', '.join(sorted(mirrored))} "
            "is its test split (cross-dataset targets: DeepfakeBench's val is their test list), "
            "so oracle would pick hparams on the frames the table reports; use --selection iid "
            "or lodo, or pass --oracle_on_test to allow it (the titles then say 'oracle on test "
            "frames')"
        )
    return candidates


def _val_is_test(record: dict[str, Any], test_envs: Sequence[int]) -> list[str]:
    """Names of the test envs whose ``env{t}_out`` is ``env{t}_in`` (the same split)."""
    same = []
    for t in test_envs:
        out, inn = record.get(metric_key(t, "out", "loss")), record.get(metric_key(t, "in", "loss"))
        if (
            out is not None
            and out == inn
            and record.get(metric_key(t, "out", "auc")) == record.get(metric_key(t, "in", "auc"))
        ):
            same.append(env_name(record["dataset"], t, record.get("dataset_environments")))
    return same


def _iid(df: pd.DataFrame, metric: str, extra: Sequence[str], allow: bool) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, False, allow), keys)


def _oracle(df: pd.DataFrame, metric: str, extra: Sequence[str], allow: bool) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    return _best_per_group(_run_candidates(df, metric, keys, True, allow), keys)


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


def _lodo(df: pd.DataFrame, metric: str, extra: Sequence[str], allow: bool) -> list[dict]:
    keys = GROUP_KEYS + list(extra)
    runs = _Runs(df)
    by_id: dict[tuple, dict[tuple, list[dict[str, Any]]]] = {}
    for recs in runs.by_run.values():
        by_id.setdefault(_hparams_id(recs[0], extra), {})[recs[0]["test_envs"]] = recs
    _refuse_selectable(by_id)
    candidates, unusable, helpers = [], [], set()
    for run in runs.primary:
        recs = runs.by_run[run]
        test_envs = recs[0]["test_envs"]
        peers = by_id[_hparams_id(recs[0], extra)]
        val_envs = runs.train_envs(recs[0])
        wanted = {v: tuple(sorted((*test_envs, v))) for v in val_envs}
        helpers.update(str(peers[w][0]["run"]) for w in wanted.values() if w in peers)
        scored = _lodo_scores(recs, {v: peers.get(w, []) for v, w in wanted.items()}, metric)
        if not scored:  # an extra run is missing, or none shares a step: no LODO score
            missing = [list(w) for w in wanted.values() if w not in peers]
            why = (
                f"missing extra runs with test envs {missing}"
                if missing
                else "its extra runs share no checkpoint step with it"
            )
            unusable.append((run, list(test_envs), why))
            continue
        best = best_index([v for _, v in scored])
        candidates.append(_candidate(runs, scored[best][0], scored[best][1], keys))
    _warn_unusable([u for u in unusable if u[0] not in helpers], helpers & {u[0] for u in unusable})
    return _best_per_group(candidates, keys)


def _refuse_selectable(by_id: dict[tuple, dict[tuple, list[dict[str, Any]]]]) -> None:
    """LODO scores a step by the extra runs' test-env validation: runs that scored their test
    envs only at some steps (``--eval_targets selectable``) cannot give it."""
    bad = sorted(
        Path(str(recs[0]["run"])).name
        for peers in by_id.values()
        for envs, recs in peers.items()
        if any(tuple(sorted((*envs[:i], *envs[i + 1 :]))) in peers for i in range(len(envs)))
        and recs[0].get("args.eval_targets") == "selectable"
    )
    if bad:
        raise SelectionError(
            f"lodo selection refused: {len(bad)} of its validation runs ({', '.join(bad[:5])}"
            f"{', ...' if len(bad) > 5 else ''}) were trained with --eval_targets selectable, "
            "which scores their held-out envs only at some steps; LODO needs those envs scored "
            "at every checkpoint: rerun them with --eval_targets all, or use --selection iid"
        )


def _lodo_scores(
    recs: list[dict[str, Any]], extra_runs: dict[int, list[dict[str, Any]]], metric: str
) -> list[tuple[dict[str, Any], float]]:
    """(checkpoint, mean over v of the extra run's ``env{v}_out_<metric>``) at the steps every
    extra run has; env v's validation split, never its test split ``env{v}_in``."""
    per_env = {
        v: {r.get("step"): float(r.get(metric_key(v, "out", metric), math.nan)) for r in runs}
        for v, runs in extra_runs.items()
    }
    return [
        (r, sum(per_env[v][r.get("step")] for v in per_env) / len(per_env))
        for r in recs
        if per_env and all(r.get("step") in steps for steps in per_env.values())
    ]


def _warn_unusable(unusable: list[tuple[str, list[int], str]], helpers: set[str]) -> None:
    """Name every run LODO could not score, with why (its missing extra runs, or no step that
    it and its extra runs share)."""
    if unusable:
        listing = "; ".join(
            f"{Path(run).name} (test envs {envs}; {why})" for run, envs, why in unusable
        )
        warnings.warn(
            f"lodo: {len(unusable)} run(s) not selected, no leave-one-domain-out validation "
            f"score: {listing}",
            UserWarning,
            stacklevel=3,
        )
    if helpers:
        warnings.warn(
            f"lodo: {len(helpers)} run(s) serve as other runs' validation runs (one test env "
            "more) and have no validation runs of their own: not results on their own",
            UserWarning,
            stacklevel=3,
        )


_COLUMNS = [
    *GROUP_KEYS,
    "test_env",
    "env_name",
    "run",
    "hparams_seed",
    "step",
    "val",
    *METRICS,
    "auc_se",
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
    df: pd.DataFrame,
    method: str = "iid",
    metric: str = "auc",
    extra_keys: Sequence[str] = (),
    allow_test_frames: bool = False,
) -> pd.DataFrame:
    """Run the registered selection method ``method`` on the records ``df``.

    Raises:
        UnknownNameError: unknown method (the message lists the registered ones).
        ValueError: ``metric`` is not ``auc`` or ``acc``.
        SelectionError: oracle on a target whose validation is its test, without
            ``allow_test_frames``.
    """
    from roga_bench._registry import SELECTIONS

    return SELECTIONS.get(method)(df, metric, extra_keys, allow_test_frames)
