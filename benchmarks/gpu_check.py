"""The GPU check of docs/performance.md (run through ``benchmarks/gpu_check.sh OUT_DIR``).

1. ms/step, img/s and peak memory of ERM, SAM, SAGM, GSAM, RoGA (loop and batched), LookSAM and
   RoGA_Look (issue 26; timed over whole k-cycles, k = 5) on resnet34, xception and
   efficientnet_b4 at 256 px, batch 32 per domain x 3 domains, bf16 and fp32, with the ratio to
   ERM of the same backbone and precision;
2. loader throughput at 256 px (SynthFF-256 generated offline, augmentation on, auto workers)
   beside the frames/s ERM consumes (resnet34, bf16);
3. one short SynthFF-256 RoGA job end to end, with the share of its wall time spent evaluating;
4. a fp32 step on the GPU against the same step on the CPU (relative difference of the update).

Step times and loader rates use ``roga_bench.bench``'s ``timed`` and ``loader_rate``, the same
code as ``python -m roga_bench.bench``; this script only chooses the GPU configuration (bf16/fp32,
channels_last, cudnn.benchmark, workers, pinned memory) and writes the table.

Writes ``gpu_check.md`` and ``gpu_check.csv`` into OUT_DIR and prints the table. ``--dry`` runs
every part at tiny sizes on the CPU (the tests do, so the script cannot rot). A time budget
(default 450 s) skips what is left once spent, and says so in the table.
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from roga_bench._cores import available_cores
from roga_bench.bench import loader_rate, timed
from roga_bench.training._speed import auto_num_workers

ALGORITHMS = ["ERM", "SAM", "SAGM", "GSAM", "RoGA", "RoGA-batched", "LookSAM", "RoGA_Look"]
# A full two-pass step every k updates (their default k): timed over whole cycles.
CYCLIC = {"LookSAM": 5, "RoGA_Look": 5}
K = 3


@dataclass
class Sizes:
    device: str
    backbones: list[str]
    image: int
    batch: int
    warmup: int
    repeats: int
    precisions: list[str]
    synth: dict[str, int]  # SynthFF build: videos, frames, size
    job_steps: int
    job_freq: int
    job_backbone: str
    job_batch: int
    loader_frames: int
    check_backbone: str = "resnet34"
    check_image: int = 64


FULL = Sizes(
    device="cuda", backbones=["resnet34", "xception", "efficientnet_b4"], image=256, batch=32,
    warmup=3, repeats=10, precisions=["bf16", "none"],
    synth={"videos": 24, "frames": 8, "size": 256}, job_steps=120, job_freq=40,
    job_backbone="resnet34", job_batch=32, loader_frames=768,
)  # fmt: skip
DRY = Sizes(
    device="cpu", backbones=["small_cnn"], image=32, batch=2, warmup=1, repeats=1,
    precisions=["bf16", "none"], synth={"videos": 6, "frames": 1, "size": 32}, job_steps=2,
    job_freq=1, job_backbone="small_cnn", job_batch=2, loader_frames=16,
    check_backbone="small_cnn", check_image=16,
)  # fmt: skip


@dataclass
class Report:
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deadline: float = 0.0

    def out_of_time(self) -> bool:
        return time.time() > self.deadline

    def add(self, section: str, **values: Any) -> None:
        self.rows.append({"section": section, **values})
        print(f"[gpu_check] {section}: {values}", file=sys.stderr, flush=True)


def _algorithm(name: str, backbone: str, image: int, amp: str, device: torch.device) -> Any:
    from roga_bench.algorithms import get_algorithm_class

    hp = {"backbone": backbone, "image_size": image, "amp": amp, "pretrained": ""}
    if name == "RoGA-batched":
        name, hp["roga_batched"] = "RoGA", True
    torch.manual_seed(0)
    alg = get_algorithm_class(name)((3, image, image), 2, K, hp).to(device)
    if device.type == "cuda":  # what training does on CUDA (hparam channels_last auto)
        alg.network.to(memory_format=torch.channels_last)
    return alg


def _batches(sizes: Sizes, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(K):
        x = torch.randn(sizes.batch, 3, sizes.image, sizes.image, generator=gen)
        y = torch.randint(0, 2, (sizes.batch,), generator=gen)
        x = x.to(device)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        out.append((x, y.to(device)))
    return out


def _time_steps(
    alg: Any, batches: list, sizes: Sizes, device: torch.device, cycle: int = 1
) -> tuple[float, float]:
    """Median ms per update and peak memory in MiB.

    Each sample is ``cycle`` consecutive updates divided by ``cycle`` (LookSAM/RoGA_Look: one
    whole k-cycle, so every sample holds exactly one full step), about ``repeats`` updates in all.
    """
    for _ in range(sizes.warmup):
        alg.update(batches)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def run_cycle() -> None:
        for _ in range(cycle):
            alg.update(batches)

    times = [timed(run_cycle, str(device)) / cycle for _ in range(max(1, sizes.repeats // cycle))]
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    return sorted(times)[len(times) // 2], peak


def part_steps(sizes: Sizes, report: Report) -> dict[tuple[str, str], float]:
    """Part 1; returns ERM's ms/step per (backbone, precision)."""
    device = torch.device(sizes.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = device.type == "cuda"
    batches = _batches(sizes, device)
    erm: dict[tuple[str, str], float] = {}
    for backbone in sizes.backbones:
        for amp in sizes.precisions:
            for name in ALGORITHMS:
                cell = {"backbone": backbone, "precision": amp, "algorithm": name}
                if report.out_of_time():
                    report.add("step", **cell, note="skipped: time budget spent")
                    continue
                if name == "RoGA-batched" and amp != "none":
                    report.add("step", **cell, note="n/a: roga_batched runs fp32 only")
                    continue
                try:
                    alg = _algorithm(name, backbone, sizes.image, amp, device)
                    ms, peak = _time_steps(alg, batches, sizes, device, CYCLIC.get(name, 1))
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    report.add("step", **cell, note="out of memory")
                    continue
                if name == "ERM":
                    erm[(backbone, amp)] = ms
                base = erm.get((backbone, amp), float("nan"))
                report.add(
                    "step", **cell, ms_per_step=round(ms, 2),
                    img_per_s=round(K * sizes.batch / ms * 1000, 1), peak_mib=round(peak),
                    ratio_to_erm=round(ms / base, 3),
                )  # fmt: skip
    return erm


def _synthff(sizes: Sizes, out: Path, data_dir: str | None) -> Path:
    if data_dir:
        return Path(data_dir)
    from roga_bench.datasets.synthff import generate

    target = out / f"synthff-{sizes.synth['size']}"
    if not (target / "dataset_json").is_dir():
        workers = max(1, available_cores() - 1)
        generate(target, seed=0, workers=workers, progress=False, **sizes.synth)
    return target


def part_loader(sizes: Sizes, data: Path, erm: dict, report: Report) -> None:
    """Part 2: training-split frames/s with augmentation and auto workers vs ERM's rate."""
    from roga_bench.datasets import get_dataset_class

    if report.out_of_time():
        report.add("loader", note="skipped: time budget spent")
        return
    hp = {"image_size": sizes.synth["size"], "data_augmentation": True, "batch_size": sizes.batch}
    dataset = get_dataset_class("SynthFFLOMO")(str(data), [0], hp)
    split = dataset.split(1, "train")
    workers = 0 if sizes.device == "cpu" else auto_num_workers(torch.device(sizes.device))
    rate = loader_rate(
        split, sizes.batch, workers, frames=sizes.loader_frames, shuffle=True,
        pin_memory=sizes.device == "cuda", drop_last=True, skip_first=True,
    )  # fmt: skip
    backbone = "resnet34" if ("resnet34", "bf16") in erm else sizes.backbones[0]
    erm_ms = erm.get((backbone, "bf16"), float("nan"))
    need = K * sizes.batch / erm_ms * 1000
    report.add(
        "loader", frames_per_s=round(rate, 1), workers=workers, erm_frames_per_s=round(need, 1),
        ratio=round(rate / need, 2), backbone=backbone, image=sizes.synth["size"],
    )  # fmt: skip
    report.notes.append(
        "loader: PNG decode + augmentation from SynthFF-256 in the page cache (no frame cache); "
        "ratio = loader frames/s over the frames/s ERM (bf16) consumes"
    )


def part_job(sizes: Sizes, data: Path, out: Path, report: Report) -> None:
    """Part 3: one short SynthFF-256 RoGA job; the share of its wall time spent evaluating."""
    from roga_bench.training import TrainConfig, read_records, train
    from roga_bench.training._evaluate import Evaluator

    if report.out_of_time():
        report.add("job", note="skipped: time budget spent")
        return
    spent = [0.0]
    original = Evaluator.__call__

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    hp = {"image_size": sizes.synth["size"], "backbone": sizes.job_backbone}
    hp["batch_size"] = sizes.job_batch
    rows = []
    for targets in ("all", "selectable"):
        spent[0] = 0.0
        config = TrainConfig.from_args(
            {"dataset": "SynthFFLOMO", "algorithm": "RoGA", "data_dir": str(data),
             "test_envs": [0], "steps": sizes.job_steps, "checkpoint_freq": sizes.job_freq,
             "hparams": hp, "device": sizes.device, "eval_targets": targets,
             "output_dir": str(out / f"job-{targets}"), "keep": "none"}
        )  # fmt: skip
        Evaluator.__call__ = timed  # type: ignore[method-assign]
        try:
            start = time.perf_counter()
            folder = train(config)
            wall = time.perf_counter() - start
        finally:
            Evaluator.__call__ = original  # type: ignore[method-assign]
        last = read_records(folder / "results.jsonl")[-1]
        rows.append(targets)
        report.add(
            "job", eval_targets=targets, steps=sizes.job_steps, wall_s=round(wall, 1),
            eval_s=round(spent[0], 1), eval_share=round(spent[0] / wall, 3),
            mem_gb=round(last["mem_gb"], 2), target_auc=round(last.get("env0_in_auc", -1), 3),
        )  # fmt: skip


def part_correctness(sizes: Sizes, report: Report) -> None:
    """Part 4: one fp32 update on the device against the CPU (ERM and RoGA)."""
    device = torch.device(sizes.device)
    for name in ("ERM", "RoGA"):
        small = copy.copy(sizes)
        small.batch, small.image = 8, sizes.check_image
        cpu = _algorithm(name, sizes.check_backbone, small.image, "none", torch.device("cpu"))
        dev = copy.deepcopy(cpu).to(device)
        batches = _batches(small, torch.device("cpu"))
        before = torch.cat([p.detach().reshape(-1) for p in cpu.network.parameters()])
        cpu.update(batches)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.backends.cuda.matmul.allow_tf32 = False
        dev.update([(x.to(device), y.to(device)) for x, y in batches])
        d_cpu = torch.cat([p.detach().reshape(-1) for p in cpu.network.parameters()]) - before
        d_dev = torch.cat([p.detach().reshape(-1).cpu() for p in dev.network.parameters()]) - before
        rel = float((d_cpu - d_dev).norm() / d_cpu.norm())
        report.add(
            "correctness", algorithm=name, backbone=sizes.check_backbone,
            rel_diff=f"{rel:.2e}", ok=rel < 1e-3,
        )  # fmt: skip


def _markdown(report: Report, sizes: Sizes, device_name: str) -> str:
    lines = [
        f"GPU check on {device_name} ({sizes.image} px, batch {sizes.batch} x {K} domains)",
        "",
    ]
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in report.rows:
        sections.setdefault(row["section"], []).append(row)
    for section, rows in sections.items():
        keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k != "section"]
        lines += [f"### {section}", "", "| " + " | ".join(keys) + " |"]
        lines.append("|" + "---|" * len(keys))
        lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
        lines.append("")
    lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _write(report: Report, out: Path, text: str) -> None:
    (out / "gpu_check.md").write_text(text)
    keys = list(dict.fromkeys(k for r in report.rows for k in r))
    with open(out / "gpu_check.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(report.rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The GPU check (docs/performance.md).")
    p.add_argument("out_dir")
    p.add_argument("--dry", action="store_true", help="tiny sizes on the CPU (the tests)")
    p.add_argument("--budget_s", type=float, default=450.0, help="skip what is left after this")
    p.add_argument("--data_dir", default=None, help="a SynthFF build to reuse (else generated)")
    args = p.parse_args(argv)
    sizes = DRY if args.dry else FULL
    if sizes.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device (use --dry for the CPU dry run)", file=sys.stderr)
        return 2
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(deadline=time.time() + args.budget_s)
    name = torch.cuda.get_device_name(0) if sizes.device == "cuda" else "CPU (dry run)"
    erm = part_steps(sizes, report)
    data = _synthff(sizes, out, args.data_dir)
    part_loader(sizes, data, erm, report)
    part_job(sizes, data, out, report)
    part_correctness(sizes, report)
    text = _markdown(report, sizes, name)
    _write(report, out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
