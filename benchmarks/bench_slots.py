"""Slots x threads of the ``pool`` launcher: the same jobs under each layout, wall clock.

    python benchmarks/bench_slots.py                        # 2x1 vs 1x2 on 4 SynthFF jobs
    python benchmarks/bench_slots.py --layouts 2x1 1x2 --jobs 4 --steps 100 --rounds 2

Each round runs every layout once (in alternating order across rounds, so a change of machine
load hits them alike) on fresh copies of the same jobs (ERM on SynthFFLOMO, test envs 0..3).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

from roga_bench._cores import available_cores


def _jobs(out: Path, n: int, steps: int) -> list:
    from roga_bench.sweep import make_args_list, make_jobs

    args = make_args_list(1, ["SynthFFLOMO"], ["ERM"], 0, 1, steps, None, "domain_generalization",
                          0.2)  # fmt: skip
    if not 1 <= n <= len(args):
        raise SystemExit(f"--jobs must be 1..{len(args)} (one per test env)")
    return make_jobs(args[:n], out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", nargs="+", default=["2x1", "1x2"], help="SLOTSxTHREADS")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from roga_bench.sweep._pool import pool

    layouts = [tuple(int(x) for x in s.split("x")) for s in args.layouts]
    walls: dict[tuple[int, int], list[float]] = {layout: [] for layout in layouts}
    with open(os.devnull, "w") as quiet, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = layouts if r % 2 == 0 else layouts[::-1]
            for slots, threads in order:
                jobs = _jobs(Path(tmp) / f"r{r}-{slots}x{threads}", args.jobs, args.steps)
                start = time.time()
                with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                    outcomes = pool(jobs, n_workers=slots, worker_threads=threads)
                assert all(o.status == "ok" for o in outcomes), outcomes
                walls[(slots, threads)].append(time.time() - start)
    base = min(walls[layouts[0]])
    print(f"{args.jobs} x ERM on SynthFFLOMO, {args.steps} steps, {available_cores()} cores")
    for (slots, threads), w in walls.items():
        ratio = min(w) / base
        rounded = [round(x, 1) for x in w]
        print(f"{slots} x {threads}: best {min(w):.1f} s wall ({ratio:.2f}x); all {rounded}")


if __name__ == "__main__":
    main()
