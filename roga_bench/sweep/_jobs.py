"""Jobs: one folder per ``train_args``, named by the md5 of their sorted JSON (DomainBed's).

A job is Done when ``<folder>/done`` exists, Incomplete when the folder exists, Not launched
otherwise. The state is read from disk on every access, never cached.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roga_bench.hparams import make_hparams
from roga_bench.records import is_done

__all__ = [
    "DONE",
    "INCOMPLETE",
    "NOT_LAUNCHED",
    "Job",
    "job_hash",
    "make_jobs",
    "train_argv",
    "validate_jobs",
]

NOT_LAUNCHED = "Not launched"
INCOMPLETE = "Incomplete"
DONE = "Done"


# Args that change no result (what a Done folder keeps): not part of a job's identity.
NOT_HASHED = ("keep",)


def job_hash(train_args: Mapping[str, Any]) -> str:
    """md5 of ``json.dumps(train_args, sort_keys=True)``: DomainBed's job folder name
    (:data:`NOT_HASHED` args left out)."""
    args = {k: v for k, v in train_args.items() if k not in NOT_HASHED}
    return hashlib.md5(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()


def train_argv(train_args: Mapping[str, Any]) -> list[str]:
    """``--key value`` arguments of ``python -m roga_bench.train`` in sorted key order.

    Lists become one argument per element (``--test_envs 0 1``); True is a bare flag and False
    is left out (``store_true`` options). Returned as an argv list, never a shell string, so no
    value is ever interpreted by a shell.
    """
    argv: list[str] = []
    for key, value in sorted(train_args.items()):
        if isinstance(value, bool):
            argv.extend([f"--{key}"] if value else [])
            continue
        argv.append(f"--{key}")
        if isinstance(value, (list, tuple)):
            argv.extend(str(v) for v in value)
        else:
            argv.append(str(value))
    return argv


@dataclass(frozen=True)
class Job:
    """One training run of a sweep.

    Attributes:
        train_args: DomainBed's args dict, including ``output_dir`` (added after hashing).
        output_dir: ``sweep_dir / job_hash(args without output_dir)``.
    """

    train_args: dict[str, Any]
    output_dir: Path

    @classmethod
    def from_args(cls, train_args: Mapping[str, Any], sweep_dir: Path) -> Job:
        output_dir = Path(sweep_dir) / job_hash(train_args)
        args = copy.deepcopy(dict(train_args))
        args["output_dir"] = str(output_dir)
        return cls(args, output_dir)

    @property
    def state(self) -> str:
        if is_done(self.output_dir):
            return DONE
        if self.output_dir.exists():
            return INCOMPLETE
        return NOT_LAUNCHED

    @property
    def name(self) -> str:
        return self.output_dir.name

    def argv(self) -> list[str]:
        """The train CLI arguments of this job (see ``train_argv``)."""
        return train_argv(self.train_args)

    def describe(self) -> str:
        a = self.train_args
        extra = f" hparams={a['hparams']}" if "hparams" in a else ""
        return (
            f"{a['dataset']} {a['algorithm']} test_envs={a['test_envs']} "
            f"hparams_seed={a['hparams_seed']} trial_seed={a['trial_seed']}{extra}"
        )

    def __str__(self) -> str:
        return f"{self.state}: {self.output_dir} ({self.describe()})"


def make_jobs(args_list: Sequence[Mapping[str, Any]], sweep_dir: Path | str) -> list[Job]:
    """One Job per args dict; duplicates (same hash) are kept once, first occurrence first."""
    jobs: dict[str, Job] = {}
    for train_args in args_list:
        job = Job.from_args(train_args, Path(sweep_dir))
        jobs.setdefault(job.name, job)
    return list(jobs.values())


def validate_jobs(jobs: Sequence[Job], sources: Mapping[str, str] | None = None) -> None:
    """Build every job's hparams as training will, so a bad name fails before any folder exists.

    ``sources`` names the flag each hparam came from (``grid.hparam_sources``) in error lines.

    Raises:
        ValueError: an unknown hparam or a value out of range, naming the job; a batch larger
            than a training environment's train split (``BatchSizeError``, naming both).
        UnknownNameError: an unknown algorithm or dataset.
    """
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for job in jobs:
        a = job.train_args
        key = _hparams_key(a)
        if key in seen:  # the hparams do not depend on the test envs
            continue
        try:
            hp = make_hparams(*key[:4], key[4], sources or {})
            seen[key] = hp
            if a.get("pretrained_dir") and not a.get("from_scratch") and not hp["pretrained"]:
                from roga_bench.backbones.pretrained_dir import resolve_pretrained  # torch: lazy

                resolve_pretrained(str(hp["backbone"]), a["pretrained_dir"])  # before any job
        except ValueError as exc:
            raise ValueError(f"{exc} (job {a['algorithm']} on {a['dataset']})") from None
    from roga_bench.datasets.check import check_runs_batch_size  # lazy: torch, the datasets

    check_runs_batch_size(  # a BatchSizeError is a ValueError: bad input, nothing written
        (a["dataset"], a.get("data_dir"), a["test_envs"], seen[_hparams_key(a)])
        for a in (job.train_args for job in jobs)
    )


def _hparams_key(a: Mapping[str, Any]) -> tuple[Any, ...]:
    return (a["algorithm"], a["dataset"], a["hparams_seed"], a["trial_seed"], a.get("hparams"))
