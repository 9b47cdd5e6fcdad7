"""Sweep job grid, hashing, states, locks and CLI (``python -m roga_bench.sweep``).

Stand-in algorithms/datasets are registered for the test only (so counts do not depend on what
other packages register); jobs run through ``tests/fake_domainbed/roga_train_standin.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.hparams import HParam
from roga_bench.sweep import (
    DONE,
    INCOMPLETE,
    NOT_LAUNCHED,
    job_hash,
    job_lock,
    lock_holder,
    main,
    make_args_list,
    make_jobs,
    parse_grid,
    select_test_envs,
)

FAKE = Path(__file__).parent / "fake_domainbed"
STANDIN = "roga_train_standin"


class SweepDS:
    ENVIRONMENTS = ["DF", "F2F", "FS", "NT"]
    HPARAMS: dict = {}


class SweepCrossDS(SweepDS):
    ENVIRONMENTS = ["DF", "F2F", "FS", "NT", "CDF", "UADFV", "DFDC"]


class SweepAlg:
    HPARAMS = {
        "rho": HParam(0.05, minimum=0.0),
        "alpha": HParam(0.001, minimum=0.0),
        "fail": HParam(False, choices=(True, False)),
    }


@pytest.fixture
def standins(monkeypatch, tmp_path):
    """Register stand-ins (undone after the test) and let child processes import the fake train."""
    ALGORITHMS.names(), DATASETS.names()  # import the real packages first
    for name in ("SwA", "SwB"):
        monkeypatch.setitem(ALGORITHMS._entries, name, SweepAlg)
    monkeypatch.setitem(DATASETS._entries, "SwDS", SweepDS)
    monkeypatch.setitem(DATASETS._entries, "SwCross", SweepCrossDS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path / "sweep"


def _cli(out: Path, *extra: str) -> list[str]:
    return ["--datasets", "SwDS", "--algorithms", "SwA", "--output_dir", str(out), *extra]


def _jobs(out: Path, test_envs: list[int]) -> list:
    """The jobs ``_cli(out, "--test_envs", ...)`` selects."""
    args = make_args_list(1, ["SwDS"], ["SwA"], 0, 1, None, None, "domain_generalization", 0.2)
    return make_jobs([a for a in args if a["test_envs"][0] in test_envs], out)


def test_job_count_matches_domainbed_loops(standins):
    args = make_args_list(2, ["SwDS"], ["SwA", "SwB"], 0, 2, None, None, "dg", 0.2, True)
    assert len(args) == 2 * 4 * 2 * 2
    # DomainBed's loop order: trial, dataset, algorithm, test envs, hparams seed
    assert [
        (a["trial_seed"], a["algorithm"], a["test_envs"], a["hparams_seed"]) for a in args[:3]
    ] == [
        (0, "SwA", [0], 0),
        (0, "SwA", [0], 1),
        (0, "SwA", [1], 0),
    ]
    assert len(make_jobs(args, standins)) == 32


def test_hash_is_md5_of_domainbed_args(standins):
    # seed_policy domainbed: DomainBed's keys and seed (the default, paired, adds seed_policy)
    (args,) = make_args_list(
        1, ["SwDS"], ["SwA"], 0, 1, 3, "/data", "domain_generalization", 0.2, True, test_envs=[2],
        seed_policy="domainbed",
    )  # fmt: skip
    seed_str = str(("SwDS", "SwA", [2], 0, 0))
    expected_seed = int(hashlib.md5(seed_str.encode()).hexdigest(), 16) % 2**31
    by_hand = {
        "dataset": "SwDS",
        "algorithm": "SwA",
        "test_envs": [2],
        "holdout_fraction": 0.2,
        "hparams_seed": 0,
        "data_dir": "/data",
        "task": "domain_generalization",
        "trial_seed": 0,
        "seed": expected_seed,
        "steps": 3,
    }
    assert args == by_hand
    digest = hashlib.md5(json.dumps(by_hand, sort_keys=True).encode()).hexdigest()
    assert job_hash(args) == digest
    (job,) = make_jobs([args], standins)
    assert job.output_dir == standins / digest
    assert job.train_args["output_dir"] == str(standins / digest)


def test_data_dir_only_when_given(standins):
    (args,) = make_args_list(1, ["SwDS"], ["SwA"], 0, 1, None, None, "dg", 0.2, test_envs=[0])
    assert "data_dir" not in args and "steps" not in args and "hparams" not in args


def test_grid_and_backbones_expand_exactly(standins):
    grid = parse_grid("alpha=0.001,0.002 rho=0.05,0.1")
    assert grid == [
        {"alpha": 0.001, "rho": 0.05},
        {"alpha": 0.001, "rho": 0.1},
        {"alpha": 0.002, "rho": 0.05},
        {"alpha": 0.002, "rho": 0.1},
    ]
    args = make_args_list(
        1, ["SwDS"], ["SwA"], 0, 1, None, None, "dg", 0.2, hparams='{"lr": 0.01}',
        backbones=["small_cnn", "resnet34"], grid=grid, test_envs=[0],
    )  # fmt: skip
    assert len(args) == 8
    assert args[0]["hparams"] == json.dumps(
        {"alpha": 0.001, "backbone": "small_cnn", "lr": 0.01, "rho": 0.05}, sort_keys=True
    )
    assert {a["hparams_seed"] for a in args} == {0}
    assert len({job_hash(a) for a in args}) == 8
    assert parse_grid(["optimizer=sgd,adam", "data_augmentation=true"]) == [
        {"optimizer": "sgd", "data_augmentation": True},
        {"optimizer": "adam", "data_augmentation": True},
    ]


@pytest.mark.parametrize(
    "text", ["alpha", "=0.1", "alpha=", "alpha=0.1,,0.2", "alpha=1 alpha=2", "alpha=[1,2]", ""]
)
def test_grid_parse_errors(text):
    with pytest.raises(ValueError, match="--grid"):
        parse_grid(text)


def test_grid_replaces_random_search(standins):
    with pytest.raises(ValueError, match="--grid replaces random search"):
        make_args_list(1, ["SwDS"], ["SwA"], 0, 3, None, None, "dg", 0.2, grid=[{"rho": 0.1}])


def test_test_env_modes(standins):
    assert select_test_envs("SwDS", "single") == [[0], [1], [2], [3]]
    assert len(select_test_envs("SwDS", "pairs")) == 6
    assert select_test_envs("SwDS", "all") == [
        [0],
        [0, 1],
        [0, 2],
        [0, 3],
        [1],
        [1, 2],
        [1, 3],
        [2],
        [2, 3],
        [3],
    ]
    assert select_test_envs("SwCross", "crossdataset") == [[4, 5, 6]]
    assert select_test_envs("SwDS", "pairs", only=[1, 3]) == [[1, 3]]
    with pytest.raises(ValueError, match="more than 4"):
        select_test_envs("SwDS", "crossdataset")


BAD_INPUT = [
    (["--datasets", "Nope"], "unknown dataset 'Nope'"),
    (["--algorithms", "Nope"], "unknown algorithm 'Nope'"),
    (["--command_launcher", "nope"], "unknown launcher 'nope'"),
    (["--test_envs", "4"], "test env index 4 out of range for SwDS"),
    (["--hparams", "{rho: 1"], "--hparams is not valid JSON"),
    (["--hparams", "[1]"], "--hparams must be a JSON object"),
    (["--hparams", '{"nope": 1}'], "unknown hparam 'nope'"),
    (["--hparams", '{"rho": -1}'], "--hparams: hparam 'rho' = -1 is out of range; expected"),
    (["--grid", "rho=0.1,-0.1"], "'rho' = -0.1"),
    (
        ["--command_launcher", "local", "--n_workers", "2"],
        "--n_workers: not an option of the 'local' launcher",
    ),
    (["--worker_threads", "0"], "--worker_threads must be > 0"),
    (["--command_launcher", "parallel", "--n_workers", "0"], "--n_workers must be > 0"),
    (["--train_module", "x; rm -rf /"], "expected a dotted module name"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_exits_nonzero_without_folders(standins, capsys, extra, message):
    argv = ["launch", "--datasets", "SwDS", "--algorithms", "SwA", "--output_dir", str(standins)]
    assert main([*argv, "--train_module", STANDIN, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not standins.exists()


def test_output_dir_that_is_a_file(standins, capsys):
    standins.write_text("not a folder")
    assert main(["launch", *_cli(standins)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_output_dir_not_writable(standins, capsys, monkeypatch):
    monkeypatch.setattr("roga_bench.sweep._cli.os.access", lambda *a: False)  # root ignores chmod
    assert main(["launch", *_cli(standins / "sub")]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert not standins.exists()


def test_launch_then_relaunch_runs_nothing_done(standins, capsys):
    argv = ["launch", *_cli(standins, "--test_envs", "0", "1", "--train_module", STANDIN)]
    assert main(argv) == 0
    jobs = _jobs(standins, [0, 1])
    assert [j.state for j in jobs] == [DONE, DONE]
    out = capsys.readouterr().out
    assert "2 jobs: 2 done, 0 incomplete, 0 not launched." in out
    assert "0.7500" in out or "Table" in out  # the report: summary (val AUC 0.75) or tables
    assert main(argv) == 0
    assert "About to launch 0 jobs" in capsys.readouterr().out
    for job in jobs:  # one line each: nothing ran twice
        assert len((job.output_dir / "results.jsonl").read_text().splitlines()) == 1


def test_incomplete_job_is_resumed(standins, capsys):
    (job,) = _jobs(standins, [2])
    job.output_dir.mkdir(parents=True)
    assert job.state == INCOMPLETE
    assert main(["launch", *_cli(standins, "--test_envs", "2", "--train_module", STANDIN)]) == 0
    assert "(1 resumed)" in capsys.readouterr().out
    assert job.state == DONE


def test_failing_job_exits_nonzero_with_err_tail(standins, capsys):
    argv = _cli(standins, "--test_envs", "0", "1", "--train_module", STANDIN)
    assert main(["launch", *argv, "--grid", "fail=true,false"]) == 1
    err = capsys.readouterr().err
    assert "2 job(s) failed" in err
    assert "RuntimeError: boom (asked to fail)" in err
    folders = [d for d in standins.iterdir() if len(d.name) == 32]
    failed = [d for d in folders if not (d / "done").exists()]
    assert len(folders) == 4 and len(failed) == 2 and all(str(d) in err for d in failed)


def test_delete_incomplete_respects_live_lock(standins, capsys):
    jobs = _jobs(standins, [0, 1, 2])
    for job in jobs[:2]:
        job.output_dir.mkdir(parents=True)
    (jobs[2].output_dir).mkdir(parents=True)
    (jobs[2].output_dir / "done").write_text("done")
    with job_lock(jobs[0].output_dir):  # another fd: flock conflicts even within one process
        assert lock_holder(jobs[0].output_dir) == str(os.getpid())
        argv = _cli(standins, "--test_envs", "0", "1", "2", "--train_module", STANDIN)
        assert main(["launch", *argv]) == 0
        assert "locked by live process" in capsys.readouterr().out
        assert main(["delete_incomplete", *argv]) == 0
        assert "not deleting" in capsys.readouterr().out
        assert main(["status", *argv]) == 0
        assert capsys.readouterr().out.count("Incomplete (running)") == 1
        assert [j.state for j in jobs] == [INCOMPLETE, DONE, DONE]
    assert lock_holder(jobs[0].output_dir) is None
    assert main(["delete_incomplete", *argv]) == 0
    assert [j.state for j in jobs] == [NOT_LAUNCHED, DONE, DONE]


def test_status_and_list(standins, capsys):
    argv = _cli(standins, "--algorithms", "SwA", "SwB", "--n_hparams", "2")
    assert main(["list", *argv]) == 0
    out = capsys.readouterr().out
    assert out.count("Not launched: ") == 16
    assert "16 jobs: 0 done, 0 incomplete, 16 not launched." in out
    assert main(["status", *argv]) == 0
    out = capsys.readouterr().out
    assert "state" in out and "algorithm" in out and out.count("Not launched") == 16
    assert "16 jobs: 0 done, 0 incomplete, 16 not launched." in out
    assert not standins.exists()


def test_dummy_prints_argv_and_runs_nothing(standins, capsys):
    argv = _cli(
        standins, "--test_envs", "0", "--command_launcher", "dummy", "--hparams", '{"rho": 0.2}'
    )
    assert main(["launch", *argv]) == 0
    out = capsys.readouterr().out
    assert "-m roga_bench.train --algorithm SwA --dataset SwDS" in out
    assert "--hparams '{\"rho\": 0.2}'" in out  # quoted for copy-paste, never run by a shell
    assert not standins.exists()


def test_embedded_default_sweep(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Not")]
    assert len(lines) == 16
    sweep = str(tmp_path / "results" / "sweep")
    for algorithm in ("ERM", "SAM", "SAGM", "RoGA"):
        for env in range(4):
            assert (
                sum(f"SynthFFLOMO {algorithm} test_envs=[{env}] hparams_seed=0" in x for x in lines)
                == 1
            )
    assert all(sweep in x for x in lines)
    args = make_args_list(
        1, ["SynthFFLOMO"], ["ERM"], 0, 1, None, None, "domain_generalization", 0.2
    )
    assert "data_dir" not in args[0]  # hashes the same on every machine
    assert not (tmp_path / "results").exists()


def test_summary_table_fallback(standins, monkeypatch, capsys):
    from roga_bench.sweep import _report

    assert (
        main(["launch", *_cli(standins, "--test_envs", "0", "2", "--train_module", STANDIN)]) == 0
    )
    capsys.readouterr()
    table = _report.summary_table(_jobs(standins, [0, 2]))
    rows = [line.split() for line in table.splitlines()[2:]]
    # test env 0: val = env1_out only (0.25); test env 2: val = mean(env0, env1) = 0.5
    assert [(r[1], r[-2], r[-1]) for r in rows] == [
        ("DF", "0.2500", "0.6000"),
        ("FS", "0.5000", "0.6000"),
    ]
    monkeypatch.setitem(sys.modules, "roga_bench.reporting", None)  # as before reporting existed
    report = _report.final_report(standins, _jobs(standins, [0, 2]))
    assert report.startswith("Per-job summary") and "0.6000" in report


def test_lock_outlives_launcher_in_child(tmp_path):
    import subprocess

    job_dir = tmp_path / "job"
    with job_lock(job_dir) as fd:
        code = "import sys, time; sys.stdin.read(); time.sleep(30)"  # holds the fd until killed
        child = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=(fd,), stdin=subprocess.PIPE
        )
    try:
        assert lock_holder(job_dir) == str(os.getpid())  # the launcher is gone, the child runs
    finally:
        child.kill()
        child.wait()
    assert lock_holder(job_dir) is None
