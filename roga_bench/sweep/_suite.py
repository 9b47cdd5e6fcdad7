"""Suites: named, declarative lists of sweep blocks; ``launch --suite paper`` runs all six tables.

The paper suite's blocks are declared with the paper's tables (``roga_bench/paper/_design.py``);
this module holds the mechanism (blocks, families, expansion) and the quick default suite.

    python -m roga_bench.sweep launch --suite paper                 # SynthFF, 3 trials
    python -m roga_bench.sweep launch --suite paper --datasets FFpp --data_dir /data/rgb

A block is one :func:`make_args_list` call (its own algorithms, hparam overrides, test envs,
backbones or grid); a suite is the union of its blocks, deduplicated by DomainBed's job hash, so
a job two tables need (the plain RoGA run of Tables I and VI) runs once. Blocks name a dataset
*role* (``LOMO`` or ``CrossDataset``); the suite's family (``--datasets SynthFF``, the default, or
``FFpp``) turns it into a registered dataset (``SynthFFLOMO``, ``FFppCrossDataset``, ...).
Tests add tiny suites to :data:`SUITES`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from roga_bench._registry import BACKBONES, TABLE_SETS
from roga_bench.sweep._grid import make_args_list
from roga_bench.sweep._jobs import job_hash

__all__ = [
    "FAMILIES",
    "SUITES",
    "Block",
    "Suite",
    "SuiteExpansion",
    "expand_suite",
]

# --datasets value with --suite -> (leave-one-method-out class, cross-dataset class)
FAMILIES = {
    "SynthFF": {"LOMO": "SynthFFLOMO", "CrossDataset": "SynthFFCrossDataset"},
    "FFpp": {"LOMO": "FFppLOMO", "CrossDataset": "FFppCrossDataset"},
}


@dataclass(frozen=True)
class Block:
    """One ``make_args_list`` call of a suite.

    Attributes:
        name: short label printed with the job counts (``A``, ``E``, ...).
        tables: which tables read these runs (printed, for the reader).
        role: ``LOMO`` or ``CrossDataset`` (see :data:`FAMILIES`).
        algorithms: registered algorithm names.
        hparams: overrides for every job of the block (``{"optimizer": "adam"}``); part of the
            job hash, like ``--hparams``.
        test_envs_mode: as ``--test_envs_mode``.
        test_envs: as ``--test_envs`` (keep only these).
        backbones: one job per backbone (``--backbones``); unregistered names are left out.
        grid: ``{hparam: values}``, the full cartesian grid (``--grid``). A value equal to the
            algorithm's default is no override, so that grid point *is* the plain job.
    """

    name: str
    tables: str
    role: str
    algorithms: tuple[str, ...]
    hparams: Mapping[str, Any] = field(default_factory=dict)
    test_envs_mode: str = "single"
    test_envs: tuple[int, ...] | None = None
    backbones: tuple[str, ...] | None = None
    grid: Mapping[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class Suite:
    """A named suite: its default trial count and its blocks for a dataset family."""

    trials: int
    blocks: Callable[[str], list[Block]]
    about: str = ""


def _paper_blocks(family: str) -> list[Block]:
    """The runs of the RoGA paper's Tables I-VI: its table set's blocks (``roga_bench.paper``,
    looked up by name: the paper's package uses this one, not the other way round)."""
    return list(TABLE_SETS.get("paper").blocks(family))


def default_blocks(family: str) -> list[Block]:
    """The quick default sweep (what a bare ``launch`` runs): Table II, one trial."""
    return [Block("default", "II (GID)", "LOMO", ("ERM", "SAM", "SAGM", "RoGA"))]


SUITES: dict[str, Suite] = {
    "paper": Suite(3, _paper_blocks, "all runs of Tables I-VI"),
    "default": Suite(1, default_blocks, "the quick Table II sweep (a bare launch)"),
}


@dataclass
class SuiteExpansion:
    """The suite's jobs and how they split over blocks.

    Attributes:
        args_list: unique ``train_args``, first occurrence first.
        counts: per block ``(block, jobs, of which already in an earlier block)``.
        skipped_backbones: backbones of a block left out (not registered).
    """

    args_list: list[dict[str, Any]]
    counts: list[tuple[Block, int, int]]
    skipped_backbones: list[str]

    def summary(self, name: str, family: str, trials: int) -> str:
        lines = [f"suite {name!r} on {family}, {trials} trial(s) per cell:"]
        width = max(len(b.name) for b, _, _ in self.counts)
        for block, n, shared in self.counts:
            note = f", {shared} shared with earlier blocks (run once)" if shared else ""
            lines.append(f"  {block.name:<{width}}  {n:>4} jobs{note}  -> Tables {block.tables}")
        listed = sum(n for _, n, _ in self.counts)
        unique = len(self.args_list)
        lines.append(f"  total: {unique} jobs ({listed} listed, {listed - unique} shared)")
        if self.skipped_backbones:
            left = ", ".join(sorted(set(self.skipped_backbones)))
            lines.append(f"  left out (backbone not registered): {left}")
        return "\n".join(lines)


def _merged_hparams(user: str | None, block: Block) -> str | None:
    merged: dict[str, Any] = json.loads(user) if user else {}
    clash = sorted(k for k in block.hparams if k in merged)
    if clash:
        raise ValueError(f"--hparams sets {clash}, which suite block {block.name} sets; drop it")
    merged.update(block.hparams)
    return json.dumps(merged, sort_keys=True) if merged else None


def _grid_points(
    block: Block, algorithm: str, dataset: str, hparams: str | None
) -> list[dict[str, Any]] | None:
    """The block's grid for one algorithm, each value equal to its default left out."""
    if not block.grid:
        return None
    from roga_bench.hparams import default_hparams

    user = json.loads(hparams) if hparams else {}
    clash = sorted(k for k in block.grid if k in user)
    if clash:
        raise ValueError(f"--hparams sets {clash}, which suite block {block.name} varies")
    defaults = default_hparams(algorithm, dataset)
    names = list(block.grid)
    points = []
    for values in itertools.product(*(block.grid[n] for n in names)):
        points.append({n: v for n, v in zip(names, values, strict=True) if defaults[n] != v})
    return points


def _block_args(block: Block, family: str, common: dict[str, Any]) -> tuple[list, list[str]]:
    dataset = FAMILIES[family][block.role]
    hparams = _merged_hparams(common.pop("hparams"), block)
    backbones, skipped = None, []
    if block.backbones is not None:
        registered = set(BACKBONES.names())
        backbones = [b for b in block.backbones if b in registered]
        skipped = [b for b in block.backbones if b not in registered]
    if block.grid:  # a grid replaces random search: the sensitivity table is around the defaults
        common = {**common, "n_hparams_from": 0, "n_hparams": 1}
    args: list[dict[str, Any]] = []
    for algorithm in block.algorithms:
        args += make_args_list(
            dataset_names=[dataset],
            algorithms=[algorithm],
            hparams=hparams,
            test_envs_mode=block.test_envs_mode,
            test_envs=list(block.test_envs) if block.test_envs else None,
            backbones=backbones,
            grid=_grid_points(block, algorithm, dataset, hparams),
            **common,
        )
    return args, skipped


def expand_suite(
    name: str,
    family: str,
    n_trials: int | None = None,
    hparams: str | None = None,
    **common: Any,
) -> tuple[SuiteExpansion, int]:
    """The jobs of suite ``name`` on dataset ``family``.

    Args:
        name: a key of :data:`SUITES`.
        family: a key of :data:`FAMILIES`.
        n_trials: trials per cell; None = the suite's own default.
        hparams: ``--hparams`` JSON, applied to every job.
        **common: the other ``make_args_list`` arguments (``n_hparams_from``, ``n_hparams``,
            ``steps``, ``data_dir``, ``task``, ``holdout_fraction``, ``seed_policy``).

    Returns:
        The expansion and the trial count used.

    Raises:
        ValueError: unknown suite or family, or ``--hparams`` clashing with a block.
    """
    if name not in SUITES:
        raise ValueError(f"--suite {name!r}: unknown; expected one of {sorted(SUITES)}")
    if family not in FAMILIES:
        raise ValueError(
            f"--datasets {family!r} with --suite: expected one dataset family of "
            f"{sorted(FAMILIES)} (e.g. --datasets FFpp --data_dir DIR for FaceForensics++)"
        )
    suite = SUITES[name]
    trials = suite.trials if n_trials is None else n_trials
    seen: dict[str, dict[str, Any]] = {}
    counts, skipped = [], []
    for block in suite.blocks(family):
        kwargs = {**common, "hparams": hparams, "n_trials": trials}
        args, left_out = _block_args(block, family, kwargs)
        skipped += left_out
        shared = 0
        for train_args in args:
            key = job_hash(train_args)
            shared += key in seen
            seen.setdefault(key, train_args)
        counts.append((block, len(args), shared))
    return SuiteExpansion(list(seen.values()), counts, skipped), trials
