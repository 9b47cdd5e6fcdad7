"""Command line: ``python -m roga_bench.datasets.synthff --out DIR [--seed N] [--videos N]
[--frames N] [--size|--image_size 64] [--workers N]``. Bad values exit with status 2 and say
which."""

from __future__ import annotations

import argparse
import sys
import time

from roga_bench.datasets.synthff._generate import DEFAULTS, generate, validate


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m roga_bench.datasets.synthff",
        description="Generate the SynthFF benchmark (frames + dataset_json) into --out.",
    )
    p.add_argument("--out", required=True, help="data_dir to write (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="build seed (default 0)")
    p.add_argument(
        "--videos", type=int, default=DEFAULTS["videos"], help="real SynthFF videos, even"
    )
    p.add_argument("--frames", type=int, default=DEFAULTS["frames"], help="frames per video")
    p.add_argument(
        "--size",
        "--image_size",
        dest="size",
        type=int,
        default=DEFAULTS["size"],
        help="frame side in pixels (256: the paper's resolution; the default build is 64)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="processes (output does not depend on it)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        validate(args.seed, args.videos, args.frames, args.size)
        if args.workers < 1:
            raise ValueError(
                f"SynthFF: workers={args.workers} is invalid; expected an integer >= 1"
            )
    except ValueError as err:
        parser.error(str(err))  # exits 2 with the usage line
    start = time.perf_counter()
    out = generate(args.out, args.seed, args.videos, args.frames, args.size, workers=args.workers)
    print(f"SynthFF written to {out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
