"""Command line of ``python -m roga_bench.bench``: markdown tables to stdout, ``--json`` numbers."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from roga_bench.bench._update import (
    DEFAULT_VARIANTS,
    VARIANTS,
    UpdateResult,
    bench_updates,
    default_cycle,
)

__all__ = ["main", "parse_backbone", "update_table"]

DEFAULT_BACKBONES = ["small_cnn@64", "resnet34@64", "resnet34@128"]


def parse_backbone(spec: str) -> tuple[str, int]:
    """``"resnet34@128"`` -> ``("resnet34", 128)``.

    Raises:
        ValueError: no ``@size`` or a size that is not a positive integer.
    """
    name, sep, size = spec.partition("@")
    if not sep or not size.isdigit() or int(size) < 8:
        raise ValueError(f"backbone {spec!r}: expected NAME@SIZE with SIZE >= 8, e.g. resnet34@64")
    return name, int(size)


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": model,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def update_table(results: Sequence[UpdateResult], num_domains: int) -> str:
    """Markdown: one row per (backbone, algorithm)."""
    lines = [
        "| backbone | algorithm | median ms / update | x ERM-SGD | peak MiB | extra vs ERM-SGD MiB "
        f"| (K+2) x params MiB (K={num_domains}) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    erm = {(r.backbone, r.image_size): r.peak_mb for r in results if r.algorithm == "ERM-SGD"}
    for r in results:
        base = erm.get((r.backbone, r.image_size))
        extra = f"{r.peak_mb - base:.0f}" if base is not None else "n/a"
        lines.append(
            f"| {r.backbone}@{r.image_size} | {r.algorithm} | {r.median_ms:.1f} | "
            f"{r.ratio_to_erm:.2f} | {r.peak_mb:.0f} | {extra} | "
            f"{(num_domains + 2) * r.param_mb:.0f} |"
        )
    return "\n".join(lines)


def _phase_table(ph: dict[str, Any]) -> str:
    p = ph["phases_ms"]
    lines = [
        f"RoGA phase breakdown on {ph['backbone']}@{ph['image_size']}, K={ph['num_domains']} "
        "(isolated foreach replay on the real parameters; see roga_bench/bench/_phases.py)",
        "",
        "| step ms | perturb ms | restore ms | combine ms | perturb+restore+combine | share |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {ph['step_ms']:.1f} | {p['perturb']:.2f} | {p['restore']:.2f} | {p['combine']:.2f} | "
        f"{ph['vector_ms']:.2f} | {100 * ph['vector_share']:.2f}% |",
    ]
    if "real" in ph:
        r = ph["real"]
        lines += [
            "",
            "Timers around the RoGA optimizer's own methods (real code; base SGD step excluded):",
            "",
            "| update ms | first_step (perturb) | second_step (restore+combine) "
            "| final_step - base "
            "| base step | perturb+restore+combine | share |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {r['update']:.1f} | {r['first_step']:.2f} | {r['second_step']:.2f} | "
            f"{r['final_step'] - r['base_step']:.2f} | {r['base_step']:.2f} | "
            f"{r['vector_ms']:.2f} | {100 * r['vector_share']:.2f}% |",
        ]
    return "\n".join(lines)


def _loader_table(r: dict[str, Any]) -> str:
    memory = "n/a" if r["memory_fps"] != r["memory_fps"] else f"{r['memory_fps']:.0f}"
    return (
        f"Loader: {r['dataset']} train split, {r['image_size']} px, {r['frames']} frames, batch "
        f"{r['batch']}, {r['workers']} workers (frames/s, best of alternating passes)\n\n"
        "| source | with training augmentation | without augmentation |\n| --- | ---: | ---: |\n"
        f"| PNG decode + resize | {r['png_fps']:.0f} | {r['png_noaug_fps']:.0f} |\n"
        f"| frame cache | {r['cache_fps']:.0f} | {r['cache_noaug_fps']:.0f} |\n"
        f"| cache / PNG | {r['ratio']:.2f}x | {r['ratio_noaug']:.2f}x |\n"
        f"| memory cache, warm | {memory} | n/a |\n"
        f"| plain PIL decode, no loader | n/a | {r['pil_fps']:.0f} |\n\n"
        f"(cache of {r['cached_frames']} frames built in {r['cache_build_s']:.1f} s)"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m roga_bench.bench",
        description="Step cost of every algorithm; loader throughput.",
    )
    p.add_argument("--algorithms", nargs="+", default=DEFAULT_VARIANTS, choices=sorted(VARIANTS))
    p.add_argument("--backbones", nargs="+", default=DEFAULT_BACKBONES, help="NAME@SIZE ...")
    p.add_argument("--num_domains", type=int, default=3, help="K training domains")
    p.add_argument("--batch", type=int, default=16, help="per-domain batch size")
    p.add_argument("--repeats", type=int, default=5, help="timed updates per algorithm")
    p.add_argument("--warmup", type=int, default=1, help="untimed updates first (>= 1)")
    p.add_argument(
        "--cycle",
        type=int,
        default=0,
        help="consecutive updates per timed sample, reported per update (0: LookSAM/RoGA_Look's "
        "k when they are measured, else 1)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument(
        "--clock",
        default="wall",
        choices=["wall", "cpu"],
        help="wall time, or the process's CPU time (CPU only; with --threads 1 it leaves out "
        "the time other processes held the core on a shared machine)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument(
        "--phases",
        default="resnet34@64",
        help="backbone for the RoGA phase breakdown; 'none' to skip",
    )
    p.add_argument("--json", default=None, help="write all numbers to this file")
    p.add_argument("--data", action="store_true", help="run the loader benchmark instead")
    p.add_argument("--data_dir", default="", help="--data: dataset root ('' generates SynthFF)")
    p.add_argument("--dataset", default="SynthFFLOMO", help="--data: registered dataset")
    p.add_argument("--image_size", type=int, default=256, help="--data: frame size")
    p.add_argument("--frames", type=int, default=256, help="--data: frames per pass")
    p.add_argument("--workers", type=int, default=0, help="--data: DataLoader workers")
    return p


def _check(args: argparse.Namespace, p: argparse.ArgumentParser) -> list[tuple[str, int]]:
    for key in ("num_domains", "batch", "repeats", "warmup", "frames"):
        if getattr(args, key) < 1:
            p.error(f"--{key} {getattr(args, key)}: expected >= 1")
    if args.clock == "cpu" and not args.device.startswith("cpu"):
        p.error(f"--clock cpu: CPU time measures the host, not --device {args.device}; use wall")
    if args.cycle < 0:
        p.error(f"--cycle {args.cycle}: expected >= 0 (0: automatic)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error(f"--device {args.device}: no CUDA device on this machine")
    try:
        backbones = [parse_backbone(b) for b in args.backbones]
        if args.phases != "none":
            parse_backbone(args.phases)
    except ValueError as exc:
        p.error(str(exc))
    return backbones


def main(argv: Sequence[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    backbones = _check(args, p)
    if args.threads:
        torch.set_num_threads(args.threads)
    out: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    if args.data:
        from roga_bench.bench._data import bench_loader

        r = bench_loader(
            args.data_dir, args.dataset, args.image_size, args.frames, workers=args.workers
        )
        out["data"] = r
        print(_loader_table(r))
    else:
        results: list[UpdateResult] = []
        cycle = args.cycle or default_cycle(args.algorithms)
        for name, size in backbones:
            results += bench_updates(
                name,
                size,
                args.algorithms,
                args.num_domains,
                args.batch,
                args.repeats,
                args.warmup,
                args.device,
                cycle,
                args.clock,
            )
        out["updates"] = [r.as_dict() for r in results]
        print(
            f"K={args.num_domains}, batch {args.batch}/domain, median of {args.repeats} "
            f"samples of {cycle} update(s), {args.clock} clock, "
            f"device {args.device}, {out['machine']}\n"
        )
        print(update_table(results, args.num_domains))
        if args.phases != "none":
            from roga_bench.bench._phases import phase_breakdown

            name, size = parse_backbone(args.phases)
            out["phases"] = phase_breakdown(
                name, size, args.num_domains, args.batch, args.repeats, args.device
            )
            print("\n" + _phase_table(out["phases"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
