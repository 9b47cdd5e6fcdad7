"""Frames, masks and landmarks read from DeepfakeBench's LMDB databases (hparam ``lmdb_dir``).

DeepfakeBench's ``preprocessing/dataset2lmdb_test.py`` writes one database per dataset folder,
``<lmdb_dir>/<dataset>_lmdb`` (every FF++ method, DFD and FaceShifter live in
``FaceForensics++_lmdb``), with one entry per file under ``<dataset_root>/<dataset>``:

- key: ``f"{dataset}\\\\" + os.path.relpath(file, <dataset_root>/<dataset>)``, UTF-8: a backslash
  after the dataset name, then the separators of the OS that wrote it (``FaceForensics++\\\\
  original_sequences/youtube/c23/frames/000/000.png`` on Linux, all backslashes on Windows);
- value: the file's bytes (PNG/JPEG as stored), except ``.npy`` landmarks, stored as the array's
  raw bytes with no header (``np.load(f).tobytes()``): ``(81, 2)`` of whatever dtype the file had
  (its reader assumes uint32; ``preprocess.py`` on Linux writes int64), told apart here by length.

DeepfakeBench's loader uses the index's frame path itself as the key (``./datasets\\\\`` cut off),
which finds only keys written with the same separators as the index. Here a frame path is
re-rooted on its dataset folder first (as for folders), and the key is looked up in both shapes,
Windows first (the released index files' shape), so an index written anywhere reads an LMDB
written anywhere. Several databases are open at once: one run reads FF++ and every target.

Inside roga_bench an LMDB frame has a path like any other: ``<lmdb_dir>/<dataset>_lmdb/<path in
the dataset folder>``. :func:`register_lmdb_dir` makes such paths readable in this process
(frame splits register their folder when built and when unpickled in a loader worker);
``_frames`` reads registered paths through :func:`lmdb_bytes`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from roga_bench.datasets._errors import DatasetError

__all__ = [
    "LMDB_SUFFIX",
    "LANDMARK_SHAPE",
    "decode_landmarks",
    "db_path",
    "lmdb_bytes",
    "lmdb_exists",
    "lmdb_location",
    "lmdb_stamp",
    "lmdb_frame_path",
    "register_lmdb_dir",
    "require_lmdb",
]

LMDB_SUFFIX = "_lmdb"
LANDMARK_SHAPE = (81, 2)  # DeepfakeBench's dlib 81-point landmarks

INSTALL_HINT = "pip install 'roga_bench[lmdb]' (or pip install lmdb)"

_ROOTS: set[str] = set()  # registered lmdb_dir folders (absolute, normalised)
# db folder -> open lmdb.Environment. A forked loader worker keeps using its parent's: LMDB
# refuses a second open of the same files in one process, and a read-only, lock-free
# environment's memory map is valid in the child (DeepfakeBench's loader relies on this too).
_ENVS: dict[str, Any] = {}
_SHAPE: dict[str, int] = {}  # db folder -> key shape that hit last (0: Windows, 1: Linux)
_LOCK = threading.Lock()


def require_lmdb() -> Any:
    """The ``lmdb`` module.

    Raises:
        DatasetError: it is not installed (one line saying how to install it).
    """
    try:
        import lmdb
    except ImportError:
        raise DatasetError(
            f"hparam lmdb_dir needs the lmdb package, which is not installed: {INSTALL_HINT}"
        ) from None
    return lmdb


def _norm(folder: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(folder)))


def register_lmdb_dir(lmdb_dir: str | os.PathLike[str]) -> str:
    """Make paths under ``lmdb_dir`` read from its ``<dataset>_lmdb`` databases; returns the
    normalised folder. Checks that ``lmdb`` is importable and the folder exists.

    Raises:
        DatasetError: no ``lmdb`` package, or ``lmdb_dir`` is not a folder.
    """
    require_lmdb()
    root = _norm(lmdb_dir)
    if not os.path.isdir(root):
        raise DatasetError(f"hparam lmdb_dir: {root} is not a folder")
    _ROOTS.add(root)
    return root


def db_path(lmdb_dir: str | os.PathLike[str], dataset: str) -> Path:
    """The database of ``dataset`` (a frame-tree folder name) in ``lmdb_dir``."""
    return Path(_norm(lmdb_dir)) / f"{dataset}{LMDB_SUFFIX}"


def lmdb_frame_path(rerooted: str, lmdb_dir: str) -> str:
    """``<lmdb_dir>/<dataset>/<rest>`` (a path re-rooted under ``lmdb_dir``) as the LMDB path
    ``<lmdb_dir>/<dataset>_lmdb/<rest>``."""
    rel = rerooted[len(lmdb_dir) :].lstrip("/\\")
    dataset, _, rest = rel.replace("\\", "/").partition("/")
    return os.path.join(lmdb_dir, dataset + LMDB_SUFFIX, *rest.split("/"))


def lmdb_location(path: str | os.PathLike[str]) -> tuple[str, str, list[str]] | None:
    """``(db folder, dataset, [path parts inside the dataset folder])`` of an LMDB path under a
    registered ``lmdb_dir``; None for any other path (a file on disk)."""
    if not _ROOTS:
        return None
    p = os.fspath(path)
    for root in _ROOTS:
        if p.startswith(root) and p[len(root) : len(root) + 1] in ("/", "\\"):
            parts = [s for s in p[len(root) + 1 :].replace("\\", "/").split("/") if s]
            if len(parts) >= 2 and parts[0].endswith(LMDB_SUFFIX):
                dataset = parts[0][: -len(LMDB_SUFFIX)]
                return os.path.join(root, parts[0]), dataset, parts[1:]
    return None


def _env(db: str) -> Any:
    with _LOCK:
        env = _ENVS.get(db)
        if env is None:
            if not os.path.isdir(db):
                raise DatasetError(
                    f"{db}: LMDB database not found (hparam lmdb_dir holds <dataset>_lmdb "
                    "folders written by DeepfakeBench's preprocessing/dataset2lmdb_test.py)"
                )
            lmdb = require_lmdb()
            try:
                env = lmdb.open(
                    db, readonly=True, lock=False, readahead=False, subdir=True, max_readers=2048
                )
            except lmdb.Error as exc:
                raise DatasetError(f"{db}: cannot open LMDB database ({exc})") from None
            _ENVS[db] = env
        return env


def _keys(dataset: str, parts: list[str]) -> tuple[bytes, bytes]:
    """The two keys DeepfakeBench's writer produces for one file: Windows, Linux separators."""
    return (
        (dataset + "\\" + "\\".join(parts)).encode("utf-8"),
        (dataset + "\\" + "/".join(parts)).encode("utf-8"),
    )


def _get(location: tuple[str, str, list[str]], what: str = "bytes") -> Any:
    """The entry's bytes (``what="bytes"``) or its length (``"len"``, nothing copied out of the
    map: existence checks of a whole index); None when neither key shape has an entry."""
    db, dataset, parts = location
    keys = _keys(dataset, parts)
    first = _SHAPE.get(db, 0)
    with _env(db).begin(buffers=True) as txn:
        for shape in (first, 1 - first):
            value = txn.get(keys[shape])
            if value is not None:
                _SHAPE[db] = shape
                return len(value) if what == "len" else bytes(value)
    return None


def lmdb_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The stored bytes of an LMDB path; None when it is not an LMDB path or has no entry."""
    location = lmdb_location(path)
    return None if location is None else _get(location)


def lmdb_exists(path: str | os.PathLike[str]) -> bool:
    """Whether an LMDB path has an entry (in either key shape)."""
    location = lmdb_location(path)
    return location is not None and _get(location, "len") is not None


def lmdb_stamp(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(value length, data.mdb mtime_ns)`` of an LMDB path (the analogue of a file's size and
    mtime, for staleness checks); None when it has no entry or is not an LMDB path."""
    location = lmdb_location(path)
    if location is None:
        return None
    length = _get(location, "len")
    if length is None:
        return None
    return length, os.stat(os.path.join(location[0], "data.mdb")).st_mtime_ns


def decode_landmarks(raw: bytes, where: str = "") -> np.ndarray:
    """Landmarks stored as raw ``(81, 2)`` array bytes, dtype told by the length (648 bytes:
    uint32, DeepfakeBench's reader's assumption; 1296: int64, what ``np.save`` of dlib's points
    writes on Linux), as int64 ``(81, 2)``.

    Raises:
        DatasetError: any other length (names ``where``).
    """
    n = LANDMARK_SHAPE[0] * LANDMARK_SHAPE[1]
    if len(raw) == 4 * n:
        arr = np.frombuffer(raw, dtype=np.uint32)
    elif len(raw) == 8 * n:
        arr = np.frombuffer(raw, dtype=np.int64)
    else:
        raise DatasetError(
            f"{where}: landmark entry of {len(raw)} bytes; expected {4 * n} (uint32 "
            f"{LANDMARK_SHAPE}) or {8 * n} (int64 {LANDMARK_SHAPE})"
        )
    return arr.reshape(LANDMARK_SHAPE).astype(np.int64)
