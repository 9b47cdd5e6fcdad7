"""Per-run, per-analysis result cache: ``<out>/cache/<key>.json`` (+ ``.npz`` for the arrays).

The key hashes the model file (path, size, modification time), the analysis name and the
analysis settings, so a rerun with the same settings reads every result back and a retrained
model or another setting is recomputed. Files are written to a temp name and renamed, so an
interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from roga_bench.analysis._config import Result

__all__ = ["cache_key", "load_cached", "store"]


def cache_key(model: str | Path, analysis: str, settings: dict[str, Any]) -> str:
    st = Path(model).stat()
    blob = json.dumps(
        [str(Path(model).resolve()), st.st_size, st.st_mtime_ns, analysis, settings],
        sort_keys=True,
        default=str,
    )
    return f"{analysis}-{hashlib.sha1(blob.encode()).hexdigest()[:20]}"


def load_cached(folder: Path, key: str) -> Result | None:
    meta = folder / f"{key}.json"
    if not meta.exists():
        return None
    data = json.loads(meta.read_text(encoding="utf-8"))
    arrays: dict[str, np.ndarray] = {}
    if data.get("has_arrays"):
        with np.load(folder / f"{key}.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
    scalars = {k: float("nan") if v is None else float(v) for k, v in data["scalars"].items()}
    batches = list(data.get("batches", []))
    return Result(scalars, arrays, list(data["notes"]), float(data["seconds"]), batches)


def store(folder: Path, key: str, result: Result) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if result.arrays:
        tmp = folder / f".{key}.tmp{os.getpid()}.npz"
        np.savez_compressed(tmp, **result.arrays)
        os.replace(tmp, folder / f"{key}.npz")
    data = {
        "scalars": {k: None if np.isnan(v) else v for k, v in result.scalars.items()},
        "notes": result.notes,
        "seconds": result.seconds,
        "batches": result.batches,
        "has_arrays": bool(result.arrays),
    }
    tmp = folder / f".{key}.tmp{os.getpid()}.json"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / f"{key}.json")  # written last: the entry exists only when complete
