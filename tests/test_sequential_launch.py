"""``launch --until_decided``: looks, design.json, files, relaunch, refusals.

Jobs are "run" by a registered fake launcher that writes two checkpoints per job in a second:
the first with the higher training-domain validation AUC (the one the tables select), the
second with test AUC 0.5 for every algorithm (selecting it would hide every effect). A run's
selected test AUC is 0.7 + the algorithm's effect + noise fixed by (algorithm, trial), so each
comparison's verdict is known in advance.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from roga_bench._registry import register_launcher
from roga_bench.sweep import main
from roga_bench.sweep._run import JobOutcome

ENVS = ["DF", "F2F", "FS", "NT", "SynthCDF", "SynthUADFV", "SynthDFDC"]
# AUC effect of each algorithm over ERM (AUC units) and the noise s.d. of a run
EFFECT = {"ERM": 0.0, "RoGA": 0.06, "SAM": 0.0, "SAGM": -0.06, "RoGA_Look": 0.06, "LookSAM": -0.06}
NOISE = 0.01
LAUNCHED: list[list[str]] = []
STOP_AFTER: list[int] = []  # after this many launches, die half way through the next one


def _auc(algorithm: str, trial: int) -> float:
    rng = np.random.default_rng([trial, sum(map(ord, algorithm))])
    return 0.7 + EFFECT[algorithm] + NOISE * float(rng.standard_normal())


@register_launcher("fake_sequential")
def fake_launcher(jobs, device: str = "auto") -> list[JobOutcome]:
    kill = bool(STOP_AFTER) and len(LAUNCHED) >= STOP_AFTER[0]
    LAUNCHED.append([j.name for j in jobs])
    for n, job in enumerate(jobs):
        if kill and n == len(jobs) // 2:  # killed half way through a look's jobs
            raise KeyboardInterrupt
        a = job.train_args
        auc = _auc(a["algorithm"], a["trial_seed"])
        job.output_dir.mkdir(parents=True, exist_ok=True)
        (job.output_dir / ".lock").write_text("1")
        lines = []
        for step, val, test in ((0, 0.9, auc), (1, 0.5, 0.5)):  # the last: the same for all
            hp = {"backbone": "small_cnn", "optimizer": "sgd", **json.loads(a.get("hparams", "{}"))}
            rec = {"args": a, "hparams": hp,
                   "step": step, "dataset_environments": ENVS}  # fmt: skip
            for i in range(4):
                rec[f"env{i}_out_auc"] = val
            for t in a["test_envs"]:
                rec[f"env{t}_in_auc"] = test
            lines.append(json.dumps(rec, sort_keys=True))
        (job.output_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
        (job.output_dir / "done").write_text("done")
        start = (job.output_dir / ".lock").stat().st_mtime
        os.utime(job.output_dir / "done", (start + 30, start + 30))  # a 30 s job
    return [JobOutcome(j, "ok") for j in jobs]


def _argv(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "launch", "--until_decided", "--datasets", "SynthFFCrossDataset",
        "--test_envs_mode", "crossdataset", "--data_dir", str(data), "--output_dir", str(out),
        "--command_launcher", "fake_sequential", "--algorithms", "ERM", "RoGA", "SAM", "SAGM",
        "--max_trials", "24", "--margin", "1.0", "--first_trial", "1000",
        "--skip_confirmation", *extra,
    ]  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def _reset():
    LAUNCHED.clear()
    STOP_AFTER.clear()
    yield
    STOP_AFTER.clear()


def test_looks_add_trials_only_to_open_comparisons(tiny_synthff: Path, tmp_path: Path):
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out)) == 0
    verdicts = {r["comparison"]: r for r in _rows(out / "verdicts.csv")}
    # +6 and -6 points with 1-point noise are decided at the first look that can (trials 6
    # give |t| far past any finite boundary); SAM (Δ = 0, s.d. 1.4) is equivalent within ±1
    # or runs to the end, never better/worse
    assert verdicts["RoGA vs ERM"]["verdict"] == "better"
    assert verdicts["SAGM vs ERM"]["verdict"] == "worse"
    assert verdicts["SAM vs ERM"]["verdict"] in ("equivalent", "undecided")
    design = json.loads((out / "design.json").read_text())
    assert design["looks"] == [3, 6, 12, 24] and design["first_trial"] == 1000
    # the first look runs 4 algorithms x 3 trials; later looks only ERM and the open ones
    sizes = [len(x) for x in LAUNCHED]
    assert sizes[0] == 12
    decided_at = int(verdicts["RoGA vs ERM"]["trials"])
    assert decided_at < 24
    looks = _rows(out / "looks.csv")
    after = [r for r in looks if int(r["n_pairs"]) > decided_at]
    assert after and all(r["comparison"] == "SAM vs ERM" for r in after)
    # looks 2 and 3: 4 algorithms x the new trials; look 4: ERM and SAM x 12 new trials
    assert sizes == [12, 12, 24, 24]
    # trial seeds start at --first_trial
    first = json.loads(
        (out / next(iter(LAUNCHED[0])) / "results.jsonl").read_text().splitlines()[0]
    )
    assert first["args"]["trial_seed"] >= 1000


def test_delta_is_the_tables_selection_and_pairing(tiny_synthff: Path, tmp_path: Path):
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out, "--looks", "3")) == 0
    first = [r for r in _rows(out / "looks.csv") if r["look"] == "1"]
    by = {r["comparison"]: float(r["delta"]) for r in first}
    # training-domain validation picks step 0 (val 0.9), whose test AUC is the run's value
    want = np.mean([_auc("RoGA", t) - _auc("ERM", t) for t in (1000, 1001, 1002)]) * 100
    assert by["RoGA vs ERM"] == pytest.approx(want, abs=1e-3)
    # and Table I, built from the same folder (every comparison ran all 24 trials), reports the
    # same paired differences as the last look
    from roga_bench.reporting import build_tables

    last = {r["comparison"]: float(r["delta"]) for r in _rows(out / "verdicts.csv")}
    assert {r["trials"] for r in _rows(out / "verdicts.csv")} == {"24"}
    tests = build_tables(out, "I")[0]["I"].significance
    for name, delta in last.items():
        assert 100 * tests[name.split(" vs ")[0]].diff == pytest.approx(delta, abs=1e-3)


def test_killed_and_relaunched_ends_with_identical_files(tiny_synthff: Path, tmp_path: Path):
    whole = tmp_path / "whole"
    assert main(_argv(tiny_synthff, whole)) == 0
    n_launches = len(LAUNCHED)
    assert n_launches == 4
    for stop in range(n_launches):  # killed half way through each look's jobs
        broken = tmp_path / f"broken{stop}"
        LAUNCHED.clear()
        STOP_AFTER[:] = [stop]
        with pytest.raises(KeyboardInterrupt):
            main(_argv(tiny_synthff, broken))
        assert (broken / "design.json").exists() and not (broken / "verdicts.csv").exists()
        STOP_AFTER.clear()
        LAUNCHED.clear()
        assert main(_argv(tiny_synthff, broken)) == 0
        assert len(LAUNCHED) == n_launches - stop  # continues at the look it was killed in
        for name in ("looks.csv", "verdicts.csv", "verdicts.md"):
            assert (broken / name).read_bytes() == (whole / name).read_bytes(), (stop, name)
        a, b = (json.loads((d / "design.json").read_text()) for d in (whole, broken))
        a.pop("created_utc"), b.pop("created_utc")
        assert a == b
    # a relaunch of a finished design runs nothing and writes the same files again
    LAUNCHED.clear()
    assert main(_argv(tiny_synthff, whole)) == 0 and LAUNCHED == []
    assert (broken / "verdicts.csv").read_bytes() == (whole / "verdicts.csv").read_bytes()


def test_a_finished_design_moved_elsewhere_replays_to_the_same_files(
    tiny_synthff: Path, tmp_path: Path
):
    # results/synthff/confirmatory/ is a copy of the sweep folder: its runs record the path
    # they ran in, and the replay must match them by job folder, not by that path
    import shutil

    first = tmp_path / "ran_here"
    assert main(_argv(tiny_synthff, first)) == 0
    moved = tmp_path / "committed" / "copy"
    shutil.copytree(first, moved)
    for name in ("looks.csv", "verdicts.csv", "verdicts.md"):
        (moved / name).unlink()
    LAUNCHED.clear()
    assert main(_argv(tiny_synthff, moved)) == 0 and LAUNCHED == []
    for name in ("looks.csv", "verdicts.csv", "verdicts.md"):
        assert (moved / name).read_bytes() == (first / name).read_bytes(), name


def test_another_design_in_the_folder_is_refused(tiny_synthff: Path, tmp_path: Path, capsys):
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out, "--looks", "3")) == 0
    before = (out / "design.json").read_bytes()
    capsys.readouterr()
    assert main(_argv(tiny_synthff, out, "--looks", "3", "--margin", "2")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "design.json" in err[0] and "margin" in err[0]
    assert (out / "design.json").read_bytes() == before


def test_design_only_preregisters_then_the_same_command_runs_it(tiny_synthff: Path, tmp_path):
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out, "--looks", "3", "--design_only")) == 0
    assert LAUNCHED == [] and [p.name for p in out.iterdir()] == ["design.json"]
    registered = (out / "design.json").read_bytes()
    assert main(_argv(tiny_synthff, out, "--looks", "3")) == 0
    assert LAUNCHED and (out / "verdicts.csv").exists()
    assert (out / "design.json").read_bytes() == registered


def test_runs_whose_table_label_adds_the_optimizer_still_pair(tiny_synthff: Path, tmp_path):
    # with Adam the tables call the rows "ERM (Adam)", "RoGA (Adam)": pairs follow the jobs
    out = tmp_path / "seq"
    hp = '{"optimizer": "adam", "lr": 0.001}'
    assert main(_argv(tiny_synthff, out, "--looks", "3", "--hparams", hp)) == 0
    assert len(_rows(out / "verdicts.csv")) == 3


def test_status_of_a_design_lists_its_worst_case_jobs(tiny_synthff: Path, tmp_path, capsys):
    out = tmp_path / "seq"
    argv = _argv(tiny_synthff, out)
    argv[0] = "status"
    assert main(argv) == 0
    assert "96 jobs: 0 done, 0 incomplete, 96 not launched." in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--baseline", "GSAM"], "--baseline GSAM"),
        (["--looks", "6,3"], "--looks"),
        (["--looks", "3,48"], "after --max_trials"),
        (["--margin", "0"], "--margin"),
        (["--n_trials", "3"], "--n_trials"),
        (["--max_trials", "1"], "--max_trials"),
        (["--budget_hours", "-1"], "--budget_hours"),
    ],
)
def test_bad_flags_one_line_exit_2(tiny_synthff: Path, tmp_path: Path, capsys, extra, message):
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_budget_stops_before_a_look_and_leaves_undecided(tiny_synthff: Path, tmp_path: Path):
    out = tmp_path / "seq"
    # jobs measure 30 s: the first look (12 jobs, 6 min) fits in 10 min, the second does not
    assert main(_argv(tiny_synthff, out, "--budget_hours", str(600 / 3600))) == 0
    rows = {r["comparison"]: r for r in _rows(out / "verdicts.csv")}
    assert len(LAUNCHED) == 1
    assert all(r["verdict"] == "undecided" and r["ended_by"] == "budget" for r in rows.values())
    assert all(math.isinf(float(r["ci_high"])) or r["ci_high"] for r in rows.values())


def test_first_trial_for_a_plain_launch(tmp_path: Path):
    out = tmp_path / "plain"
    assert main(["list", "--n_trials", "2", "--first_trial", "7", "--algorithms", "ERM",
                 "--test_envs", "0", "--output_dir", str(out)]) == 0  # fmt: skip
    from roga_bench.sweep import make_args_list

    args = make_args_list(2, ["SynthFFLOMO"], ["ERM"], 0, 1, None, None, "t", 0.2,
                          test_envs=[0], first_trial=7)  # fmt: skip
    assert [a["trial_seed"] for a in args] == [7, 8]
    shutil.rmtree(out, ignore_errors=True)


def _wait_done(out: Path, n: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(1 for _ in out.glob("*/done")) < n:
        assert time.monotonic() < deadline, f"submitit local jobs did not finish ({n} expected)"
        time.sleep(0.3)


def _submitit_argv(data: Path, out: Path, cluster: str, *extra: str) -> list[str]:
    """ERM vs RoGA (the stand-in: no effect), looks at 2 and 4 trials, through submitit."""
    argv = _argv(data, out, "--looks", "2", "--timeout_min", "5", *extra)
    at = argv.index("--command_launcher") + 1
    argv[at : at + 1] = ["submitit", "--submitit_cluster", cluster]
    argv += ["--train_module", "roga_train_sequential_standin"]
    argv[argv.index("--max_trials") + 1] = "4"
    argv[argv.index("--algorithms") + 1 : argv.index("--max_trials")] = ["ERM", "RoGA"]
    return argv


@pytest.mark.slow
def test_submitit_no_wait_each_look_one_array_relaunch_moves_on(
    tiny_synthff: Path, tmp_path: Path, monkeypatch, capsys
):
    fake = Path(__file__).parent / "fake_domainbed"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "seq"
    argv = _submitit_argv(tiny_synthff, out, "local", "--no_wait")
    assert main(argv) == 0  # look 1 submitted: ERM and RoGA x 2 trials, one array
    printed = capsys.readouterr().out
    assert "submitit: 4 jobs in one array" in printed and "relaunch" in printed
    assert (out / "design.json").exists() and not (out / "looks.csv").exists()
    _wait_done(out, 4)
    assert main(argv) == 0  # look 1 analysed, look 2 submitted
    assert "submitit: 4 jobs in one array" in capsys.readouterr().out
    assert {r["look"] for r in _rows(out / "looks.csv")} == {"1"}
    assert not (out / "verdicts.csv").exists()
    _wait_done(out, 8)
    assert main(argv) == 0  # both looks analysed: the end
    (row,) = _rows(out / "verdicts.csv")
    assert row["comparison"] == "RoGA vs ERM" and row["trials"] == "4"
    assert {r["look"] for r in _rows(out / "looks.csv")} == {"1", "2"}


@pytest.mark.slurm
def test_slurm_waits_between_looks_one_array_each(
    tiny_synthff: Path, tmp_path: Path, monkeypatch, capsys
):
    from test_slurm import _unavailable

    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: the Slurm test cluster is not up: {reason}", pytrace=False)
        pytest.skip(f"no one-node Slurm test cluster: {reason}")
    from roga_bench.sweep import _submitit as submitit_mod

    monkeypatch.setattr(submitit_mod, "POLL_S", 1.0)
    fake = Path(__file__).parent / "fake_domainbed"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "seq"
    assert main(_submitit_argv(tiny_synthff, out, "slurm")) == 0  # waits for each look
    printed = capsys.readouterr().out
    assert printed.count("submitit: 4 jobs in one array") == 2
    (row,) = _rows(out / "verdicts.csv")
    assert row["trials"] == "4" and {r["look"] for r in _rows(out / "looks.csv")} == {"1", "2"}


# --- non-inferiority and --pairs ------------------------------------------------------------------
def _ni_argv(data: Path, out: Path, *extra: str) -> list[str]:
    # RoGA_Look has RoGA's effect (Δ = 0: non-inferior), LookSAM 6 points below SAM (inferior)
    return [
        "launch", "--until_decided", "--datasets", "SynthFFCrossDataset",
        "--test_envs_mode", "crossdataset", "--data_dir", str(data), "--output_dir", str(out),
        "--command_launcher", "fake_sequential", "--pairs", "RoGA_Look:RoGA", "LookSAM:SAM",
        "--max_trials", "24", "--margin", "1.0", "--first_trial", "2000",
        "--skip_confirmation", *extra,
    ]  # fmt: skip


def test_non_inferiority_with_pairs_records_mode_and_verdicts(tiny_synthff: Path, tmp_path):
    out = tmp_path / "ni"
    assert main(_ni_argv(tiny_synthff, out, "--non_inferiority")) == 0
    design = json.loads((out / "design.json").read_text())
    assert design["statistics"]["non_inferiority"] is True
    assert design["statistics"]["one_sided_alpha"] == 0.025
    assert design["pairs"] == [["RoGA_Look", "RoGA"], ["LookSAM", "SAM"]]
    assert design["comparisons"] == ["RoGA_Look vs RoGA", "LookSAM vs SAM"]
    assert design["baseline"] is None and "H0" in design["hypothesis"]
    verdicts = {r["comparison"]: r for r in _rows(out / "verdicts.csv")}
    assert verdicts["RoGA_Look vs RoGA"]["verdict"] == "non-inferior"
    assert verdicts["LookSAM vs SAM"]["verdict"] == "inferior"
    ni, inf = verdicts["RoGA_Look vs RoGA"], verdicts["LookSAM vs SAM"]
    assert float(ni["ci_low"]) > -1.0  # the repeated lower bound above -δ
    assert float(inf["inf_ci_high"]) < -1.0  # the inferiority interval's upper bound below -δ
    looks = _rows(out / "looks.csv")
    assert {"inf_boundary", "inf_ci_low", "inf_ci_high"} <= set(looks[0])
    assert {r["verdict"] for r in looks} <= {"non-inferior", "inferior", "undecided"}
    assert "non-inferior (margin 1.0)" in (out / "verdicts.md").read_text()
    # each comparison's candidate runs with its own reference; ERM never runs
    ran = {n.split("_")[0] for look in LAUNCHED for n in look}
    first = LAUNCHED[0]
    assert len(first) == 4 * 3 and not any("ERM" in n for look in LAUNCHED for n in look), ran
    # the inferior one stops early: its candidate and reference get no trials after it
    stop = int(inf["trials"])
    assert stop < 24
    late = [r for r in looks if int(r["n_pairs"]) > stop]
    assert all(r["comparison"] != "LookSAM vs SAM" for r in late)


def test_the_other_mode_is_refused_in_a_registered_folder(tiny_synthff: Path, tmp_path, capsys):
    ni, eq = tmp_path / "ni", tmp_path / "eq"
    assert main(_ni_argv(tiny_synthff, ni, "--non_inferiority", "--design_only")) == 0
    assert main(_ni_argv(tiny_synthff, eq, "--design_only")) == 0
    capsys.readouterr()
    for folder, extra in ((ni, []), (eq, ["--non_inferiority"])):
        before = (folder / "design.json").read_bytes()
        assert main(_ni_argv(tiny_synthff, folder, *extra)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "design.json" in err[0], err
        assert (folder / "design.json").read_bytes() == before and LAUNCHED == []


def test_an_equivalence_design_has_no_new_keys(tiny_synthff: Path, tmp_path: Path):
    # designs pre-registered before the non-inferiority mode (results/synthff/confirmatory)
    # must compare equal to a relaunch by this code
    out = tmp_path / "seq"
    assert main(_argv(tiny_synthff, out, "--design_only")) == 0
    design = json.loads((out / "design.json").read_text())
    assert "pairs" not in design and "hypothesis" not in design
    assert "non_inferiority" not in design["statistics"]
    assert design["baseline"] == "ERM"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--pairs", "RoGA_Look"], "--pairs"),
        (["--pairs", "RoGA_Look:RoGA", "RoGA:SAM"], "--pairs"),
        (["--algorithms", "ERM", "RoGA"], "--algorithms"),
    ],
)
def test_bad_pairs_one_line_exit_2(tiny_synthff: Path, tmp_path: Path, capsys, extra, message):
    out = tmp_path / "seq"
    assert main(_ni_argv(tiny_synthff, out, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[-1], err
    assert not out.exists()


def test_non_inferiority_only_with_until_decided(tmp_path: Path, capsys):
    argv = ["launch", "--output_dir", str(tmp_path / "x"), "--non_inferiority",
            "--command_launcher", "fake_sequential", "--skip_confirmation"]  # fmt: skip
    assert main(argv) == 2
    assert "--non_inferiority: only with --until_decided" in capsys.readouterr().err


def test_cost_counts_every_held_out_set_of_a_gid_design(tiny_synthff: Path, tmp_path, capsys):
    # --test_envs_mode single: each trial is one job per held-out manipulation (4), so the worst
    # case is 4 sets x 4 algorithms x 24 trials, not 4 x 24
    out = tmp_path / "gid"
    argv = _ni_argv(tiny_synthff, out, "--non_inferiority", "--design_only")
    argv[argv.index("SynthFFCrossDataset")] = "SynthFFLOMO"
    argv[argv.index("crossdataset")] = "single"
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "worst case: 384 jobs" in text and "planning s.d. 4.2 AUC points" in text
    assert len(json.loads((out / "design.json").read_text())["test_envs"]) == 4
