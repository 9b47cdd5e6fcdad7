"""Wall-time estimate of a sweep suite from measured jobs: one job per kind, run warm.

    python benchmarks/bench_suite.py                         # paper + default suites, SynthFF
    python benchmarks/bench_suite.py --measure all --json suite_cost.json
    python benchmarks/bench_suite.py --from_json suite_cost.json --slots 2

A kind is (dataset, algorithm, backbone, base optimizer): jobs of one kind do the same work (the
test env, trial seed and alpha/rho only change numbers). For each measured kind one real job
(trial 0, default steps) runs in this process after a warm-up job, as a pool worker runs it
(single-threaded, with the worker's decoded-frame memo), and its CPU seconds are taken as its
idle-machine wall time (the machine may be shared; CPU time does not count the waiting).
``--measure sample`` runs a few kinds and prices the others by a stated proxy (SAGM/GSAM/ASAM as
SAM: two passes over the concatenated batch; RoGA_Robust/RoGA_Align as RoGA; Adam as SGD).
The estimate is sum(count x CPU s) / slots: it assumes the slots scale perfectly on the cores
(measure a real sweep to check that).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from roga_bench._cores import available_cores

PROXY = {"SAGM": "SAM", "GSAM": "SAM", "ASAM": "SAM", "RoGA_Robust": "RoGA", "RoGA_Align": "RoGA"}
SAMPLE = re.compile(r"^(ERM|SAM|RoGA)\|")


def _kind(args: dict) -> str:
    hp = json.loads(args.get("hparams") or "{}")
    backbone, optimizer = hp.get("backbone", "default"), hp.get("optimizer", "sgd")
    return "|".join([args["algorithm"], args["dataset"], backbone, optimizer])


def _proxy(kind: str) -> str:
    algorithm, dataset, backbone, optimizer = kind.split("|")
    return "|".join([PROXY.get(algorithm, algorithm), dataset, backbone, "sgd"])


def _suite_jobs(name: str) -> list[dict]:
    from roga_bench.sweep import expand_suite

    expansion, _ = expand_suite(
        name, "SynthFF", n_hparams_from=0, n_hparams=1, steps=None, data_dir=None,
        task="domain_generalization", holdout_fraction=0.2,
    )  # fmt: skip
    return expansion.args_list


def _run(args: dict, out: Path) -> tuple[float, float]:
    from roga_bench.sweep import run_job

    wall, cpu = time.time(), time.process_time()
    run_job({**args, "output_dir": str(out)})
    return time.time() - wall, time.process_time() - cpu


def _measure(kinds: dict[str, dict]) -> dict[str, dict[str, float]]:
    import torch

    from roga_bench.datasets.frame_memo import install_frame_memo
    from roga_bench.sweep._pool import FRAME_MEMO_MB

    torch.set_num_threads(1)
    install_frame_memo(FRAME_MEMO_MB)  # as in a pool worker: frames decoded once per process
    costs = {}
    with tempfile.TemporaryDirectory() as tmp:
        first = next(iter(kinds.values()))
        _run({**first, "steps": 2}, Path(tmp) / "warmup")  # imports, caches: not any job's cost
        for i, (kind, args) in enumerate(kinds.items()):
            wall, cpu = _run(args, Path(tmp) / f"job{i}")
            costs[kind] = {"wall_s": wall, "cpu_s": cpu}
            print(f"  measured {kind}: {cpu:.1f} CPU s, {wall:.1f} wall s", flush=True)
    return costs


def _estimate(name: str, jobs: list[dict], costs: dict, slots: int) -> float:
    counts = Counter(_kind(a) for a in jobs)
    total = 0.0
    print(f"\n{name}: {len(jobs)} jobs")
    print(f"{'kind':<52}{'jobs':>5}{'CPU s/job':>11}  priced as")
    for kind, n in sorted(counts.items()):
        key = kind if kind in costs else _proxy(kind)
        cpu = costs[key]["cpu_s"]
        total += n * cpu
        print(f"{kind:<52}{n:>5}{cpu:>11.1f}  {'measured' if key == kind else key}")
    wall = total / slots
    print(f"sum {total / 60:.1f} CPU min; / {slots} slots = {wall / 60:.1f} min wall (estimate)")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", nargs="+", default=["paper", "default"])
    parser.add_argument("--measure", choices=["sample", "all"], default="sample")
    parser.add_argument("--slots", type=int, default=available_cores())
    parser.add_argument("--json", default=None, help="write the measured costs here")
    parser.add_argument("--from_json", default=None, help="reuse costs measured before")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    suites = {name: _suite_jobs(name) for name in args.suites}
    if args.from_json:
        costs = json.loads(Path(args.from_json).read_text())
    else:
        kinds: dict[str, dict] = {}
        for jobs in suites.values():
            for a in jobs:
                kind = _kind(a)
                wanted = args.measure == "all" or (SAMPLE.match(kind) and kind == _proxy(kind))
                if wanted and a["trial_seed"] == 0:
                    kinds.setdefault(kind, a)
        print(f"measuring {len(kinds)} kinds (one default job each, 1 thread, warm process)")
        costs = _measure(kinds)
        if args.json:
            Path(args.json).write_text(json.dumps(costs, indent=1, sort_keys=True))
    for name, jobs in suites.items():
        _estimate(name, jobs, costs, args.slots)


if __name__ == "__main__":
    main()
