"""``benchmarks/gpu_check.sh`` in its dry mode: every part at tiny sizes on the CPU."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


def test_gpu_check_dry_run_writes_the_table(tiny_synthff, tmp_path):
    env = {**os.environ, "GPU_CHECK_DRY": "1", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "check"
    done = subprocess.run(
        [str(SCRIPT), str(out), "--data_dir", str(tiny_synthff)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader((out / "gpu_check.csv").read_text().splitlines()))
    steps = [r for r in rows if r["section"] == "step"]
    timed = {(r["algorithm"], r["precision"]) for r in steps if r["ms_per_step"]}
    for name in ("ERM", "SAM", "SAGM", "GSAM", "RoGA", "LookSAM", "RoGA_Look"):
        assert {(name, "bf16"), (name, "none")} <= timed
    assert ("RoGA-batched", "none") in timed
    assert [r["eval_targets"] for r in rows if r["section"] == "job"] == ["all", "selectable"]
    assert all(0 < float(r["eval_share"]) < 1 for r in rows if r["section"] == "job")
    assert [r["ok"] for r in rows if r["section"] == "correctness"] == ["True", "True"]
    assert any(r["section"] == "loader" and float(r["frames_per_s"]) > 0 for r in rows)
    table = (out / "gpu_check.md").read_text()
    assert "### step" in table and table in done.stdout


def test_gpu_check_needs_an_out_dir():
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
