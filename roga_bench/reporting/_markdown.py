"""Render a :class:`Table` as GitHub markdown (tabulate's "github" format)."""

from __future__ import annotations

from tabulate import tabulate

from roga_bench.reporting._table import Table, format_cell

__all__ = ["to_markdown"]


def _esc(text: str) -> str:
    # a "|" inside a cell would end the cell early
    return text.replace("|", "\\|")


def _header(table: Table) -> list[str]:
    return [_esc(table.row_header)] + [_esc(f"{c.group} {c.label}".strip()) for c in table.columns]


def to_markdown(table: Table) -> str:
    """The table as markdown: bold caption, the grid (best per column in bold), the decision
    lines (each row vs its baseline), then notes."""
    lines = [f"**{table.caption}**", ""]
    if table.rows and table.columns:
        best = {c.key: table.best(c) for c in table.columns}
        body = []
        for row in table.rows:
            cells = []
            for c in table.columns:
                text = format_cell(table.cells.get((row, c.key)), c.metric, " ± ")
                cells.append(f"**{text}**" if row in best[c.key] else text)
            body.append([_esc(row), *cells])
        grid = tabulate(body, headers=_header(table), tablefmt="github", disable_numparse=True)
        lines += [grid, ""]
    lines += [f"- **Decision:** {line}" for line in table.decision_lines()]
    lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"
