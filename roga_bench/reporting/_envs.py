"""Environment names for the env indices of a record (``env{i}_*`` keys carry only numbers).

The names follow DESIGN §5. Known datasets are looked up in a table so reporting never has to
import torch; other datasets are asked through the dataset registry, and ``env{i}`` is the last
resort.
"""

from __future__ import annotations

from functools import cache

__all__ = ["env_name", "KNOWN_ENVIRONMENTS"]

_FFPP = ["DF", "F2F", "FS", "NT"]
KNOWN_ENVIRONMENTS: dict[str, list[str]] = {
    "FFppLOMO": _FFPP,
    "FFppCrossDataset": _FFPP + ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"],
    "SynthFFLOMO": _FFPP,
    "SynthFFCrossDataset": _FFPP + ["SynthCDF", "SynthUADFV", "SynthDFDC"],
}


@cache
def _registry_environments(dataset: str) -> tuple[str, ...] | None:
    try:
        from roga_bench._registry import DATASETS

        return tuple(DATASETS.get(dataset).ENVIRONMENTS)
    except Exception:  # noqa: BLE001  any failure (unknown name, import error) -> fall back
        return None


def env_name(dataset: str, index: int, recorded: object = None) -> str:
    """The name of environment ``index`` of ``dataset`` (``"env{index}"`` if unknown).

    ``recorded`` is the record's ``dataset_environments`` (the environments the run actually
    had, which differ from the class's list when cross-dataset targets were absent); it wins.
    """
    if isinstance(recorded, (tuple, list)) and recorded:
        names: tuple[str, ...] | list[str] = tuple(recorded)
    else:
        names = KNOWN_ENVIRONMENTS.get(dataset) or _registry_environments(dataset) or ()
    return names[index] if 0 <= index < len(names) else f"env{index}"
