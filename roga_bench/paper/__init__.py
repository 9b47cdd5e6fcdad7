"""The RoGA paper in one package: its tables, the runs they need, its numbers and its figures.

"RoGA: Towards Generalizable Deepfake Detection through Robust Gradient Alignment" (ICME 2025,
arXiv:2505.20653), Tables I–VI:

- ``_design``: each table declared once: families and column names, rows, Table V's backbones,
  Table VI's α × ρ grid (``SENSITIVITY_GRID``), the paper's labels -> ours (``ROW_MAP``) and
  the suite's blocks (``paper_blocks``, what ``launch --suite paper`` runs).
- ``_tables`` (I, II, IV and ``build_table``), ``_indomain`` (III, V, VI): the builders.
- ``reported.csv`` (package data) and ``_reported``: the paper's printed numbers as rows of our
  tables; ``_reproduce``: ours against them (``python -m roga_bench.tables reproduce``).
- ``_figures``: Table VI's heatmap and Table II's bars; ``testing``: a demo sweep.

The package registers the table set ``"paper"`` (``PAPER``); reporting builds, renders and writes
it (``roga_bench.reporting.build_tables``, ``write_all``), and the sweep's ``--suite paper`` runs
its blocks, both by that name without importing this package.
"""

from roga_bench._registry import register_table_set
from roga_bench.paper._design import (
    CELEBDF,
    CROSS_ORDER,
    GID,
    PAPER_COLUMNS,
    ROW_MAP,
    SENSITIVITY_GRID,
    TABLE_NUMBERS,
    UADFV,
    paper_blocks,
)
from roga_bench.paper._figures import paper_figures
from roga_bench.paper._reported import PaperDataError, add_reported, load_reported, reported_file
from roga_bench.paper._reproduce import Comparison, Ordering, ReproduceReport, reproduce
from roga_bench.paper._tables import BUILDERS, build_table
from roga_bench.reporting import TableSet

__all__ = [
    "BUILDERS",
    "CELEBDF",
    "CROSS_ORDER",
    "Comparison",
    "GID",
    "Ordering",
    "PAPER",
    "PAPER_COLUMNS",
    "PaperDataError",
    "ROW_MAP",
    "ReproduceReport",
    "SENSITIVITY_GRID",
    "TABLE_NUMBERS",
    "UADFV",
    "add_reported",
    "build_table",
    "load_reported",
    "paper_blocks",
    "paper_figures",
    "reported_file",
    "reproduce",
]

PAPER = register_table_set("paper")(
    TableSet(
        name="paper",
        numbers=TABLE_NUMBERS,
        build=build_table,
        reproduce=reproduce,
        figures=paper_figures,
        blocks=paper_blocks,
    )
)
