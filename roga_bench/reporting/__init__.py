"""Reporting: sweep records -> model selection -> the RoGA paper's tables and figures.

    python -m roga_bench.tables --input_dir SWEEP --tables all --format all --out results/x
    python -m roga_bench.tables reproduce --input_dir SWEEP --out results/x   # vs the paper

From Python::

    from roga_bench.reporting import write_all
    print(write_all("sweeps/synthff", "results/synthff"))  # returns Table II as markdown
"""

from roga_bench.reporting._cost_figure import write_cost_figure
from roga_bench.reporting._decisions import decisions_text, excluded_frame
from roga_bench.reporting._figures import forest_plot, write_figures
from roga_bench.reporting._latex import escape_latex
from roga_bench.reporting._names import order_rows
from roga_bench.reporting._records import (
    Records,
    RecordsError,
    ReportInputError,
    display_algorithm,
    load_records,
)
from roga_bench.reporting._table import Column, Table
from roga_bench.reporting._write import (
    FORMATS,
    build_tables,
    parse_tables,
    render,
    reproduce_report,
    write_all,
    write_reproduce,
    write_tables,
)
from roga_bench.reporting.selection import METRICS, SelectionMethod, select
from roga_bench.stats import DEFAULT_MARGIN, DecisionRule, PairedTest, paired_test

__all__ = [
    "DEFAULT_MARGIN",
    "DecisionRule",
    "decisions_text",
    "excluded_frame",
    "forest_plot",
    "FORMATS",
    "METRICS",
    "Column",
    "PairedTest",
    "Records",
    "RecordsError",
    "ReportInputError",
    "SelectionMethod",
    "Table",
    "build_tables",
    "display_algorithm",
    "escape_latex",
    "load_records",
    "order_rows",
    "paired_test",
    "parse_tables",
    "render",
    "reproduce_report",
    "select",
    "write_all",
    "write_cost_figure",
    "write_figures",
    "write_reproduce",
    "write_tables",
]
