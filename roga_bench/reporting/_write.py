"""Build tables from a sweep folder and write them (LaTeX, markdown, CSV) plus the figures.

Which tables there are comes from a table set (``_table_set``): the RoGA paper's Tables I–VI,
``roga_bench.paper``, unless ``table_set`` names another registered one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roga_bench.reporting._context import Context
from roga_bench.reporting._csv import to_csv
from roga_bench.reporting._decisions import decisions_frame, decisions_text, excluded_frame
from roga_bench.reporting._figures import forest_plot, write_figures
from roga_bench.reporting._latex import standalone as wrap_standalone
from roga_bench.reporting._latex import to_latex
from roga_bench.reporting._markdown import to_markdown
from roga_bench.reporting._records import Records, ReportInputError, load_records
from roga_bench.reporting._table import Table
from roga_bench.reporting._table_set import DEFAULT_TABLE_SET, get_table_set
from roga_bench.reporting.selection import SELECTION_METRICS
from roga_bench.stats import DEFAULT_MARGIN, DecisionRule

__all__ = [
    "FORMATS",
    "build_tables",
    "render",
    "parse_tables",
    "write_tables",
    "write_all",
    "reproduce_report",
    "write_reproduce",
]

FORMATS = {"latex": "tex", "markdown": "md", "csv": "csv"}


def parse_tables(spec: str | Sequence[str], table_set: str = DEFAULT_TABLE_SET) -> list[str]:
    """``"all"`` or ``"I,II"`` (or a list) -> the table set's numbers in its order.

    Raises:
        ReportInputError: an unknown table name (the message lists the valid ones).
    """
    return get_table_set(table_set).parse(spec)


def build_tables(
    records: Records | str | Path,
    tables: str | Sequence[str] = "all",
    selection: str = "iid",
    metric: str = "auc",
    paper_dir: Path | None = None,
    with_reported: bool = False,
    oracle_on_test: bool = False,
    margin: float = DEFAULT_MARGIN,
    table_set: str = DEFAULT_TABLE_SET,
) -> tuple[dict[str, Table], Context]:
    """Build the requested tables of ``table_set`` (the paper's Tables I–VI) from a sweep
    folder (or loaded records).

    Each table's rows are decided against their baseline under ``DecisionRule(margin=margin)``
    (α = 0.05, δ = ``margin`` AUC points, Holm across the table's rows; ``roga_bench.stats``).

    The paper's rows (``reported.csv`` shipped in ``roga_bench/paper``, or ``paper_dir``) join the
    tables of FF++
    runs; on other datasets only with ``with_reported`` (and a note that they are not comparable).
    ``oracle_on_test`` lets oracle selection rank on targets whose validation split is their test
    split (the titles then say "oracle on test frames"); without it that is a ``SelectionError``.

    Returns:
        ``({number: Table}, context)``; the context holds the records and cached selections.

    Raises:
        RecordsError: the folder cannot be read or has no finished runs.
        UnknownNameError: unknown selection method.
        ReportInputError: unknown table, metric not ``auc``/``acc``, oracle on test frames
            without ``oracle_on_test`` (``SelectionError``), a margin that is not a positive
            number.
    """
    tset = get_table_set(table_set)
    numbers = tset.parse(tables)
    if metric not in SELECTION_METRICS:
        raise ReportInputError(f"metric {metric!r}: expected one of {', '.join(SELECTION_METRICS)}")
    try:
        rule = DecisionRule(margin=float(margin))
    except (TypeError, ValueError):
        raise ReportInputError(
            f"--margin {margin!r}: expected a positive number of AUC points"
        ) from None
    recs = records if isinstance(records, Records) else load_records(records)
    ctx = Context(
        recs.df,
        selection=selection,
        metric=metric,
        with_reported=with_reported,
        oracle_on_test=oracle_on_test,
        rule=rule,
    )
    built = {n: tset.build(n, ctx, paper_dir) for n in numbers}
    if recs.skipped:
        for table in built.values():
            table.notes.append(f"{len(recs.skipped)} unfinished runs (no 'done') skipped.")
    return built, ctx


def render(table: Table, fmt: str, standalone: bool = False) -> str:
    """One table as ``latex``, ``markdown`` or ``csv`` text (``standalone`` wraps LaTeX)."""
    if fmt == "markdown":
        return to_markdown(table)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "latex":
        text = to_latex(table)
        return wrap_standalone(text) if standalone else text
    raise ReportInputError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def write_tables(
    tables: dict[str, Table],
    out_dir: str | Path,
    formats: Sequence[str] = tuple(FORMATS),
    standalone: bool = False,
) -> list[Path]:
    """Write ``table_<N>.<ext>`` per table and format, plus ``tables.md`` / ``tables.tex``, the
    decision rule and lines of every table (``decisions.md``, ``decisions.csv``), the runs each
    table left out with the reason (``excluded.csv``) and a forest plot per table with verdicts
    (``forest_table_<N>.png`` / ``.pdf``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "decisions.md", out / "decisions.csv", out / "excluded.csv"]
    paths[0].write_text(decisions_text(tables), encoding="utf-8")
    frame = decisions_frame(tables)
    paths[1].write_text(frame.to_csv(index=False, na_rep="NaN", lineterminator="\n"), "utf-8")
    paths[2].write_text(excluded_frame(tables).to_csv(index=False, lineterminator="\n"), "utf-8")
    for table in tables.values():
        paths += forest_plot(table, out)
    for number, table in tables.items():
        for fmt in formats:
            path = out / f"table_{number}.{FORMATS[fmt]}"
            path.write_text(render(table, fmt, standalone), encoding="utf-8")
            paths.append(path)
    if "markdown" in formats:
        path = out / "tables.md"
        text = "\n".join([decisions_text(tables), *(to_markdown(t) for t in tables.values())])
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    if "latex" in formats:  # all tables in one document that compiles on its own
        path = out / "tables.tex"
        body = "\n".join(to_latex(t) for t in tables.values())
        path.write_text(wrap_standalone(body), encoding="utf-8")
        paths.append(path)
    return paths


def write_all(
    input_dir: str | Path,
    out_dir: str | Path,
    selection: str = "iid",
    metric: str = "auc",
    margin: float = DEFAULT_MARGIN,
) -> str:
    """Write every table in every format, every figure and the reproduce report into ``out_dir``.

    Tables that the records cannot fill are written with their "missing" note, never an error.

    Args:
        input_dir: the sweep folder (job folders with ``results.jsonl`` and ``done``).
        out_dir: where to write (created).
        selection: registered selection method (``iid``, ``lodo``, ``oracle``).
        metric: selection metric, ``auc`` or ``acc``.

    Returns:
        What the sweep prints at the end: the decision rule, then Table II as markdown (its
        verdicts and left-out runs under it), or, when the records cannot build it (a
        cross-dataset-only sweep), the first table they can build.

    Raises:
        RecordsError: no finished runs, or an unreadable results line.
    """
    tables, ctx = build_tables(input_dir, "all", selection, metric, margin=margin)
    write_tables(tables, out_dir)
    write_figures(ctx, tables, Path(out_dir) / "figures")
    write_reproduce(get_table_set().reproduce(tables, ctx.family, None), out_dir)
    built = [t for t in tables.values() if t.cells]
    shown = tables["II"] if tables["II"].cells or not built else built[0]
    return shown.rule.text() + "\n\n" + to_markdown(shown)


def reproduce_report(
    records: Records | str | Path,
    selection: str = "iid",
    metric: str = "auc",
    paper_dir: Path | None = None,
    oracle_on_test: bool = False,
) -> Any:
    """Every table's measured cells against the paper's (``roga_bench.paper``'s
    ``ReproduceReport``), for any family."""
    tables, ctx = build_tables(
        records, "all", selection, metric, paper_dir, oracle_on_test=oracle_on_test
    )
    return get_table_set().reproduce(tables, ctx.family, paper_dir)


def write_reproduce(report: Any, out_dir: str | Path) -> list[Path]:
    """Write ``reproduce.md``, ``reproduce.csv`` (cells) and ``reproduce_tau.csv`` (orderings)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "reproduce.md", out / "reproduce.csv", out / "reproduce_tau.csv"]
    paths[0].write_text(report.to_markdown(), encoding="utf-8")
    paths[1].write_text(report.to_csv(), encoding="utf-8")
    tau = report.tau_frame().to_csv(index=False, na_rep="NaN", lineterminator="\n")
    paths[2].write_text(tau, encoding="utf-8")
    return paths
