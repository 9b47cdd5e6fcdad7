"""Evaluate a saved run's weights (``model.pkl``, ``model_best.pkl``, ``model_step{N}.pkl``).

The file is loaded with ``torch.load(weights_only=True)``; the algorithm and its network are
rebuilt from the file's own ``args`` and ``model_hparams`` (the run's), and the dataset from those
args unless the caller names another dataset, test envs or data folder. The splits and keys are
the training loop's: ``env{i}_out`` (validation), ``env{i}_test`` (official test split of every
env) and ``env{i}_in`` (test split of a test env).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from roga_bench._registry import ALGORITHMS, DATASETS, UnknownNameError
from roga_bench.training._config import ConfigError
from roga_bench.training._evaluate import eval_splits, evaluate
from roga_bench.training._plan import _resolve_device

__all__ = [
    "SavedModelError",
    "Evaluation",
    "load_saved_model",
    "load_saved_algorithm",
    "evaluate_saved_model",
    "saved_dataset_class",
    "build_saved_dataset",
    "saved_hparams",
    "build_saved_network",
]

_PAYLOAD_KEYS = ("args", "model_input_shape", "model_num_classes", "model_hparams", "model_dict")


class SavedModelError(ValueError):
    """A model file that cannot be loaded or does not fit the network it names."""


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate_saved_model`` measured.

    Attributes:
        model: the model file.
        step: the checkpoint the weights are from (None for files written before it was saved).
        dataset: the evaluated dataset; ``environments`` its env names (index = env number).
        test_envs: the envs treated as test envs (their test split is also ``env{i}_in``).
        results: ``env{i}_{in|out|test}_{acc,auc,ap,eer,loss,video_auc}``.
    """

    model: str
    step: int | None
    dataset: str
    environments: list[str]
    test_envs: list[int]
    results: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``json.dump``."""
        return {
            "model": self.model,
            "step": self.step,
            "dataset": self.dataset,
            "environments": self.environments,
            "test_envs": self.test_envs,
            "results": dict(sorted(self.results.items())),
        }


def load_saved_model(path: str | Path) -> dict[str, Any]:
    """The payload of a model file written by ``train`` (DomainBed's model.pkl fields).

    Raises:
        ConfigError: the file does not exist (or is a folder).
        SavedModelError: the file cannot be loaded with ``weights_only=True`` or lacks a field.
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("model*.pkl"))
        raise ConfigError(
            f"--model {path} is a folder; pass a model file in it ({', '.join(found) or 'none'})"
        )
    if not path.exists():
        raise ConfigError(f"--model {path}: no such file (a run writes model.pkl, model_best.pkl)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # re-raised with the file name; never swallowed
        raise SavedModelError(
            f"{path}: cannot load a model file with weights_only ({exc})"
        ) from exc
    missing = [k for k in _PAYLOAD_KEYS if not isinstance(payload, dict) or k not in payload]
    if missing:
        raise SavedModelError(f"{path}: not a roga_bench/DomainBed model file (no {missing})")
    return payload


def saved_dataset_class(name: str) -> type:
    """The registered dataset class ``name``.

    Raises:
        ConfigError: an unknown name (the message lists the registered ones).
    """
    try:
        return DATASETS.get(name)
    except UnknownNameError as exc:
        raise ConfigError(f"--dataset: {exc}") from None


def build_saved_dataset(
    name: str, args: dict, hparams: dict, data_dir: str | None, test_envs: list[int]
) -> Any:
    """Dataset ``name`` for a saved run: ``data_dir`` or the run's own (``args["data_dir"]``).

    Raises:
        ConfigError: an unknown dataset or a test env out of range.
    """
    cls = saved_dataset_class(name)
    n = len(cls.ENVIRONMENTS)
    bad = [e for e in test_envs if not 0 <= e < n]
    if bad:
        listing = ", ".join(f"{i}={env}" for i, env in enumerate(cls.ENVIRONMENTS))
        raise ConfigError(f"--test_envs {bad} out of range for {name} ({n} envs: {listing})")
    return cls(data_dir if data_dir is not None else args.get("data_dir"), test_envs, hparams)


def saved_hparams(payload: dict, dataset: str, json_dir: str | None) -> dict[str, Any]:
    """The run's hparams; another dataset's own hparams fill only the keys the run lacks."""
    from roga_bench.hparams import default_hparams

    hp = dict(payload["model_hparams"])
    if dataset != payload["args"].get("dataset"):
        hp = {**default_hparams(str(payload["args"]["algorithm"]), dataset), **hp}
    if json_dir is not None:
        hp["json_dir"] = json_dir
    hp["pretrained"] = ""  # the saved weights replace any pretrained initialisation
    return hp


def build_saved_network(payload: dict, path: Path, dataset: Any, hparams: dict) -> Any:
    """The saved algorithm with its weights, checked against ``dataset``'s input shape.

    Raises:
        SavedModelError: the input shape or the weights do not fit.
    """
    shape = tuple(int(s) for s in dataset.input_shape)
    if shape != tuple(payload["model_input_shape"]):
        raise SavedModelError(
            f"{path}: the model takes inputs {tuple(payload['model_input_shape'])}, the dataset "
            f"gives {shape} (set the same image_size)"
        )
    return _build(payload, path, hparams)


def _build(payload: dict, path: Path, hparams: dict) -> Any:
    """The file's algorithm with its weights, built with ``hparams``."""
    args = payload["args"]
    try:
        cls = ALGORITHMS.get(str(args["algorithm"]))
    except UnknownNameError as exc:
        raise SavedModelError(f"{path}: args.algorithm: {exc}") from None
    shape = tuple(int(s) for s in payload["model_input_shape"])
    n_domains = int(payload.get("model_num_domains", 1))
    algorithm = cls(shape, int(payload["model_num_classes"]), n_domains, hparams)
    try:
        algorithm.load_state_dict(payload["model_dict"])
    except RuntimeError as exc:  # missing/unexpected keys or shape mismatch
        first = str(exc).strip().splitlines()[0]
        raise SavedModelError(
            f"{path}: weights do not fit {args['algorithm']} with backbone "
            f"{hparams.get('backbone')!r} ({first})"
        ) from None
    return algorithm


def load_saved_algorithm(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """A saved run's algorithm with its weights (eval mode, CPU) and the file's payload, for
    scoring frames of your own (``algorithm.predict(x)``, ``x`` normalised as the datasets do).

    Raises:
        ConfigError, SavedModelError: as :func:`load_saved_model`, or weights that do not fit.
    """
    path = Path(path)
    payload = load_saved_model(path)
    hparams = {**payload["model_hparams"], "pretrained": ""}  # the weights replace pretrained
    return _build(payload, path, hparams).eval(), payload


def evaluate_saved_model(
    model: str | Path,
    dataset: str | None = None,
    test_envs: Sequence[int] | None = None,
    data_dir: str | None = None,
    json_dir: str | None = None,
    device: str = "auto",
) -> Evaluation:
    """Rebuild a saved run's network and evaluate it on every env's validation and test split.

    Args:
        model: a model file a run wrote.
        dataset, test_envs, data_dir: default to the run's own (``args`` in the file).
        json_dir: folder of the dataset's JSON index (hparam ``json_dir``); default: the run's.
        device: ``cpu``, ``cuda`` or ``auto``.

    Raises:
        ConfigError: bad arguments (missing file, unknown dataset, env out of range, device).
        SavedModelError: the file cannot be loaded or does not fit the network it names.
        DatasetError: the data on disk is unusable (the message names the file).
    """
    path = Path(model)
    payload = load_saved_model(path)
    args = payload["args"]
    name = dataset or str(args["dataset"])
    envs = [int(e) for e in (args.get("test_envs", []) if test_envs is None else test_envs)]
    saved_dataset_class(name)  # an unknown name fails before its hparams are asked for
    hparams = saved_hparams(payload, name, json_dir)
    target = torch.device(_resolve_device(device))
    ds = build_saved_dataset(name, args, hparams, data_dir, envs)
    if any(e >= len(ds) for e in envs):  # cross-dataset targets absent on disk: fewer envs
        listing = ", ".join(f"{i}={env}" for i, env in enumerate(ds.ENVIRONMENTS))
        raise ConfigError(f"--test_envs {envs}: {name} has {len(ds)} envs on disk ({listing})")
    algorithm = build_saved_network(payload, path, ds, hparams).to(target)
    results = evaluate(algorithm, ds, eval_splits(len(ds), envs, False), target)
    step = payload.get("step")
    return Evaluation(
        model=str(path),
        step=None if step is None else int(step),
        dataset=name,
        environments=list(ds.ENVIRONMENTS),
        test_envs=envs,
        results=results,
    )
