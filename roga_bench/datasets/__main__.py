"""``python -m roga_bench.datasets check --dataset NAME --data_dir D``: decode every frame.

Prints the frames per environment and split, then every frame the index lists that is missing
(on disk, or in the LMDB with hparam ``lmdb_dir``) and every file that does not decode; exit 0
when all decode, 1 when any is missing or does not decode (or the data cannot be read), 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

PROG = "python -m roga_bench.datasets"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Dataset tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", help="decode every frame of every split; report counts and bad files"
    )
    check.add_argument("--dataset", required=True, help="registered dataset name (FFppLOMO, ...)")
    check.add_argument("--data_dir", default="", help="dataset root ('' for SynthFF's default)")
    check.add_argument("--hparams", default="{}", help="JSON dataset hparams (compression, ...)")
    check.add_argument(
        "--all_frames",
        action="store_true",
        help="every frame the index lists (frames_per_video 0), not only those a run reads",
    )
    return parser


def _dataset(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    from roga_bench._registry import UnknownNameError
    from roga_bench.backbones import UntrainedBackboneWarning
    from roga_bench.datasets import get_dataset_class
    from roga_bench.datasets.cache import decode_hparams

    try:
        overrides = json.loads(args.hparams)
    except json.JSONDecodeError as exc:
        parser.error(f"--hparams is not valid JSON ({exc})")
    if not isinstance(overrides, dict):
        parser.error(f"--hparams must be a JSON object, got {args.hparams!r}")
    try:
        cls = get_dataset_class(args.dataset)
    except UnknownNameError as exc:
        parser.error(f"--dataset: {exc}")
    from roga_bench.hparams import HParamError

    try:
        hparams = decode_hparams(cls, 8, {**overrides, "memory_cache_mb": 0})
    except HParamError as exc:
        parser.error(str(exc))
    if args.all_frames:
        hparams["frames_per_video"] = 0
    hparams["skip_missing_frames"] = True  # every missing frame listed, not the first raised
    present = cls.present_environments(args.data_dir or None, hparams)
    if hasattr(cls, "target_indexes"):
        target_envs = cls.target_indexes(hparams)
    else:
        target_envs = getattr(cls, "TARGETS", {})
    targets = [i for i, env in enumerate(present) if env in target_envs]
    with warnings.catch_warnings():  # no model is trained here: the backbone is irrelevant
        warnings.simplefilter("ignore", UntrainedBackboneWarning)
        return cls(args.data_dir or None, targets, hparams)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    from roga_bench.datasets import DatasetError, DatasetWarning
    from roga_bench.datasets.check import check_frames

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():  # the missing frames are listed below, one per line
            warnings.simplefilter("ignore", DatasetWarning)
            ds = _dataset(args, parser)
        report = check_frames(ds, progress=lambda line: print(line, file=sys.stderr, flush=True))
    except DatasetError as exc:
        print(f"{PROG} check: bad data: {exc}", file=sys.stderr)
        return 1
    missing = list(getattr(getattr(ds, "read_report", None), "missing", []))
    print(f"{'env':<16} {'split':<6} {'frames':>8}")
    for (env, split), n in report.counts.items():
        print(f"{env:<16} {split:<6} {n:>8}")
    for line in missing:
        print(f"missing frame: {line}")
    for line in report.bad:
        print(f"bad frame: {line}")
    print(
        f"{args.dataset}: {report.decoded} frames decoded, {len(report.bad)} bad, "
        f"{len(missing)} missing"
    )
    return 1 if report.bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
