"""The submitit launcher against a real one-node Slurm (``tests/slurm/start.sh``), marker ``slurm``.

Tiny SynthFF runs (ERM, 32 px, single-threaded so float reductions match the pool launcher's).
Where no such cluster runs, these tests skip with the reason; with ``CI=true`` they fail instead,
since CI starts the cluster and a Slurm that did not come up must not pass as "skipped".
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from test_training import comparable

from roga_bench.sweep import INCOMPLETE, lock_holder, main, make_args_list, make_jobs
from roga_bench.sweep import _submitit as submitit_mod
from roga_bench.sweep._pool import pool
from roga_bench.sweep._submitted import read_submission
from roga_bench.training import read_records

pytestmark = pytest.mark.slurm

START = Path(__file__).parent / "slurm" / "start.sh"
MARK = "# written by roga_bench tests/slurm/start.sh"
TINY = '{"batch_size": 4, "image_size": 32}'
LONG_STEPS, LONG_FREQ = 600, 50  # the interrupted job: long enough to be caught running


def _unavailable() -> str | None:
    """Why the tests cannot use the one-node cluster, or None."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "sbatch/sinfo not found (apt-get install -y slurm-wlm munge)"
    try:
        if MARK not in Path("/etc/slurm/slurm.conf").read_text():
            return (
                "/etc/slurm/slurm.conf is not tests/slurm/start.sh's (not testing a real cluster)"
            )
    except OSError as exc:
        return f"no /etc/slurm/slurm.conf ({exc.strerror})"
    proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        return f"sinfo: {(proc.stderr or 'no node').strip()}"
    return None


@pytest.fixture(scope="module", autouse=True)
def slurm_cluster():
    reason = _unavailable()
    if reason is not None:
        where = f"run `bash {START}` as root first"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: the Slurm test cluster is not up: {reason}", pytrace=False)
        pytest.skip(f"no one-node Slurm test cluster: {reason}; {where}")


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # exported to the jobs by sbatch
    monkeypatch.setattr(submitit_mod, "POLL_S", 1.0)


def _argv(out: Path, data: Path, steps: int, envs: tuple[int, ...], *extra: str) -> list[str]:
    return [
        "launch", "--datasets", "SynthFFLOMO", "--algorithms", "ERM", "--output_dir", str(out),
        "--data_dir", str(data), "--steps", str(steps), "--hparams", TINY,
        "--test_envs", *map(str, envs), "--skip_confirmation", *extra,
    ]  # fmt: skip


def _slurm(*extra: str) -> list[str]:
    return ["--command_launcher", "submitit", "--submitit_cluster", "slurm", *extra]


def _job(out: Path, data: Path, steps: int, env: int):
    args = make_args_list(
        1, ["SynthFFLOMO"], ["ERM"], 0, 1, steps, str(data), "domain_generalization", 0.2,
        hparams=TINY, test_envs=[env],
    )  # fmt: skip
    return make_jobs(args, out)


def _weights(folder: Path) -> dict:
    return torch.load(folder / "model.pkl", weights_only=True)["model_dict"]


def _same_run(a: Path, b: Path) -> None:
    ra, rb = read_records(a / "results.jsonl"), read_records(b / "results.jsonl")
    assert comparable(ra) == comparable(rb) and ra
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _squeue(job_id: str, fmt: str = "%T") -> str:
    proc = subprocess.run(["squeue", "-h", "-j", job_id, "-o", fmt], capture_output=True, text=True)
    return proc.stdout.strip()


def _wait(predicate, what: str, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _n_records(folder: Path) -> int:
    path = folder / "results.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_array_sweep_equals_pool(tiny_synthff, tmp_path, capsys):
    slurm_out, pool_out = tmp_path / "slurm", tmp_path / "pool"
    extra = _slurm("--slurm_time", "10", "--slurm_cpus_per_job", "1", "--slurm_mem", "2G")
    assert main(_argv(slurm_out, tiny_synthff, 2, (0, 1), *extra)) == 0
    assert "submitit: 2 jobs in one array" in capsys.readouterr().out
    ids = [
        read_submission(d).job_id
        for d in sorted(p for p in slurm_out.iterdir() if len(p.name) == 32)
    ]
    assert len({i.split("_")[0] for i in ids}) == 1 and len(ids) == 2  # one array, two tasks
    assert all((d / "done").exists() for d in slurm_out.iterdir() if len(d.name) == 32)
    pool_argv = ["--command_launcher", "pool", "--n_workers", "1", "--worker_threads", "1"]
    assert main(_argv(pool_out, tiny_synthff, 2, (0, 1), *pool_argv)) == 0
    for folder in (p for p in slurm_out.iterdir() if len(p.name) == 32):
        _same_run(folder, pool_out / folder.name)
    tables = _files(slurm_out / "tables")
    assert "figures/cost_auc.csv" in tables  # written; compared below without it
    assert tables and _same_but_cost(tables) == _same_but_cost(_files(pool_out / "tables"))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _same_but_cost(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every written file but the cost figure (its x axis is the measured step time, never equal
    between two runs)."""
    return {k: v for k, v in files.items() if not Path(k).name.startswith("cost_auc.")}


@pytest.fixture(scope="module")
def uninterrupted(tiny_synthff, tmp_path_factory):
    """The long job run straight through by the pool launcher: the reference."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    (job,) = _job(tmp_path_factory.mktemp("ref"), tiny_synthff, LONG_STEPS, 0)
    job.train_args["checkpoint_freq"] = LONG_FREQ
    (outcome,) = pool([job], n_workers=1, worker_threads=1)
    assert outcome.status == "ok"
    return job.output_dir


def _long_argv(out: Path, data: Path, *extra: str) -> list[str]:
    return _argv(out, data, LONG_STEPS, (0,), *_slurm("--slurm_time", "10", *extra))


def _submit_long(out: Path, data: Path, monkeypatch, limit: str = "10") -> Path:
    """Submit the long job (--no_wait) and return its folder once it is past a checkpoint."""
    monkeypatch.setattr("roga_bench.sweep._cli._jobs", _with_freq(LONG_FREQ))
    assert main(_long_argv(out, data, "--no_wait", "--slurm_time", limit)) == 0
    (folder,) = [p for p in out.iterdir() if len(p.name) == 32]
    _wait(lambda: _n_records(folder) >= 2, "the second checkpoint")
    return folder


def _with_freq(freq: int):
    from roga_bench.sweep import _cli

    original = _cli._jobs

    def jobs(args, validate):
        result = original(args, validate)
        for job in result:
            job.train_args["checkpoint_freq"] = freq
        return result

    return jobs


@pytest.mark.parametrize(
    ("limit", "signals", "case"),
    [
        # Slurm's time-limit warning (sbatch --signal=USR2@90); submitit calls a signal in the
        # last 10 minutes of a job's time a time-out
        ("10", ["USR2"], "timed-out"),
        # a preemption as submitit's SlurmJob._interrupt sends it: SIGTERM, then USR2
        ("30", ["TERM", "USR2"], "preempted"),
    ],
)
def test_signalled_job_requeues_and_resumes_identically(
    tiny_synthff, tmp_path, monkeypatch, uninterrupted, capsys, limit, signals, case
):
    out = tmp_path / "sweep"
    folder = _submit_long(out, tiny_synthff, monkeypatch, limit)
    job_id = read_submission(folder).job_id
    assert main(["status", *_long_argv(out, tiny_synthff)[1:]]) == 0
    assert f"RUNNING [{job_id}]" in capsys.readouterr().out
    log_path = Path(read_submission(folder).folder, f"{job_id}_0_log.out")
    for k, sig in enumerate(signals):
        subprocess.run(["scancel", f"--signal={sig}", job_id], check=True)
        if k < len(signals) - 1:
            # Slurm delivers signals asynchronously: let submitit see this one before the next,
            # or a late SIGTERM also hits the `scontrol requeue` that the USR2 handler runs
            _wait(lambda s=sig: f"signal SIG{s}" in log_path.read_text(), f"SIG{sig} delivered")
    _wait(lambda: (folder / "done").exists(), "the requeued job to finish")
    sub = read_submission(folder)
    assert sub is not None and sub.job_id == job_id  # the same Slurm job, requeued
    log = Path(sub.folder, f"{job_id}_0_log.out").read_text()
    assert f"this job is {case}" in log and f"Requeued job {job_id}" in log
    resumed = re.search(r"starting after step ([1-9]\d*)", (folder / "out.txt").read_text())
    assert resumed, "the requeued job did not resume from a checkpoint"
    _same_run(folder, uninterrupted)


def test_scancel_running_job_then_relaunch_resumes(
    tiny_synthff, tmp_path, monkeypatch, uninterrupted, capsys
):
    out = tmp_path / "sweep"
    folder = _submit_long(out, tiny_synthff, monkeypatch)
    job_id = read_submission(folder).job_id
    # scancel sends SIGTERM, which submitit ignores; on this one-node Slurm (proctrack/linuxproc)
    # the SIGKILL that should follow did not reach the task, so the job would finish. Kill the
    # training process as a node would, then cancel the job.
    holder = lock_holder(folder)
    assert holder is not None, "the job is not running"
    os.kill(int(holder), signal.SIGKILL)
    subprocess.run(["scancel", job_id], check=True)
    _wait(lambda: _squeue(job_id) in ("", "CANCELLED", "FAILED"), "the cancelled job to end")
    assert not (folder / "done").exists()
    capsys.readouterr()
    assert main(_long_argv(out, tiny_synthff)) == 0  # relaunch: submitted again, resumes
    printed = capsys.readouterr().out
    assert "About to launch 1 jobs (1 resumed)" in printed
    assert read_submission(folder).job_id != job_id
    steps = [r["step"] for r in read_records(folder / "results.jsonl")]
    assert steps == sorted(set(steps))  # nothing recorded twice
    _same_run(folder, uninterrupted)


def _foreign(*extra: str) -> str:
    """A job that is not this sweep's (another user's, as far as the sweep can tell)."""
    argv = [
        "sbatch",
        "--parsable",
        "-o",
        "/dev/null",
        "-J",
        "foreign",
        *extra,
        "--wrap",
        "sleep 300",
    ]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def _ncpus() -> int:
    proc = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%c"], check=True, capture_output=True, text=True
    )
    return int(proc.stdout.split()[0])


def test_delete_incomplete_cancels_only_this_sweeps_jobs(tiny_synthff, tmp_path, capsys):
    blocker = _foreign("-c", str(_ncpus()))  # holds every CPU: later jobs wait for Resources
    queued = ""
    try:
        _wait(lambda: _squeue(blocker) == "RUNNING", "the foreign blocker to start")
        out = tmp_path / "sweep"
        argv = _argv(out, tiny_synthff, 2, (0,), *_slurm("--slurm_time", "5", "--no_wait"))
        assert main(argv) == 0
        queued = _foreign("-c", "1")  # queued behind ours
        (folder,) = [p for p in out.iterdir() if len(p.name) == 32]
        ours = read_submission(folder).job_id
        _wait(lambda: _squeue(ours, "%T %r") == "PENDING Resources", "our job to wait")
        capsys.readouterr()
        assert main(["status", *argv[1:]]) == 0
        assert f"PENDING (Resources) [{ours}]" in capsys.readouterr().out
        assert main(argv) == 0  # relaunch while queued: nothing submitted twice
        printed = capsys.readouterr().out
        assert f"submitit job {ours} (slurm) is PENDING" in printed and "submitit: " not in printed
        assert main(["delete_incomplete", *argv[1:]]) == 0
        printed = capsys.readouterr().out
        assert f"Cancelled 1 Slurm jobs of this sweep: {ours}" in printed
        assert "Deleted 1 jobs!" in printed and not folder.exists()
        assert _squeue(ours) in ("", "CANCELLED")
        assert _squeue(blocker) == "RUNNING" and _squeue(queued) == "PENDING"
    finally:
        subprocess.run(["scancel", blocker, *([queued] if queued else [])], check=False)


def test_failed_job_shows_reason_and_log_then_relaunch_retries(tiny_synthff, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = _argv(out, tiny_synthff, 2, (1,), *_slurm("--slurm_time", "5"))
    argv[argv.index("--hparams") + 1] = '{"batch_size": 4, "image_size": 32, "lr": 1e30}'
    assert main(argv) == 1
    err = capsys.readouterr().err
    (folder,) = [p for p in out.iterdir() if len(p.name) == 32]
    first = read_submission(folder)
    assert "1 job(s) failed" in err and f"{first.job_id}_0_log.err" in err
    assert f"Slurm job {first.job_id} FAILED (NonZeroExitCode) exit 1:0" in err
    assert main(["status", *argv[1:]]) == 0
    status = capsys.readouterr().out
    assert f"FAILED (NonZeroExitCode) exit 1:0 [{first.job_id}] log" in status
    assert INCOMPLETE in status
    assert main(argv) == 1  # relaunch retries it: a new Slurm job, failing the same way
    assert read_submission(folder).job_id != first.job_id


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--slurm_partition", "nope"), "invalid partition"),
        (("--slurm_time", "2:00:00"), "time limit"),
    ],
)
def test_bad_cluster_input_is_one_error_and_writes_nothing(
    tiny_synthff, tmp_path, capsys, flags, message
):
    out = tmp_path / "sweep"
    assert main(_argv(out, tiny_synthff, 2, (0,), *_slurm(*flags))) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --command_launcher submitit: sbatch refuses the job")
    assert message in err.lower() and len(err.splitlines()) == 1
    assert not out.exists()
