"""Hyperparameters with DomainBed's semantics.

``hparams_seed == 0`` gives the defaults; otherwise every hparam is drawn from its own
``RandomState(seed_hash(random_seed, name))``, so adding an hparam never shifts the others.
Spaces are declared next to what they configure: shared ones here, dataset ones on the dataset
class (``HPARAMS``), algorithm ones on the algorithm class (``HPARAMS``, merged along the MRO).
Precedence: shared < dataset < algorithm; ``--hparams`` overrides are applied last and validated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from roga_bench._registry import ALGORITHMS, DATASETS

__all__ = [
    "HParam",
    "seed_hash",
    "choice",
    "log_uniform",
    "uniform",
    "pow2_int",
    "SHARED_HPARAMS",
    "hparam_space",
    "algorithm_space",
    "default_hparams",
    "random_hparams",
    "make_hparams",
    "apply_overrides",
    "validate_hparams",
]

Sampler = Callable[[np.random.RandomState], Any]


@dataclass(frozen=True)
class HParam:
    """One hyperparameter.

    Args:
        default: value used when ``hparams_seed == 0``.
        sample: draws a random value from a RandomState; None keeps the default in random search.
        minimum: values below it raise ValueError (e.g. 0.0 for rho, alpha, lr).
        choices: the only accepted values, for categorical hparams.
        doc: one line shown in listings and error messages.
    """

    default: Any
    sample: Sampler | None = None
    minimum: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""

    def draw(self, random_state: np.random.RandomState) -> Any:
        return self.default if self.sample is None else self.sample(random_state)


def seed_hash(*args: Any) -> int:
    """Deterministic 31-bit integer from any arguments (DomainBed's ``misc.seed_hash``)."""
    return int(hashlib.md5(str(args).encode("utf-8")).hexdigest(), 16) % (2**31)


def choice(*values: Any) -> Sampler:
    """Uniform choice among ``values``, returned as the original Python object."""
    return lambda r: values[int(r.randint(len(values)))]


def log_uniform(low_exp: float, high_exp: float) -> Sampler:
    """``10 ** U(low_exp, high_exp)``."""
    return lambda r: float(10 ** r.uniform(low_exp, high_exp))


def uniform(low: float, high: float) -> Sampler:
    return lambda r: float(r.uniform(low, high))


def pow2_int(low_exp: float, high_exp: float) -> Sampler:
    """``int(2 ** U(low_exp, high_exp))``, DomainBed's batch-size sampler."""
    return lambda r: int(2 ** r.uniform(low_exp, high_exp))


SHARED_HPARAMS: dict[str, HParam] = {
    # RoGA paper: SGD, lr 0.005, momentum 0.9.
    "lr": HParam(0.005, log_uniform(-3.0, -2.0), minimum=0.0, doc="base optimizer learning rate"),
    "batch_size": HParam(32, pow2_int(3, 5.5), minimum=1, doc="minibatch size per domain"),
    "weight_decay": HParam(5e-4, log_uniform(-6, -3), minimum=0.0, doc="L2 in the base optimizer"),
    "optimizer": HParam("sgd", choices=("sgd", "adam"), doc="base optimizer"),
    "momentum": HParam(0.9, minimum=0.0, doc="SGD momentum"),
    "backbone": HParam("xception", doc="registered backbone name"),
    "pretrained": HParam("", doc="local path of pretrained weights; empty: random init"),
    "data_augmentation": HParam(True, choices=(True, False), doc="training-split augmentation"),
    "image_size": HParam(256, minimum=8, doc="square input size in pixels"),
    # Speed switches (docs/performance.md); "auto" resolves by device: fp32 + deterministic on
    # the CPU (bit-exact as before), bf16 + channels_last + cudnn.benchmark/TF32 on CUDA.
    "amp": HParam("auto", choices=("auto", "none", "bf16", "fp16"), doc="mixed precision"),
    "channels_last": HParam("auto", choices=("auto", True, False), doc="NHWC convs on CUDA"),
    "deterministic": HParam(
        "auto", choices=("auto", True, False), doc="cudnn deterministic, no TF32/benchmark"
    ),
}


def _merged(cls: type) -> dict[str, HParam]:
    """``HPARAMS`` dicts along the MRO, subclasses winning."""
    space: dict[str, HParam] = {}
    for klass in reversed(cls.__mro__):
        space.update(vars(klass).get("HPARAMS", {}))
    return space


def algorithm_space(algorithm: str) -> dict[str, HParam]:
    """The hparams an algorithm declares itself (e.g. ``rho``, ``alpha``)."""
    return _merged(ALGORITHMS.get(algorithm))


def hparam_space(algorithm: str, dataset: str) -> dict[str, HParam]:
    """Every hparam of (algorithm, dataset): shared < dataset < algorithm.

    Raises:
        UnknownNameError: for an unknown algorithm or dataset (lists the valid names).
    """
    space = dict(SHARED_HPARAMS)
    space.update(_merged(DATASETS.get(dataset)))
    space.update(algorithm_space(algorithm))
    return space


def default_hparams(algorithm: str, dataset: str) -> dict[str, Any]:
    return {name: hp.default for name, hp in hparam_space(algorithm, dataset).items()}


def random_hparams(algorithm: str, dataset: str, seed: int) -> dict[str, Any]:
    """Each hparam drawn from ``RandomState(seed_hash(seed, name))``."""
    return {
        name: hp.draw(np.random.RandomState(seed_hash(seed, name)))
        for name, hp in hparam_space(algorithm, dataset).items()
    }


def validate_hparams(hparams: Mapping[str, Any], space: Mapping[str, HParam]) -> None:
    """Raise ValueError naming the first hparam that is unknown or out of range."""
    for name, value in hparams.items():
        if name not in space:
            valid = ", ".join(sorted(space))
            raise ValueError(f"unknown hparam {name!r}; valid hparams: {valid}")
        hp = space[name]
        if hp.choices is not None and value not in hp.choices:
            raise ValueError(f"hparam {name!r} = {value!r}; expected one of {list(hp.choices)}")
        if hp.minimum is not None and isinstance(value, (int, float)) and value < hp.minimum:
            raise ValueError(f"hparam {name!r} = {value!r}; must be >= {hp.minimum}")


def apply_overrides(
    hparams: Mapping[str, Any],
    overrides: Mapping[str, Any] | str | None,
    space: Mapping[str, HParam],
) -> dict[str, Any]:
    """``hparams`` updated with ``overrides`` (a dict or a JSON string), then validated.

    Raises:
        ValueError: the JSON does not parse or is not an object, a name is unknown, a value is
            out of range.
    """
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides) if overrides.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"--hparams is not valid JSON ({exc}): {overrides!r}") from None
        if not isinstance(overrides, dict):
            raise ValueError(f"--hparams must be a JSON object, got {overrides!r}")
    merged = {**hparams, **(overrides or {})}
    validate_hparams(merged, space)
    return merged


def make_hparams(
    algorithm: str,
    dataset: str,
    hparams_seed: int = 0,
    trial_seed: int = 0,
    overrides: Mapping[str, Any] | str | None = None,
) -> dict[str, Any]:
    """The hparams of one run, exactly as DomainBed's ``train.py`` builds them."""
    if hparams_seed == 0:
        base = default_hparams(algorithm, dataset)
    else:
        base = random_hparams(algorithm, dataset, seed_hash(hparams_seed, trial_seed))
    return apply_overrides(base, overrides, hparam_space(algorithm, dataset))
