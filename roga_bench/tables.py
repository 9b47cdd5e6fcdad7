"""Regenerate the RoGA paper's tables (and figures) from a sweep folder.

    python -m roga_bench.tables --input_dir SWEEP [--tables I,II,...|all]
        [--format latex|markdown|csv|all] [--selection iid|lodo|oracle] [--metric auc|acc]
        [--out DIR] [--standalone] [--oracle_on_test] [--margin POINTS]
        [--with_reported] [--paper_dir DIR]
    python -m roga_bench.tables compare-optimizers --input_dir SWEEP   # Table IV in the terminal
    python -m roga_bench.tables figures --input_dir SWEEP --out DIR [--cost_from BENCH.json]
    python -m roga_bench.tables reproduce --input_dir SWEEP [--out DIR]  # ours vs the paper's

The paper's rows (``reported.csv``, shipped in ``roga_bench/paper``) join the tables of FF++
runs; on SynthFF only with ``--with_reported`` (marked not comparable). ``reproduce`` compares
every cell held by both (mean ± s.e., 95% t interval, difference) and the orders of the rows
(Kendall τ); with ``--out`` it writes ``reproduce.md``, ``reproduce.csv`` and ``reproduce_tau.csv``.

The decision rule and lines come first (each row vs its baseline, ``roga_bench.stats``: better /
worse when the Holm-adjusted p of the test used is below α = 0.05; equivalent within ±δ when the
Holm-adjusted TOST p is, δ = ``--margin`` AUC points, default 1; else undecided, with the 95%
interval of Δ and the trials a new sweep would need; n = independent run pairs). With ``--out``
they are also written as ``decisions.md`` and ``decisions.csv``, with ``excluded.csv`` (every run
a table left out, and why) and a forest plot per table (``forest_table_<N>.png``/``.pdf``).
Without ``--out`` the tables are printed after them. Bad input (missing or
empty folder, no finished jobs, unknown table or selection name, oracle on a target whose
validation split is its test split without ``--oracle_on_test``) prints one clear line on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from roga_bench._registry import UnknownNameError, list_selections
from roga_bench.reporting import (
    DEFAULT_MARGIN,
    FORMATS,
    ReportInputError,
    build_tables,
    decisions_text,
    render,
    reproduce_report,
    write_cost_figure,
    write_figures,
    write_reproduce,
    write_tables,
)
from roga_bench.reporting.selection import SELECTION_METRICS

__all__ = ["main"]

SUBCOMMANDS = ("compare-optimizers", "figures", "reproduce")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input_dir", required=True, help="sweep folder (job folders)")
    parser.add_argument(
        "--selection", default="iid", help=f"model selection method: {', '.join(list_selections())}"
    )
    parser.add_argument(
        "--metric", default="auc", choices=SELECTION_METRICS, help="selection metric (default auc)"
    )
    parser.add_argument(
        "--oracle_on_test",
        action="store_true",
        help="let --selection oracle rank on targets whose validation split is their test split "
        "(refused otherwise; the titles then say 'oracle on test frames')",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help="equivalence margin δ in AUC points for the decisions (default 1.0; printed with "
        "the rule)",
    )
    parser.add_argument(
        "--paper_dir",
        type=Path,
        default=None,
        help="folder of a reported.csv to compare with (default: the paper's, shipped in the "
        "package)",
    )


def _parser(command: str | None) -> argparse.ArgumentParser:
    prog = "python -m roga_bench.tables" + (f" {command}" if command else "")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    _common(parser)
    if command in ("figures", None):
        parser.add_argument(
            "--cost_from",
            default=None,
            help="the --json file of python -m roga_bench.bench: the cost figure's x-axis "
            "(default: the sweep's step_time, a noisy fallback under a contended sweep)",
        )
    if command == "figures":
        parser.add_argument("--out", required=True, help="folder for the PNG and PDF files")
    elif command == "reproduce":
        parser.add_argument("--out", default=None, help="write md/csv here instead of printing")
    elif command is None:
        parser.add_argument("--tables", default="all", help="comma list of I..VI, or all")
        parser.add_argument("--format", default="markdown", choices=[*FORMATS, "all"])
        parser.add_argument("--out", default=None, help="write files here instead of printing")
        parser.add_argument(
            "--standalone",
            action="store_true",
            help="wrap LaTeX in a compilable article (documentclass)",
        )
        parser.add_argument(
            "--with_reported",
            action="store_true",
            help="the paper's rows on non-FF++ runs too (noted as not comparable)",
        )
    return parser


def _run(command: str | None, args: argparse.Namespace) -> int:
    if args.paper_dir is not None and not (args.paper_dir / "reported.csv").is_file():
        raise ReportInputError(f"--paper_dir {args.paper_dir}: no reported.csv in that folder")
    if command == "reproduce":
        report = reproduce_report(
            args.input_dir, args.selection, args.metric, args.paper_dir, args.oracle_on_test
        )
        if args.out:
            for path in write_reproduce(report, args.out):
                print(path)
        else:
            print(report.to_markdown(), end="")
        return 0
    numbers = "IV" if command == "compare-optimizers" else getattr(args, "tables", "all")
    tables, ctx = build_tables(
        args.input_dir,
        numbers,
        args.selection,
        args.metric,
        args.paper_dir,
        with_reported=getattr(args, "with_reported", False),
        oracle_on_test=args.oracle_on_test,
        margin=args.margin,
    )
    if command == "figures":
        for path in write_figures(ctx, tables, args.out, args.cost_from):
            print(path)
        return 0
    cost_from = getattr(args, "cost_from", None)
    if cost_from is not None and not args.out:
        raise ReportInputError(f"--cost_from {cost_from}: needs --out (it writes the figure)")
    print(decisions_text(tables))  # first: they answer "which optimizer?"
    if command == "compare-optimizers":
        print(render(tables["IV"], "markdown"), end="")
        return 0
    formats = list(FORMATS) if args.format == "all" else [args.format]
    if args.out:
        for path in write_tables(tables, args.out, formats, args.standalone):
            print(path)
        if cost_from is not None:  # the cost figure with the benchmark's costs, beside them
            for path in write_cost_figure(ctx, args.out, cost_from):
                print(path)
        return 0
    for fmt in formats:
        for table in tables.values():
            print(render(table, fmt, args.standalone))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else None
    args = _parser(command).parse_args(argv)  # argparse itself exits 2 on bad flags
    try:
        return _run(command, args)
    # Only what bad input raises (records, flags, the paper's CSV; RecordsError is one): any
    # other exception is a bug and keeps its traceback.
    except (ReportInputError, UnknownNameError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
