"""The tables CLI, write_all, formatting details (escaping, NaN, missing parts), significance."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest

from roga_bench.reporting import Column, Table, build_tables, render, write_all
from roga_bench.reporting._aggregate import Cell
from roga_bench.reporting._latex import escape_latex, standalone, to_latex
from roga_bench.reporting.testing import checkpoint, write_run
from roga_bench.stats import paired_test
from roga_bench.tables import main


def small_sweep(root, nan_env: int | None = None):
    """ERM and RoGA on FFppLOMO, every GID env, one trial; ERM's env ``nan_env`` AUC is NaN."""
    for alg, base in (("ERM", 0.7), ("RoGA", 0.8)):
        for t in range(4):

            def value(key, t=t, alg=alg, base=base):
                if alg == "ERM" and t == nan_env and key == f"env{t}_in_auc":
                    return math.nan
                return base + 0.01 * t

            cks = [checkpoint(s, 4, value) | {"loss": 0.5 - 0.001 * s} for s in (0, 10)]
            write_run(root, dataset="FFppLOMO", algorithm=alg, test_envs=[t], checkpoints=cks)
    return root


FORESTS = [f"forest_table_{n}.{e}" for n in ("II", "IV") for e in ("pdf", "png")]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return small_sweep(tmp_path_factory.mktemp("small"), nan_env=2)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--input_dir", "{tmp}/nope"], "not a folder"),
        (["--input_dir", "{tmp}"], "no job folders"),
        (["--input_dir", "{sweep}", "--tables", "II,IX"], "unknown table(s) IX"),
        (["--input_dir", "{sweep}", "--selection", "magic"], "unknown selection method 'magic'"),
        (["compare-optimizers", "--input_dir", "{tmp}"], "no job folders"),
        (["--input_dir", "{sweep}", "--margin", "0"], "--margin 0.0: expected a positive"),
        (["--input_dir", "{sweep}", "--margin", "nan"], "--margin nan: expected a positive"),
    ],
)
def test_bad_input_exits_2_with_message(tmp_path, sweep, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, sweep=sweep) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_no_finished_jobs_and_bad_flag_exit_2(tmp_path, capsys):
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[0],
        done=False,
        checkpoints=[checkpoint(0, 4, lambda k: 0.5)],
    )
    assert main(["--input_dir", str(tmp_path)]) == 2
    assert "no finished jobs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--input_dir", str(tmp_path), "--metric", "eer"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_module_entry_point_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "roga_bench.tables", "--input_dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "not a folder" in proc.stderr


def test_out_writes_every_format_and_standalone_latex(sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--input_dir",
                str(sweep),
                "--tables",
                "II,IV",
                "--format",
                "all",
                "--out",
                str(out),
                "--standalone",
            ]
        )
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "decisions.csv",
        "decisions.md",
        "excluded.csv",
        *FORESTS,
        "table_II.csv",
        "table_II.md",
        "table_II.tex",
        "table_IV.csv",
        "table_IV.md",
        "table_IV.tex",
        "tables.md",
        "tables.tex",
    ]
    tex = (out / "table_II.tex").read_text()
    assert tex.startswith(r"\documentclass{article}") and tex.rstrip().endswith(r"\end{document}")
    assert r"\usepackage{booktabs}" in tex and r"\toprule" in tex
    csv = (out / "table_II.csv").read_text().splitlines()
    assert csv[0] == (
        "table,row,reported,column_group,column,metric,mean,stderr,n,test_se,p_vs_ERM,"
        "p_holm_vs_ERM,n_pairs,diff_vs_ERM,ci_low_vs_ERM,ci_high_vs_ERM,decision_vs_ERM,p_col_vs_ERM,"
        "n_col_pairs,"
        "diff_col_vs_ERM"
    )
    assert "II,RoGA,False,GID-DF,AUC,auc,0.8,NaN,1," in "\n".join(csv)


def test_compare_optimizers_prints_table_iv(sweep, capsys):
    assert main(["compare-optimizers", "--input_dir", str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "Table IV" in out and "| SGD" in out and "| RoGA" in out
    assert "Missing rows (no runs): Adam, SAM, ASAM, SAGM, GSAM." in out
    assert "| RoGA (reported) | 93.6 " in out  # the paper's row beside ours (FF++)
    assert "Missing columns (no runs): FF++ → UADFV AUC, FF++ → UADFV ACC." in out


@pytest.mark.slow
def test_write_all_writes_tables_and_figures_and_returns_table_ii(sweep, tmp_path):
    md = write_all(sweep, tmp_path / "res")
    rule, md = md.split("\n\n", 1)  # the sweep prints the decision rule first
    assert rule.startswith("Decision rule: α = 0.05, margin δ = ±1 AUC points")
    assert md.startswith("**Table II:") and "| RoGA" in md
    files = {p.relative_to(tmp_path / "res").as_posix() for p in (tmp_path / "res").rglob("*")}
    for n in ("I", "II", "III", "IV", "V", "VI"):
        assert {f"table_{n}.md", f"table_{n}.tex", f"table_{n}.csv"} <= files
    assert {
        "figures/training_curves.png",
        "figures/training_curves.pdf",
        "figures/gid_auc_bars.png",
        "figures/gid_auc_bars.pdf",
    } <= files
    # no cross-dataset runs: Table I is written with its missing note instead of failing
    assert "cannot be built" in (tmp_path / "res" / "table_I.md").read_text()


def test_nan_metric_is_shown_as_nan_and_never_bold(sweep):
    tables, _ = build_tables(sweep, "II")
    md = render(tables["II"], "markdown")
    erm = next(line for line in md.splitlines() if line.startswith("| ERM"))
    assert erm.count("NaN") == 1 and "**NaN" not in md
    assert "± " not in erm  # one trial: no standard error


def test_latex_escapes_specials_and_keeps_long_labels():
    assert escape_latex("a_b 50% & #1 $x {y} ~^\\") == (
        r"a\_b 50\% \& \#1 \$x \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
    long = "RoGA_" + "very_long_label_" * 12 + "100% & more #"
    table = Table(
        "X",
        "caption_with_underscore",
        columns=[Column("c", "col_1 %", "auc")],
        rows=[long],
        cells={(long, "c"): Cell(0.91234, math.nan, 1)},
        notes=["n_1"],
    )
    tex = to_latex(table)
    assert escape_latex(long) + r" & \textbf{91.2} \\" in tex
    assert r"col\_1 \%" in tex and r"caption\_with\_underscore" in tex and r"n\_1\par" in tex


def test_reported_rows_are_marked_and_not_bolded(tmp_path):
    root = tmp_path / "sweep"
    cks = [checkpoint(0, 9, lambda k: 0.6)]
    write_run(
        root,
        dataset="FFppCrossDataset",
        algorithm="ERM",
        test_envs=[4, 5, 6, 7, 8],
        checkpoints=cks,
    )
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "reported.csv").write_text(
        "table,row,column,metric,value,source\nI,Fake_Method,UADFV,auc,99.5,test fixture\n"
    )
    tables, _ = build_tables(root, "I", paper_dir=paper)
    md = render(tables["I"], "markdown")
    assert "| Fake_Method (reported) | -" in md and "99.5" in md and "**99.5" not in md
    assert "**60.0**" in md


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not on PATH")
def test_standalone_latex_compiles(sweep, tmp_path):
    tables, _ = build_tables(sweep, "all")
    doc = standalone("\n".join(to_latex(t) for t in tables.values()))
    (tmp_path / "t.tex").write_text(doc)
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "t.pdf").exists()


def test_paired_test_choice_of_test():
    assert paired_test([0.9, 0.8], [0.9, 0.8]).p == 1.0
    assert math.isnan(paired_test([0.9], [0.8]).p)
    small = paired_test([0.9, 0.8, 0.85], [0.7, 0.75, 0.8])
    assert small.test == "paired t" and small.n == 3 and 0 < small.p < 0.2
    big = paired_test(
        [0.9, 0.8, 0.85, 0.95, 0.7, 0.66, math.nan], [0.7, 0.75, 0.8, 0.9, 0.6, 0.6, 0.5]
    )
    assert big.test == "Wilcoxon" and big.n == 6 and big.p == pytest.approx(0.03125)


def test_synthff_uses_its_own_environment_names(tmp_path):
    cks = [checkpoint(0, 7, lambda k: 0.75)]
    write_run(
        tmp_path,
        dataset="SynthFFCrossDataset",
        algorithm="RoGA",
        test_envs=[4, 5, 6],
        checkpoints=cks,
    )
    tables, _ = build_tables(tmp_path, "I,IV,VI")
    assert [c.key for c in tables["I"].columns] == ["SynthCDF", "SynthUADFV", "SynthDFDC"]
    assert tables["I"].title.endswith("trained on SynthFF (DF, F2F, FS, NT)")
    iv = render(tables["IV"], "markdown")
    assert "SynthFF → SynthUADFV AUC" in iv and "| RoGA        | -" in iv and "75.0" in iv
    assert [c.label for c in tables["VI"].columns][-1] == "CelebDF (SynthCDF)"


def test_write_all_returns_the_first_built_table_when_table_ii_cannot_be_built(tmp_path):
    """A cross-dataset-only sweep ends by printing a table it fills, not an empty Table II."""
    names = ["DF", "F2F", "FS", "NT", "CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]
    for alg, base in (("ERM", 0.7), ("RoGA", 0.8)):
        for trial in range(2):
            cks = [
                checkpoint(s, 9, lambda key, b=base: b, ("in", "out", "test"))
                | {"loss": 0.5, "dataset_environments": names}
                for s in (0, 10)
            ]
            write_run(
                tmp_path / "sweep",
                dataset="FFppCrossDataset",
                algorithm=alg,
                test_envs=[4, 5, 6, 7, 8],
                trial_seed=trial,
                checkpoints=cks,
            )
    md = write_all(tmp_path / "sweep", tmp_path / "res")
    assert md.split("\n\n", 1)[1].startswith("**Table I:") and "| RoGA" in md
