"""Which runs to analyse and how to rebuild them: the tables' own selection, then the saved model.

The runs are the ones a selection method picks (``roga_bench.reporting.select``), so the
analysed network is the selected checkpoint: ``iid`` on AUC picks ``model_best.pkl``, ``oracle``
the last checkpoint ``model.pkl``, any other (method, metric) needs ``model_step{step}.pkl``
(``--save_model_every_checkpoint``) unless it picked the last step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "AnalysisError",
    "AnalysisFlagError",
    "RunSpec",
    "selected_runs",
    "resolve_test_envs",
    "DatasetPool",
]


class AnalysisError(ValueError):
    """Input the analysis cannot use (the message names the run or file and what is wrong)."""


class AnalysisFlagError(AnalysisError):
    """A flag naming what the sweep does not hold (``--test_envs``, ``--algorithms``): bad
    input, exit 2 like every command's."""


@dataclass(frozen=True)
class RunSpec:
    """One selected run to analyse.

    Attributes:
        run: its job folder; ``model`` the checkpoint file to analyse (selected step ``step``).
        algorithm: display name (the table's row); ``dataset``, ``test_envs``, ``trial_seed``.
        environments: the run's env names (index = env number).
    """

    run: str
    model: str
    step: int
    algorithm: str
    dataset: str
    test_envs: tuple[int, ...]
    trial_seed: int
    environments: tuple[str, ...]

    @property
    def test_label(self) -> str:
        return "+".join(self.environments[i] for i in self.test_envs)


def _checkpoint(run: Path, step: int, last: int, selection: str, metric: str) -> Path:
    candidates = [run / "model_best.pkl"] if (selection, metric) == ("iid", "auc") else []
    candidates.append(run / f"model_step{step}.pkl")
    if step == last:
        candidates.append(run / "model.pkl")
    for path in candidates:
        if path.exists():
            return path
    names = ", ".join(p.name for p in candidates)
    raise AnalysisError(
        f"{run}: no saved model for the selected step {step} ({selection} on {metric}); "
        f"expected one of: {names}"
    )


def resolve_test_envs(wanted: Sequence[str], environments: Sequence[str]) -> set[int]:
    """Env names or indices -> indices into ``environments``.

    Raises:
        AnalysisFlagError: a name that is not an env of the sweep (the message lists them).
    """
    out = set()
    listing = ", ".join(f"{i}={e}" for i, e in enumerate(environments))
    for w in wanted:
        if str(w).isdigit() and int(w) < len(environments):
            out.add(int(w))
        elif w in environments:
            out.add(list(environments).index(w))
        else:
            raise AnalysisFlagError(
                f"--test_envs {w!r}: no such environment (the sweep has {listing})"
            )
    return out


def selected_runs(
    input_dir: str | Path,
    selection: str = "iid",
    metric: str = "auc",
    algorithms: Sequence[str] | None = None,
    test_envs: Sequence[str] | None = None,
) -> list[RunSpec]:
    """The runs the selection method picks, one per (group, test envs), filtered.

    Raises:
        RecordsError: the sweep folder cannot be read (missing, empty, no records).
        AnalysisFlagError: an unknown algorithm or env name.
        AnalysisError: nothing left after the filters, or a missing model file.
    """
    from roga_bench.reporting import load_records, select

    records = load_records(input_dir)
    df = records.df
    sel = select(df, selection, metric)
    if algorithms:
        unknown = sorted(set(algorithms) - set(sel["algorithm"]))
        if unknown:
            known = ", ".join(sorted(set(sel["algorithm"])))
            raise AnalysisFlagError(f"--algorithms {unknown}: not in {input_dir} (it has {known})")
        sel = sel[sel["algorithm"].isin(list(algorithms))]
    last = df.groupby("run")["step"].max().to_dict()
    names = _environments(df)
    specs: dict[str, RunSpec] = {}
    for _, row in sel.iterrows():
        run = str(row["run"])
        if run in specs:  # a multi-test-env run gives one row per test env
            continue
        envs = names.get(run, ())
        step = int(row["step"])
        model = _checkpoint(Path(run), step, int(last[run]), selection, metric)
        specs[run] = RunSpec(
            run=run,
            model=str(model),
            step=step,
            algorithm=str(row["algorithm"]),
            dataset=str(row["dataset"]),
            test_envs=tuple(int(e) for e in row["test_envs"]),
            trial_seed=int(row["trial_seed"]),
            environments=tuple(envs),
        )
    runs = list(specs.values())
    if test_envs:
        all_envs = sorted({e for r in runs for e in r.environments}, key=str)
        every = runs[0].environments if runs else tuple(all_envs)
        wanted = resolve_test_envs(test_envs, every)
        keep = {every[i] for i in wanted}
        runs = [r for r in runs if {r.environments[i] for i in r.test_envs} & keep]
    if not runs:
        raise AnalysisError(f"{input_dir}: no selected runs left to analyse after the filters")
    return sorted(runs, key=lambda r: (r.algorithm, r.test_envs, r.trial_seed, r.run))


def _environments(df: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    out = {}
    col = "dataset_environments" if "dataset_environments" in df.columns else None
    for run, group in df.groupby("run"):
        names = group[col].iloc[0] if col else None
        if isinstance(names, str):
            names = tuple(json.loads(names))
        out[str(run)] = tuple(names) if isinstance(names, (tuple, list)) else ()
    return out


class DatasetPool:
    """Datasets rebuilt once per (dataset, data_dir, dataset hparams), shared by the runs.

    The pooled dataset's own ``test_envs`` are those of the first run that built it: the analysis
    only reads ``split(i, name)`` and takes each run's test envs from its ``RunSpec``.
    """

    def __init__(self) -> None:
        self._pool: dict[str, Any] = {}

    def load(self, spec: RunSpec) -> tuple[Any, Any]:
        """``(algorithm, dataset)`` of a run, the algorithm holding the saved weights (CPU).

        Raises:
            AnalysisError: the model file cannot be loaded or does not fit the run's backbone.
        """
        from roga_bench.datasets import DatasetError
        from roga_bench.hparams import class_hparams
        from roga_bench.training import (
            ConfigError,
            SavedModelError,
            build_saved_dataset,
            build_saved_network,
            load_saved_model,
            saved_dataset_class,
            saved_hparams,
        )

        try:
            payload = load_saved_model(spec.model)
            args = payload["args"]
            hparams = saved_hparams(payload, spec.dataset, None)
            cls = saved_dataset_class(spec.dataset)
            keys = sorted(set(class_hparams(cls)) | {"image_size"})
            key = json.dumps(
                [spec.dataset, args.get("data_dir")] + [[k, hparams.get(k)] for k in keys],
                default=str,
            )
            if key not in self._pool:
                self._pool[key] = build_saved_dataset(
                    spec.dataset, args, hparams, None, list(spec.test_envs)
                )
            ds = self._pool[key]
            algorithm = build_saved_network(payload, Path(spec.model), ds, hparams)
        except (SavedModelError, ConfigError, DatasetError) as exc:
            raise AnalysisError(f"{spec.run}: {exc}") from None
        return algorithm, ds
