"""Before/after on this machine: ``python -m roga_bench.bench`` and one short training job, run
alternately from two checkouts (via PYTHONPATH), ratios after/before printed per row.

    python benchmarks/compare_checkouts.py /path/to/old_checkout /path/to/new_checkout --rounds 3

Each round runs the old checkout, then the new one, so background load hits both alike; each row
is the median over rounds. Speed is never asserted in tests (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = ["--algorithms", "ERM-SGD", "SAM", "SAGM", "GSAM", "RoGA", "--backbones", "small_cnn@64",
         "--repeats", "15", "--warmup", "3", "--threads", "1", "--phases", "none"]  # fmt: skip
TRAIN = ["--dataset", "SynthFFLOMO", "--algorithm", "RoGA", "--test_envs", "0", "--steps", "30",
         "--checkpoint_freq", "15", "--device", "cpu"]  # fmt: skip


def _run(checkout: str, args: list[str], tmp: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": checkout, "OMP_NUM_THREADS": "1"}
    out = tmp / "bench.json"
    subprocess.run([sys.executable, "-m", "roga_bench.bench", *args, "--json", str(out)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    rows = {
        f"{r['algorithm']} step ms": r["median_ms"] for r in json.loads(out.read_text())["updates"]
    }
    run_dir = tmp / f"train{time.time_ns()}"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "roga_bench.train", *TRAIN, "--output_dir", str(run_dir)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    rows["train job s (30 RoGA steps, 3 evals)"] = time.perf_counter() - start
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    seen: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for side in ("before", "after"):
                for key, value in _run(getattr(args, side), BENCH, Path(tmp)).items():
                    seen[side].setdefault(key, []).append(value)
    print("| row | before | after | after/before |\n|---|---|---|---|")
    for key in seen["before"]:
        b, a = statistics.median(seen["before"][key]), statistics.median(seen["after"][key])
        print(f"| {key} | {b:.2f} | {a:.2f} | {a / b:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
