"""roga_bench.paper: the paper's numbers ship with the package, each table is declared once."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import tomllib

import roga_bench.paper
from roga_bench.paper import (
    CROSS_ORDER,
    PAPER,
    ROW_MAP,
    SENSITIVITY_GRID,
    TABLE_NUMBERS,
    PaperDataError,
    _design,
    _reported,
    load_reported,
    paper_blocks,
    reported_file,
)
from roga_bench.paper.testing import demo_jobs, write_demo_sweep
from roga_bench.reporting import get_table_set, parse_tables
from roga_bench.sweep import SUITES
from roga_bench.tables import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synthff(tmp_path_factory):
    return write_demo_sweep(tmp_path_factory.mktemp("synthff"), trials=1, family="SynthFF")


def test_reported_csv_is_package_data_and_has_no_copy_outside():
    shipped = reported_file()
    assert shipped.is_file()
    assert Path(str(shipped)).parent == Path(roga_bench.paper.__file__).parent
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "reported.csv" in package_data["roga_bench.paper"]  # else a wheel lacks it
    assert not list((ROOT / "results").rglob("reported.csv"))  # one copy: none to drift
    assert len(load_reported()) == 190


def test_a_missing_shipped_file_is_an_error_not_an_empty_comparison(
    synthff, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(_reported, "reported_file", lambda: tmp_path / "reported.csv")
    with pytest.raises(PaperDataError, match="missing from the installed roga_bench package"):
        load_reported()
    assert main(["reproduce", "--input_dir", str(synthff)]) == 2
    out, err = capsys.readouterr()
    assert "No cell" not in out and "reported.csv: the paper's reported numbers" in err
    assert load_reported(paper_dir=tmp_path) == []  # an explicit folder without one: no rows


def test_reproduce_reads_the_shipped_numbers(synthff, capsys):
    assert main(["reproduce", "--input_dir", str(synthff)]) == 0
    out = capsys.readouterr().out
    assert "| RoGA         | RoGA        | DF AUC" in out and "| 90.1       |" in out  # Table II


def test_paper_dir_without_reported_csv_is_refused(synthff, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["reproduce", "--input_dir", str(synthff), "--paper_dir", str(empty)]) == 2
    assert f"--paper_dir {empty}: no reported.csv" in capsys.readouterr().err


def test_reporting_and_the_sweep_find_the_paper_by_name():
    assert get_table_set("paper") is PAPER and PAPER.numbers == TABLE_NUMBERS
    assert parse_tables("all") == list(TABLE_NUMBERS) == ["I", "II", "III", "IV", "V", "VI"]
    for family in ("SynthFF", "FFpp"):
        assert SUITES["paper"].blocks(family) == paper_blocks(family)


def test_table_VI_grid_is_declared_once():
    (block,) = [b for b in paper_blocks("SynthFF") if b.name == "E"]
    assert block.grid is SENSITIVITY_GRID
    points = [dict(zip(SENSITIVITY_GRID, v, strict=True)) for v in _product(SENSITIVITY_GRID)]
    variants = [hp for alg, d, _, hp in demo_jobs() if alg == "RoGA" and d.endswith("Dataset")]
    default = {"alpha": 0.001, "rho": 0.1}  # RoGA's own: the plain run is that point
    assert [p for p in points if p != default] == [hp for hp in variants if "alpha" in hp]
    ours = {f"α={p['alpha']:g}, ρ={p['rho']:g}" for p in points}
    assert {row for rows in ROW_MAP["VI"].values() for row in rows} == ours
    paper_rows = {r["row"] for r in load_reported("VI")}
    assert paper_rows <= set(ROW_MAP["VI"])  # every printed grid row maps onto one of ours


def test_families_map_the_papers_columns_onto_ours():
    assert CROSS_ORDER == {
        "FFpp": ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"],
        "SynthFF": ["SynthCDF", "SynthUADFV", "SynthDFDC"],
    }
    assert _design.our_column_name("FFpp", "CelebDF") == "CDF-v2"
    assert _design.our_column_name("SynthFF", "CelebDF") == "SynthCDF"
    assert _design.our_column_name("SynthFF", "CDF-v2") == "SynthCDF"
    assert _design.our_column_name("SynthFF", "CDF-v1") == "CDF-v1"  # no counterpart: no cell
    assert _design.our_column_name("FFpp", "UADFV") == "UADFV"
    assert _design.GID == ["DF", "F2F", "FS", "NT"]


def _product(grid):
    return itertools.product(*grid.values())
