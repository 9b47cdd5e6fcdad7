"""Reporting: sweep records -> model selection -> tables -> text (LaTeX, markdown, CSV), figures.

The tables are a table set's (``TableSet``): by default the RoGA paper's Tables I–VI, which
``roga_bench.paper`` describes and builds with the helpers exported below.

    python -m roga_bench.tables --input_dir SWEEP --tables all --format all --out results/x
    python -m roga_bench.tables reproduce --input_dir SWEEP --out results/x   # vs the paper

From Python::

    from roga_bench.reporting import write_all
    print(write_all("sweeps/synthff", "results/synthff"))  # returns Table II as markdown
"""

from roga_bench.reporting._aggregate import Cell
from roga_bench.reporting._compare import add_significance, note_excluded
from roga_bench.reporting._context import Context
from roga_bench.reporting._cost_figure import write_cost_figure
from roga_bench.reporting._decisions import decisions_text, excluded_frame
from roga_bench.reporting._envs import KNOWN_ENVIRONMENTS, env_name
from roga_bench.reporting._figures import forest_plot, write_figures
from roga_bench.reporting._fill import fill, put, unit_of
from roga_bench.reporting._latex import escape_latex
from roga_bench.reporting._names import ALGORITHM_ORDER, order_rows
from roga_bench.reporting._notes import finish_notes
from roga_bench.reporting._records import (
    Records,
    RecordsError,
    ReportInputError,
    display_algorithm,
    load_records,
)
from roga_bench.reporting._settings import with_setting
from roga_bench.reporting._table import Column, Table, format_value
from roga_bench.reporting._table_set import DEFAULT_TABLE_SET, TableSet, get_table_set
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
    # sweep folder -> tables -> text
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
    # for a table set's builders (roga_bench.paper)
    "ALGORITHM_ORDER",
    "Cell",
    "Context",
    "DEFAULT_TABLE_SET",
    "KNOWN_ENVIRONMENTS",
    "TableSet",
    "add_significance",
    "env_name",
    "fill",
    "finish_notes",
    "format_value",
    "get_table_set",
    "note_excluded",
    "put",
    "unit_of",
    "with_setting",
]
