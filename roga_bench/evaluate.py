"""Evaluate a saved run: a thin CLI over ``roga_bench.training._saved.evaluate_saved_model``.

    python -m roga_bench.evaluate --model RUN/model_best.pkl
    python -m roga_bench.evaluate --model RUN/model.pkl --dataset SynthFFCrossDataset \\
        --test_envs 4 5 6 --out RUN/eval_cross.json

The network is rebuilt from the file's own args and hparams; every env's validation
(``env{i}_out``) and official test split (``env{i}_test``; ``env{i}_in`` for a test env) is
evaluated. Exit codes: 0 done, 1 the model or the data cannot be used, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from roga_bench.records import METRICS, metric_key

__all__ = ["build_parser", "main", "format_table"]

_COLUMNS = METRICS


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m roga_bench.evaluate``."""
    p = argparse.ArgumentParser(
        prog="python -m roga_bench.evaluate",
        description="Evaluate a saved run's weights on every env's validation and test split.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="RUN/model.pkl, model_best.pkl, model_step*.pkl")
    p.add_argument("--dataset", default=None, help="registered dataset; default: the run's")
    p.add_argument(
        "--test_envs", type=int, nargs="*", default=None, help="test env indices; default: run's"
    )
    p.add_argument("--data_dir", default=None, help="folder of <Dataset>/ trees; default: run's")
    p.add_argument("--json_dir", default=None, help="folder of the JSON index; default: run's")
    p.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    p.add_argument("--out", default=None, help="also write the results as JSON to this file")
    return p


def format_table(evaluation: object) -> str:
    """One line per (env, split): the env's name and role, then the six metrics."""
    ev = evaluation
    lines = [f"{ev.model} (step {ev.step}) on {ev.dataset}, test envs {ev.test_envs}"]
    head = f"{'env':<16} {'role':<5} {'split':<5} " + " ".join(f"{c:>9}" for c in _COLUMNS)
    lines.append(head)
    for i, name in enumerate(ev.environments):
        role = "test" if i in ev.test_envs else "train"
        for key_split, split in (("out", "val"), ("test", "test")):
            values = [ev.results.get(metric_key(i, key_split, c), math.nan) for c in _COLUMNS]
            cells = " ".join(f"{v:>9.4f}" for v in values)
            lines.append(f"{f'{i}={name}':<16} {role:<5} {split:<5} {cells}")
    return "\n".join(lines)


def _write_json(path: Path, data: dict) -> None:
    """Write via a temp file and ``os.replace``: a failure never leaves a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, evaluate, print the table (and write ``--out``); return the exit code."""
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a malformed command line (2), already printed
        return int(exc.code or 0)
    from roga_bench.datasets import DatasetError  # torch loads here, after argument parsing
    from roga_bench.training import (
        ConfigError,
        SavedModelError,
        TrainingError,
        evaluate_saved_model,
    )

    try:
        evaluation = evaluate_saved_model(
            ns.model, ns.dataset, ns.test_envs, ns.data_dir, ns.json_dir, ns.device
        )
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except (SavedModelError, DatasetError, TrainingError, ValueError) as exc:  # model or data
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    print(format_table(evaluation))
    if ns.out:
        _write_json(Path(ns.out), evaluation.to_json())
        print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
