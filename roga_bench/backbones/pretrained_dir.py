"""Pretrained weights per backbone from one folder: ``--pretrained_dir DIR``.

A backbone finds its file in DIR by DeepfakeBench's released name (:data:`RELEASED_NAMES`), or by
a ``weights.json`` object in DIR mapping backbone names to file names (relative to DIR) or absolute
paths; the map wins. Nothing is downloaded.

    resolve_pretrained("resnet34", "/data/weights")  # -> /data/weights/resnet34-b627a593.pth
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["MissingWeightsError", "RELEASED_NAMES", "WEIGHTS_MAP", "resolve_pretrained"]

# DeepfakeBench's released ImageNet checkpoints (its training/pretrained folder).
RELEASED_NAMES = {
    "xception": "xception-b5690688.pth",
    "efficientnet_b4": "efficientnet-b4-6ed6700e.pth",
    "resnet34": "resnet34-b627a593.pth",
}
WEIGHTS_MAP = "weights.json"


class MissingWeightsError(ValueError):
    """``--pretrained_dir`` lacks a backbone's file, or its ``weights.json`` is unusable."""


def _read_map(directory: Path) -> dict[str, str]:
    path = directory / WEIGHTS_MAP
    if not path.exists():
        return {}
    try:
        mapping = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MissingWeightsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise MissingWeightsError(f"{path}: expected an object of backbone -> file name")
    return mapping


def resolve_pretrained(backbone: str, directory: str | Path) -> Path | None:
    """The weights file of ``backbone`` in ``directory``.

    Returns:
        The file; None when the backbone has neither a ``weights.json`` entry nor a released
        name (small backbones that train from scratch).

    Raises:
        MissingWeightsError: ``directory`` is not a folder, ``weights.json`` is malformed, or the
            expected file is missing (the message names the backbone and the file).
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise MissingWeightsError(f"--pretrained_dir {folder}: not a folder")
    mapping = _read_map(folder)
    name = mapping.get(backbone) or RELEASED_NAMES.get(backbone)
    if name is None:
        return None
    path = Path(name) if Path(name).is_absolute() else folder / name
    if not path.is_file():
        source = f"{WEIGHTS_MAP} entry" if backbone in mapping else "DeepfakeBench's released name"
        raise MissingWeightsError(
            f"--pretrained_dir {folder}: backbone {backbone!r} expects {path} ({source}), "
            "which is missing; add the file, map it in weights.json, or pass --from_scratch"
        )
    return path
