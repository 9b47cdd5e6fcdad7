"""Hyperparameters with DomainBed's semantics.

``hparams_seed == 0`` gives the defaults; otherwise every hparam is drawn from its own
``RandomState(seed_hash(random_seed, name))``, so adding an hparam never shifts the others.
Spaces are declared next to what they configure: shared ones here, dataset ones on the dataset
class (``HPARAMS``), algorithm ones on the algorithm class (``HPARAMS``, merged along the MRO).
Precedence: shared < dataset < algorithm; ``--hparams`` overrides are applied last and validated.

Every hparam declares what it accepts beside its default: ``choices``, or a ``kind`` (the type)
with a range (``minimum``/``maximum``); :func:`validate_hparams` checks type, finiteness and range
in one place, before a run or a sweep writes anything.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import GenericAlias
from typing import Any

import numpy as np

from roga_bench._registry import ALGORITHMS, BACKBONES, DATASETS

__all__ = [
    "HParam",
    "HParamError",
    "parse_overrides",
    "registered_backbone",
    "seed_hash",
    "choice",
    "log_uniform",
    "uniform",
    "pow2_int",
    "SHARED_HPARAMS",
    "class_hparams",
    "hparam_space",
    "algorithm_space",
    "default_hparams",
    "random_hparams",
    "make_hparams",
    "apply_overrides",
    "validate_hparams",
]

Sampler = Callable[[np.random.RandomState], Any]


class HParamError(ValueError):
    """An hparam that is unknown or not of its declared type and range (one line: the source,
    the name, the value, what is wrong and what is allowed)."""


@dataclass(frozen=True)
class HParam:
    """One hyperparameter and the values it accepts.

    Args:
        default: value used when ``hparams_seed == 0``.
        sample: draws a random value from a RandomState; None keeps the default in random search.
        minimum: values below it are rejected (e.g. 0.0 for rho, alpha, lr).
        choices: the only accepted values, for categorical hparams (``True`` never matches 1).
        doc: one line shown in listings and error messages.
        kind: the accepted type: ``float`` (a finite number; ints too), ``int``, ``bool``,
            ``str``, ``list[str]``, or a tuple of these. Every hparam declares ``kind`` or
            ``choices`` (a test walks the registries); a number also declares a range.
        maximum: values above it are rejected.
        check: a further test of a well-typed value: ``value -> None`` when it is accepted, else
            the rest of the error line (``"is not a registered backbone; expected one of ..."``).
    """

    default: Any
    sample: Sampler | None = None
    minimum: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    kind: Any = None
    maximum: float | None = None
    check: Callable[[Any], str | None] | None = None

    def draw(self, random_state: np.random.RandomState) -> Any:
        return self.default if self.sample is None else self.sample(random_state)

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value``, as the end of an error line, or None if it is accepted."""
        kinds = () if self.kind is None else _as_tuple(self.kind)
        if kinds and not any(_is_kind(value, k) for k in kinds):
            what = f"is {_type_name(value)}"
            if int in kinds and _is_number(value):
                what = "is not an integer"
            elif isinstance(value, list) and list[str] in kinds:
                what = "is a list with an item that is not a string"
            return f"{what}; expected {self.expected()}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"is not finite; expected {self.expected()}"
        if self.choices is not None and not any(_same(value, c) for c in self.choices):
            return f"is not allowed; expected {self.expected()}"
        if _is_number(value) and not (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
        ):
            return f"is out of range; expected {self.expected()}"
        return None if self.check is None else self.check(value)

    def expected(self) -> str:
        """The accepted values in words: ``one of [...]``, ``a finite number >= 0.0``."""
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        kinds = " or ".join(_KIND_NAMES.get(k, str(k)) for k in _as_tuple(self.kind or float))
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{kinds} in [{low}, {high}]"
        if low is not None or high is not None:
            return f"{kinds} {'>=' if high is None else '<='} {low if high is None else high}"
        return kinds


_KIND_NAMES: dict[Any, str] = {
    float: "a finite number",
    int: "an integer",
    bool: "true or false",
    str: "a string",
    list[str]: "a list of strings",
}


def _as_tuple(kind: Any) -> tuple[Any, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_kind(value: Any, kind: Any) -> bool:
    """``value`` is of ``kind``: a bool is no number, an int is a float, list[str] checks items."""
    if isinstance(kind, GenericAlias):
        (item,) = kind.__args__
        return isinstance(value, kind.__origin__) and all(_is_kind(v, item) for v in value)
    if kind is float:
        return _is_number(value)
    if kind is int:
        return _is_number(value) and isinstance(value, int)
    return isinstance(value, kind)


def _same(value: Any, choice: Any) -> bool:
    """``value == choice`` without Python's True == 1 == 1.0 (JSON true is not 1)."""
    return isinstance(value, bool) == isinstance(choice, bool) and value == choice


def _type_name(value: Any) -> str:
    """A JSON reader's word for the type of ``value``."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", tuple: "a list", dict: "an object"})
    return names.get(type(value), f"a {type(value).__name__}")


def registered_backbone(name: Any) -> str | None:
    """``HParam.check`` of ``backbone``: a name in the backbone registry."""
    if name in BACKBONES:
        return None
    return f"is not a registered backbone; expected one of {', '.join(BACKBONES.names())}"


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


# Largest accepted image_size: 16x DeepfakeBench's 256; a typo (1e9) fails here, not in malloc.
MAX_IMAGE_SIZE = 4096

SHARED_HPARAMS: dict[str, HParam] = {
    # RoGA paper: SGD, lr 0.005, momentum 0.9.
    "lr": HParam(
        0.005, log_uniform(-3.0, -2.0), minimum=0.0, doc="base optimizer learning rate", kind=float
    ),
    "batch_size": HParam(
        32, pow2_int(3, 5.5), minimum=1, doc="minibatch size per domain", kind=int
    ),
    "weight_decay": HParam(
        5e-4, log_uniform(-6, -3), minimum=0.0, doc="L2 in the base optimizer", kind=float
    ),
    "optimizer": HParam("sgd", choices=("sgd", "adam"), doc="base optimizer"),
    "momentum": HParam(0.9, minimum=0.0, doc="SGD momentum", kind=float, maximum=1.0),
    "backbone": HParam(
        "xception", doc="registered backbone name", kind=str, check=registered_backbone
    ),
    "pretrained": HParam("", doc="local path of pretrained weights; empty: random init", kind=str),
    "data_augmentation": HParam(True, choices=(True, False), doc="training-split augmentation"),
    "image_size": HParam(
        256, minimum=8, doc="square input size in pixels", kind=int, maximum=MAX_IMAGE_SIZE
    ),
    # Speed switches (docs/performance.md); "auto" resolves by device: fp32 + deterministic on
    # the CPU (bit-exact as before), bf16 + channels_last + cudnn.benchmark/TF32 on CUDA.
    "amp": HParam("auto", choices=("auto", "none", "bf16", "fp16"), doc="mixed precision"),
    "channels_last": HParam("auto", choices=("auto", True, False), doc="NHWC convs on CUDA"),
    "deterministic": HParam(
        "auto", choices=("auto", True, False), doc="cudnn deterministic, no TF32/benchmark"
    ),
}


def class_hparams(cls: type) -> dict[str, HParam]:
    """The ``HPARAMS`` dicts declared along ``cls``'s MRO, merged, subclasses winning.

    The one place that merges class-declared hparams (algorithms, datasets, the DomainBed
    plugin all use it); shared hparams are not included.
    """
    space: dict[str, HParam] = {}
    for klass in reversed(cls.__mro__):
        space.update(vars(klass).get("HPARAMS", {}))
    return space


def algorithm_space(algorithm: str) -> dict[str, HParam]:
    """The hparams an algorithm declares itself (e.g. ``rho``, ``alpha``)."""
    return class_hparams(ALGORITHMS.get(algorithm))


def hparam_space(algorithm: str, dataset: str) -> dict[str, HParam]:
    """Every hparam of (algorithm, dataset): shared < dataset < algorithm.

    Raises:
        UnknownNameError: for an unknown algorithm or dataset (lists the valid names).
    """
    space = dict(SHARED_HPARAMS)
    space.update(class_hparams(DATASETS.get(dataset)))
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


Sources = str | Mapping[str, str]


def validate_hparams(
    hparams: Mapping[str, Any], space: Mapping[str, HParam], source: Sources = ""
) -> None:
    """Check every hparam against its declaration: known name, type, finiteness, range, choices.

    Args:
        hparams: the values to check.
        space: the declarations (:func:`hparam_space`, ``Algorithm.space()``).
        source: where the values came from (``"--hparams"``), one label for all or one per name;
            it starts the error line.

    Raises:
        HParamError: (a ValueError) the first bad one, in one line: ``--hparams: hparam 'lr' =
            'abc' is a string; expected a finite number >= 0.0``.
    """
    for name, value in hparams.items():
        label = source.get(name, "") if isinstance(source, Mapping) else source
        prefix = f"{label}: " if label else ""
        if name not in space:
            valid = ", ".join(sorted(space))
            raise HParamError(f"{prefix}unknown hparam {name!r}; valid hparams: {valid}")
        problem = space[name].problem(value)
        if problem is not None:
            raise HParamError(f"{prefix}hparam {name!r} = {value!r} {problem}")


def parse_overrides(text: str, label: str = "--hparams") -> dict[str, Any]:
    """The JSON object of a ``--hparams`` flag (blank: ``{}``).

    Raises:
        ValueError: one line naming ``label``: the text does not parse, or is not an object.
    """
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{label} is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{label} must be a JSON object, got {text!r}")
    return value


def apply_overrides(
    hparams: Mapping[str, Any],
    overrides: Mapping[str, Any] | str | None,
    space: Mapping[str, HParam],
    source: Sources = "--hparams",
) -> dict[str, Any]:
    """``hparams`` updated with ``overrides`` (a dict or a JSON string), then validated.

    Args:
        source: the label of the overrides in error lines (one, or one per name).

    Raises:
        ValueError: the JSON does not parse or is not an object; ``HParamError``: a name is
            unknown, a value is of the wrong type, not finite or out of range.
    """
    label = source if isinstance(source, str) else "--hparams"
    if isinstance(overrides, str):
        overrides = parse_overrides(overrides, label)
    overrides = dict(overrides or {})
    labels = dict.fromkeys(overrides, source) if isinstance(source, str) else source
    validate_hparams(overrides, space, labels)  # the user's values first, named by their source
    merged = {**hparams, **overrides}
    validate_hparams(merged, space)
    return merged


def make_hparams(
    algorithm: str,
    dataset: str,
    hparams_seed: int = 0,
    trial_seed: int = 0,
    overrides: Mapping[str, Any] | str | None = None,
    source: Sources = "--hparams",
) -> dict[str, Any]:
    """The hparams of one run, exactly as DomainBed's ``train.py`` builds them.

    ``source`` labels the overrides in error lines (:func:`apply_overrides`).
    """
    if hparams_seed == 0:
        base = default_hparams(algorithm, dataset)
    else:
        base = random_hparams(algorithm, dataset, seed_hash(hparams_seed, trial_seed))
    return apply_overrides(base, overrides, hparam_space(algorithm, dataset), source)
