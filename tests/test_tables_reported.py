"""The paper's numbers beside ours, the reproduce report, MDE arithmetic, in-domain test splits."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import roga_bench.paper
from roga_bench.paper import load_reported
from roga_bench.paper.testing import write_demo_sweep
from roga_bench.reporting import build_tables, render
from roga_bench.reporting._write import reproduce_report
from roga_bench.reporting.testing import checkpoint, write_run
from roga_bench.stats import min_detectable_effect, paired_test, power_difference
from roga_bench.tables import main

TABLES = ["I", "II", "III", "IV", "V", "VI"]


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory):
    return write_demo_sweep(tmp_path_factory.mktemp("ffpp"))


@pytest.fixture(scope="module")
def synthff(tmp_path_factory):
    return write_demo_sweep(tmp_path_factory.mktemp("synthff"), family="SynthFF")


def test_mde_is_the_exact_noncentral_t_root():
    # issue 24.3: (t_0.975 + t_0.8)·s/√n is 5% low at n = 3; the MDE is where the exact power
    # of the paired t-test reaches 0.8
    d = [0.01, 0.03, -0.01, 0.02]
    test = paired_test([0.81, 0.83, 0.79, 0.82], [0.80, 0.80, 0.80, 0.80])
    assert test.test == "paired t" and test.diff == pytest.approx(0.0125)
    assert test.sd == pytest.approx(math.sqrt(8.75e-4 / 3))  # from the differences, d above
    mde = min_detectable_effect(test.sd, 4)
    assert power_difference(4, mde, test.sd, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert mde > 0.035531  # the old approximation's value: too small
    assert math.isnan(min_detectable_effect(math.nan, 1)) and len(d) == 4


def test_reported_csv_is_the_transcription_with_every_table():
    rows = load_reported()
    assert len(rows) == 190 and {r["table"] for r in rows} == set(TABLES)
    assert all(r["note"] for r in rows)  # the note column is kept
    readme = (Path(roga_bench.paper.__file__).parent / "README.md").read_text()
    assert all(f"\n| {n} | " in readme for n in TABLES)  # the schema covers Tables I-VI


def test_every_ffpp_table_places_the_papers_rows_beside_ours(ffpp):
    tables, _ = build_tables(ffpp, "all")
    beside = {
        "I": ("RoGA", "RoGA (reported)"),
        "II": ("RoGA", "RoGA (reported)"),
        "III": ("base optimizer (ERM)", "Base-optimizer (SGD) (reported)"),
        "IV": ("SGD", "SGD (reported)"),
        "V": ("meso4", "Meso4 (reported)"),
        "VI": ("α=0.001, ρ=0.05", "alpha=0.001, rho=0.05 (reported)"),
    }
    for number, (ours, theirs) in beside.items():
        rows = tables[number].rows
        assert rows[rows.index(ours) + 1] == theirs, (number, rows)
        md, tex = render(tables[number], "markdown"), render(tables[number], "latex")
        csv = render(tables[number], "csv")
        assert "(reported)" in md and "(reported)" in tex and ",True," in csv
        # never bolded, never tested
        assert not any(
            r.endswith("(reported)") for c in tables[number].columns for r in tables[number].best(c)
        )
        assert not any(r.endswith("(reported)") for r in tables[number].significance)
    iii = tables["III"]
    assert iii.cells[("Base-optimizer (SGD) (reported)", "auc")].mean == pytest.approx(0.9765)
    assert iii.cells[("RoGA (reported)", "loss")].mean == pytest.approx(0.15)  # not a percentage
    assert "| Base-optimizer (SGD) (reported) | 97.7 " in render(iii, "markdown")
    assert tables["VI"].cells[("alpha=0.001, rho=0.1 (reported)", "CDF-v2")].mean == (
        pytest.approx(0.877)
    )


def test_synthff_tables_leave_the_papers_rows_out_unless_asked(synthff):
    plain, _ = build_tables(synthff, "I,VI")
    assert not any(r.endswith("(reported)") for t in plain.values() for r in t.rows)
    asked, _ = build_tables(synthff, "I,VI", with_reported=True)
    i, vi = asked["I"], asked["VI"]
    # SynthCDF <-> CDF-v2 (not CDF-v1), SynthUADFV <-> UADFV; CelebDF <-> SynthCDF in Table VI
    assert i.cells[("RoGA (reported)", "SynthCDF")].mean == pytest.approx(0.858)
    assert i.cells[("RoGA (reported)", "SynthUADFV")].mean == pytest.approx(0.959)
    assert vi.cells[("alpha=0.001, rho=0.1 (reported)", "SynthCDF")].mean == pytest.approx(0.877)
    for table in asked.values():
        assert any("not comparable with SynthFF" in n for n in table.notes)


def test_cli_with_reported_flag(synthff, capsys):
    assert main(["--input_dir", str(synthff), "--tables", "IV"]) == 0
    assert "(reported)" not in capsys.readouterr().out
    assert main(["--input_dir", str(synthff), "--tables", "IV", "--with_reported"]) == 0
    out = capsys.readouterr().out
    assert "| SGD (reported)" in out and "not comparable" in out


def _erm_and_roga_cross_runs(root, checkpoints):
    """An ERM and a RoGA FFppCrossDataset run (targets 4-8) with these checkpoint records."""
    for alg in ("ERM", "RoGA"):
        write_run(
            root,
            dataset="FFppCrossDataset",
            algorithm=alg,
            test_envs=[4, 5, 6, 7, 8],
            checkpoints=checkpoints,
        )


def test_table_iii_from_old_records_is_missing_never_the_validation_split(tmp_path):
    # records written before env{i}_test_* existed
    _erm_and_roga_cross_runs(tmp_path, [checkpoint(s, 9, lambda k: 0.7) for s in (0, 10)])
    tables, _ = build_tables(tmp_path, "III,V", paper_dir=tmp_path / "none")
    iii, v = tables["III"], tables["V"]
    assert iii.cells == {} and iii.missing is not None
    assert any("no env{i}_test_* keys" in n for n in iii.notes)
    assert any("their test split" in n and "not the validation split" in n for n in iii.notes)
    # Table V keeps the target's AUC; its in-domain columns are missing with the same note
    assert set(k[1] for k in v.cells) == {"UADFV"}
    assert any("no env{i}_test_* keys" in n for n in v.notes)


def test_table_iii_reads_the_test_splits(tmp_path):
    def value(key):
        return 0.9 if "_test_" in key else 0.6  # test splits differ from validation

    _erm_and_roga_cross_runs(tmp_path, [checkpoint(0, 9, value, ("in", "out", "test"))])
    tables, _ = build_tables(tmp_path, "III,V", paper_dir=tmp_path / "none")
    assert tables["III"].cells[("RoGA", "auc")].mean == pytest.approx(0.9)
    assert tables["V"].cells[("small_cnn + RoGA", "NT")].mean == pytest.approx(0.9)
    assert tables["V"].cells[("small_cnn + RoGA", "UADFV")].mean == pytest.approx(0.6)


def test_reproduce_report_on_ffpp(ffpp, tmp_path):
    paper = tmp_path / "paper"
    paper.mkdir()
    tables, _ = build_tables(ffpp, "IV", paper_dir=paper)
    iv = tables["IV"]
    # reported values: our means in the same order for DF AUC (tau = +1), one value inside
    # and one outside the 95% interval
    lines = ["table,row,column,metric,value,source,note"]
    for row in ("Adam", "SGD", "SAM", "SAGM", "RoGA"):
        lines.append(f"IV,{row},DF,auc,{100 * iv.cells[(row, 'DF:auc')].mean:.6f},fixture,")
    sgd = iv.cells[("SGD", "UADFV:auc")]
    lines.append(f"IV,SGD,UADFV,auc,{100 * (sgd.mean + 10 * sgd.se):.6f},fixture,")
    (paper / "reported.csv").write_text("\n".join(lines) + "\n")
    report = reproduce_report(ffpp, paper_dir=paper)
    comps = {(c.row, c.column): c for c in report.comparisons}
    assert len(comps) == 6
    assert comps[("SGD", "DF")].inside is True and comps[("SGD", "DF")].diff == pytest.approx(
        0, abs=1e-7
    )
    assert comps[("SGD", "UADFV")].inside is False
    lo, hi = comps[("SGD", "UADFV")].interval
    assert hi - lo == pytest.approx(2 * 4.302653 * sgd.se, rel=1e-5)  # t_{0.975, 2}: 3 trials
    tau = {(o.table, o.column): o for o in report.orderings}
    assert tau[("IV", "DF AUC")].tau == pytest.approx(1.0)
    assert (
        math.isnan(tau[("IV", "UADFV AUC")].tau) and "too few rows" in tau[("IV", "UADFV AUC")].why
    )
    md = report.to_markdown()
    assert md.startswith("# Measured (FF++) vs the paper's reported numbers")
    assert "| SGD " in md and "| no " in md and "τ=+1.00" in md


def test_reproduce_one_trial_has_no_interval(tmp_path):
    cks = [checkpoint(0, 4, lambda k: 0.7)]
    write_run(tmp_path / "s", dataset="FFppLOMO", algorithm="RoGA", test_envs=[0], checkpoints=cks)
    report = reproduce_report(tmp_path / "s")  # the real reported.csv: RoGA's GID-DF cells
    comp = next(c for c in report.comparisons if c.column == "DF" and c.metric == "auc")
    assert comp.n == 1 and comp.inside is None and math.isnan(comp.interval[0])
    assert comp.reported == pytest.approx(0.9008)
    assert "n/a (1 trial)" in report.to_markdown()


def test_reproduce_cli_on_synthff_writes_md_and_csv(synthff, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--input_dir", str(synthff), "--out", str(out)]) == 0
    md = (out / "reproduce.md").read_text()
    assert md.startswith(
        "# SynthFF vs the paper's FF++ (not comparable in level; compare orderings)"
    )
    assert "SynthCDF ↔ CDF-v2" in md and "## Table VI" in md
    csv = (out / "reproduce.csv").read_text().splitlines()
    assert csv[0].startswith("table,row,paper_row,column,metric,mean,stderr,n,ci95_low,ci95_high")
    tau = (out / "reproduce_tau.csv").read_text()
    assert tau.startswith("table,column,n_rows,kendall_tau,p,why") and "pooled AUC" in tau


def test_reproduce_bad_reported_csv_names_the_file(ffpp, tmp_path, capsys):
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "reported.csv").write_text(
        "table,row,column,metric,value,source\nIV,SGD,DF,auc,ninety,x\n"
    )
    assert main(["reproduce", "--input_dir", str(ffpp), "--paper_dir", str(paper)]) == 2
    err = capsys.readouterr().err
    assert f"{paper / 'reported.csv'}:2: value 'ninety' is not a number" in err


@pytest.mark.slow
def test_write_all_on_ffpp_with_reported_rows_writes_every_figure(ffpp, tmp_path):
    from roga_bench.reporting import write_all

    md = write_all(ffpp, tmp_path / "res")  # Table VI's reported rows are not grid points
    assert "RoGA (reported)" in md
    names = {p.name for p in (tmp_path / "res" / "figures").iterdir()}
    assert {"sensitivity_heatmap.png", "gid_auc_bars.png", "training_curves.png"} <= names
    assert (tmp_path / "res" / "reproduce.md").read_text().startswith("# Measured (FF++)")


def test_pairs_are_runs_not_columns_and_unpaired_runs_are_listed():
    # issue 16: columns of one run are one pair (their mean), not independent pairs
    from roga_bench.reporting import Table
    from roga_bench.reporting._compare import pair_units

    table = Table("X", "t")
    table.samples = {
        ("ERM", "a"): {0: 0.50, 1: 0.60},
        ("SAM", "a"): {0: 0.55, 1: 0.62, 2: 0.90},  # trial 2 has no ERM partner
        ("ERM", "b"): {0: 0.70},
        ("SAM", "b"): {0: 0.72},
    }
    table.runs = {k: {t: (f"{k[0]}-{t}",) for t in v} for k, v in table.samples.items()}
    values, left, used = pair_units(table, "SAM", "ERM", ["a", "b"], {})
    # trial 0: mean of a and b = 0.635 vs 0.60; trial 1: 0.62 vs 0.60 -> 2 pairs
    assert len(values) == 2
    diffs = [a - b for a, b in values.values()]
    assert sum(diffs) / 2 == pytest.approx((0.035 + 0.02) / 2)
    assert left == [("SAM-2", "no ERM run of trial 2 (held-out -) to pair with")]
    assert used == {"ERM-0", "ERM-1", "SAM-0", "SAM-1"}


def test_latex_with_reported_rows_and_significance_notes_is_ascii(ffpp):
    # pdflatex (T1, no Unicode font) chokes on Δ, ≥, ↔ in the notes: all must become math
    tables, _ = build_tables(ffpp, "all")
    for number, table in tables.items():
        tex = render(table, "latex", standalone=True)
        assert tex.isascii(), (number, sorted({ch for ch in tex if not ch.isascii()}))


def test_no_baseline_note_only_when_the_baseline_is_missing(tmp_path):
    def runs(root, algorithms):
        for alg in algorithms:
            cks = [checkpoint(0, 4, lambda k: 0.7)]
            write_run(root, dataset="FFppLOMO", algorithm=alg, test_envs=[0], checkpoints=cks)
        tables, _ = build_tables(root, "II", paper_dir=root / "none")
        return tables["II"].notes

    assert not any("No ERM rows" in n for n in runs(tmp_path / "erm", ["ERM"]))
    assert any("No ERM rows" in n for n in runs(tmp_path / "roga", ["RoGA"]))
