"""The paper's reported numbers (``results/paper/reported.csv``) and how they map onto our tables.

One place states the mapping between the paper's labels and ours:

- rows (``ROW_MAP``): the paper's row label -> our row label, per table, e.g. Table III's
  "Base-optimizer (SGD)" -> "base optimizer (ERM)", Table IV's "Adam" -> "Adam" (``ERM (Adam)``),
  Table V's "ResNet34 + RoGA" -> "resnet34 + RoGA", Table VI's "alpha=0.001, rho=0.05" ->
  "α=0.001, ρ=0.05". Paper rows without a counterpart (other detectors: MLDG, UCF, ...) are shown
  as context but never compared.
- columns (``SYNTHFF_COLUMNS``): FF++'s names are ours on FF++; on SynthFF DF, F2F, FS, NT keep
  their names, CDF-v2 (Table VI: CelebDF) -> SynthCDF, UADFV -> SynthUADFV, DFDC -> SynthDFDC;
  CDF-v1 and DFDCP have no SynthFF counterpart.

Reported rows are labelled ``"<paper label> (reported)"``, never bolded and never used for
significance. They join the tables of FF++ runs; on SynthFF only when asked (``with_reported``),
and then a note says they are not comparable.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from roga_bench.reporting._aggregate import Cell
from roga_bench.reporting._records import ReportInputError
from roga_bench.reporting._table import Table

__all__ = [
    "PAPER_DIR",
    "REPORTED_COLUMNS",
    "ROW_MAP",
    "SYNTHFF_COLUMNS",
    "load_reported",
    "our_column",
    "our_row",
    "add_reported",
    "reported_label",
]

PAPER_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"
REPORTED_COLUMNS = ["table", "row", "column", "metric", "value", "source"]
TABLES = ("I", "II", "III", "IV", "V", "VI")
METRICS = ("auc", "acc", "eer", "loss")

SYNTHFF_COLUMNS = {"CDF-v2": "SynthCDF", "CelebDF": "SynthCDF", "UADFV": "SynthUADFV"}
SYNTHFF_COLUMNS["DFDC"] = "SynthDFDC"
_CELEBDF = {"FFpp": "CDF-v2", "SynthFF": "SynthCDF"}

_BACKBONES = {
    "Meso4": ["meso4"],
    "Xception": ["xception"],
    "EfficientNet-B4": ["efficientnet_b4"],
    # resnet34_slim: the reduced-width ResNet34 of the CPU suite, compared for ordering only
    "ResNet34": ["resnet34", "resnet34_slim"],
}
ROW_MAP: dict[str, dict[str, list[str]]] = {
    "I": {"RoGA": ["RoGA"]},
    "II": {"RoGA": ["RoGA"]},
    "III": {
        "Base-optimizer (SGD)": ["base optimizer (ERM)"],
        "+ robust term": ["+robust (RoGA_Robust)"],
        "+ alignment term": ["+align (RoGA_Align)"],
        "RoGA": ["RoGA"],
    },
    "IV": {name: [name] for name in ("Adam", "SGD", "SAM", "SAGM", "RoGA")},
    "V": {
        **_BACKBONES,
        **{f"{paper} + RoGA": [f"{b} + RoGA" for b in ours] for paper, ours in _BACKBONES.items()},
    },
    "VI": {
        f"alpha={a}, rho={r}": [f"α={a}, ρ={r}"]
        for a in ("0.001", "0.002")
        for r in ("0.05", "0.1")
    },
}


def reported_label(paper_row: str) -> str:
    return f"{paper_row} (reported)"


def load_reported(table: str | None = None, paper_dir: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``reported.csv`` (all tables, or only ``table``), values in percent as printed.

    A missing file gives no rows (a checkout without the paper's numbers still builds tables).

    Raises:
        ValueError: a line with an unknown table or metric, or a value that is not a number (the
            message names the file and the line).
    """
    path = (paper_dir or PAPER_DIR) / "reported.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REPORTED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ReportInputError(f"{path}: header lacks column(s) {', '.join(missing)}")
        rows = []
        for lineno, rec in enumerate(reader, start=2):
            if rec["table"] not in TABLES or rec["metric"] not in METRICS:
                raise ReportInputError(
                    f"{path}:{lineno}: table {rec['table']!r} / metric {rec['metric']!r}: "
                    f"expected a table in {TABLES} and a metric in {METRICS}"
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
    column, metric = rec["column"], rec["metric"]
    if family == "SynthFF" and not (table.number == "I" and column == "CDF-v1"):
        column = SYNTHFF_COLUMNS.get(column, column)
    if table.number == "VI" and column == "CelebDF":
        column = _CELEBDF[family]
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
