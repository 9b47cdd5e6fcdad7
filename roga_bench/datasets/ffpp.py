"""FaceForensics++ environments in the DeepfakeBench layout: GID (leave one method out) and
cross-dataset (train on FF++, test on Celeb-DF v1/v2, UADFV, DFDC, DFDC-preview).

    python -m roga_bench.train --dataset FFppLOMO --data_dir /data/rgb --test_envs 0   # GID-DF
    python -m roga_bench.train --dataset FFppCrossDataset --data_dir /data/rgb --test_envs 4 5 6 7 8
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from roga_bench._registry import register_dataset
from roga_bench.datasets._environments import DeepfakeBenchEnvironments, _json_dir, warn_missing
from roga_bench.datasets._errors import DatasetError
from roga_bench.hparams import HParam

__all__ = [
    "FFppLOMO",
    "FFppCrossDataset",
    "KNOWN_TARGETS",
    "requested_targets",
    "target_env_name",
]

_FF_METHODS = {"DF": "FF-DF", "F2F": "FF-F2F", "FS": "FF-FS", "NT": "FF-NT"}


@register_dataset("FFppLOMO")
class FFppLOMO(DeepfakeBenchEnvironments):
    """FF++ leave-one-manipulation-out (GID): environment X = FF-X fakes + FF-real videos.

    ``test_envs=[i]`` trains on the other three methods and tests on ``ENVIRONMENTS[i]`` (GID-X).
    Reads ``<json_dir>/FaceForensics++.json``, else the per-method files ``FF-DF.json`` ...
    Official splits 720/140/140 videos per label.
    """

    ENVIRONMENTS: ClassVar[list[str]] = list(_FF_METHODS)
    INDEX = "FaceForensics++"
    METHODS: ClassVar[dict[str, str]] = dict(_FF_METHODS)
    METHOD_FILES: ClassVar[dict[str, str]] = dict(_FF_METHODS)


# Every DeepfakeBench dataset as a cross-dataset target: env name -> (index name, frame folder).
# The index is <json_dir>/<index name>.json; its frames live under <data_dir>/<frame folder>/
# (DFD and FaceShifter sit inside FaceForensics++, as DeepfakeBench's rearrange.py lists them;
# with hparam lmdb_dir, in <lmdb_dir>/<frame folder>_lmdb).
KNOWN_TARGETS: dict[str, tuple[str, str]] = {
    "CDF-v1": ("Celeb-DF-v1", "Celeb-DF-v1"),
    "CDF-v2": ("Celeb-DF-v2", "Celeb-DF-v2"),
    "UADFV": ("UADFV", "UADFV"),
    "DFDC": ("DFDC", "DFDC"),
    "DFDCP": ("DFDCP", "DFDCP"),
    "DFD": ("DeepFakeDetection", "FaceForensics++"),
    "DF-1.0": ("DeeperForensics-1.0", "DeeperForensics-1.0"),
    "FaceShifter": ("FaceShifter", "FaceForensics++"),
}
_BY_INDEX = {index: env for env, (index, _) in KNOWN_TARGETS.items()}


def requested_targets(value: Any) -> list[str]:
    """The names in hparam ``targets`` (a comma-separated string or a list of names), each as
    given: an environment name (``CDF-v2``, ``DFD``), a DeepfakeBench index name
    (``Celeb-DF-v2``, ``DeepFakeDetection``) or any index file's name (``simswap_ff``).

    Raises:
        DatasetError: neither a string nor a list of strings.
    """
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise DatasetError(
            f"hparam targets: expected a comma-separated string or a list of names, got {value!r}"
        )
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def target_env_name(name: str) -> str:
    """The environment name of a requested target: ``Celeb-DF-v2`` -> ``CDF-v2``; a name that is
    no known DeepfakeBench dataset (a DF40 index such as ``simswap_ff``) stays itself."""
    return _BY_INDEX.get(name, name)


@register_dataset("FFppCrossDataset")
class FFppCrossDataset(FFppLOMO):
    """The four FF++ method environments plus the external test sets (the paper's Table I).

    ENVIRONMENTS lists every environment the class finds by itself; an instance keeps only those
    present on disk (an index file ``<json_dir>/<Name>.json`` and a frame folder
    ``<data_dir>/<Name>/``), in the same order, so indices stay contiguous: the four FF++
    environments are always 0-3 and the targets found follow from 4. Absent targets are reported
    once and left out, unless named in the hparam ``targets`` (then they are an error).

    Named in ``targets``, every DeepfakeBench dataset (:data:`KNOWN_TARGETS`: also DFD,
    DeeperForensics-1.0, FaceShifter) and any DeepfakeBench-format index in ``json_dir`` (DF40's
    ``simswap_ff``, ``FSAll_cdf``...) is a target; then exactly the named ones are built, the
    known ones in :data:`KNOWN_TARGETS` order, then the others in the order named.
    """

    ENVIRONMENTS: ClassVar[list[str]] = [*_FF_METHODS, "CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]
    # The targets found on disk without being named (Table I's five).
    TARGETS: ClassVar[dict[str, str]] = {
        "CDF-v1": "Celeb-DF-v1",
        "CDF-v2": "Celeb-DF-v2",
        "UADFV": "UADFV",
        "DFDC": "DFDC",
        "DFDCP": "DFDCP",
    }
    HPARAMS: ClassVar[dict[str, HParam]] = {
        "targets": HParam(
            "",
            doc="targets to require (comma-separated string or list): environment, DeepfakeBench "
            "or index-file names; empty: the five of Table I found on disk",
            kind=(str, list[str]),
        ),
    }

    @classmethod
    def target_indexes(cls, hparams: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Env name -> index name of the class's targets and of those named in ``targets``."""
        hp = cls.resolve_hparams(hparams)
        out = dict(cls.TARGETS)
        for name in requested_targets(hp.get("targets", "")):
            env = target_env_name(name)
            out.setdefault(env, KNOWN_TARGETS[env][0] if env in KNOWN_TARGETS else env)
        return out

    @classmethod
    def present_environments(
        cls, data_dir: str | Path | None, hparams: Mapping[str, Any] | None = None
    ) -> list[str]:
        """The FF++ method environments, then the targets found on disk (or those required).

        Raises:
            DatasetError: a target named in hparam ``targets`` is unknown or missing on disk.
        """
        hp = cls.resolve_hparams(hparams)
        lmdb_dir = str(hp.get("lmdb_dir") or "")
        if not data_dir and lmdb_dir:
            data_dir = lmdb_dir
        data_dir = Path(data_dir).expanduser() if data_dir else cls.default_data_dir()
        json_dir = _json_dir(data_dir, hp)
        wanted = [target_env_name(t) for t in requested_targets(hp["targets"])]
        indexes = cls.target_indexes(hp)
        known = {**{e: (i, i) for e, i in cls.TARGETS.items()}, **KNOWN_TARGETS}
        unknown = [t for t in wanted if t not in known and not (json_dir / f"{t}.json").is_file()]
        if unknown:
            found = sorted(p.stem for p in json_dir.glob("*.json")) if json_dir.is_dir() else []
            raise DatasetError(
                f"hparam targets: unknown {unknown}: not a DeepfakeBench dataset (known targets: "
                f"{', '.join(f'{e} ({i})' for e, (i, _) in known.items())}) and no such index "
                f"in {json_dir} (index files there: {', '.join(found) or 'none'})"
            )
        present = list(cls.METHODS)
        order = [e for e in known if not wanted or e in wanted]
        order += [e for e in wanted if e not in known]
        for env in order:
            if not wanted and env not in cls.TARGETS:
                continue  # found by name only
            index_name = indexes[env]
            folder = known[env][1] if env in known else ""
            index = json_dir / f"{index_name}.json"
            frames = (
                Path(lmdb_dir).expanduser() / f"{folder}_lmdb" if lmdb_dir else data_dir / folder
            )
            problem = (
                f"{index} not found"
                if not index.is_file()
                else (f"frame folder {frames} not found" if folder and not frames.is_dir() else "")
            )
            if not problem:
                present.append(env)
            elif env in wanted:
                raise DatasetError(f"{cls.__name__}: target {env!r} requested but {problem}")
            else:
                warn_missing(cls.__name__, env, problem)
        return present
