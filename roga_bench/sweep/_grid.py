"""The job grid: DomainBed's ``make_args_list`` plus backbones, hparam grids and test-env modes.

Every job is a ``train_args`` dict with exactly DomainBed's keys (``dataset``, ``algorithm``,
``test_envs``, ``holdout_fraction``, ``hparams_seed``, ``task``, ``trial_seed``, ``seed``, then
``data_dir``/``steps``/``hparams`` when given), so job folders hash like DomainBed's.

Seeds (``seed_policy``): ``paired`` (the default) derives a job's ``seed`` from (dataset,
test_envs, hparams_seed, trial_seed) without the algorithm, so within one trial every algorithm
starts from the same weights and sees the same batches and augmentation draws (common random
numbers: a comparison of optimizers then measures the optimizers, not seed noise); the job's args
carry ``seed_policy: "paired"``. ``domainbed`` is DomainBed's ``seed_hash(dataset, algorithm,
test_envs, hparams_seed, trial_seed)`` with DomainBed's exact keys (and folder hashes).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from roga_bench._registry import DATASETS
from roga_bench.hparams import parse_overrides, seed_hash

__all__ = [
    "TEST_ENVS_MODES",
    "SEED_POLICIES",
    "N_SOURCE_ENVS",
    "parse_grid",
    "hparam_sources",
    "select_test_envs",
    "make_args_list",
    "pinned_targets",
]

TEST_ENVS_MODES = ("single", "pairs", "all", "crossdataset")
SEED_POLICIES = ("paired", "domainbed")
# Cross-dataset classes list the four FF++ (or SynthFF) manipulations first, then the targets.
N_SOURCE_ENVS = 4


def _parse_scalar(text: str, where: str) -> Any:
    """A JSON scalar (number, bool, null, quoted string); anything else is a bare string."""
    if text[:1] in "[{" or text[-1:] in "]}":
        raise ValueError(f"--grid {where}: lists/objects are not grid values; expected scalars")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, (list, dict)):
        raise ValueError(
            f"--grid {where}: {text!r} is not a scalar; expected numbers/bools/strings"
        )
    return value


def parse_grid(text: str | Sequence[str] | None) -> list[dict[str, Any]]:
    """The full cartesian product of ``'name=v1,v2 other=w1,w2'``.

    Args:
        text: space-separated ``name=comma,separated,values`` items (or a list of items, as
            argparse's ``nargs='+'`` gives them). Values are JSON scalars: ``0.05``, ``true``,
            ``"sgd"`` or bare ``sgd``.

    Returns:
        One dict of overrides per grid point, in row-major order of the items; ``[{}]`` for no
        grid.

    Raises:
        ValueError: an item without ``=``, an empty name or value, a repeated name.
    """
    if text is None:
        return [{}]
    items = text.split() if isinstance(text, str) else [p for t in text for p in t.split()]
    names: list[str] = []
    axes: list[list[Any]] = []
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--grid item {item!r}: expected name=value1,value2,...")
        if name in names:
            raise ValueError(f"--grid item {item!r}: hparam {name!r} given twice")
        parts = values.split(",")
        if any(not p for p in parts):
            raise ValueError(f"--grid item {item!r}: empty value; expected name=value1,value2,...")
        names.append(name)
        axes.append([_parse_scalar(p, item) for p in parts])
    if not names:
        raise ValueError("--grid is empty; expected 'name=value1,value2 ...'")
    return [dict(zip(names, point, strict=True)) for point in itertools.product(*axes)]


def hparam_sources(
    hparams: str | None, grid: Sequence[str] | None, backbones: Sequence[str] | None
) -> dict[str, str]:
    """The flag each job hparam a user set came from: ``--hparams``, ``--grid`` or
    ``--backbones`` (so a bad value's error line names it; a suite block's own are unnamed)."""
    sources: dict[str, str] = {}
    if hparams and hparams.strip():
        user = json.loads(hparams)  # already checked to be a JSON object
        sources.update(dict.fromkeys(user if isinstance(user, dict) else (), "--hparams"))
    if grid:
        sources.update(dict.fromkeys(parse_grid(grid)[0], "--grid"))
    if backbones:
        sources["backbone"] = "--backbones"
    return sources


def _environments(
    dataset: str, mode: str, data_dir: str | None, hparams: dict[str, Any] | None = None
) -> list[str]:
    """The environments test-env indices refer to, resolved as training will resolve them.

    Cross-dataset classes leave out targets that are not on disk, so with data to look at (or in
    ``crossdataset`` mode, which needs it) the indices come from what is present, read with the
    same hparams (``json_dir``, ``targets``) the job trains with.
    """
    cls = DATASETS.get(dataset)
    if (data_dir or mode == "crossdataset" or _has_targets(cls)) and hasattr(
        cls, "present_environments"
    ):
        return list(cls.present_environments(data_dir, hparams))
    return list(cls.ENVIRONMENTS)


def _has_targets(cls: type) -> bool:
    """Whether a dataset class has optional targets (whose presence shifts env indices)."""
    return bool(getattr(cls, "TARGETS", None))


def pinned_targets(dataset: str, data_dir: str | None, hparams: dict[str, Any]) -> dict[str, Any]:
    """The ``targets`` hparam that pins a cross-dataset job's environments, or ``{}``.

    A cross-dataset class keeps only the targets present on disk, so the same test-env indices
    could mean other targets on another day. Naming the targets in the job's hparams puts them in
    the job hash, and training then requires exactly those (an error if one goes missing).
    """
    cls = DATASETS.get(dataset)
    if not _has_targets(cls) or hparams.get("targets"):
        return {}
    envs = cls.present_environments(data_dir, hparams)
    return {"targets": ",".join(e for e in envs if e in cls.TARGETS)}


def select_test_envs(
    dataset: str,
    mode: str = "single",
    only: Sequence[int] | None = None,
    data_dir: str | None = None,
    hparams: dict[str, Any] | None = None,
) -> list[list[int]]:
    """The test-env lists of one dataset.

    Args:
        dataset: a registered dataset name.
        mode: ``single`` (each env alone), ``pairs`` (every pair), ``all`` (DomainBed's default:
            singles and pairs, in its order), ``crossdataset`` (the envs after the first four, all
            at once: train on FF++, test on the other datasets).
        only: keep the sets whose indices are all in ``only``.
        data_dir: where the data is; with it, indices refer to the environments present on disk.
        hparams: the job's hparam overrides (``json_dir``, ``targets`` change what is present).

    Raises:
        UnknownNameError: unknown dataset. ValueError: unknown mode, an index out of range, too few
            environments for the mode.
    """
    envs = _environments(dataset, mode, data_dir, hparams)
    n = len(envs)
    for i in only or ():
        if not 0 <= i < n:
            listing = ", ".join(f"{j}={e}" for j, e in enumerate(envs))
            raise ValueError(f"test env index {i} out of range for {dataset} ({n} envs: {listing})")
    if mode == "single":
        sets = [[i] for i in range(n)]
    elif mode == "pairs":
        sets = [list(p) for p in itertools.combinations(range(n), 2)]
    elif mode == "all":
        if n < 3:
            raise ValueError(f"--test_envs_mode all needs >= 3 environments; {dataset} has {n}")
        sets = list(_domainbed_combinations(n))
    elif mode == "crossdataset":
        if n <= N_SOURCE_ENVS:
            raise ValueError(
                f"--test_envs_mode crossdataset needs a dataset with more than {N_SOURCE_ENVS} "
                f"environments (e.g. SynthFFCrossDataset); {dataset} has {envs}"
            )
        sets = [list(range(N_SOURCE_ENVS, n))]
    else:
        raise ValueError(f"unknown --test_envs_mode {mode!r}; expected one of {TEST_ENVS_MODES}")
    if only:
        sets = [s for s in sets if set(s) <= set(only)]
    return sets


def _domainbed_combinations(n: int) -> Iterator[list[int]]:
    """DomainBed's ``all_test_env_combinations``: every single env and every pair."""
    for i in range(n):
        yield [i]
        for j in range(i + 1, n):
            yield [i, j]


def _hparams_json(
    user: str | None,
    backbone: str | None,
    point: dict[str, Any],
    backbones_given: bool,
    pinned: dict[str, Any] | None = None,
) -> str | None:
    """The job's ``hparams`` string: the user's JSON untouched unless backbones/grid/pinned
    targets add keys."""
    if backbone is None and not point and not pinned:
        return user
    merged: dict[str, Any] = json.loads(user) if user else {}
    clash = [k for k in (["backbone"] if backbones_given else []) + list(point) if k in merged]
    if clash:
        raise ValueError(f"--hparams sets {clash}, which --backbones/--grid also set; give it once")
    if backbone is not None:
        merged["backbone"] = backbone
    merged.update(point)
    merged.update(pinned or {})
    return json.dumps(merged, sort_keys=True)


def _check_user_hparams(hparams: str | None) -> None:
    if hparams is None:
        return
    parse_overrides(hparams)  # ValueError: one line naming --hparams


def _train_args(
    dataset: str,
    algorithm: str,
    test_envs: list[int],
    holdout_fraction: float,
    hparams_seed: int,
    task: str,
    trial_seed: int,
    optional: dict[str, Any],
    seed_policy: str = "paired",
) -> dict[str, Any]:
    """One job's args, keys as DomainBed's sweep writes them; optional ones only when not None.

    ``paired`` leaves the algorithm out of the seed and records ``seed_policy`` in the args (so
    the folder hash differs from a ``domainbed`` job's); ``domainbed`` writes DomainBed's keys.
    """
    if seed_policy == "paired":
        seed = seed_hash(dataset, test_envs, hparams_seed, trial_seed)
    elif seed_policy == "domainbed":
        seed = seed_hash(dataset, algorithm, test_envs, hparams_seed, trial_seed)
    else:
        raise ValueError(f"--seed_policy {seed_policy!r}: expected one of {SEED_POLICIES}")
    train_args: dict[str, Any] = {
        "dataset": dataset,
        "algorithm": algorithm,
        "test_envs": test_envs,
        "holdout_fraction": holdout_fraction,
        "hparams_seed": hparams_seed,
        "task": task,
        "trial_seed": trial_seed,
        "seed": seed,
    }
    if seed_policy == "paired":
        train_args["seed_policy"] = seed_policy
    train_args.update({k: v for k, v in optional.items() if v is not None})
    return train_args


def make_args_list(
    n_trials: int,
    dataset_names: Sequence[str],
    algorithms: Sequence[str],
    n_hparams_from: int,
    n_hparams: int,
    steps: int | None,
    data_dir: str | None,
    task: str,
    holdout_fraction: float,
    single_test_envs: bool = False,
    hparams: str | None = None,
    backbones: Sequence[str] | None = None,
    grid: Sequence[dict[str, Any]] | None = None,
    test_envs_mode: str = "single",
    test_envs: Sequence[int] | None = None,
    seed_policy: str = "paired",
    first_trial: int = 0,
) -> list[dict[str, Any]]:
    """DomainBed's ``make_args_list`` (same loop order, same keys), extended.

    Backbones and grid points loop innermost, inside the hparams seed; each becomes part of the
    ``hparams`` JSON (sorted keys), so it is part of the job hash. Cross-dataset jobs also carry
    the resolved ``targets`` (see :func:`pinned_targets`), so one hash always means the same
    targets. ``data_dir`` is only added when given, so the embedded default hashes the same on
    every machine. ``seed_policy`` (:data:`SEED_POLICIES`): see the module docstring. Trial
    seeds are ``first_trial .. first_trial + n_trials - 1`` (a confirmatory run on fresh trials).

    Raises:
        ValueError / UnknownNameError: bad names, indices, JSON, or --grid combined with random
            search.
    """
    _check_user_hparams(hparams)
    if single_test_envs:
        test_envs_mode = "single"
    grid = list(grid) if grid else [{}]
    if grid != [{}] and (n_hparams_from, n_hparams) != (0, 1):
        raise ValueError("--grid replaces random search: drop --n_hparams/--n_hparams_from")
    common = {"data_dir": data_dir, "steps": steps}
    user = json.loads(hparams) if hparams else {}
    pinned = {d: pinned_targets(d, data_dir, user) for d in dataset_names}
    args_list = []
    for trial_seed in range(first_trial, first_trial + n_trials):
        for dataset in dataset_names:
            env_hparams = {**user, **pinned[dataset]}
            for algorithm in algorithms:
                for envs in select_test_envs(
                    dataset, test_envs_mode, test_envs, data_dir, env_hparams
                ):
                    for hparams_seed in range(n_hparams_from, n_hparams):
                        for backbone in backbones or [None]:
                            for point in grid:
                                extra = _hparams_json(
                                    hparams, backbone, point, bool(backbones), pinned[dataset]
                                )
                                args_list.append(
                                    _train_args(
                                        dataset, algorithm, envs, holdout_fraction, hparams_seed,
                                        task, trial_seed, {**common, "hparams": extra},
                                        seed_policy,
                                    )
                                )  # fmt: skip
    return args_list
