"""Which runs a paired test may pair, and which runs a table sets aside (every one listed).

Two runs of one trial and held-out set form a pair only when every setting they share is
identical: the base optimizer's lr, batch size, weight decay and momentum, the backbone, image
size, augmentation, pretrained weights, the training steps, and the hparams seed (under
``--n_hparams > 1`` model selection may pick different random hparams, so different initial
weights, for two algorithms: such a pair is set aside, not tested).

A run's ``--hparams`` overrides split in two:

- *shared* keys (``SHARED_KEYS``, e.g. ``{"lr": 0.01}``): the run is a *setting* of its
  algorithm and gets its own row, ``"RoGA [lr=0.01]"``, compared with the baseline row of the same
  setting (``"ERM [lr=0.01]"``), never with the baseline at another lr; a setting whose baseline
  has no runs gets no test and its runs are listed as excluded. ``optimizer`` and ``backbone``
  are not settings: the row label (``"ERM (Adam)"``) and Table V's rows already carry them. A
  run with another base optimizer brings that optimizer's own ``lr`` and ``momentum`` (the paper
  suite's ERM (Adam) runs at Adam's lr): an optimizer row compares the optimizer as configured,
  so those two keys are then neither a setting nor a pairing condition.
- any other key (the algorithm's own ``alpha``, ``rho``, ...): a *variant*, which only Table VI
  (the α × ρ grid) shows; Tables I–V list it as excluded, with that reason. A key that every run
  of the dataset overrides with the same value (the paper suite's ``{"targets": ...}``) is
  common ground instead, neither a setting nor a variant.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = [
    "IDENTITY_KEYS",
    "PAIR_KEYS",
    "SHARED_KEYS",
    "differences",
    "overrides",
    "own_keys",
    "setting_label",
    "with_setting",
]

# DESIGN §3's shared hparams plus the speed switches of hparams.SHARED_HPARAMS
SHARED_KEYS = frozenset(
    {
        "lr",
        "batch_size",
        "weight_decay",
        "optimizer",
        "momentum",
        "backbone",
        "pretrained",
        "data_augmentation",
        "image_size",
        "amp",
        "channels_last",
        "deterministic",
    }
)
IDENTITY_KEYS = frozenset({"optimizer", "backbone"})  # already in the row label / Table V's rows
OPTIMIZER_KEYS = frozenset({"lr", "momentum"})  # part of the optimizer when it is not SGD
# the record columns two paired runs must agree on
PAIR_KEYS = (
    "hparams.optimizer",
    "hparams.lr",
    "hparams.batch_size",
    "hparams.weight_decay",
    "hparams.momentum",
    "backbone",
    "hparams.image_size",
    "hparams.data_augmentation",
    "hparams.pretrained",
    "args.steps",
    "hparams_seed",
)


def overrides(value: Any) -> dict[str, Any]:
    """A run's ``args.hparams`` (JSON text) as a dict; {} when empty or not a JSON object."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def own_keys(over: dict[str, Any]) -> list[str]:
    """The overridden keys that are not shared settings (a variant unless common ground)."""
    return sorted(k for k in over if k not in SHARED_KEYS)


def setting_label(over: dict[str, Any]) -> str:
    """``"lr=0.01"`` for the shared-key overrides that make a row of their own ('' for none)."""
    skip = IDENTITY_KEYS | (OPTIMIZER_KEYS if _other_optimizer(over.get("optimizer")) else set())
    keys = sorted(k for k in over if k in SHARED_KEYS and k not in skip)
    return ", ".join(f"{k}={_short(over[k])}" for k in keys)


def with_setting(label: str, setting: str) -> str:
    """``"RoGA [lr=0.01]"``, or ``label`` itself for the default setting."""
    return f"{label} [{setting}]" if setting else label


def _other_optimizer(name: Any) -> bool:
    return isinstance(name, str) and name.lower() not in ("", "sgd")


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """``["lr 0.01 vs 0.005", ...]``: the pair keys on which two runs' settings differ (a key
    missing from both, or NaN in both, is no difference; lr and momentum count only between
    runs of the same base optimizer)."""
    out = []
    skip = {"hparams.optimizer"}  # the row label's business
    if mine.get("hparams.optimizer") != theirs.get("hparams.optimizer"):
        skip |= {f"hparams.{k}" for k in OPTIMIZER_KEYS}  # each optimizer at its own lr
    for key in PAIR_KEYS:
        if key in skip:
            continue
        a, b = mine.get(key), theirs.get(key)
        if _missing(a) and _missing(b):
            continue
        if a != b:
            out.append(f"{key.split('.', 1)[-1]} {_short(a)} vs {_short(b)}")
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
