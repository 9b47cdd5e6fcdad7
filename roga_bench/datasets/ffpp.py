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

__all__ = ["FFppLOMO", "FFppCrossDataset"]

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


@register_dataset("FFppCrossDataset")
class FFppCrossDataset(FFppLOMO):
    """The four FF++ method environments plus the external test sets (the paper's Table I).

    ENVIRONMENTS lists every environment the class knows; an instance keeps only those present on
    disk (an index file ``<json_dir>/<Name>.json`` and a frame folder ``<data_dir>/<Name>/``),
    in the same order, so indices stay contiguous: the four FF++ environments are always 0-3 and
    the targets found follow from 4. Absent targets are reported once and left out, unless named
    in the hparam ``targets`` (then they are an error).
    """

    ENVIRONMENTS: ClassVar[list[str]] = [*_FF_METHODS, "CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]
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
            doc="comma-separated target environments to require; empty: every one on disk",
            kind=str,
        ),
    }

    @classmethod
    def present_environments(
        cls, data_dir: str | Path | None, hparams: Mapping[str, Any] | None = None
    ) -> list[str]:
        """The FF++ method environments, then the targets found on disk (or those required).

        Raises:
            DatasetError: a target named in hparam ``targets`` is unknown or missing on disk.
        """
        hp = cls.resolve_hparams(hparams)
        data_dir = Path(data_dir).expanduser() if data_dir else cls.default_data_dir()
        json_dir = _json_dir(data_dir, hp)
        wanted = [t.strip() for t in str(hp["targets"]).split(",") if t.strip()]
        unknown = [t for t in wanted if t not in cls.TARGETS]
        if unknown:
            raise DatasetError(
                f"hparam targets: unknown {unknown}; known targets: {list(cls.TARGETS)}"
            )
        present = list(cls.METHODS)
        for env, name in cls.TARGETS.items():
            if wanted and env not in wanted:
                continue
            index, frames = json_dir / f"{name}.json", data_dir / name
            problem = (
                f"{index} not found"
                if not index.is_file()
                else (f"frame folder {frames} not found" if not frames.is_dir() else "")
            )
            if not problem:
                present.append(env)
            elif env in wanted:
                raise DatasetError(f"{cls.__name__}: target {env!r} requested but {problem}")
            else:
                warn_missing(cls.__name__, env, problem)
        return present
