"""Killing the launcher at several points and relaunching gives the uninterrupted suite's tables.

A tiny suite (three 100-step jobs on tiny SynthFF, checkpoints at steps 0 and 80) is registered
in :data:`roga_bench.sweep._suite.SUITES`; the interrupted launcher runs as a child process that
the test SIGKILLs (its pool workers die with it), then relaunches.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_training import comparable

from roga_bench.sweep import main
from roga_bench.sweep._suite import SUITES, Block, Suite
from roga_bench.training import read_records

TINY = '{"batch_size": 4, "image_size": 32}'
STEPS = 100  # SynthFF checkpoints every 80 steps: records at 0, 80 and 99

LAUNCH = """
import sys
from roga_bench.sweep._suite import SUITES, Suite
sys.path.insert(0, {tests!r})
from test_suite_relaunch import tiny_blocks
SUITES["tiny"] = Suite(1, tiny_blocks)
from roga_bench.sweep import main
sys.exit(main(sys.argv[1:]))
"""


def tiny_blocks(family: str) -> list[Block]:
    return [
        Block("t", "II", "LOMO", ("ERM", "RoGA"), test_envs=(0,)),
        Block("u", "II", "LOMO", ("ERM",), test_envs=(1,)),
    ]


def _argv(data: Path, out: Path) -> list[str]:
    return [
        "launch", "--suite", "tiny", "--data_dir", str(data), "--output_dir", str(out),
        "--steps", str(STEPS), "--hparams", TINY, "--n_workers", "1", "--worker_threads", "1",
        "--skip_confirmation",
    ]  # fmt: skip


def _folders(out: Path) -> list[Path]:
    return sorted(d for d in out.iterdir() if len(d.name) == 32) if out.exists() else []


def _lines(out: Path) -> int:
    files = [d / "results.jsonl" for d in _folders(out)]
    return sum(len(f.read_text().splitlines()) for f in files if f.exists())


def _finished(out: Path) -> dict[str, tuple[bytes, int]]:
    """Done jobs' results.jsonl bytes and mtime: a re-run would change the mtime."""
    done = [d for d in _folders(out) if (d / "done").exists()]
    return {d.name: ((d / "results.jsonl").read_bytes(), (d / "results.jsonl").stat().st_mtime_ns)
            for d in done}  # fmt: skip


def _launch_and_kill(data: Path, out: Path, at_lines: int) -> None:
    code = LAUNCH.format(tests=str(Path(__file__).parent))
    child = subprocess.Popen(
        [sys.executable, "-c", code, *_argv(data, out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 180
        while _lines(out) < at_lines:
            assert child.poll() is None, f"launcher ended before {at_lines} results lines"
            assert time.time() < deadline
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    time.sleep(0.5)  # the workers die with the launcher (PR_SET_PDEATHSIG)


@pytest.mark.slow
def test_kill_and_relaunch_gives_identical_tables(tiny_synthff, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setitem(SUITES, "tiny", Suite(1, tiny_blocks))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert main(_argv(tiny_synthff, clean)) == 0
    # kill after job 1's first record, after its step-80 record, mid job 2, mid job 3
    for at_lines in (1, 2, 5, 8):
        before = _finished(killed)
        _launch_and_kill(tiny_synthff, killed, at_lines)
        after = _finished(killed)
        assert {k: after[k] for k in before} == before  # no finished job ran again or was lost
    assert main(_argv(tiny_synthff, killed)) == 0
    a, b = _folders(clean), _folders(killed)
    assert [d.name for d in a] == [d.name for d in b] and len(a) == 3
    for x, y in zip(a, b, strict=True):
        assert comparable(read_records(x / "results.jsonl")) == comparable(
            read_records(y / "results.jsonl")
        )
        wx = torch.load(x / "model.pkl", weights_only=True)["model_dict"]
        wy = torch.load(y / "model.pkl", weights_only=True)["model_dict"]
        assert all(torch.equal(wx[k], wy[k]) for k in wx)
    resumed = "".join((d / "out.txt").read_text() for d in b)
    assert "starting after step 80" in resumed  # resumed from a checkpoint, not from scratch
    # every file: tables and figures (PDFs are written without a creation date)
    tables = sorted(p.relative_to(clean) for p in (clean / "tables").rglob("*") if p.is_file())
    assert {p.suffix for p in tables} >= {".md", ".tex", ".csv", ".png", ".pdf"}
    assert any(rel.name == "cost_auc.csv" for rel in tables)  # the cost figure is written
    for rel in tables:
        if rel.name.startswith("cost_auc."):  # plots measured step_time: never equal twice
            continue
        assert (clean / rel).read_bytes() == (killed / rel).read_bytes(), rel
