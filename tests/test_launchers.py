"""Launchers: parallel slots, submitit's local executor, and real tiny end-to-end sweeps.

The parallel test runs the stand-in train module (tests/fake_domainbed/roga_train_standin.py);
the end-to-end tests train ERM for two steps on a tiny SynthFF build.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from roga_bench._cores import available_cores
from roga_bench._registry import ALGORITHMS, DATASETS, list_launchers
from roga_bench.sweep import DONE, main, make_args_list, make_jobs

FAKE = Path(__file__).parent / "fake_domainbed"
TINY_HPARAMS = '{"batch_size": 4, "image_size": 32}'


class _DS:
    ENVIRONMENTS = ["DF", "F2F", "FS", "NT"]
    HPARAMS: dict = {}


class _Alg:
    HPARAMS: dict = {}


@pytest.fixture
def standins(monkeypatch, tmp_path):
    ALGORITHMS.names(), DATASETS.names()
    monkeypatch.setitem(ALGORITHMS._entries, "SwA", _Alg)
    monkeypatch.setitem(DATASETS._entries, "SwDS", _DS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    return tmp_path / "sweep"


def test_registered_launchers():
    assert {"local", "parallel", "dummy", "submitit"} <= set(list_launchers())


def test_parallel_slots_split_threads(standins, monkeypatch, capsys):
    monkeypatch.setattr("roga_bench.sweep._devices.n_gpus", lambda: 0)
    argv = ["launch", "--datasets", "SwDS", "--algorithms", "SwA", "--output_dir", str(standins)]
    argv += ["--command_launcher", "parallel", "--n_workers", "2", "--train_module"]
    assert main([*argv, "roga_train_standin", "--test_envs", "0", "1", "2"]) == 0
    jobs = [j for j in make_jobs(_args([0, 1, 2]), standins)]
    assert [j.state for j in jobs] == [DONE] * 3
    record = json.loads((jobs[0].output_dir / "results.jsonl").read_text())
    assert record["omp_num_threads"] == str(max(1, available_cores() // 2))
    assert record["cuda_visible_devices"] is None
    assert (jobs[0].output_dir / "launcher.log").exists()


def test_parallel_sets_cuda_visible_devices_per_slot(standins, monkeypatch):
    monkeypatch.setattr("roga_bench.sweep._devices.n_gpus", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    argv = ["launch", "--datasets", "SwDS", "--algorithms", "SwA", "--output_dir", str(standins)]
    argv += ["--command_launcher", "parallel", "--train_module", "roga_train_standin"]
    assert main([*argv, "--test_envs", "0", "1"]) == 0
    seen = set()
    for job in make_jobs(_args([0, 1]), standins):
        seen.add(json.loads((job.output_dir / "results.jsonl").read_text())["cuda_visible_devices"])
    assert seen <= {"0", "1"} and seen


def _args(test_envs: list[int], dataset: str = "SwDS", algorithm: str = "SwA", **kw) -> list:
    args = make_args_list(1, [dataset], [algorithm], 0, 1, None, None, "domain_generalization", 0.2)
    return [a for a in args if a["test_envs"][0] in test_envs]


def _e2e_argv(out: Path, data: Path, *extra: str) -> list[str]:
    return [
        "launch", "--datasets", "SynthFFLOMO", "--algorithms", "ERM", "--output_dir", str(out),
        "--data_dir", str(data), "--steps", "2", "--hparams", TINY_HPARAMS, "--test_envs", "0", "1",
        *extra,
    ]  # fmt: skip


def _check_done(out: Path) -> None:
    folders = sorted(d for d in out.iterdir() if len(d.name) == 32)
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "done").exists()
        record = json.loads((folder / "results.jsonl").read_text().splitlines()[-1])
        assert record["step"] == 1 and record["args"]["output_dir"] == str(folder)
        assert 0.0 <= record["env1_out_auc"] <= 1.0


@pytest.mark.slow
def test_submitit_local_executor_runs_real_jobs(tmp_path, tiny_synthff, monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "sweep"
    extra = ["--command_launcher", "submitit", "--submitit_cluster", "local", "--timeout_min", "5"]
    assert main(_e2e_argv(out, tiny_synthff, *extra)) == 0
    _check_done(out)
    assert "submitit: 2 jobs in one array" in capsys.readouterr().out
    assert any((out / "submitit").iterdir())
    assert main(_e2e_argv(out, tiny_synthff, *extra)) == 0  # relaunch: nothing submitted
    assert "About to launch 0 jobs" in capsys.readouterr().out


@pytest.mark.slow
def test_local_in_process_real_jobs_then_report(tmp_path, tiny_synthff, capsys):
    out = tmp_path / "sweep"
    assert main(_e2e_argv(out, tiny_synthff, "--in_process")) == 0
    _check_done(out)
    printed = capsys.readouterr().out
    assert "2 jobs: 2 done, 0 incomplete, 0 not launched." in printed
    assert "ERM" in printed  # the final table names the algorithm


def test_local_in_process_failing_real_job(tmp_path, tiny_synthff, capsys):
    out = tmp_path / "sweep"
    argv = _e2e_argv(out, tiny_synthff, "--in_process", "--test_envs", "1")
    argv[argv.index("--hparams") + 1] = '{"batch_size": 4, "image_size": 32, "lr": 1e30}'
    assert main(argv) == 1  # the loss or the scores blow up: the run fails, the sweep reports it
    err = capsys.readouterr().err
    (folder,) = [d for d in out.iterdir() if len(d.name) == 32]
    assert "1 job(s) failed" in err and str(folder) in err
    assert not (folder / "done").exists()


def _submitit_argv(out: Path, *extra: str) -> list[str]:
    argv = ["launch", "--datasets", "SwDS", "--algorithms", "SwA", "--output_dir", str(out)]
    argv += ["--command_launcher", "submitit", "--submitit_cluster", "local", "--timeout_min", "5"]
    return [*argv, "--train_module", "roga_train_standin", "--test_envs", "0", "1", *extra]


def _wait_done(folders: list[Path], timeout_s: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not all((d / "done").exists() for d in folders):
        assert time.monotonic() < deadline, "submitit local jobs did not finish"
        time.sleep(0.5)


def test_submitit_relaunch_skips_queued_jobs_and_keeps_them(standins, capsys, monkeypatch):
    """Issue 11.5: after --no_wait, launch submitted the jobs again, delete_incomplete deleted
    them. Their submitit job ids are recorded in the folders and asked about first."""
    from roga_bench.sweep._submitted import RECORD_NAME, active_submission

    release = standins.parent / "release"  # the jobs run until this file exists
    monkeypatch.setenv("ROGA_STANDIN_WAIT_FOR", str(release))
    argv = _submitit_argv(standins, "--no_wait")
    assert main(argv) == 0
    folders = sorted(d for d in standins.iterdir() if len(d.name) == 32)
    assert len(folders) == 2
    first = {d: json.loads((d / RECORD_NAME).read_text()) for d in folders}
    assert all(r["cluster"] == "local" and r["job_id"] for r in first.values())
    assert all(active_submission(d) is not None for d in folders)  # still waiting
    capsys.readouterr()
    assert main(argv) == 0  # relaunch while queued/running: nothing submitted again
    out = capsys.readouterr().out
    assert out.count("is RUNNING") == 2 and "submitit: " not in out
    assert {d: json.loads((d / RECORD_NAME).read_text()) for d in folders} == first
    delete = ["delete_incomplete", *argv[1:]]
    assert main([*delete, "--skip_confirmation"]) == 0
    assert "Deleted 0 jobs!" in capsys.readouterr().out and all(d.is_dir() for d in folders)
    release.touch()
    _wait_done(folders)
    assert all(active_submission(d) is None for d in folders)  # finished: no longer live
    assert main(argv) == 0
    assert "About to launch 0 jobs" in capsys.readouterr().out


def test_a_dead_submission_is_not_live(tmp_path):
    """A recorded job whose process has ended (crashed, cancelled) is launched again."""
    import subprocess
    import sys
    import time

    from roga_bench.sweep._submitted import active_submission, record_submissions

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 10
    while cmdline.parent.exists() and not cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)  # exec'd: past the moment a new process has no command line yet

    class _Job:
        job_id = str(proc.pid)

    try:
        record_submissions([tmp_path], [_Job()], "local", tmp_path / "submitit")
        # alive, but not submitit's worker (a reused pid): not live either
        assert active_submission(tmp_path) is None
    finally:
        proc.kill()
        proc.wait()
    (tmp_path / "submitit_job.json").write_text("{not json")
    assert active_submission(tmp_path) is None  # an unreadable record never blocks a job
