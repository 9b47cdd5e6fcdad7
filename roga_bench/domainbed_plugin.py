"""Register roga_bench's algorithms, datasets and hparams into an importable DomainBed.

DomainBed has no plugin hooks: it finds algorithms and datasets through module globals plus the
lists ``domainbed.algorithms.ALGORITHMS`` / ``domainbed.datasets.DATASETS``, and hparams through
``domainbed.hparams_registry._hparams``. ``register()`` fills those in::

    python -m roga_bench.domainbed_train --algorithm RoGA --dataset SynthFFLOMO --test_envs 0 \\
        --output_dir out/roga_df                     # DomainBed's train.py, ours registered
    python -m roga_bench.domainbed_plugin sweep launch --algorithms RoGA SAM ...  # its sweep.py

Names DomainBed already defines (its own ``ERM``) stay DomainBed's; ours are added as
``RB_<name>`` (``RB_ERM``) unless ``register(replace=True)``.

Splits: DomainBed's train.py splits each environment at random, item by item
(``misc.split_dataset`` with ``--holdout_fraction``), which puts frames of one video in both its
``in`` and ``out`` splits. ``register()`` makes ``misc.split_dataset`` return our official video
lists instead for our datasets: ``out`` = the validation split, ``in`` = the train split of a
training env and the test split of a test env (DESIGN §3), so ``--holdout_fraction`` has no effect
on them. Every other dataset is split by DomainBed's own function, unchanged.
"""

from __future__ import annotations

import argparse
import re
import runpy
import shlex
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.hparams import (
    SHARED_HPARAMS,
    HParam,
    class_hparams,
    parse_overrides,
    seed_hash,
    validate_hparams,
)

__all__ = [
    "INSTALL_HINT",
    "PREFIX",
    "OfficialEnv",
    "check_train_hparams",
    "register",
    "registered_names",
    "main",
]

INSTALL_HINT = (
    "roga_bench.domainbed_plugin needs DomainBed, which is not on PyPI. Install it with\n"
    "    pip install git+https://github.com/facebookresearch/DomainBed\n"
    "or put a checkout on the path: PYTHONPATH=/path/to/DomainBed (the folder holding domainbed/)."
)
PREFIX = "RB_"
_MARK = "__roga_bench__"  # set on the wrapped _hparams: what we registered, and the original
# DomainBed's data loaders read N_WORKERS from the dataset; 0 = load in the training process.
DEFAULT_N_WORKERS = 0


def _import_domainbed() -> tuple[ModuleType, ModuleType, ModuleType]:
    try:
        from domainbed import algorithms, datasets, hparams_registry
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT}\n(import failed: {exc})") from exc
    return algorithms, datasets, hparams_registry


def _add(module: ModuleType, names: list[str], ours: dict[str, type], replace: bool) -> dict:
    """Set each class on ``module`` and append its name to ``names``; returns DomainBed name ->
    class for the entries this call owns."""
    added = {}
    for name, cls in ours.items():
        db_name = name
        existing = vars(module).get(name)
        if existing is not None and existing is not cls and not replace:
            db_name = PREFIX + name  # keep DomainBed's own class under its name
        setattr(module, db_name, cls)
        if db_name not in names:
            names.append(db_name)
        added[db_name] = cls
    return added


class OfficialEnv(Dataset):
    """``ds[i]`` as DomainBed sees our dataset: its items are DomainBed's in-split (our train or
    test split), and it carries the official validation split for ``misc.split_dataset``."""

    def __init__(self, in_split: Dataset, out_split: Dataset) -> None:
        self.in_split, self.out_split = in_split, out_split

    def __len__(self) -> int:
        return len(self.in_split)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Any:
        return self.in_split[i]


def _dataset_for_domainbed(cls: type) -> type:
    """``cls`` with what DomainBed's train.py reads and we do not define (``N_WORKERS``), and
    whose items are :class:`OfficialEnv` (when it has official splits, ``cls.split``)."""
    attrs: dict[str, Any] = {_MARK: True}
    if not hasattr(cls, "N_WORKERS"):
        attrs["N_WORKERS"] = DEFAULT_N_WORKERS
    if hasattr(cls, "split"):

        def __getitem__(self: Any, i: int) -> OfficialEnv:
            in_split = cls.__getitem__(self, i)  # IndexError past the end ends DomainBed's loop
            return OfficialEnv(in_split, self.split(i, "val"))

        attrs["__getitem__"] = __getitem__
    return type(cls.__name__, (cls,), attrs)


def _official_split_dataset(original: Callable) -> Callable:
    """``misc.split_dataset`` that returns ``(out, in)`` = (val, train|test) for our datasets."""

    def split_dataset(dataset: Any, n: int, seed: int = 0) -> tuple[Any, Any]:
        if isinstance(dataset, OfficialEnv):
            return dataset.out_split, dataset.in_split
        return original(dataset, n, seed)

    setattr(split_dataset, _MARK, {"original": original})
    return split_dataset


def _space(alg_cls: type | None, ds_cls: type | None) -> dict[str, HParam]:
    """Shared < dataset < algorithm, as in roga_bench (only the classes that are ours)."""
    space = dict(SHARED_HPARAMS)
    if ds_cls is not None:
        space.update(class_hparams(ds_cls))
    if alg_cls is not None:
        space.update(class_hparams(alg_cls))
    return space


def _wrap_hparams(original: Callable, algorithms: dict, datasets: dict) -> Callable:
    """DomainBed's ``_hparams`` plus ours for our algorithms/datasets, seeded per name."""

    def _hparams(algorithm: str, dataset: str, random_seed: int) -> dict[str, tuple[Any, Any]]:
        hparams = original(algorithm, dataset, random_seed)
        alg_cls, ds_cls = algorithms.get(algorithm), datasets.get(dataset)
        if alg_cls is None and ds_cls is None:
            return hparams
        space = _space(alg_cls, ds_cls)
        for name, hp in space.items():
            # A DomainBed algorithm keeps DomainBed's lr/batch_size/...; ours replaces them.
            if name in hparams and alg_cls is None:
                continue
            random_state = np.random.RandomState(seed_hash(random_seed, name))
            hparams[name] = (hp.default, hp.draw(random_state))
        return hparams

    setattr(_hparams, _MARK, {"original": original})
    return _hparams


def register(replace: bool = False) -> dict[str, list[str]]:
    """Add roga_bench's algorithms, datasets and hparams to ``domainbed``. Idempotent.

    Args:
        replace: let our classes take names DomainBed already uses (``ERM``); by default those
            are registered as ``RB_<name>``.

    Returns:
        ``{"algorithms": [...], "datasets": [...]}``: the names as DomainBed sees them.

    Raises:
        ImportError: DomainBed is not importable (the message says how to install it).
    """
    db_algorithms, db_datasets, hparams_registry = _import_domainbed()
    ours_alg = {n: ALGORITHMS.get(n) for n in ALGORITHMS.names()}
    ours_ds = {n: DATASETS.get(n) for n in DATASETS.names()}
    current = getattr(hparams_registry._hparams, _MARK, None)
    if current is not None:  # already registered: only the names, nothing re-wrapped
        return registered_names()
    for name, cls in list(ours_ds.items()):
        ours_ds[name] = _dataset_for_domainbed(cls)
    from domainbed.lib import misc

    if not hasattr(misc.split_dataset, _MARK):
        misc.split_dataset = _official_split_dataset(misc.split_dataset)
    alg_added = _add(db_algorithms, db_algorithms.ALGORITHMS, ours_alg, replace)
    ds_added = _add(db_datasets, db_datasets.DATASETS, ours_ds, replace)
    wrapped = _wrap_hparams(hparams_registry._hparams, alg_added, ds_added)
    getattr(wrapped, _MARK).update(algorithms=list(alg_added), datasets=list(ds_added))
    hparams_registry._hparams = wrapped
    return registered_names()


def _our_class(registry: Any, name: str) -> type | None:
    """Our class behind a DomainBed name (``RoGA``, ``RB_ERM``), or None for DomainBed's own."""
    names = registered_names()["algorithms" if registry is ALGORITHMS else "datasets"]
    if name not in names:
        return None
    return registry.get(name[len(PREFIX) :] if name not in registry else name)


def check_train_hparams(argv: Sequence[str]) -> None:
    """Check a DomainBed ``train.py`` command line's ``--hparams`` against our declarations.

    DomainBed's script creates ``--output_dir`` first and applies ``--hparams`` unchecked, so a
    bad value would fail mid-run; this runs before it. Only hparams our classes declare are
    checked (a DomainBed algorithm's own, ``irm_lambda``, pass through). Call after ``register``.

    Raises:
        ValueError: ``--hparams`` is not a JSON object, or one of ours is not of its declared
            type and range (``HParamError``, naming ``--hparams``).
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--algorithm", default="ERM")  # DomainBed's train.py defaults
    parser.add_argument("--dataset", default="RotatedMNIST")
    parser.add_argument("--hparams", default=None)
    args, _ = parser.parse_known_args(list(argv))
    if not args.hparams:
        return
    alg_cls = _our_class(ALGORITHMS, args.algorithm)
    ds_cls = _our_class(DATASETS, args.dataset)
    if alg_cls is None and ds_cls is None:
        return
    overrides = parse_overrides(args.hparams)
    space = _space(alg_cls, ds_cls)
    ours = {k: v for k, v in overrides.items() if k in space}
    validate_hparams(ours, space, "--hparams")


def registered_names() -> dict[str, list[str]]:
    """The DomainBed names ``register()`` added (empty lists before it ran)."""
    _, _, hparams_registry = _import_domainbed()
    mark = getattr(hparams_registry._hparams, _MARK, None) or {}
    return {"algorithms": list(mark.get("algorithms", [])), "datasets": mark.get("datasets", [])}


def _route_sweep_jobs() -> None:
    """Make DomainBed's command launchers run ``roga_bench.domainbed_train`` for each job, so
    the job processes register our classes too (DomainBed writes the command strings)."""
    from domainbed import command_launchers

    ours = f"{shlex.quote(sys.executable)} -m roga_bench.domainbed_train"

    def rerouted(launcher: Callable) -> Callable:
        def launch(commands: list[str]) -> Any:
            pattern = r"^python -m domainbed\.scripts\.train\b"
            return launcher([re.sub(pattern, lambda _: ours, c) for c in commands])

        setattr(launch, _MARK, True)
        return launch

    for name, launcher in list(command_launchers.REGISTRY.items()):
        if not getattr(launcher, _MARK, False):
            command_launchers.REGISTRY[name] = rerouted(launcher)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m roga_bench.domainbed_plugin <script> [args]``: run ``domainbed.scripts.<script>``
    (sweep, collect_results, list_top_hparams, ...) unchanged, with our classes registered."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or not re.fullmatch(r"[a-z_]+", argv[0]):
        sys.exit("usage: python -m roga_bench.domainbed_plugin <domainbed script> [args...]")
    register()
    if argv[0] == "sweep":
        _route_sweep_jobs()
    sys.argv = [f"domainbed.scripts.{argv[0]}", *argv[1:]]
    runpy.run_module(f"domainbed.scripts.{argv[0]}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
