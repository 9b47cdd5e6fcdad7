"""``python -m roga_bench.analyze``: flatness, gradient alignment, Grad-CAM localisation and
t-SNE of a sweep's selected runs, as a table (markdown, LaTeX, CSV) and figures (PNG + PDF).

    python -m roga_bench.analyze --input_dir results/sweep --out results/synthff/analysis
    python -m roga_bench.analyze --input_dir SWEEP --algorithms ERM RoGA --test_envs DF \\
        --analyses sharpness,cam --out DIR --device cuda

Exit codes: 0 done, 1 the runs or data cannot be used (a missing or mismatched model file), 2 bad
input: bad flags, an ``--input_dir`` that is missing, empty or holds no records, a ``--test_envs``
or ``--algorithms`` name the sweep does not have; nothing is written then.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from roga_bench._flags import add_flags, check_flags, from_flags

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m roga_bench.analyze``."""
    from roga_bench.analysis import AnalysisConfig
    from roga_bench.reporting.selection import SELECTION_METRICS

    p = argparse.ArgumentParser(
        prog="python -m roga_bench.analyze",
        description="Analyse the selected runs of a sweep (their saved models).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--input_dir", required=True, help="sweep folder of job folders")
    p.add_argument("--out", required=True, help="folder for the table, figures and cache")
    p.add_argument("--algorithms", nargs="*", default=None, help="display names; default: all")
    p.add_argument("--test_envs", nargs="*", default=None, help="env names or indices")
    p.add_argument(
        "--analyses", default="all", help="comma list of sharpness,alignment,cam,tsne,landscape"
    )
    p.add_argument("--selection", default="iid", help="selection method (iid, oracle, lodo)")
    p.add_argument("--metric", default="auc", choices=SELECTION_METRICS)
    # one flag per AnalysisConfig field (help, default and range declared on the field)
    add_flags(p, AnalysisConfig)
    p.add_argument("--no_progress", action="store_true", help="no tqdm bar")
    return p


def _check(ns: argparse.Namespace) -> str | None:
    """The first bad flag as an error message, or None."""
    from roga_bench.analysis import AnalysisConfig

    return check_flags(AnalysisConfig, ns)


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _config(ns: argparse.Namespace):
    from roga_bench.analysis import AnalysisConfig

    return from_flags(
        AnalysisConfig,
        ns,
        rhos=tuple(ns.rhos or ()),
        flatness_batches=min(ns.flatness_batches, ns.n_batches),
        device=_device(ns.device),
    )


def _run(ns: argparse.Namespace, prog: str) -> int:
    from roga_bench._registry import UnknownNameError
    from roga_bench.analysis import (
        AnalysisError,
        AnalysisFlagError,
        analyze_sweep,
        parse_analyses,
    )
    from roga_bench.reporting import RecordsError

    try:
        analyses = parse_analyses(ns.analyses)
    except AnalysisError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = analyze_sweep(
            ns.input_dir,
            ns.out,
            analyses,
            ns.algorithms,
            ns.test_envs,
            ns.selection,
            ns.metric,
            _config(ns),
            progress=not ns.no_progress,
        )
    except UnknownNameError as exc:
        print(f"{prog}: error: --selection: {exc}", file=sys.stderr)
        return 2
    except (AnalysisFlagError, RecordsError) as exc:  # bad input: the flag or folder named
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except AnalysisError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    print((report.files[-1]).read_text(encoding="utf-8"))
    times = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    print(f"{report.computed} computed, {report.cached} cached; compute time: {times}")
    print(f"wrote {len(report.files)} files under {ns.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, analyse, print the table; return the exit code."""
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    error = _check(ns)
    if error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    return _run(ns, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
