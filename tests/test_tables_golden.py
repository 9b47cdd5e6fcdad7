"""Golden files: fixed synthetic records -> exact markdown and LaTeX for each paper table.

The records come from ``roga_bench.paper.testing.write_demo_sweep`` (deterministic md5
values). After an intended change of the output, regenerate and review the diff:

    ROGA_BENCH_UPDATE_GOLDEN=1 pytest tests/test_tables_golden.py && git diff tests/golden
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from roga_bench.paper.testing import write_demo_sweep
from roga_bench.reporting import build_tables, render

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ROGA_BENCH_UPDATE_GOLDEN") == "1"
TABLES = ["I", "II", "III", "IV", "V", "VI"]


@pytest.fixture(scope="module")
def demo_tables(tmp_path_factory):
    root = write_demo_sweep(tmp_path_factory.mktemp("demo_sweep"))
    # an empty paper_dir: golden output must not change with the paper's reported.csv
    tables, _ = build_tables(root, "all", paper_dir=tmp_path_factory.mktemp("no_paper"))
    return tables


@pytest.mark.parametrize("fmt, ext", [("markdown", "md"), ("latex", "tex")])
@pytest.mark.parametrize("number", TABLES)
def test_table_matches_golden(demo_tables, number, fmt, ext):
    text = render(demo_tables[number], fmt)
    path = GOLDEN / f"table_{number}.{ext}"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with ROGA_BENCH_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs; if the change is intended, regenerate with ROGA_BENCH_UPDATE_GOLDEN=1"
    )


def test_demo_tables_have_expected_shape(demo_tables):
    assert demo_tables["I"].rows[:2] == ["ERM (Adam)", "ERM"]
    assert [c.key for c in demo_tables["I"].columns] == [
        "CDF-v1",
        "CDF-v2",
        "UADFV",
        "DFDC",
        "DFDCP",
    ]
    assert demo_tables["IV"].rows == ["Adam", "SGD", "SAM", "ASAM", "SAGM", "GSAM", "RoGA"]
    assert demo_tables["V"].rows == ["meso4", "meso4 + RoGA", "small_cnn", "small_cnn + RoGA"]
    assert demo_tables["VI"].rows == [
        "α=0.001, ρ=0.05",
        "α=0.001, ρ=0.1",
        "α=0.002, ρ=0.05",
        "α=0.002, ρ=0.1",
    ]
    # the default grid point is the plain RoGA run: the same cells as Table V's RoGA row
    for env in ("DF", "F2F", "FS", "NT"):
        assert (
            demo_tables["VI"].cells[("α=0.001, ρ=0.1", env)]
            == (demo_tables["V"].cells[("small_cnn + RoGA", env)])
        )
    # the grid's variants never enter Table I (RoGA gets no extra hparam choices there)
    assert (
        demo_tables["I"].cells[("RoGA", "UADFV")]
        == demo_tables["V"].cells[("small_cnn + RoGA", "UADFV")]
    )
    for number, table in demo_tables.items():
        assert table.missing is None
        assert table.notes[0].startswith("Selection: training-domain validation (iid) on AUC")
        assert "Trials per cell: 3." in table.notes
        assert not any(n.startswith("Missing") for n in table.notes), number
        if number != "VI":  # every table with ERM rows prints the decision rule it follows
            assert any(
                "Paired tests vs" in n and "Decision rule: α = 0.05" in n for n in table.notes
            )
        # every run is accounted for: the (cross-dataset) grid variants are listed under the
        # other cross-dataset tables, not under Table II (LOMO) or VI (which shows them)
        left = " ".join(n for n in table.notes if n.startswith("Runs left out"))
        listed = number in ("I", "III", "IV", "V")
        assert ("a variant, shown in Table VI only" in left) == listed, number
    # Table II's ERM cell is the mean of two trials; SE shown; best AUC bold per column
    md = render(demo_tables["II"], "markdown")
    assert " ± " in md and "**" in md and "Paired tests vs ERM on AUC" in md


@pytest.mark.parametrize("number", TABLES)
def test_latex_rows_have_one_cell_per_column_and_balanced_braces(demo_tables, number):
    # a structural check that runs without pdflatex (the compile test needs it on PATH)
    tex = render(demo_tables[number], "latex", standalone=True)
    body = tex.split("\\midrule\n", 1)[1].split("\\bottomrule", 1)[0].strip().splitlines()
    n_cols = len(demo_tables[number].columns)
    assert len(body) == len(demo_tables[number].rows)
    for line in body:
        assert len(re.findall(r"(?<!\\)&", line)) == n_cols and line.endswith(r"\\")
    unescaped = re.sub(r"\\[{}]", "", tex)
    assert unescaped.count("{") == unescaped.count("}")
    assert tex.count(r"\begin{") == tex.count(r"\end{")
