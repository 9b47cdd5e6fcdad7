"""DomainBed's own ``train.py``, with roga_bench's algorithms, datasets and hparams registered.

    python -m roga_bench.domainbed_train --data_dir DATA --dataset SynthFFLOMO --algorithm RoGA \\
        --test_envs 0 --output_dir out/roga_df

Every argument goes to ``domainbed.scripts.train`` unchanged; the script itself runs unchanged
(as ``__main__``), so its results.jsonl is DomainBed's. Before it runs, ``--hparams`` values of
our hparams are checked against their declared type and range: a bad one exits 2 with one line,
before DomainBed creates ``--output_dir``. One thing differs for our datasets: the
in/out splits are the official video lists, not ``misc.split_dataset``'s random frame split
(``register`` swaps that function; see :mod:`roga_bench.domainbed_plugin`), so
``--holdout_fraction`` is ignored for them and no video sits in both ``env{i}_in`` and
``env{i}_out``.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence

from roga_bench.domainbed_plugin import check_train_hparams, register

__all__ = ["main"]

TRAIN_MODULE = "domainbed.scripts.train"


def main(argv: Sequence[str] | None = None) -> None:
    """Register, then run DomainBed's train script with ``argv`` (default: ``sys.argv[1:]``).

    Raises:
        ImportError: DomainBed is not importable (the message says how to install it).
        SystemExit: 2, after one line on stderr, for a bad ``--hparams`` value of ours.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    register()
    try:
        check_train_hparams(args)
    except ValueError as exc:
        print(f"python -m roga_bench.domainbed_train: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sys.argv = [TRAIN_MODULE, *args]
    runpy.run_module(TRAIN_MODULE, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    try:
        main()
    except ImportError as exc:
        if "not on PyPI" not in str(exc):
            raise
        sys.exit(f"error: {exc}")
