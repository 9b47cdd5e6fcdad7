"""``python -m roga_bench.datasets check --dataset NAME --data_dir D``: decode every frame.

Prints the frames per environment and split and every file that does not decode; exit 0 when
all decode, 1 when any does not (or the index names a missing frame), 2 on bad arguments.
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
    hparams = decode_hparams(cls, 8, {**overrides, "memory_cache_mb": 0})
    if args.all_frames:
        hparams["frames_per_video"] = 0
    present = cls.present_environments(args.data_dir or None, hparams)
    targets = [i for i, env in enumerate(present) if env in getattr(cls, "TARGETS", {})]
    with warnings.catch_warnings():  # no model is trained here: the backbone is irrelevant
        warnings.simplefilter("ignore", UntrainedBackboneWarning)
        return cls(args.data_dir or None, targets, hparams)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    from roga_bench.datasets import DatasetError
    from roga_bench.datasets.check import check_frames

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        ds = _dataset(args, parser)
        report = check_frames(ds, progress=lambda line: print(line, file=sys.stderr, flush=True))
    except DatasetError as exc:
        print(f"{PROG} check: bad data: {exc}", file=sys.stderr)
        return 1
    print(f"{'env':<16} {'split':<6} {'frames':>8}")
    for (env, split), n in report.counts.items():
        print(f"{env:<16} {split:<6} {n:>8}")
    for line in report.bad:
        print(f"bad frame: {line}")
    print(f"{args.dataset}: {report.decoded} frames decoded, {len(report.bad)} bad")
    return 1 if report.bad else 0


if __name__ == "__main__":
    sys.exit(main())
