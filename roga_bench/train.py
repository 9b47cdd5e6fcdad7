"""Train one run: a thin CLI over ``roga_bench.training.train``.

    python -m roga_bench.train --dataset SynthFFLOMO --algorithm RoGA --test_envs 0 \
        --output_dir runs/roga_df

Exit codes: 0 done, 1 the run failed (e.g. a NaN loss; see err.txt), 2 bad input (nothing created).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from roga_bench.training import ConfigError, TrainConfig, TrainingError, build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run, and return the exit code."""
    parser = build_parser()
    try:
        namespace = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a malformed command line (2), already printed
        return int(exc.code or 0)
    from roga_bench.datasets import BadIndexError, DatasetError  # torch loads here
    from roga_bench.training import train

    try:
        config = TrainConfig.from_args(vars(namespace))
        out = train(config)
    except (ConfigError, BadIndexError) as exc:  # bad input (an index file): nothing created
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except DatasetError as exc:  # bad data on disk: the message names the file
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    except TrainingError as exc:
        print(f"{parser.prog}: training failed: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
