"""Render a :class:`Table` as LaTeX (booktabs), optionally as a compilable standalone document.

Labels are escaped (``\\ & % $ # _ { } ~ ^``) and the Unicode symbols used in labels and notes
(α, ρ, →, ±, Δ, τ, ≥, ≤, ↔, δ, ×) become math and — − dashes,
so pdflatex needs no Unicode font; nothing is truncated.
"""

from __future__ import annotations

from roga_bench.reporting._table import Table, format_cell

__all__ = ["escape_latex", "to_latex", "standalone"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "α": r"$\alpha$",
    "ρ": r"$\rho$",
    "→": r"$\rightarrow$",
    "±": r"$\pm$",
    "–": "--",
    "Δ": r"$\Delta$",
    "τ": r"$\tau$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "↔": r"$\leftrightarrow$",
    "δ": r"$\delta$",
    "×": r"$\times$",
    "—": "---",
    "−": "-",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def escape_latex(text: str) -> str:
    """Escape ``text`` for LaTeX text mode, character by character (so escapes never nest)."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def _header_rows(table: Table) -> list[str]:
    rows = []
    groups: list[tuple[str, int]] = []
    for c in table.columns:
        if groups and groups[-1][0] == c.group:
            groups[-1] = (c.group, groups[-1][1] + 1)
        else:
            groups.append((c.group, 1))
    if any(g for g, _ in groups):
        cells, rules, start = [""], [], 2
        for group, span in groups:
            cells.append(rf"\multicolumn{{{span}}}{{c}}{{{escape_latex(group)}}}" if group else "")
            if group:
                rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        rows.append(" & ".join(cells) + r" \\")
        rows.append(" ".join(rules))
    labels = [escape_latex(table.row_header)] + [escape_latex(c.label) for c in table.columns]
    rows.append(" & ".join(labels) + r" \\")
    return rows


def to_latex(table: Table) -> str:
    """The table as a ``table`` float with a booktabs ``tabular`` and the notes below it."""
    out = [r"\begin{table}[t]", r"\centering", rf"\caption{{{escape_latex(table.caption)}}}"]
    if table.rows and table.columns:
        best = {c.key: table.best(c) for c in table.columns}
        out += [rf"\begin{{tabular}}{{l{'c' * len(table.columns)}}}", r"\toprule"]
        out += _header_rows(table)
        out.append(r"\midrule")
        for row in table.rows:
            cells = [escape_latex(row)]
            for c in table.columns:
                text = format_cell(table.cells.get((row, c.key)), c.metric, r" $\pm$ ")
                text = "--" if text == "-" else text
                cells.append(rf"\textbf{{{text}}}" if row in best[c.key] else text)
            out.append(" & ".join(cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}"]
    notes = [f"Decision: {line}" for line in table.decision_lines()] + table.notes
    if notes:
        out.append(r"\par\smallskip\footnotesize")
        out.append("\n".join(escape_latex(n) + r"\par" for n in notes))
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def standalone(body: str) -> str:
    """Wrap LaTeX table(s) in a minimal article that compiles with pdflatex."""
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage{booktabs}",
            r"\usepackage[margin=1.5cm]{geometry}",
            r"\begin{document}",
            body.rstrip("\n"),
            r"\end{document}",
            "",
        ]
    )
