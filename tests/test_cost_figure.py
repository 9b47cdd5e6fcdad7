"""The cost figure (AUC vs measured step cost, Pareto front) and Table IV's extra rows (issue 26).

Synthetic records with known step times and AUCs: every checkpoint of a run has the same metrics,
so the selection cannot change the AUC, and the step times differ per checkpoint so that the
step weighting is exercised.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from roga_bench.reporting import build_tables, render
from roga_bench.reporting._cost_figure import cost_points, read_bench_costs
from roga_bench.reporting._figures import write_figures
from roga_bench.reporting.testing import checkpoint, write_run

CROSS = ["DF", "F2F", "FS", "NT", "SynthCDF", "SynthUADFV", "SynthDFDC"]
LOMO = ["DF", "F2F", "FS", "NT"]
# algorithm -> (seconds per step after the first, AUC on every target)
POINTS = {
    "ERM": (0.10, 0.70),
    "SAM": (0.20, 0.74),  # dominated by LookSAM: dearer and worse
    "LookSAM": (0.12, 0.75),
    "RoGA": (0.22, 0.78),
    "RoGA_Look": (0.125, 0.77),
}
TRIAL_SHIFT = (-0.01, 0.0, 0.01)  # per-trial AUC offsets: mean exact, s.d. 0.01
FIRST_STEP_S = 0.5  # step 0's line (one step, with start-up): weight 1 of 101


def _checkpoints(n_envs, auc, step_s, with_time=True):
    cks = []
    for step, t in ((0, FIRST_STEP_S), (50, step_s), (100, step_s)):
        ck = checkpoint(step, n_envs, lambda k: auc if k.endswith("auc") else 0.6, ("in", "out"))
        ck["loss"] = 0.5
        if with_time:
            ck["step_time"] = t
        else:
            del ck["step_time"]
        cks.append(ck)
    return cks


def _sweep(root, with_time=True, algorithms=POINTS):
    for alg in algorithms:
        step_s, auc = POINTS[alg]
        for trial, shift in enumerate(TRIAL_SHIFT):
            common = dict(algorithm=alg, trial_seed=trial)
            write_run(
                root, dataset="SynthFFCrossDataset", test_envs=[4, 5, 6],
                checkpoints=_checkpoints(len(CROSS), auc + shift, step_s, with_time), **common,
            )  # fmt: skip
            write_run(
                root, dataset="SynthFFLOMO", test_envs=[0],
                checkpoints=_checkpoints(len(LOMO), auc + shift, step_s, with_time), **common,
            )  # fmt: skip
    return root


def test_cost_points_weights_steps_pools_targets_and_marks_the_front(tmp_path):
    _, ctx = build_tables(_sweep(tmp_path / "s"), ["IV"])
    points, dataset, unit = cost_points(ctx)
    assert dataset == "SynthFFCrossDataset" and unit == "x ERM"
    by = {p.algorithm: p for p in points}
    assert set(by) == set(POINTS)
    weighted = {a: (FIRST_STEP_S + 100 * s) / 101 for a, (s, _) in POINTS.items()}
    half = 4.302652729911275 * 0.01 / math.sqrt(3)  # t(0.975, 2) * s.d. / sqrt(n)
    for alg, (_, auc) in POINTS.items():
        p = by[alg]
        assert p.step_s == pytest.approx(weighted[alg], rel=1e-12)
        assert p.cost == pytest.approx(weighted[alg] / weighted["ERM"], rel=1e-12)
        assert p.auc == pytest.approx(auc, abs=1e-9) and p.trials == 3
        assert (p.auc - p.ci_low, p.ci_high - p.auc) == pytest.approx((half, half), rel=1e-6)
    assert {a for a, p in by.items() if p.pareto} == {"ERM", "LookSAM", "RoGA_Look", "RoGA"}


def test_write_figures_writes_the_cost_figure_only_with_cost_records(tmp_path):
    tables, ctx = build_tables(_sweep(tmp_path / "s"), "all")
    written = {p.name for p in write_figures(ctx, tables, tmp_path / "fig")}
    assert {"cost_auc.png", "cost_auc.pdf", "cost_auc.csv"} <= written
    csv = (tmp_path / "fig" / "cost_auc.csv").read_text()
    assert csv.splitlines()[0].startswith("algorithm,step_s,cost,auc,ci_low,ci_high,trials")
    assert "SAM" in csv and ",False," in csv  # SAM is off the front
    tables, ctx = build_tables(_sweep(tmp_path / "t", with_time=False), "all")
    written = {p.name for p in write_figures(ctx, tables, tmp_path / "fig2")}
    assert not any(n.startswith("cost_auc") for n in written)


def test_table_iv_shows_our_rows_only_when_they_ran_and_without_paper_numbers(tmp_path):
    tables, _ = build_tables(_sweep(tmp_path / "s"), ["IV"], with_reported=True)
    table = tables["IV"]
    paper_rows = ["Adam", "SGD", "SAM", "ASAM", "SAGM", "GSAM", "RoGA"]
    measured = [r for r in table.rows if not r.endswith("(reported)")]
    assert measured == [*paper_rows, "LookSAM (ours)", "RoGA_Look (ours)"]
    md = render(table, "markdown")
    assert re.search(r"\| LookSAM \(ours\) +\| 75\.0 ± 0\.6 ", md)
    assert "Rows marked (ours) are not in the paper" in md
    assert not any(r.startswith(("LookSAM", "RoGA_Look")) and "reported" in r for r in table.rows)
    # outside the paired tests' family: the paper rows' Holm-adjusted tests do not move
    assert set(table.decisions) == {"SAM", "RoGA"}
    # without their runs the table is the paper's, as before
    others, _ = build_tables(
        _sweep(tmp_path / "t", algorithms=["ERM", "SAM", "RoGA"]), ["I", "IV"], with_reported=True
    )
    measured = [r for r in others["IV"].rows if not r.endswith("(reported)")]
    assert measured == paper_rows and "(ours)" not in render(others["IV"], "markdown")
    assert others["IV"].decisions == table.decisions


def test_tables_i_and_ii_keep_the_paper_algorithms_only(tmp_path):
    """Table I's and II's rows and Holm families are the paper's whether or not ours ran."""
    with_ours, _ = build_tables(_sweep(tmp_path / "s"), ["I", "II"])
    without, _ = build_tables(
        _sweep(tmp_path / "t", algorithms=["ERM", "SAM", "RoGA"]), ["I", "II"]
    )
    for n in ("I", "II"):
        assert with_ours[n].rows == without[n].rows == ["ERM", "SAM", "RoGA"]
        assert render(with_ours[n], "markdown") == render(without[n], "markdown")


# --- the x-axis from the update-cost benchmark (python -m roga_bench.bench --json) -------------
# per-update ms by algorithm, in another order than the sweep's step times (LookSAM dearer
# than SAM here): the figure must follow the file, not the sweep
BENCH_MS = {"ERM": 10.0, "SAM": 20.0, "LookSAM": 30.0, "RoGA": 40.0}


def _bench(path, rows=BENCH_MS, backbone="small_cnn", extra=()):
    updates = [
        {"backbone": backbone, "image_size": 64, "algorithm": a, "median_ms": ms,
         "times_ms": [ms], "peak_mb": 1.0, "param_mb": 1.0, "ratio_to_erm": ms / rows["ERM"]}
        for a, ms in rows.items()
    ] + list(extra)  # fmt: skip
    doc = {"machine": {"cpu": "test cpu"}, "args": {"num_domains": 3, "device": "cpu"},
           "updates": updates}  # fmt: skip
    path.write_text(json.dumps(doc))
    return path


def test_cost_from_the_benchmark_replaces_the_sweeps_step_times(tmp_path, monkeypatch):
    from roga_bench.reporting import _cost_figure

    _, ctx = build_tables(_sweep(tmp_path / "s"), ["IV"])
    other = {"backbone": "meso4", "image_size": 256, "algorithm": "ERM", "median_ms": 99.0}
    bench = read_bench_costs(_bench(tmp_path / "b.json", extra=[other]), ctx.backbone)
    points, _, unit = cost_points(ctx, bench)
    by = {p.algorithm: p for p in points}
    assert unit == "x ERM" and set(by) == set(BENCH_MS)  # RoGA_Look was not benchmarked
    for alg, ms in BENCH_MS.items():
        assert by[alg].cost == pytest.approx(ms / BENCH_MS["ERM"])  # meso4's row not used
        assert by[alg].step_s == pytest.approx(ms / 1000) and by[alg].cost_source == "bench"
    # on these costs LookSAM (dearer than SAM, better AUC) and SAM are both on the front
    assert {a for a, p in by.items() if p.pareto} == {"ERM", "SAM", "LookSAM", "RoGA"}
    labels = []
    monkeypatch.setattr(
        _cost_figure, "_save", lambda fig, out, name: labels.append(fig.axes[0].get_xlabel()) or []
    )
    _cost_figure.write_cost_figure(ctx, tmp_path / "f", tmp_path / "b.json")
    _cost_figure.write_cost_figure(ctx, tmp_path / "g")
    assert "update-cost benchmark" in labels[0] and "small_cnn 64 px, K=3" in labels[0]
    assert "fallback: sweep step_time" in labels[1]
    csv = (tmp_path / "g" / "cost_auc.csv").read_text()
    assert ",sweep," in csv and ",bench," not in csv


def test_tables_cli_cost_from(tmp_path, capsys):
    from roga_bench.tables import main

    sweep = _sweep(tmp_path / "s", with_time=False)  # no step_time: only the benchmark's cost
    bench = _bench(tmp_path / "b.json")
    assert main(["figures", "--input_dir", str(sweep), "--out", str(tmp_path / "f"),
                 "--cost_from", str(bench)]) == 0  # fmt: skip
    csv = (tmp_path / "f" / "cost_auc.csv").read_text()
    assert ",bench," in csv and "RoGA_Look" not in csv
    assert main(["--input_dir", str(sweep), "--tables", "IV", "--out", str(tmp_path / "t"),
                 "--cost_from", str(bench)]) == 0  # fmt: skip
    assert (tmp_path / "t" / "cost_auc.csv").read_text() == csv
    capsys.readouterr()
    (tmp_path / "bad.json").write_text('{"machine": {}}')
    for bad in (tmp_path / "bad.json", tmp_path / "missing.json"):
        assert main(["figures", "--input_dir", str(sweep), "--out", str(tmp_path / "x"),
                     "--cost_from", str(bad)]) == 2  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"--cost_from {bad}" in err[0], err
    xception = {"backbone": "xception", "image_size": 64, "algorithm": "ERM", "median_ms": 1.0}
    two = _bench(tmp_path / "two.json", backbone="meso4", extra=[xception])
    assert main(["figures", "--input_dir", str(sweep), "--out", str(tmp_path / "y"),
                 "--cost_from", str(two)]) == 2  # fmt: skip
    assert "small_cnn" in capsys.readouterr().err


def test_the_benchmarks_own_json_names_the_tables_rows(tmp_path):
    """The file ``python -m roga_bench.bench --json`` really writes (its variant names are
    ``ERM-SGD``, ``ERM-Adam``, ``RoGA-batched``) costs the rows ``ERM`` and ``ERM (Adam)``, so the
    figure has its ERM point and a ratio axis; ``RoGA-batched`` (another code path of RoGA) is no
    row and must not stand in for RoGA."""
    from roga_bench.bench import main as bench_main
    from roga_bench.reporting._cost_figure import bench_row_label

    path = tmp_path / "bench.json"
    argv = ["--algorithms", "ERM-SGD", "ERM-Adam", "SAM", "RoGA-batched", "--backbones",
            "small_cnn@32", "--repeats", "1", "--warmup", "1", "--batch", "2", "--threads", "1",
            "--phases", "none", "--json", str(path)]  # fmt: skip
    assert bench_main(argv) == 0
    written = json.loads(path.read_text())["updates"]
    bench = read_bench_costs(path)
    by_name = {r["algorithm"]: r["median_ms"] / 1000 for r in written}
    assert bench.seconds == {
        "ERM": by_name["ERM-SGD"],
        "ERM (Adam)": by_name["ERM-Adam"],
        "SAM": by_name["SAM"],
    }
    _, ctx = build_tables(_sweep(tmp_path / "s", with_time=False), ["IV"])
    points, _, unit = cost_points(ctx, bench)
    assert unit == "x ERM" and {p.algorithm for p in points} == {"ERM", "SAM"}
    assert next(p.cost for p in points if p.algorithm == "ERM") == 1.0
    # a file of the older format (no registered/hparams): the name alone says the row
    assert bench_row_label({"algorithm": "ERM-Adam"}) == "ERM (Adam)"
    assert bench_row_label({"algorithm": "ERM-SGD"}) == "ERM"
    assert bench_row_label({"algorithm": "RoGA_Look"}) == "RoGA_Look"
    assert bench_row_label({"algorithm": "RoGA-batched"}) is None
