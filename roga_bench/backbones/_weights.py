"""Offline pretrained weights: ``load_pretrained(model, path)`` from a local file, never a download.

Accepted files (see docs/backbones.md): plain state dicts saved with ``torch.save`` or as
``.safetensors``, dicts wrapping one under ``"state_dict"`` or ``"model"``, keys prefixed with
``module.`` (DataParallel) or ``backbone.`` (DeepfakeBench detectors), and DeepfakeBench's released
ImageNet files ``xception-b5690688.pth``, ``efficientnet-b4-6ed6700e.pth`` and
``resnet34-b627a593.pth`` (converted by :mod:`roga_bench.backbones._convert`).

The classifier head is never forced: checkpoint head weights whose shape differs from the model's
``num_classes`` head are dropped and reported, so the head stays freshly initialised.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from roga_bench.backbones._convert import convert_state_dict

__all__ = ["LoadReport", "PretrainedKeysWarning", "load_pretrained", "read_state_dict"]

log = logging.getLogger(__name__)

_WRAPPER_KEYS = ("state_dict", "model")
_PREFIXES = ("module.", "backbone.")
# Counters BatchNorm added in torch 0.4; files older than that lack them and they only count steps.
_HARMLESS_MISSING = ("num_batches_tracked",)


class PretrainedKeysWarning(UserWarning):
    """A pretrained file left model weights uninitialised or held keys the model does not use."""


@dataclass
class LoadReport:
    """What :func:`load_pretrained` did. Key names are the model's (after conversion)."""

    path: Path
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # model keys the file did not provide
    unexpected: list[str] = field(default_factory=list)  # file keys the model has no place for
    head_dropped: list[str] = field(default_factory=list)  # file head keys of another shape
    conversions: list[str] = field(default_factory=list)  # notes on renames/reshapes applied


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a local weights file into a flat ``{name: tensor}`` dict, prefixes stripped.

    Args:
        path: ``.pth``/``.pt``/``.bin`` (``torch.load(weights_only=True)``) or ``.safetensors``.

    Returns:
        The state dict, unwrapped from ``"state_dict"``/``"model"`` and without ``module.`` /
        ``backbone.`` prefixes.

    Raises:
        FileNotFoundError: ``path`` is not a file (nothing is ever downloaded).
        ValueError: the file cannot be read safely or holds no tensors.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"pretrained weights file not found: {p}. roga_bench never downloads weights: pass "
            "the path of a local file (see docs/backbones.md for the accepted files)"
        )
    obj = _load_file(p)
    for _ in range(2):  # e.g. {"model": {"state_dict": ...}}
        if isinstance(obj, dict) and not _tensors(obj):
            key = next((k for k in _WRAPPER_KEYS if k in obj), None)
            if key is not None:
                obj = obj[key]
    if not isinstance(obj, dict) or not _tensors(obj):
        top = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(
            f"{p}: expected a state dict of tensors (optionally under 'state_dict' or 'model'), "
            f"found {top}"
        )
    return _strip_prefixes(_tensors(obj), p)


def _load_file(p: Path) -> object:
    if p.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as e:  # pragma: no cover - safetensors ships with timm
            raise ModuleNotFoundError(
                f"{p}: reading .safetensors needs `pip install safetensors`"
            ) from e
        return load_file(str(p), device="cpu")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        raise ValueError(
            f"{p}: cannot be read with torch.load(weights_only=True): {e}. Only files holding "
            "tensors (state dicts) are accepted; a truncated download also fails here"
        ) from e


def _tensors(d: dict) -> dict[str, Tensor]:
    return {k: v for k, v in d.items() if isinstance(k, str) and isinstance(v, Tensor)}


def _strip_prefixes(sd: dict[str, Tensor], p: Path) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for key, value in sd.items():
        name = key
        while name.startswith(_PREFIXES):
            name = name.split(".", 1)[1]
        if name in out:
            raise ValueError(f"{p}: keys {key!r} and another both become {name!r} without prefix")
        out[name] = value
    return out


def _head_prefix(model: nn.Module) -> str:
    """Module-name prefix of the classifier: timm's ``get_classifier()``, else the last Linear."""
    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if head is None:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        name = linears[-1] if linears else None
    else:
        name = next((n for n, m in model.named_modules() if m is head), None)
    return f"{name}." if name else "\0"  # "\0": no head found, so no key counts as head


def load_pretrained(model: nn.Module, path: str | Path) -> LoadReport:
    """Load local pretrained weights into ``model`` in place, keeping its own classifier head.

    Args:
        model: the backbone, already built with its ``num_classes`` head.
        path: local weights file (see :func:`read_state_dict` and docs/backbones.md).

    Returns:
        A :class:`LoadReport`; missing/unexpected keys are also logged and warned about
        (:class:`PretrainedKeysWarning`).

    Raises:
        FileNotFoundError: no such file (nothing is downloaded).
        ValueError: unreadable file, a non-head weight of the wrong shape (file for another
            architecture), or no key of the file matching the model.
    """
    p = Path(path).expanduser()
    sd, notes = convert_state_dict(read_state_dict(p), model, p)
    target = model.state_dict()
    report = LoadReport(path=p, conversions=notes)
    head = _head_prefix(model)
    for key in [k for k in sd if k in target and sd[k].shape != target[k].shape]:
        if not key.startswith(head):
            raise ValueError(
                f"{p}: key {key!r} has shape {list(sd[key].shape)} but {type(model).__name__} "
                f"expects {list(target[key].shape)}; is the file for another architecture?"
            )
        report.head_dropped.append(key)
        del sd[key]
    report.loaded = [k for k in sd if k in target]
    if not report.loaded:
        raise ValueError(
            f"{p}: none of its {len(sd)} keys match {type(model).__name__} (file keys start "
            f"{list(sd)[:3]}, model keys start {list(target)[:3]}); wrong backbone for this file?"
        )
    model.load_state_dict(sd, strict=False)
    report.unexpected = [k for k in sd if k not in target]
    report.missing = [
        k
        for k in target
        if k not in sd and not k.startswith(head) and not k.endswith(_HARMLESS_MISSING)
    ]
    _log_report(report, type(model).__name__)
    return report


def _log_report(r: LoadReport, model_name: str) -> None:
    log.info("%s: loaded %d tensors into %s", r.path, len(r.loaded), model_name)
    for note in r.conversions:
        log.info("%s: %s", r.path, note)
    if r.head_dropped:
        log.info("%s: classifier head re-initialised, dropped %s", r.path, r.head_dropped)
    if r.missing or r.unexpected:
        warnings.warn(
            f"{r.path}: {len(r.missing)} model weights not in the file (first: "
            f"{r.missing[:5]}), {len(r.unexpected)} file keys unused (first: {r.unexpected[:5]})",
            PretrainedKeysWarning,
            stacklevel=3,
        )
