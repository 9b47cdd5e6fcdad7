"""Per-job overhead of a training run (process start, imports, dataset indexing, first batch)
as a share of a whole 100-step SynthFF job, for a fresh process and for a warm pool worker.

    python benchmarks/bench_job_overhead.py                       # SynthFF from the cache
    python benchmarks/bench_job_overhead.py --data_dir DIR --steps 100 --algorithm RoGA

Fresh (the ``local``/``parallel`` launchers): two fresh processes, a probe that timestamps each
start-up phase and exits after the first batch, and the real job (``python -m roga_bench.train``)
timed from spawn to exit. Warm (the default ``pool`` launcher): the same phases and job timed
inside one ``pool`` worker after it ran another job (``--warm_only`` skips the fresh part).
Single-threaded (OMP_NUM_THREADS=1), as the SynthFF sweep runs its jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roga_bench.records import read_records

# Runs in the probe process: prints {phase: wall-clock timestamp} as JSON.
PROBE = r"""
import json, sys, time
t = {"started": time.time()}
c = {"started": time.process_time()}
import torch
from roga_bench.hparams import make_hparams, seed_hash
from roga_bench.datasets import get_dataset_class
from roga_bench.algorithms import get_algorithm_class
import roga_bench.metrics
from roga_bench.training import train
from roga_bench.training._loaders import InfiniteLoader
t["imported"] = time.time()
c["imported"] = time.process_time()
data_dir, dataset, algorithm, test_env = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hparams = make_hparams(algorithm, dataset, 0, 0)
ds = get_dataset_class(dataset)(data_dir, [test_env], hparams)
t["indexed"] = time.time()
c["indexed"] = time.process_time()
envs = [i for i in range(len(ds)) if i != test_env]
torch.manual_seed(0)
net = get_algorithm_class(algorithm)(ds.input_shape, ds.num_classes, len(envs), hparams)
for i in envs:
    next(InfiniteLoader(ds.split(i, "train"), hparams["batch_size"], seed_hash(0, "loader", i)))
t["first_batch"] = time.time()
c["first_batch"] = time.process_time()
print(json.dumps({"wall": t, "cpu": c}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _probe(args: argparse.Namespace, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """{phase: (wall seconds, CPU seconds)}; CPU time is what an idle machine's wall would be."""
    spawn = time.time()
    cmd = [sys.executable, "-c", PROBE, args.data_dir, args.dataset, args.algorithm, "0"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    stamps = json.loads(out.strip().splitlines()[-1])
    wall, cpu = stamps["wall"], stamps["cpu"]
    start = wall["started"] - spawn
    phases = {"process start": (start, start + cpu["started"])}  # interpreter boot: CPU = wall
    for name, a, b in (
        ("imports", "started", "imported"),
        ("dataset indexing", "imported", "indexed"),
        ("first batch (+ model)", "indexed", "first_batch"),
    ):
        phases[name] = (wall[b] - wall[a], cpu[b] - cpu[a])
    return phases


# Runs in a warm pool worker (after a warm-up job): the probe's phases, then the whole job.
def _warm_probe(data_dir: str, dataset: str, algorithm: str, steps: int, out: str) -> dict:
    import torch

    from roga_bench.algorithms import get_algorithm_class
    from roga_bench.datasets import get_dataset_class
    from roga_bench.hparams import make_hparams, seed_hash
    from roga_bench.training._loaders import InfiniteLoader

    def phase() -> tuple[float, float]:
        return time.time(), time.process_time()

    t0 = phase()
    hparams = make_hparams(algorithm, dataset, 0, 0)
    ds = get_dataset_class(dataset)(data_dir, [0], hparams)
    t1 = phase()
    torch.manual_seed(0)
    get_algorithm_class(algorithm)(ds.input_shape, ds.num_classes, len(ds) - 1, hparams)
    for i in range(1, len(ds)):
        next(InfiniteLoader(ds.split(i, "train"), hparams["batch_size"], seed_hash(0, "loader", i)))
    t2 = phase()
    job = {"data_dir": data_dir, "dataset": dataset, "algorithm": algorithm, "test_envs": [0],
           "steps": steps, "device": "cpu", "output_dir": out}  # fmt: skip
    _run_quiet(job)
    t3 = phase()
    return {
        "dataset indexing": (t1[0] - t0[0], t1[1] - t0[1]),
        "first batch (+ model)": (t2[0] - t1[0], t2[1] - t1[1]),
        "whole job": (t3[0] - t2[0], t3[1] - t2[1]),
    }


def _warm(args: argparse.Namespace, tmp: Path) -> dict[str, tuple[float, float]]:
    """{phase: (wall, CPU)} in a warm spawned worker, as a pool slot runs its second job."""
    import multiprocessing as mp

    warmup = {"data_dir": args.data_dir, "dataset": args.dataset, "algorithm": args.algorithm,
              "test_envs": [1], "steps": 2, "device": "cpu",
              "output_dir": str(tmp / "warmup")}  # fmt: skip
    with mp.get_context("spawn").Pool(1) as worker:
        worker.apply(_run_quiet, (warmup,))
        probe = (args.data_dir, args.dataset, args.algorithm, args.steps, str(tmp / "warm"))
        return worker.apply(_warm_probe, probe)


def _run_quiet(train_args: dict) -> None:
    import contextlib
    import io

    from roga_bench.sweep import run_job

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_job(train_args)


def _job(args: argparse.Namespace, env: dict[str, str], out: Path) -> tuple[float, float, list]:
    """Wall and CPU seconds of the whole job, and its results.jsonl records."""
    cmd = [sys.executable, "-m", "roga_bench.train", "--data_dir", args.data_dir,
           "--dataset", args.dataset, "--algorithm", args.algorithm, "--test_envs", "0",
           "--steps", str(args.steps), "--device", "cpu", "--output_dir", str(out)]  # fmt: skip
    spawn, cpu = time.time(), _children_cpu()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall, cpu = time.time() - spawn, _children_cpu() - cpu
    return wall, cpu, read_records(out / "results.jsonl")


def _table(title: str, phases: dict[str, tuple[float, float]], whole: str) -> None:
    wall, cpu = phases[whole]
    print(title)
    print(f"{'phase':<26}{'wall s':>8}{'share':>8}{'CPU s':>8}{'share':>8}")
    for name, (w, c) in phases.items():
        print(f"{name:<26}{w:>8.2f}{w / wall:>8.1%}{c:>8.2f}{c / cpu:>8.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="", help="default: the SynthFF cache (built once)")
    parser.add_argument("--dataset", default="SynthFFLOMO")
    parser.add_argument("--algorithm", default="ERM")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warm_only", action="store_true", help="only the warm pool worker")
    args = parser.parse_args()
    if not args.data_dir:
        from roga_bench.datasets.synthff import ensure_synthff

        args.data_dir = str(ensure_synthff())  # built before timing: a one-off, not per job
    os.environ["OMP_NUM_THREADS"] = "1"  # the probe, the job and the spawned warm worker
    env = dict(os.environ)
    print(f"{args.algorithm} on {args.dataset}, {args.steps} steps, test env 0, CPU, 1 thread")
    if not args.warm_only:
        phases = _probe(args, env)
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, records = _job(args, env, Path(tmp) / "job")
        phases["overhead total"] = tuple(sum(p[k] for p in phases.values()) for k in (0, 1))
        phases["whole job (spawn->exit)"] = (wall, cpu)
        _table("fresh process (local/parallel launchers)", phases, "whole job (spawn->exit)")
        step_time = records[-1]["step_time"]
        print(f"mean step time {step_time * 1000:.1f} ms (wall); {len(records)} evaluations")
    with tempfile.TemporaryDirectory() as tmp:
        warm = _warm(args, Path(tmp))
    whole = warm.pop("whole job")
    warm["overhead total"] = tuple(sum(p[k] for p in warm.values()) for k in (0, 1))
    warm["whole job (in worker)"] = whole
    _table("warm pool worker (second job of the worker)", warm, "whole job (in worker)")


if __name__ == "__main__":
    main()
