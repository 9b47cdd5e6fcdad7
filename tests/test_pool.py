"""The ``pool`` launcher: warm workers give fresh-process results; a dead worker fails one job.

Real training (a few steps of tiny SynthFF at 32 px), single-threaded on both sides so float
reductions run in the same order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from test_training import comparable

from roga_bench.sweep import DONE, INCOMPLETE, job_command, lock_holder, make_args_list, make_jobs
from roga_bench.sweep._pool import pool
from roga_bench.training import read_records

TINY = '{"batch_size": 4, "image_size": 32}'


def _jobs(data: Path, out: Path, algorithms: list[str], steps: int, envs=(0,)) -> list:
    args = make_args_list(
        1, ["SynthFFLOMO"], algorithms, 0, 1, steps, str(data), "domain_generalization", 0.2,
        hparams=TINY, test_envs=list(envs),
    )  # fmt: skip
    return make_jobs(args, out)


def _weights(folder: Path) -> dict:
    return torch.load(folder / "model.pkl", weights_only=True)["model_dict"]


def test_warm_worker_matches_a_fresh_process(tiny_synthff, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (fresh,) = _jobs(tiny_synthff, tmp_path / "fresh", ["RoGA"], 3)
    subprocess.run(job_command(fresh.train_args), check=True, capture_output=True)
    # one worker: SAM runs first, then RoGA in the same (now warm) process
    first, warm = _jobs(tiny_synthff, tmp_path / "warm", ["SAM", "RoGA"], 3)
    outcomes = pool([first, warm], n_workers=1, worker_threads=1)
    assert [o.status for o in outcomes] == ["ok", "ok"]
    a = read_records(fresh.output_dir / "results.jsonl")
    b = read_records(warm.output_dir / "results.jsonl")
    assert comparable(a) == comparable(b) and len(a) == 2
    wa, wb = _weights(fresh.output_dir), _weights(warm.output_dir)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert b[0]["args"]["output_dir"] == str(warm.output_dir)  # its own folder and logs
    assert "done:" in (warm.output_dir / "out.txt").read_text()
    assert "SAM" not in (warm.output_dir / "out.txt").read_text()
    assert (warm.output_dir / "launcher.log").exists()


def _kill_when_running(job, sig: int, seen: dict) -> None:
    """Send ``sig`` to the process that holds the job's lock once it has trained a little."""
    deadline = time.time() + 120
    while time.time() < deadline:
        pid = lock_holder(job.output_dir)
        if pid and (job.output_dir / "results.jsonl").exists():
            seen["pid"] = int(pid)
            os.kill(int(pid), sig)
            return
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_dead_worker_fails_only_its_job(tiny_synthff, tmp_path, sig):
    (victim,) = _jobs(tiny_synthff, tmp_path / "s", ["ERM"], 4000)
    others = _jobs(tiny_synthff, tmp_path / "s", ["ERM"], 2, envs=(1, 2))
    seen: dict = {}
    killer = threading.Thread(target=_kill_when_running, args=(victim, sig, seen))
    killer.start()
    outcomes = pool([victim, *others], n_workers=1, worker_threads=1)
    killer.join()
    assert seen["pid"] != os.getpid()  # a worker died, not the launcher
    assert [o.status for o in outcomes] == ["failed", "ok", "ok"]
    assert [j.state for j in (victim, *others)] == [INCOMPLETE, DONE, DONE]
    err = (victim.output_dir / "err.txt").read_text()
    name = signal.Signals(sig).name
    assert f"killed by signal {int(sig)} ({name}), exit code -{int(sig)}" in err
    assert f"pid {seen['pid']}" in outcomes[0].message
    assert lock_holder(victim.output_dir) is None  # nothing left blocked


def test_worker_dies_with_the_launcher(tiny_synthff, tmp_path):
    (job,) = _jobs(tiny_synthff, tmp_path / "s", ["ERM"], 4000)
    code = (
        "from pathlib import Path; from roga_bench.sweep import Job; "
        "from roga_bench.sweep._pool import pool; "
        f"pool([Job({job.train_args!r}, Path({str(job.output_dir)!r}))], 1, 1)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (lock_holder(job.output_dir) and (job.output_dir / "results.jsonl").exists()):
            assert time.time() < deadline and launcher.poll() is None
            time.sleep(0.05)
        worker = int(lock_holder(job.output_dir))
        assert worker != launcher.pid
    finally:
        launcher.kill()
        launcher.wait()
    deadline = time.time() + 10
    while lock_holder(job.output_dir) is not None and time.time() < deadline:
        time.sleep(0.05)
    assert lock_holder(job.output_dir) is None  # the worker went with it: the job can resume
    assert _gone(worker)


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for init to reap it counts: it runs nothing)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def test_pool_options(tiny_synthff, tmp_path):
    with pytest.raises(ValueError, match="must be >= 1"):
        pool(_jobs(tiny_synthff, tmp_path, ["ERM"], 1), n_workers=1, worker_threads=-1)
    assert pool([], n_workers=2) == []
