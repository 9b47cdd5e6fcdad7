"""The paper's reported numbers (``reported.csv``, package data of ``roga_bench.paper``) and how
they map onto our tables.

``_design`` states the mapping between the paper's labels and ours:

- rows (``ROW_MAP``): the paper's row label -> our row label, per table, e.g. Table III's
  "Base-optimizer (SGD)" -> "base optimizer (ERM)", Table IV's "Adam" -> "Adam" (``ERM (Adam)``),
  Table V's "ResNet34 + RoGA" -> "resnet34 + RoGA", Table VI's "alpha=0.001, rho=0.05" ->
  "α=0.001, ρ=0.05". Paper rows without a counterpart (other detectors: MLDG, UCF, ...) are shown
  as context but never compared.
- columns (``PAPER_COLUMNS``): FF++'s names are ours on FF++ (Table VI's CelebDF is CDF-v2); on
  SynthFF DF, F2F, FS, NT keep their names, CDF-v2 (Table VI: CelebDF) -> SynthCDF, UADFV ->
  SynthUADFV, DFDC -> SynthDFDC; CDF-v1 and DFDCP have no SynthFF counterpart.

The file ships inside the package (``pyproject.toml``'s package-data) and is read with
``importlib.resources``, so an installed wheel finds it; a package without it is broken and
says so (``PaperDataError``) instead of comparing with nothing.

Reported rows are labelled ``"<paper label> (reported)"``, never bolded and never used for
significance. They join the tables of FF++ runs; on SynthFF only when asked (``with_reported``),
and then a note says they are not comparable.
"""

from __future__ import annotations

import csv
import io
import math
from importlib import resources
from pathlib import Path

from roga_bench.paper._design import ROW_MAP, TABLE_NUMBERS, our_column_name
from roga_bench.reporting import Cell, ReportInputError, Table

__all__ = [
    "REPORTED_FILE",
    "REPORTED_COLUMNS",
    "PaperDataError",
    "load_reported",
    "reported_file",
    "our_column",
    "our_row",
    "add_reported",
    "reported_label",
]

REPORTED_FILE = "reported.csv"
REPORTED_COLUMNS = ["table", "row", "column", "metric", "value", "source"]
METRICS = ("auc", "acc", "eer", "loss")


class PaperDataError(ReportInputError):
    """The package's own ``reported.csv`` is missing (a broken install, not bad input)."""


def reported_file():
    """The shipped ``reported.csv`` (an ``importlib.resources`` Traversable)."""
    return resources.files("roga_bench.paper").joinpath(REPORTED_FILE)


def reported_label(paper_row: str) -> str:
    return f"{paper_row} (reported)"


def _read_text(paper_dir: Path | None) -> tuple[str, str | None]:
    """``(where, text)`` of the reported numbers: the package's own, or ``paper_dir``'s (None
    when that folder has no ``reported.csv``)."""
    if paper_dir is not None:
        path = Path(paper_dir) / REPORTED_FILE
        return str(path), path.read_text(encoding="utf-8") if path.is_file() else None
    shipped = reported_file()
    if not shipped.is_file():
        raise PaperDataError(
            f"{shipped}: the paper's reported numbers are missing from the installed "
            "roga_bench package (package data roga_bench/paper/reported.csv); reinstall it, or "
            "pass --paper_dir DIR holding a reported.csv"
        )
    return str(shipped), shipped.read_text(encoding="utf-8")


def load_reported(table: str | None = None, paper_dir: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``reported.csv`` (all tables, or only ``table``), values in percent as printed.

    ``paper_dir`` None reads the package's own file; a ``paper_dir`` without a ``reported.csv``
    gives no rows (tables without the paper's numbers).

    Raises:
        PaperDataError: the package's own file is missing (a broken install).
        ReportInputError: a header without the columns, a line with an unknown table or metric,
            or a value that is not a number (the message names the file and the line).
    """
    path, text = _read_text(paper_dir)
    if text is None:
        return []
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REPORTED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ReportInputError(f"{path}: header lacks column(s) {', '.join(missing)}")
        rows = []
        for lineno, rec in enumerate(reader, start=2):
            if rec["table"] not in TABLE_NUMBERS or rec["metric"] not in METRICS:
                raise ReportInputError(
                    f"{path}:{lineno}: table {rec['table']!r} / metric {rec['metric']!r}: "
                    f"expected a table in {TABLE_NUMBERS} and a metric in {METRICS}"
                )
            try:
                float(rec["value"])
            except ValueError:
                raise ReportInputError(
                    f"{path}:{lineno}: value {rec['value']!r} is not a number"
                ) from None
            if table is None or rec["table"] == table:
                rows.append(rec)
    return rows


def reported_value(rec: dict[str, str]) -> float:
    """The value as our tables store it: a fraction (loss as printed: it is not a percentage)."""
    value = float(rec["value"])
    return value if rec["metric"] == "loss" else value / 100.0


def our_column(table: Table, family: str, rec: dict[str, str]) -> str | None:
    """The key of our column that the paper's cell ``rec`` belongs to, or None."""
    column, metric = our_column_name(family, rec["column"]), rec["metric"]
    candidates = {
        "I": column,
        "II": f"{column}:{metric}",
        "III": metric,
        "IV": f"{column}:{metric}",
        "V": column,
        "VI": column,
    }
    key = candidates[table.number]
    for c in table.columns:
        if c.key == key and c.metric == metric:
            return key
    return None


def our_row(number: str, paper_row: str, rows: list[str]) -> str | None:
    """Our measured row that the paper's ``paper_row`` of Table ``number`` compares with."""
    for candidate in ROW_MAP.get(number, {}).get(paper_row, []):
        if candidate in rows:
            return candidate
    return None


def add_reported(table: Table, family: str, paper_dir: Path | None = None) -> None:
    """Place the paper's cells of this table beside our rows as ``"<label> (reported)"`` rows.

    A reported row goes right after the measured row it maps to (``ROW_MAP``), else at the end.
    """
    measured = list(table.rows)
    placed: list[str] = []
    for rec in load_reported(table.number, paper_dir):
        key = our_column(table, family, rec)
        if key is None:
            continue
        label = reported_label(rec["row"])
        table.cells[(label, key)] = Cell(reported_value(rec), math.nan, 0, reported=True)
        if label not in placed:
            placed.append(label)
    rows, unmapped = list(measured), []
    for label in placed:
        anchor = our_row(table.number, label.removesuffix(" (reported)"), measured)
        if anchor is None:
            unmapped.append(label)
            continue
        at = rows.index(anchor) + 1
        while at < len(rows) and rows[at].endswith("(reported)"):  # after earlier ones of it
            at += 1
        rows.insert(at, label)
    table.rows = rows + unmapped
    if placed and family != "FFpp":
        table.notes.append(
            "Reported rows are the paper's FF++ numbers, not comparable with SynthFF in level "
            f"({_mapping_text(table.number)}); compare orderings only."
        )


def _mapping_text(number: str) -> str:
    names = {"I": "SynthCDF↔CDF-v2, SynthUADFV↔UADFV, SynthDFDC↔DFDC", "III": "in-domain"}
    names |= {"IV": "DF↔DF, SynthUADFV↔UADFV", "V": "DF..NT↔DF..NT, SynthUADFV↔UADFV"}
    names |= {"II": "GID envs by name", "VI": "SynthUADFV↔UADFV, SynthCDF↔CelebDF"}
    return "columns: " + names[number]
