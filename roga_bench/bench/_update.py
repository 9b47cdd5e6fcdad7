"""Cost of one ``update`` per (algorithm, backbone): median time after warm-up and peak memory.

Every algorithm of a backbone is built first, then timed round-robin (repeat r of every algorithm
before repeat r+1 of any), so drift on a shared machine hits all of them alike and the ratios
to ERM-SGD are side by side. Peak memory is measured on each algorithm's first update (so it
includes the gradients and optimizer state that step allocates): on the CPU the rise of the
process's resident set (``VmHWM`` after ``/proc/self/clear_refs`` reset, minus ``VmRSS`` before,
freed heap returned with ``malloc_trim`` first); on CUDA ``max_memory_allocated`` minus the
allocation before the step.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "VARIANTS",
    "CLOCKS",
    "CYCLIC",
    "UpdateResult",
    "bench_updates",
    "build_algorithm",
    "default_cycle",
    "make_minibatches",
]

# bench name -> (registered algorithm, hparam overrides)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ERM-SGD": ("ERM", {"optimizer": "sgd"}),
    "ERM-Adam": ("ERM", {"optimizer": "adam"}),
    "SAM": ("SAM", {}),
    "ASAM": ("ASAM", {}),
    "SAGM": ("SAGM", {}),
    "GSAM": ("GSAM", {}),
    "RoGA": ("RoGA", {}),
    "RoGA-batched": ("RoGA", {"roga_batched": True}),  # torch.func path; not in the default set
    # ours (issue 26): a full two-pass step every k = 5 updates, one pass on the others
    "LookSAM": ("LookSAM", {}),
    "RoGA_Look": ("RoGA_Look", {}),
}
DEFAULT_VARIANTS = ["ERM-SGD", "ERM-Adam", "SAM", "ASAM", "SAGM", "GSAM", "RoGA"]
# Variants whose cost repeats over a cycle of k updates (their class default k).
CYCLIC = {"LookSAM", "RoGA_Look"}


def default_cycle(variants: Sequence[str]) -> int:
    """Updates per timed sample: the cyclic variants' k (their default), else 1."""
    from roga_bench.hparams import algorithm_space

    ks = {int(algorithm_space(VARIANTS[v][0])["k"].default) for v in variants if v in CYCLIC}
    return math.lcm(*ks) if ks else 1


@dataclass
class UpdateResult:
    """One (backbone, algorithm) cell of the table."""

    backbone: str
    image_size: int
    algorithm: str
    median_ms: float
    times_ms: list[float]
    peak_mb: float
    param_mb: float
    ratio_to_erm: float = float("nan")
    # what the variant runs: the registered algorithm and its hparam overrides (VARIANTS), so
    # that a reader can name the table row it costs (``ERM-Adam`` is the row ``ERM (Adam)``)
    registered: str = ""
    hparams: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_backbone(name: str) -> str:
    """A registered backbone name; ``resnet34`` falls back to torchvision's if not registered."""
    from roga_bench._registry import BACKBONES, register_backbone

    if name in BACKBONES or name != "resnet34":
        return name
    if "tv_resnet34" not in BACKBONES:

        def tv_resnet34(num_classes: int = 2, pretrained: str = "", **_: object) -> nn.Module:
            import torchvision

            return torchvision.models.resnet34(num_classes=num_classes)

        register_backbone("tv_resnet34")(tv_resnet34)
    return "tv_resnet34"


def build_algorithm(variant: str, backbone: str, image_size: int, num_domains: int) -> Any:
    """An algorithm with its class defaults, the shared defaults and the variant's overrides."""
    from roga_bench.algorithms import get_algorithm_class
    from roga_bench.hparams import SHARED_HPARAMS, algorithm_space

    name, overrides = VARIANTS[variant]
    hparams = {n: hp.default for n, hp in SHARED_HPARAMS.items()}
    hparams.update({n: hp.default for n, hp in algorithm_space(name).items()})
    hparams.update(overrides, backbone=resolve_backbone(backbone), image_size=image_size)
    hparams["pretrained"] = ""
    return get_algorithm_class(name)((3, image_size, image_size), 2, num_domains, hparams)


def make_minibatches(
    num_domains: int, batch: int, image_size: int, device: str, seed: int = 0
) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(batch, 3, image_size, image_size, generator=gen).to(device),
            torch.randint(0, 2, (batch,), generator=gen).to(device),
        )
        for _ in range(num_domains)
    ]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status: no {field} line")


def measure_peak_mb(fn: Callable[[], Any], device: str) -> float:
    """Peak extra memory (MiB) while ``fn`` runs (see module docstring for the method)."""
    gc.collect()
    if device.startswith("cuda"):
        _sync(device)
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        _sync(device)
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    with contextlib.suppress(OSError):  # hand freed heap back, so RSS is a clean base
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _rss_kb("VmRSS")
    fn()
    return (_rss_kb("VmHWM") - before) / 1024


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(fn: Callable[[], Any], device: str, clock: str = "wall") -> float:
    """Milliseconds ``fn`` took: wall time, or this process's CPU time (``clock="cpu"``: on a
    shared machine it leaves out the time other processes held the cores; CPU devices only)."""
    now = CLOCKS[clock]
    _sync(device)
    t0 = now()
    fn()
    _sync(device)
    return (now() - t0) * 1e3


def bench_updates(
    backbone: str,
    image_size: int,
    variants: Sequence[str],
    num_domains: int = 3,
    batch: int = 16,
    repeats: int = 5,
    warmup: int = 1,
    device: str = "cpu",
    cycle: int = 1,
    clock: str = "wall",
) -> list[UpdateResult]:
    """Time ``update`` of every variant on one backbone (round-robin; see module docstring).

    Each timed sample is ``cycle`` consecutive updates of one variant, reported per update: with
    ``cycle`` = k every sample of LookSAM/RoGA_Look holds exactly one full step, whatever the
    phase it starts in, so the median is the cost averaged over whole k-cycles.
    """
    data = make_minibatches(num_domains, batch, image_size, device)
    # One throwaway update first, so one-time library set-up (thread pools, kernel caches)
    # is not charged to whichever algorithm happens to be measured first.
    build_algorithm(variants[0], backbone, image_size, num_domains).to(device).update(data)
    algs, peaks = {}, {}
    for v in variants:
        torch.manual_seed(0)
        alg = build_algorithm(v, backbone, image_size, num_domains).to(device)
        alg.train()
        peaks[v] = measure_peak_mb(lambda a=alg: a.update(data), device)  # first update
        for _ in range(max(0, warmup - 1)):
            alg.update(data)
        algs[v] = alg
    times: dict[str, list[float]] = {v: [] for v in variants}

    def run(alg: Any) -> None:
        for _ in range(cycle):
            alg.update(data)

    for _ in range(repeats):
        for v in variants:
            times[v].append(timed(lambda a=algs[v]: run(a), device, clock) / cycle)
    results = []
    for v in variants:
        param_mb = sum(p.numel() * p.element_size() for p in algs[v].network.parameters()) / 2**20
        results.append(
            UpdateResult(
                backbone,
                image_size,
                v,
                statistics.median(times[v]),
                times[v],
                peaks[v],
                param_mb,
                registered=VARIANTS[v][0],
                hparams=dict(VARIANTS[v][1]),
            )
        )
    base = next((r.median_ms for r in results if r.algorithm == "ERM-SGD"), None)
    for r in results:
        r.ratio_to_erm = r.median_ms / base if base else float("nan")
    return results
