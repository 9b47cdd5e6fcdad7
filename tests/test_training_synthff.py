"""The real path: ``train`` and ``python -m roga_bench.train`` on tiny SynthFF with ERM and RoGA."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from test_training import METRICS, comparable

from roga_bench.training import TrainConfig, read_records, train


@pytest.fixture(scope="module")
def synthff_dir(request, tmp_path_factory) -> Path:
    """The shared ``tiny_synthff`` fixture (tests/conftest.py), or a tiny build of our own."""
    try:
        return Path(request.getfixturevalue("tiny_synthff"))
    except pytest.FixtureLookupError:
        from roga_bench.datasets.synthff import generate

        return generate(tmp_path_factory.mktemp("synthff"), seed=0, videos=8, frames=4, size=32)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Match the subprocesses (OMP_NUM_THREADS=1) so float reductions run in the same order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def args(data_dir: Path, out: Path, algorithm: str = "ERM", **kw) -> dict:
    base = dict(data_dir=str(data_dir), dataset="SynthFFLOMO", algorithm=algorithm, test_envs=[2])
    base.update(steps=3, checkpoint_freq=2, device="cpu", output_dir=str(out))
    base.update(hparams='{"image_size": 32}')  # the tiny frames' own size: no upsampling work
    return {**base, **kw}


@pytest.mark.parametrize("algorithm", ["ERM", "RoGA"])
def test_three_steps_on_synthff(synthff_dir: Path, tmp_path: Path, algorithm: str) -> None:
    with one_thread():
        out = train(TrainConfig.from_args(args(synthff_dir, tmp_path / "run", algorithm)))
    records = read_records(out / "results.jsonl")
    assert [r["step"] for r in records] == [0, 2]
    env_keys = {k for k in records[0] if k.startswith("env")}
    expected = {f"env{i}_out_{m}" for i in range(4) for m in METRICS}
    expected |= {f"env{i}_test_{m}" for i in range(4) for m in METRICS}
    assert env_keys == expected | {f"env2_in_{m}" for m in METRICS}  # contiguous 0..3, test env 2
    assert all(records[-1][f"env2_test_{m}"] == records[-1][f"env2_in_{m}"] for m in METRICS)
    update_keys = set(records[0]) - env_keys - {"step", "epoch", "step_time", "mem_gb"}
    assert {"args", "hparams", "loss"} <= update_keys
    assert records[0]["dataset_environments"] == ["DF", "F2F", "FS", "NT"]
    for record in records:
        assert 0.0 <= record["env2_in_acc"] <= 1.0 and record["env0_out_loss"] > 0
    assert records[0]["args"]["algorithm"] == algorithm and records[0]["args"]["test_envs"] == [2]
    assert records[0]["hparams"]["backbone"] == "small_cnn"
    assert max(p.stat().st_mtime_ns for p in out.iterdir()) == (out / "done").stat().st_mtime_ns
    saved = torch.load(out / "model.pkl", weights_only=True)
    assert saved["model_num_domains"] == 3 and saved["model_hparams"] == records[0]["hparams"]
    assert not (out / "checkpoint.pt").exists()


def test_same_args_identical_records(synthff_dir: Path, tmp_path: Path) -> None:
    with one_thread():
        a = train(TrainConfig.from_args(args(synthff_dir, tmp_path / "a", frames_per_video=2)))
        b = train(TrainConfig.from_args(args(synthff_dir, tmp_path / "b", frames_per_video=2)))
    ra, rb = read_records(a / "results.jsonl"), read_records(b / "results.jsonl")
    assert comparable(ra) == comparable(rb)
    assert ra[0]["hparams"]["frames_per_video"] == 2  # the CLI field overrides the hparam


def wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        assert proc.poll() is None, f"train exited early: {proc.stderr.read()}"
        time.sleep(0.005)
    raise AssertionError(f"{path}: fewer than {n} lines after {timeout}s")


@pytest.mark.slow
def test_sigkill_then_rerun_matches_uninterrupted(synthff_dir: Path, tmp_path: Path) -> None:
    run = args(synthff_dir, tmp_path / "killed", "RoGA", steps=10, checkpoint_freq=3)
    with one_thread():
        reference = train(TrainConfig.from_args({**run, "output_dir": str(tmp_path / "ref")}))
    cli = [sys.executable, "-m", "roga_bench.train"]
    for key, value in run.items():
        cli += [f"--{key}", *map(str, value if isinstance(value, list) else [value])]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = tmp_path / "killed"
    try:
        wait_for_lines(out / "results.jsonl", 2, proc)  # steps 0 and 3: a checkpoint exists
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "done").exists() and (out / "checkpoint.pt").exists()
    killed_at = len(read_records(out / "results.jsonl"))
    assert killed_at < 4  # it was killed mid-run (4 lines: steps 0, 3, 6, 9)
    with open(out / "results.jsonl", "a") as f:  # and a torn line, as a kill mid-write leaves
        f.write('{"env0_in_acc": 0.5, "st')
    with one_thread():
        train(TrainConfig.from_args(run))
    expected = read_records(reference / "results.jsonl")
    assert [r["step"] for r in expected] == [0, 3, 6, 9]
    assert comparable(read_records(out / "results.jsonl")) == comparable(expected)
    assert (out / "done").exists() and "starting after step" in (out / "out.txt").read_text()
