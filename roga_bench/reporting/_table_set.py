"""A table set: what reporting needs to know of a set of tables it builds from a sweep.

Reporting is the generic path, sweep folder -> selected rows -> table -> text; which tables there
are, how each is built, the numbers they are compared with and their own figures belong to the
set. The RoGA paper's Tables I–VI are the set ``"paper"`` (``roga_bench.paper``), registered
in ``TABLE_SETS`` and looked up by name, so reporting never imports the package that
describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roga_bench._registry import TABLE_SETS
from roga_bench.reporting._context import Context
from roga_bench.reporting._records import ReportInputError
from roga_bench.reporting._table import Table

__all__ = ["DEFAULT_TABLE_SET", "TableSet", "get_table_set"]

DEFAULT_TABLE_SET = "paper"


@dataclass(frozen=True)
class TableSet:
    """One set of tables.

    Attributes:
        name: the registered name (``"paper"``).
        numbers: the tables' names in their order (``"I"`` .. ``"VI"``).
        build: ``build(number, ctx, paper_dir) -> Table``: one table from the selected records
            (``paper_dir``: the folder of the numbers it is compared with, None for the set's own).
        reproduce: ``reproduce(tables, family, paper_dir)`` -> a report with ``to_markdown()``,
            ``to_csv()`` and ``tau_frame()``: the built tables against the reported numbers.
        figures: ``figures(tables, out_dir) -> [paths]``: the set's own figures.
        blocks: ``blocks(family) -> [sweep Block]``: the runs the tables need (``launch --suite``).
    """

    name: str
    numbers: tuple[str, ...]
    build: Callable[[str, Context, Path | None], Table]
    reproduce: Callable[[dict[str, Table], str, Path | None], Any]
    figures: Callable[[dict[str, Table], Path], list[Path]]
    blocks: Callable[[str], Sequence[Any]]

    def parse(self, spec: str | Sequence[str]) -> list[str]:
        """``"all"`` or ``"I,II"`` (or a list) -> table numbers in the set's order.

        Raises:
            ReportInputError: an unknown table name (the message lists the valid ones).
        """
        names = spec.split(",") if isinstance(spec, str) else list(spec)
        names = [n.strip() for n in names if n.strip()]
        if names == ["all"] or not names:
            return list(self.numbers)
        bad = [n for n in names if n not in self.numbers]
        if bad:
            raise ReportInputError(
                f"unknown table(s) {', '.join(bad)}; valid: {', '.join(self.numbers)}, all"
            )
        return [n for n in self.numbers if n in names]


def get_table_set(name: str = DEFAULT_TABLE_SET) -> TableSet:
    """The registered table set ``name`` (imports the module that registers it).

    Raises:
        UnknownNameError: no table set of that name.
    """
    return TABLE_SETS.get(name)
